/*
 * utf8.h - incremental UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), usable across fragment boundaries.
 */
#ifndef SSE_PROTO_UTF8_H
#define SSE_PROTO_UTF8_H

#include "proto.h"

#define UTF8_ACCEPT 0u
#define UTF8_REJECT 1u

/* Feed bytes; state starts at UTF8_ACCEPT. Returns the new state: REJECT
 * is final; ACCEPT means the text so far ends on a character boundary. */
uint32_t utf8_feed(uint32_t state, const uint8_t *s, size_t len);

/* 1 if s[0..len) is whole, valid UTF-8. */
int utf8_valid(const uint8_t *s, size_t len);

#endif
