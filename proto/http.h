/*
 * http.h - HTTP/1.1 message heads (RFC 9112), picohttpparser-style:
 * the whole head must be in the buffer; the parser fills spans into it and a
 * caller-sized header array. Bounded, no allocation, no I/O. Also chunked
 * body decoding and URL query helpers.
 */
#ifndef SSE_PROTO_HTTP_H
#define SSE_PROTO_HTTP_H

#include "proto.h"

struct http_header {
    struct proto_span name;
    struct proto_span value;
};

struct http_request {
    struct proto_span method;
    struct proto_span target;    /* path with query, as sent */
    struct proto_span path;      /* target before '?' */
    struct proto_span query;     /* after '?', or p == NULL */
    int minor_version;           /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    struct http_header *headers; /* caller's array */
    size_t nheaders;             /* in: capacity; out: count */
};

struct http_response {
    int minor_version;
    int status;
    struct proto_span reason;
    struct http_header *headers;
    size_t nheaders;
};

/*
 * Parse a request head from buf[0..len). Returns the head length (bytes
 * consumed, through the blank line) when it is whole, PROTO_AGAIN when more
 * bytes are needed, PROTO_EINVAL when malformed, PROTO_ETOOBIG when there
 * are more headers than req->nheaders.
 */
ssize_t http_parse_request(const char *buf, size_t len,
                           struct http_request *req);

/* Same for a response head (clients: ssectl, libssepub, bench/). */
ssize_t http_parse_response(const char *buf, size_t len,
                            struct http_response *res);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_header_find(const struct http_header *h,
                                           size_t n, const char *name);

/* 1 if a comma-separated header value contains token (case-insensitive),
 * e.g. Connection: keep-alive, Upgrade. */
int http_header_has_token(const struct proto_span *value, const char *token);

/*
 * Content-Length value: returns PROTO_OK and sets *out, or PROTO_EINVAL
 * (not a decimal, or over INT64_MAX).
 */
int http_content_length(const struct proto_span *value, uint64_t *out);

/*
 * Chunked transfer decoding, in place and incremental: state lives in the
 * caller's struct. Feed raw bytes; decoded data is moved to the front of
 * buf. Returns the number of raw bytes consumed, sets *out_len to decoded
 * bytes produced, *done to 1 after the last chunk and its trailers.
 * PROTO_EINVAL for malformed framing.
 */
struct http_chunked {
    int state;
    uint64_t remaining;
    int hex_digits;
};
ssize_t http_chunked_decode(struct http_chunked *c, char *buf, size_t len,
                            size_t *out_len, int *done);

/* Find parameter name in a query string; sets *val (still encoded).
 * Returns PROTO_OK or PROTO_NOTFOUND. */
int http_query_get(const char *query, size_t len, const char *name,
                   struct proto_span *val);

/* Percent-decode (and '+' to space) into out with a NUL. Returns the decoded
 * length, PROTO_EINVAL for a bad escape, PROTO_ETOOBIG if out is small. */
ssize_t http_percent_decode(const char *in, size_t len, char *out, size_t cap);

/* Standard reason phrase for a status code ("Not Found"); never NULL. */
const char *http_reason(int status);

#endif
