/*
 * proto.h - the one error vocabulary of every codec in proto/.
 *
 * proto/ turns bytes into structs and structs into bytes. It does no I/O,
 * reads no clock, keeps no global state and logs nothing, so every parser
 * here can be unit-tested byte by byte and fuzzed.
 */
#ifndef SSE_PROTO_H
#define SSE_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum proto_rc {
    PROTO_OK = 0,
    PROTO_AGAIN = -1,    /* need more bytes; nothing consumed or state saved */
    PROTO_EINVAL = -2,   /* malformed: answer with an error, close the peer */
    PROTO_ETOOBIG = -3,  /* over a configured limit */
    PROTO_ENOMEM = -4,   /* allocation failed */
    PROTO_NOTFOUND = -5, /* a lookup found nothing (not an error of input) */
};

/* A span of bytes inside a caller's buffer. Never owns its memory. */
struct proto_span {
    const char *p;
    size_t len;
};

/* Returns a static English name for rc ("ok", "incomplete", ...). */
const char *proto_strerror(int rc);

#endif
