/*
 * test_http.c - proto/http.c: every head vector whole and byte by byte
 * (each shorter prefix must be PROTO_AGAIN), each copy ending at a
 * PROT_NONE page; malformed heads; the chunked decoder fed at every split
 * and one byte at a time; query lookup, percent decoding, reason phrases.
 */
#include "http.h"
#include "t.h"

#include <stdlib.h>

#define NH 16

/* t_guard_free cannot find the mapping of a zero-length copy (its pointer
 * sits on the guard page): the empty prefix uses no guard. */
static char *
guard(const char *s, size_t n)
{
    static char empty[1];
    return n ? t_guard(s, n) : empty;
}

static void
unguard(char *p, size_t n)
{
    if (n)
        t_guard_free(p);
}

/* Parse s whole (guarded); every shorter prefix must ask for more. */
static ssize_t
req_vec(const char *s, struct http_request *req, struct http_header *h)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        char *g = guard(s, i);
        struct http_request r = {.headers = h, .nheaders = NH};
        ssize_t rc = http_parse_request(g, i, &r);
        if (rc != PROTO_AGAIN)
            fprintf(stderr, "prefix %zu of %s: %zd\n", i, s, rc);
        T_EQ_INT(rc, PROTO_AGAIN);
        unguard(g, i);
    }
    /* whole: spans point into the guarded copy, kept until the next call */
    static char *last;
    if (last)
        t_guard_free(last);
    last = t_guard(s, n);
    *req = (struct http_request){.headers = h, .nheaders = NH};
    return http_parse_request(last, n, req);
}

/* A malformed head: EINVAL whole, and no prefix ever succeeds. */
static void
req_bad(const char *s, int want)
{
    struct http_header h[NH];
    size_t n = strlen(s);
    for (size_t i = 0; i <= n; i++) {
        char *g = guard(s, i);
        struct http_request r = {.headers = h, .nheaders = NH};
        ssize_t rc = http_parse_request(g, i, &r);
        if (i == n) {
            if (rc != want)
                fprintf(stderr, "bad vector %s: %zd\n", s, rc);
            T_EQ_INT(rc, want);
        } else {
            T_CHECK(rc < 0);
        }
        unguard(g, i);
    }
}

static void
requests(void)
{
    struct http_request r;
    struct http_header h[NH];
    const char *s;

    s = "GET /v1/x?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\n"
        "X-Empty:\r\nX-Pad: \t spaced value \t\r\n\r\n";
    T_EQ_INT(req_vec(s, &r, h), (ssize_t)strlen(s));
    T_EQ_MEM(r.method.p, r.method.len, "GET");
    T_EQ_MEM(r.target.p, r.target.len, "/v1/x?a=1&b=2");
    T_EQ_MEM(r.path.p, r.path.len, "/v1/x");
    T_EQ_MEM(r.query.p, r.query.len, "a=1&b=2");
    T_EQ_INT(r.minor_version, 1);
    T_EQ_INT(r.nheaders, 3);
    T_EQ_MEM(h[0].name.p, h[0].name.len, "Host");
    T_EQ_MEM(h[0].value.p, h[0].value.len, "example.com");
    T_EQ_INT(h[1].value.len, 0);
    T_EQ_MEM(h[2].value.p, h[2].value.len, "spaced value");
    T_CHECK(http_header_find(h, r.nheaders, "host") == &h[0]);
    T_CHECK(http_header_find(h, r.nheaders, "hos") == NULL);

    /* bare LF tolerated; HTTP/1.0; no query; leading empty line skipped */
    s = "\r\nPOST /p HTTP/1.0\nContent-Length: 5\n\n";
    T_EQ_INT(req_vec(s, &r, h), (ssize_t)strlen(s));
    T_EQ_INT(r.minor_version, 0);
    T_CHECK(r.query.p == NULL);
    T_EQ_MEM(r.path.p, r.path.len, "/p");
    T_EQ_INT(r.nheaders, 1);

    /* bytes after the head are not consumed */
    s = "GET / HTTP/1.1\r\n\r\nGET /next";
    struct http_request r2 = {.headers = h, .nheaders = NH};
    char *g = t_guard(s, strlen(s));
    T_EQ_INT(http_parse_request(g, strlen(s), &r2), 18);
    t_guard_free(g);

    /* obs-text in a value is allowed */
    s = "GET / HTTP/1.1\r\nX-U: caf\xc3\xa9\r\n\r\n";
    T_EQ_INT(req_vec(s, &r, h), (ssize_t)strlen(s));

    /* too many headers for the caller's array */
    s = "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
    struct http_header small[2];
    struct http_request rs = {.headers = small, .nheaders = 2};
    T_EQ_INT(http_parse_request(s, strlen(s), &rs), PROTO_ETOOBIG);

    req_bad("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1\r\nName : x\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1\r\n: x\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", PROTO_EINVAL);
    req_bad("GET /\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / \r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/2.0\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.x\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1 \r\n\r\n", PROTO_EINVAL);
    req_bad("G(T / HTTP/1.1\r\n\r\n", PROTO_EINVAL);
    req_bad(" GET / HTTP/1.1\r\n\r\n", PROTO_EINVAL);
    req_bad("GET  / HTTP/1.1\r\n\r\n", PROTO_EINVAL);
    req_bad("GET /a\x7f HTTP/1.1\r\n\r\n", PROTO_EINVAL);
    req_bad("GET / HTTP/1.1\r\r\n\r\n", PROTO_EINVAL);
    req_bad("\x16\x03\x01\x02\x00", PROTO_EINVAL); /* TLS on plain HTTP */
}

static void
responses(void)
{
    struct http_header h[NH];
    const char *vec[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\n\r\n",
        "HTTP/1.1 204\r\n\r\n",
    };
    const int status[] = {200, 404, 204};
    for (size_t v = 0; v < 3; v++) {
        size_t n = strlen(vec[v]);
        for (size_t i = 0; i <= n; i++) {
            char *g = guard(vec[v], i);
            struct http_response res = {.headers = h, .nheaders = NH};
            ssize_t rc = http_parse_response(g, i, &res);
            if (i < n) {
                T_EQ_INT(rc, PROTO_AGAIN);
            } else {
                T_EQ_INT(rc, (ssize_t)n);
                T_EQ_INT(res.status, status[v]);
            }
            unguard(g, i);
        }
    }
    struct http_response res = {.headers = h, .nheaders = NH};
    const char *s = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    T_EQ_INT(http_parse_response(s, strlen(s), &res), (ssize_t)strlen(s));
    T_EQ_MEM(res.reason.p, res.reason.len, "OK");
    T_EQ_INT(res.nheaders, 1);
    s = "HTTP/1.1 2x0 OK\r\n\r\n";
    T_EQ_INT(http_parse_response(s, strlen(s), &res), PROTO_EINVAL);
    s = "HTTP/1.1 2000 OK\r\n\r\n";
    T_EQ_INT(http_parse_response(s, strlen(s), &res), PROTO_EINVAL);
    s = "HTTX/1.1 200 OK\r\n\r\n";
    T_EQ_INT(http_parse_response(s, strlen(s), &res), PROTO_EINVAL);
}

/* Decode s split at `split` (and one byte at a time when split == 0). */
static int
chunked_run(const char *s, size_t split, char *out, size_t *outlen,
            size_t *consumed)
{
    size_t n = strlen(s);
    char *buf = malloc(n + 1);
    struct http_chunked c = {0};
    size_t got = 0, off = 0;
    int done = 0;
    *consumed = 0;
    while (off < n && !done) {
        size_t take = split ? (off == 0 ? split : n - off) : 1;
        if (take > n - off)
            take = n - off;
        char *g = t_guard(s + off, take);
        size_t ol;
        ssize_t rc = http_chunked_decode(&c, g, take, &ol, &done);
        if (rc < 0) {
            t_guard_free(g);
            free(buf);
            return (int)rc;
        }
        memcpy(out + got, g, ol);
        got += ol;
        /* unconsumed bytes are offered again with the next piece */
        off += (size_t)rc;
        t_guard_free(g);
        if ((size_t)rc < take && !done) {
            free(buf);
            return -100; /* a decoder that stalls is a bug */
        }
    }
    free(buf);
    *outlen = got;
    *consumed = off;
    return done;
}

static void
chunked(void)
{
    const char *s = "5\r\nhello\r\n7;ext=1\r\n, world\r\nA \r\n0123456789\r\n"
                    "0\r\nTrailer: x\r\n\r\nNEXT";
    const char *want = "hello, world0123456789";
    char out[128];
    const char *outp = out;
    size_t ol, used;
    for (size_t split = 0; split < strlen(s); split++) {
        memset(out, 0, sizeof out);
        int rc = chunked_run(s, split, out, &ol, &used);
        T_EQ_INT(rc, 1);
        T_EQ_MEM(outp, ol, want);
        T_EQ_INT(used, strlen(s) - 4); /* "NEXT" is the next request */
    }
    T_EQ_INT(chunked_run("0\n\n", 0, out, &ol, &used), 1); /* bare LF */
    T_EQ_INT(ol, 0);
    T_EQ_INT(chunked_run("x\r\n", 0, out, &ol, &used), PROTO_EINVAL);
    T_EQ_INT(chunked_run("5\r\nhelloX\r\n", 0, out, &ol, &used), PROTO_EINVAL);
    T_EQ_INT(chunked_run("5\rX", 0, out, &ol, &used), PROTO_EINVAL);
    T_EQ_INT(chunked_run("1234567890abcdef0\r\n", 0, out, &ol, &used),
             PROTO_ETOOBIG);
    T_EQ_INT(chunked_run("0\r\n bad\r\n\r\n", 0, out, &ol, &used),
             PROTO_EINVAL);
    /* incomplete: not done, everything consumed */
    T_EQ_INT(chunked_run("5\r\nhel", 0, out, &ol, &used), 0);
    T_EQ_MEM(outp, ol, "hel");
}

static void
helpers(void)
{
    struct proto_span v;
    const char *q = "EIO=4&transport=polling&sid=&flag&t=a%20b";
    T_EQ_INT(http_query_get(q, strlen(q), "transport", &v), PROTO_OK);
    T_EQ_MEM(v.p, v.len, "polling");
    T_EQ_INT(http_query_get(q, strlen(q), "EIO", &v), PROTO_OK);
    T_EQ_MEM(v.p, v.len, "4");
    T_EQ_INT(http_query_get(q, strlen(q), "sid", &v), PROTO_OK);
    T_EQ_INT(v.len, 0);
    T_EQ_INT(http_query_get(q, strlen(q), "flag", &v), PROTO_OK);
    T_EQ_INT(v.len, 0);
    T_EQ_INT(http_query_get(q, strlen(q), "t", &v), PROTO_OK);
    T_EQ_MEM(v.p, v.len, "a%20b");
    T_EQ_INT(http_query_get(q, strlen(q), "trans", &v), PROTO_NOTFOUND);
    T_EQ_INT(http_query_get("", 0, "x", &v), PROTO_NOTFOUND);

    char out[16];
    T_EQ_INT(http_percent_decode("a%20b+c%2F", 10, out, sizeof out), 6);
    T_EQ_STR(out, "a b c/");
    T_EQ_INT(http_percent_decode("%2", 2, out, sizeof out), PROTO_EINVAL);
    T_EQ_INT(http_percent_decode("%zz", 3, out, sizeof out), PROTO_EINVAL);
    T_EQ_INT(http_percent_decode("abcd", 4, out, 4), PROTO_ETOOBIG);
    T_EQ_INT(http_percent_decode("abc", 3, out, 4), 3);

    struct proto_span conn = {"keep-alive, Upgrade", 19};
    T_EQ_INT(http_header_has_token(&conn, "upgrade"), 1);
    T_EQ_INT(http_header_has_token(&conn, "keep-alive"), 1);
    T_EQ_INT(http_header_has_token(&conn, "close"), 0);
    T_EQ_INT(http_header_has_token(&conn, "Upgr"), 0);

    uint64_t cl;
    struct proto_span a = {"1234", 4}, b = {"12a", 3}, c = {"", 0},
                      d = {"99999999999999999999", 20},
                      e = {"9223372036854775807", 19};
    T_EQ_INT(http_content_length(&a, &cl), PROTO_OK);
    T_EQ_INT(cl, 1234);
    T_EQ_INT(http_content_length(&b, &cl), PROTO_EINVAL);
    T_EQ_INT(http_content_length(&c, &cl), PROTO_EINVAL);
    T_EQ_INT(http_content_length(&d, &cl), PROTO_EINVAL);
    T_EQ_INT(http_content_length(&e, &cl), PROTO_OK);

    static const struct {
        int code;
        const char *reason;
    } rs[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {408, "Request Timeout"},
        {413, "Payload Too Large"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {503, "Service Unavailable"},
    };
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
        T_EQ_STR(http_reason(rs[i].code), rs[i].reason);
    T_CHECK(http_reason(599) != NULL);
}

int
main(void)
{
    requests();
    responses();
    chunked();
    helpers();
    return t_done("http");
}
