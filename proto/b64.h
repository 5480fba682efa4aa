/*
 * b64.h - base64 (RFC 4648 section 4, with padding) and base64url
 * (section 5, without padding) into caller buffers.
 */
#ifndef SSE_PROTO_B64_H
#define SSE_PROTO_B64_H

#include "proto.h"

/* Length of the encoding of n bytes (standard, padded). */
#define B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode; writes B64_ENCODED_LEN(len) chars and a NUL if cap allows.
 * Returns the encoded length (without NUL). */
size_t b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decode standard padded base64. Returns the decoded length, or
 * PROTO_EINVAL (bad char or padding) / PROTO_ETOOBIG (cap too small). */
ssize_t b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* base64url without padding: encode and decode, same contracts. */
size_t b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);
ssize_t b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
