/*
 * http.c - HTTP/1.x heads (RFC 9112) parsed picohttpparser-style: the
 * whole head is re-parsed from the start on each call, spans point into
 * the caller's buffer, headers go into a caller-sized array. CRLF is the
 * line end; a bare LF is tolerated (as nginx does), a bare CR is not.
 * Also the incremental chunked decoder and query/percent helpers.
 */
#include "http.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2 tchar */
static int
is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return 1;
    return c != '\0' && strchr(extra, c) != NULL;
}

/* field-vchar / obs-text, SP and HTAB: what a header value may hold */
static int
is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A cursor over buf[0..len): every reader returns PROTO_AGAIN at the end. */
struct cur {
    const char *p, *end;
};

/* Consume a line end: CRLF or LF. PROTO_OK, AGAIN, or EINVAL. */
static int
eat_eol(struct cur *c)
{
    if (c->p == c->end)
        return PROTO_AGAIN;
    if (*c->p == '\n') {
        c->p++;
        return PROTO_OK;
    }
    if (*c->p != '\r')
        return PROTO_EINVAL;
    if (c->p + 1 == c->end)
        return PROTO_AGAIN;
    if (c->p[1] != '\n')
        return PROTO_EINVAL;
    c->p += 2;
    return PROTO_OK;
}

/* "HTTP/1.x" -> minor version. */
static int
parse_version(struct cur *c, int *minor)
{
    static const char v[] = "HTTP/1.";
    for (size_t i = 0; i < sizeof v - 1; i++, c->p++) {
        if (c->p == c->end)
            return PROTO_AGAIN;
        if (*c->p != v[i])
            return PROTO_EINVAL;
    }
    if (c->p == c->end)
        return PROTO_AGAIN;
    if (*c->p < '0' || *c->p > '9')
        return PROTO_EINVAL;
    *minor = *c->p++ - '0';
    return PROTO_OK;
}

/* Header lines up to and including the empty line. */
static int
parse_headers(struct cur *c, struct http_header *h, size_t *n)
{
    size_t cap = *n, count = 0;
    for (;;) {
        if (c->p == c->end)
            return PROTO_AGAIN;
        if (*c->p == '\r' || *c->p == '\n') {
            int rc = eat_eol(c);
            if (rc != PROTO_OK)
                return rc;
            *n = count;
            return PROTO_OK;
        }
        /* RFC 9112 5.2: obs-fold is refused */
        if (*c->p == ' ' || *c->p == '\t')
            return PROTO_EINVAL;
        const char *name = c->p;
        while (c->p < c->end && is_tchar((unsigned char)*c->p))
            c->p++;
        if (c->p == c->end)
            return PROTO_AGAIN;
        /* RFC 9112 5.1: no whitespace between name and colon */
        if (*c->p != ':' || c->p == name)
            return PROTO_EINVAL;
        size_t namelen = (size_t)(c->p - name);
        c->p++;
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
            c->p++;
        const char *val = c->p;
        while (c->p < c->end && is_value_char((unsigned char)*c->p))
            c->p++;
        const char *vend = c->p;
        int rc = eat_eol(c);
        if (rc != PROTO_OK)
            return rc;
        while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        if (count == cap)
            return PROTO_ETOOBIG;
        h[count].name = (struct proto_span){name, namelen};
        h[count].value = (struct proto_span){val, (size_t)(vend - val)};
        count++;
    }
}

static int
parse_request_line(struct cur *c, struct http_request *req)
{
    /* RFC 9112 2.2: ignore empty lines before the request line */
    for (;;) {
        if (c->p == c->end)
            return PROTO_AGAIN;
        if (*c->p != '\r' && *c->p != '\n')
            break;
        int rc = eat_eol(c);
        if (rc != PROTO_OK)
            return rc;
    }
    const char *m = c->p;
    while (c->p < c->end && is_tchar((unsigned char)*c->p))
        c->p++;
    if (c->p == c->end)
        return PROTO_AGAIN;
    if (*c->p != ' ' || c->p == m)
        return PROTO_EINVAL;
    req->method = (struct proto_span){m, (size_t)(c->p - m)};
    c->p++;
    const char *t = c->p;
    while (c->p < c->end && (unsigned char)*c->p > ' ' &&
           (unsigned char)*c->p != 0x7f)
        c->p++;
    if (c->p == c->end)
        return PROTO_AGAIN;
    if (*c->p != ' ' || c->p == t)
        return PROTO_EINVAL;
    size_t tl = (size_t)(c->p - t);
    req->target = (struct proto_span){t, tl};
    const char *q = memchr(t, '?', tl);
    req->path = (struct proto_span){t, q ? (size_t)(q - t) : tl};
    req->query = q ? (struct proto_span){q + 1, (size_t)(t + tl - q - 1)}
                   : (struct proto_span){NULL, 0};
    c->p++;
    int rc = parse_version(c, &req->minor_version);
    if (rc != PROTO_OK)
        return rc;
    return eat_eol(c);
}

ssize_t
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
    struct cur c = {buf, buf + len};
    int rc = parse_request_line(&c, req);
    if (rc == PROTO_OK)
        rc = parse_headers(&c, req->headers, &req->nheaders);
    return rc == PROTO_OK ? (ssize_t)(c.p - buf) : rc;
}

ssize_t
http_parse_response(const char *buf, size_t len, struct http_response *res)
{
    struct cur c = {buf, buf + len};
    int rc = parse_version(&c, &res->minor_version);
    if (rc != PROTO_OK)
        return rc;
    if (c.p == c.end)
        return PROTO_AGAIN;
    if (*c.p++ != ' ')
        return PROTO_EINVAL;
    res->status = 0;
    for (int i = 0; i < 3; i++, c.p++) {
        if (c.p == c.end)
            return PROTO_AGAIN;
        if (*c.p < '0' || *c.p > '9')
            return PROTO_EINVAL;
        res->status = res->status * 10 + (*c.p - '0');
    }
    if (c.p == c.end)
        return PROTO_AGAIN;
    const char *r = c.p;
    if (*c.p == ' ') {
        r = ++c.p;
        while (c.p < c.end && is_value_char((unsigned char)*c.p))
            c.p++;
    }
    res->reason = (struct proto_span){r, (size_t)(c.p - r)};
    rc = eat_eol(&c);
    if (rc == PROTO_OK)
        rc = parse_headers(&c, res->headers, &res->nheaders);
    return rc == PROTO_OK ? (ssize_t)(c.p - buf) : rc;
}

const struct http_header *
http_header_find(const struct http_header *h, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (h[i].name.len == nl && strncasecmp(h[i].name.p, name, nl) == 0)
            return &h[i];
    return NULL;
}

int
http_header_has_token(const struct proto_span *value, const char *token)
{
    size_t tl = strlen(token), i = 0;
    const char *p = value->p;
    while (i < value->len) {
        while (i < value->len && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        size_t s = i;
        while (i < value->len && p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e - s == tl && tl > 0 && strncasecmp(p + s, token, tl) == 0)
            return 1;
    }
    return 0;
}

int
http_content_length(const struct proto_span *value, uint64_t *out)
{
    uint64_t v = 0;
    if (value->len == 0)
        return PROTO_EINVAL;
    for (size_t i = 0; i < value->len; i++) {
        char c = value->p[i];
        if (c < '0' || c > '9')
            return PROTO_EINVAL;
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(c - '0')) / 10)
            return PROTO_EINVAL;
        v = v * 10 + (uint64_t)(c - '0');
    }
    *out = v;
    return PROTO_OK;
}

enum {
    ch_size = 0, /* hex digits */
    ch_size_ws,  /* BWS after the size */
    ch_ext,      /* ;chunk-ext up to the line end */
    ch_size_lf,
    ch_data,
    ch_data_cr,
    ch_data_lf,
    ch_trailer_start, /* start of a trailer line or the final empty line */
    ch_trailer,
    ch_trailer_lf,
    ch_end_lf,
    ch_done,
};

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Framing between data: one byte at a time through the states. */
static int
chunk_step(struct http_chunked *c, char ch)
{
    int h;
    switch (c->state) {
    case ch_size:
        if ((h = hex_value(ch)) >= 0) {
            if (++c->hex_digits > 15) /* RFC 9112 7.1: guard overflow */
                return PROTO_ETOOBIG;
            c->remaining = c->remaining * 16 + (uint64_t)h;
            return PROTO_OK;
        }
        if (c->hex_digits == 0)
            return PROTO_EINVAL;
        /* the size ended: this byte is framing after it */
        __attribute__((fallthrough));
    case ch_size_ws:
        if (ch == ' ' || ch == '\t')
            c->state = ch_size_ws;
        else if (ch == ';')
            c->state = ch_ext;
        else if (ch == '\r')
            c->state = ch_size_lf;
        else if (ch == '\n')
            c->state = c->remaining ? ch_data : ch_trailer_start;
        else
            return PROTO_EINVAL;
        return PROTO_OK;
    case ch_ext:
        if (ch == '\r')
            c->state = ch_size_lf;
        else if (ch == '\n')
            c->state = c->remaining ? ch_data : ch_trailer_start;
        else if ((unsigned char)ch < 0x20 && ch != '\t')
            return PROTO_EINVAL;
        return PROTO_OK;
    case ch_size_lf:
        if (ch != '\n')
            return PROTO_EINVAL;
        c->state = c->remaining ? ch_data : ch_trailer_start;
        return PROTO_OK;
    case ch_data_cr:
        if (ch == '\n') {
            c->state = ch_size;
            c->hex_digits = 0;
            return PROTO_OK;
        }
        if (ch != '\r')
            return PROTO_EINVAL;
        c->state = ch_data_lf;
        return PROTO_OK;
    case ch_data_lf:
        if (ch != '\n')
            return PROTO_EINVAL;
        c->state = ch_size;
        c->hex_digits = 0;
        return PROTO_OK;
    case ch_trailer_start:
        if (ch == '\r')
            c->state = ch_end_lf;
        else if (ch == '\n')
            c->state = ch_done;
        else if (is_tchar((unsigned char)ch))
            c->state = ch_trailer;
        else
            return PROTO_EINVAL;
        return PROTO_OK;
    case ch_trailer:
        if (ch == '\r')
            c->state = ch_trailer_lf;
        else if (ch == '\n')
            c->state = ch_trailer_start;
        else if (!is_value_char((unsigned char)ch))
            return PROTO_EINVAL;
        return PROTO_OK;
    case ch_trailer_lf:
    case ch_end_lf:
        if (ch != '\n')
            return PROTO_EINVAL;
        c->state = c->state == ch_end_lf ? ch_done : ch_trailer_start;
        return PROTO_OK;
    }
    return PROTO_EINVAL;
}

ssize_t
http_chunked_decode(struct http_chunked *c, char *buf, size_t len,
                    size_t *out_len, int *done)
{
    size_t in = 0, out = 0;
    *done = c->state == ch_done;
    while (in < len && c->state != ch_done) {
        if (c->state == ch_data) {
            size_t n = len - in;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            memmove(buf + out, buf + in, n);
            in += n;
            out += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = ch_data_cr;
            continue;
        }
        int rc = chunk_step(c, buf[in]);
        if (rc != PROTO_OK)
            return rc;
        in++;
    }
    *out_len = out;
    *done = c->state == ch_done;
    return (ssize_t)in;
}

int
http_query_get(const char *query, size_t len, const char *name,
               struct proto_span *val)
{
    size_t nl = strlen(name), i = 0;
    while (i < len) {
        size_t s = i;
        while (i < len && query[i] != '&')
            i++;
        const char *eq = memchr(query + s, '=', i - s);
        size_t kl = eq ? (size_t)(eq - query - s) : i - s;
        if (kl == nl && memcmp(query + s, name, nl) == 0) {
            val->p = eq ? eq + 1 : query + i;
            val->len = eq ? (size_t)(query + i - eq - 1) : 0;
            return PROTO_OK;
        }
        i++;
    }
    return PROTO_NOTFOUND;
}

ssize_t
http_percent_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            if (i + 2 >= len)
                return PROTO_EINVAL;
            int h = hex_value(in[i + 1]), l = hex_value(in[i + 2]);
            if (h < 0 || l < 0)
                return PROTO_EINVAL;
            ch = (char)(h << 4 | l);
            i += 2;
        }
        if (o + 1 >= cap)
            return PROTO_ETOOBIG;
        out[o++] = ch;
    }
    if (o >= cap)
        return PROTO_ETOOBIG;
    out[o] = '\0';
    return (ssize_t)o;
}

const char *
http_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    }
    return status >= 500   ? "Internal Server Error"
           : status >= 400 ? "Bad Request"
           : status >= 300 ? "Redirection"
                           : "OK";
}
