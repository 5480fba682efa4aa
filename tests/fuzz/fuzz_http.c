// sources: proto/http.c proto/proto.c
/*
 * fuzz_http.c - libFuzzer driver for proto/http.c: the first byte picks
 * request head, response head, or chunked body (fed in pieces whose sizes
 * come from the input); spans returned must lie inside the input, and the
 * query and percent helpers run over whatever was parsed.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless [s.p, s.p + s.len) lies inside [buf, buf + len). */
static void
check_span(const struct proto_span *s, const char *buf, size_t len)
{
    if (s->p == NULL)
        return;
    if (s->p < buf || s->p + s->len > buf + len)
        abort();
}

static void
fuzz_request(const char *buf, size_t len)
{
    struct http_header h[16];
    struct http_request r = {.headers = h, .nheaders = 16};
    ssize_t rc = http_parse_request(buf, len, &r);
    if (rc < 0)
        return;
    if ((size_t)rc > len)
        abort();
    check_span(&r.method, buf, len);
    check_span(&r.path, buf, len);
    check_span(&r.query, buf, len);
    for (size_t i = 0; i < r.nheaders; i++) {
        check_span(&h[i].name, buf, len);
        check_span(&h[i].value, buf, len);
        uint64_t cl;
        http_content_length(&h[i].value, &cl);
        http_header_has_token(&h[i].value, "keep-alive");
    }
    if (r.query.p != NULL) {
        struct proto_span v;
        char out[256];
        if (http_query_get(r.query.p, r.query.len, "sid", &v) == PROTO_OK) {
            check_span(&v, buf, len);
            http_percent_decode(v.p, v.len, out, sizeof out);
        }
    }
}

static void
fuzz_response(const char *buf, size_t len)
{
    struct http_header h[16];
    struct http_response r = {.headers = h, .nheaders = 16};
    ssize_t rc = http_parse_response(buf, len, &r);
    if (rc < 0)
        return;
    if ((size_t)rc > len || r.status < 0 || r.status > 999)
        abort();
    check_span(&r.reason, buf, len);
    for (size_t i = 0; i < r.nheaders; i++)
        check_span(&h[i].value, buf, len);
}

/* Chunked: piece sizes cycle through the first bytes of the input. */
static void
fuzz_chunked(char *buf, size_t len, uint8_t step)
{
    struct http_chunked c = {0};
    size_t off = 0, piece = (size_t)(step % 17) + 1;
    int done = 0;
    while (off < len && !done) {
        size_t n = len - off < piece ? len - off : piece;
        size_t out;
        ssize_t rc = http_chunked_decode(&c, buf + off, n, &out, &done);
        if (rc < 0)
            return;
        if ((size_t)rc > n || out > (size_t)rc)
            abort();
        if (rc == 0 && !done)
            abort(); /* a decoder that stalls on fresh bytes */
        off += (size_t)rc;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t len = size - 2;
    char *buf = malloc(len ? len : 1); /* exact size: over-reads trap */
    memcpy(buf, data + 2, len);
    switch (data[0] % 3) {
    case 0:
        fuzz_request(buf, len);
        break;
    case 1:
        fuzz_response(buf, len);
        break;
    default:
        fuzz_chunked(buf, len, data[1]);
    }
    free(buf);
    return 0;
}
