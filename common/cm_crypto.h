/*
 * cm_crypto.h - randomness, ids, hashes, constant-time comparison and the
 * AES-256-GCM sealing of secrets at rest, all on OpenSSL's libcrypto.
 */
#ifndef SSE_CM_CRYPTO_H
#define SSE_CM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* RAND_bytes; returns 0, or -1 if the generator failed (never ignore). */
int cm_random_bytes(void *buf, size_t n);

/* n random chars of [a-z0-9] and a NUL (out holds n + 1). 0 or -1. */
int cm_random_id(char *out, size_t n);

void cm_sha256(const void *data, size_t len, uint8_t out[32]);

/* Lower-case hex of in into out (2n chars + NUL). */
void cm_hex_encode(const uint8_t *in, size_t n, char *out);

/* Decode exactly 2n hex chars into n bytes; 0 or -1. */
int cm_hex_decode(const char *in, size_t n, uint8_t *out);

/* 1 if equal; time depends on n only. */
int cm_ct_equal(const void *a, const void *b, size_t n);

/*
 * Seal/open a secret with AES-256-GCM under a 32-byte master key.
 * Sealed form (text): "v1:" hex(12-byte nonce) ":" hex(ciphertext||tag).
 * cm_secret_seal writes at most CM_SEALED_MAX bytes into out.
 * cm_secret_open returns the plaintext length or -1 (tampered, wrong key).
 */
#define CM_SEALED_MAX 256
int cm_secret_seal(const uint8_t key[32], const uint8_t *plain, size_t len,
                   char *out, size_t cap);
int cm_secret_open(const uint8_t key[32], const char *sealed, uint8_t *out,
                   size_t cap);

#endif
