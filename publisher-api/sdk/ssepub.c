/*
 * ssepub.c - libssepub: the publisher REST API from C with blocking
 * sockets. One keep-alive connection per client, reopened once when the
 * server closed it between requests; responses parsed with proto/http.h
 * (Content-Length, chunked, or until close) and read with proto/json.h.
 * No event loop here: callers are programs and tools, not services.
 */
#include "ssepub.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "chan.h"
#include "http.h"
#include "json.h"

#define SP_HOST_MAX 256
#define SP_PORT_MAX 8
#define SP_HEADERS_MAX 64
#define SP_HEAD_MAX 65536 /* largest response head accepted */
#define SP_READ_CHUNK 16384

struct ssepub {
    char host[SP_HOST_MAX]; /* as in the URL, brackets removed */
    char port[SP_PORT_MAX];
    char hosthdr[SP_HOST_MAX + SP_PORT_MAX + 4]; /* Host: header value */
    char *api_key;
    int fd;     /* -1 when not connected */
    int status; /* of the last answer */
    int timeout_ms;
    char err[SSEPUB_ERR_MAX];
};

struct ssepub_channel {
    struct ssepub *client;
    int private_only;
    char name[CHAN_NAME_MAX + 1];
};

/* A growing byte buffer, always NUL-terminated when data != NULL. */
struct sp_buf {
    char *data;
    size_t len, cap;
};

static int
sp_fail(struct ssepub *c, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return rc;
}

static int
sp_buf_reserve(struct sp_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 1024;
    char *p;

    if (b->len + more + 1 <= b->cap)
        return 0;
    while (cap < b->len + more + 1)
        cap *= 2;
    if ((p = realloc(b->data, cap)) == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int
sp_buf_add(struct sp_buf *b, const void *p, size_t n)
{
    if (sp_buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- URL and construction ---- */

/* "http://host[:port][/]" or "http://[v6][:port]". 0 or -1. */
static int
sp_parse_url(struct ssepub *c, const char *url)
{
    const char *h, *end, *colon = NULL;
    size_t hl;

    if (strncasecmp(url, "http://", 7) != 0)
        return -1;
    h = url + 7;
    end = h + strcspn(h, "/?#");
    if (*end != '\0' && strcmp(end, "/") != 0)
        return -1; /* a base URL has no path */
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));

        if (rb == NULL)
            return -1;
        hl = (size_t)(rb - h - 1);
        if (hl == 0 || hl >= sizeof(c->host))
            return -1;
        memcpy(c->host, h + 1, hl);
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        if (rb + 1 != end && colon == NULL)
            return -1;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        hl = (size_t)((colon ? colon : end) - h);
        if (hl == 0 || hl >= sizeof(c->host))
            return -1;
        memcpy(c->host, h, hl);
    }
    c->host[hl] = '\0';
    if (colon != NULL) {
        size_t pl = (size_t)(end - colon - 1);

        if (pl == 0 || pl >= sizeof(c->port) ||
            strspn(colon + 1, "0123456789") < pl)
            return -1;
        memcpy(c->port, colon + 1, pl);
        c->port[pl] = '\0';
    } else {
        strcpy(c->port, "80");
    }
    snprintf(c->hosthdr, sizeof(c->hosthdr), "%.*s", (int)(end - h), h);
    return 0;
}

struct ssepub *
ssepub_new(const char *base_url, const char *api_key)
{
    struct ssepub *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->timeout_ms = SSEPUB_TIMEOUT_MS;
    if (sp_parse_url(c, base_url != NULL ? base_url : SSEPUB_DEFAULT_URL) !=
            0 ||
        (api_key != NULL && (c->api_key = strdup(api_key)) == NULL)) {
        free(c);
        return NULL;
    }
    return c;
}

/* First line of path, whitespace trimmed, malloc'ed; NULL on failure. */
static char *
sp_read_key_file(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return NULL;
    if (fgets(line, sizeof(line), f) == NULL) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    n = strcspn(line, " \t\r\n");
    line[n] = '\0';
    return n > 0 ? strdup(line) : NULL;
}

struct ssepub *
ssepub_build(char *err, size_t errlen)
{
    const char *key = getenv("SSE_API_KEY"), *file = getenv("SSE_API_KEY_FILE");
    const char *url = getenv("SSE_PUBLISHER_URL");
    char *from_file = NULL;
    struct ssepub *c;

    if ((key == NULL || *key == '\0') && file != NULL && *file != '\0') {
        if ((key = from_file = sp_read_key_file(file)) == NULL) {
            if (err != NULL)
                snprintf(err, errlen,
                         "SSE_API_KEY_FILE: cannot read a key "
                         "from the file");
            return NULL;
        }
    }
    if (key == NULL || *key == '\0') {
        if (err != NULL)
            snprintf(err, errlen,
                     "no API key: set SSE_API_KEY or "
                     "SSE_API_KEY_FILE");
        return NULL;
    }
    c = ssepub_new(url != NULL && *url != '\0' ? url : NULL, key);
    if (c == NULL && err != NULL)
        snprintf(err, errlen, "SSE_PUBLISHER_URL: not an http:// base URL");
    if (from_file != NULL) {
        explicit_bzero(from_file, strlen(from_file));
        free(from_file);
    }
    return c;
}

static void
sp_close(struct ssepub *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void
ssepub_free(struct ssepub *c)
{
    if (c == NULL)
        return;
    sp_close(c);
    if (c->api_key != NULL) {
        explicit_bzero(c->api_key, strlen(c->api_key));
        free(c->api_key);
    }
    free(c);
}

const char *
ssepub_error(const struct ssepub *c)
{
    return c->err;
}

int
ssepub_status(const struct ssepub *c)
{
    return c->status;
}

const char *
ssepub_strerror(int rc)
{
    switch (rc) {
    case SSEPUB_OK:
        return "ok";
    case SSEPUB_EINVAL:
        return "invalid argument";
    case SSEPUB_ECONNECT:
        return "cannot connect";
    case SSEPUB_EIO:
        return "connection failed";
    case SSEPUB_EPROTO:
        return "unexpected answer";
    case SSEPUB_EHTTP:
        return "server answered with an error";
    case SSEPUB_ENOMEM:
        return "out of memory";
    case SSEPUB_ETOOBIG:
        return "response too large";
    case SSEPUB_ENOKEY:
        return "no API key";
    default:
        return "unknown error";
    }
}

/* ---- transport ---- */

/* Connect with a deadline (non-blocking connect + poll), then blocking
 * I/O with send/receive timeouts. */
static int
sp_connect_one(const struct addrinfo *ai, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    struct pollfd pfd;
    int fd, flags, soerr = 0;
    socklen_t sl = sizeof(soerr);

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (errno != EINPROGRESS || poll(&pfd, 1, timeout_ms) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
            soerr != 0) {
            if (soerr != 0)
                errno = soerr;
            else if (errno == EINPROGRESS)
                errno = ETIMEDOUT;
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, flags);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

static int
sp_connect(struct ssepub *c)
{
    struct addrinfo hints, *res, *ai;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
        return sp_fail(c, SSEPUB_ECONNECT, "%s: %s", c->host, gai_strerror(rc));
    for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next)
        c->fd = sp_connect_one(ai, c->timeout_ms);
    freeaddrinfo(res);
    if (c->fd < 0)
        return sp_fail(c, SSEPUB_ECONNECT, "cannot connect to %s: %s",
                       c->hosthdr, strerror(errno));
    return SSEPUB_OK;
}

static int
sp_send_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read more bytes into b. Returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
sp_recv(int fd, struct sp_buf *b)
{
    ssize_t r;

    if (sp_buf_reserve(b, SP_READ_CHUNK) != 0)
        return -1;
    do
        r = recv(fd, b->data + b->len, SP_READ_CHUNK, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        b->len += (size_t)r;
        b->data[b->len] = '\0';
    }
    return r;
}

/* What a parsed head says about the body and the connection. */
struct sp_framing {
    int chunked;
    int has_length;
    uint64_t length;
    int keep_alive;
};

static int
sp_framing(const struct http_response *res, const char *method,
           struct sp_framing *f)
{
    const struct http_header *h;

    memset(f, 0, sizeof(*f));
    f->keep_alive = res->minor_version >= 1;
    h = http_header_find(res->headers, res->nheaders, "connection");
    if (h != NULL && http_header_has_token(&h->value, "close"))
        f->keep_alive = 0;
    if (strcmp(method, "HEAD") == 0 || res->status == 204 ||
        res->status == 304 || res->status < 200) {
        f->has_length = 1;
        return 0;
    }
    h = http_header_find(res->headers, res->nheaders, "transfer-encoding");
    if (h != NULL) {
        if (!http_header_has_token(&h->value, "chunked"))
            return -1;
        f->chunked = 1;
        return 0;
    }
    h = http_header_find(res->headers, res->nheaders, "content-length");
    if (h != NULL) {
        if (http_content_length(&h->value, &f->length) != PROTO_OK)
            return -1;
        f->has_length = 1;
    } else {
        f->keep_alive = 0; /* the body ends when the server closes */
    }
    return 0;
}

/* Decode chunked data from raw (which holds bytes already read) and the
 * socket into body. */
static int
sp_read_chunked(struct ssepub *c, struct sp_buf *raw, struct sp_buf *body)
{
    struct http_chunked ch;
    size_t out;
    ssize_t used, r;
    int done = 0;

    memset(&ch, 0, sizeof(ch));
    for (;;) {
        used = raw->len > 0
                   ? http_chunked_decode(&ch, raw->data, raw->len, &out, &done)
                   : 0;
        if (used < 0)
            return sp_fail(c, SSEPUB_EPROTO, "malformed chunked body");
        if (used > 0 && out > 0 && sp_buf_add(body, raw->data, out) != 0)
            return sp_fail(c, SSEPUB_ENOMEM, "out of memory");
        memmove(raw->data, raw->data + used, raw->len - (size_t)used);
        raw->len -= (size_t)used;
        if (done)
            return SSEPUB_OK;
        if (body->len > SSEPUB_RESPONSE_MAX)
            return sp_fail(c, SSEPUB_ETOOBIG, "response too large");
        if (used == 0 && (r = sp_recv(c->fd, raw)) <= 0)
            return sp_fail(c, SSEPUB_EIO, "connection lost in the body");
    }
}

/* Read the body after the head: the head's framing, bytes already read
 * in b (past the head) first. */
static int
sp_read_body(struct ssepub *c, struct sp_buf *b, const struct sp_framing *f,
             struct sp_buf *body)
{
    ssize_t r;

    if (f->chunked)
        return sp_read_chunked(c, b, body);
    if (f->has_length && f->length > SSEPUB_RESPONSE_MAX)
        return sp_fail(c, SSEPUB_ETOOBIG, "response too large");
    while (!f->has_length || b->len < f->length) {
        if (!f->has_length && b->len > SSEPUB_RESPONSE_MAX)
            return sp_fail(c, SSEPUB_ETOOBIG, "response too large");
        if ((r = sp_recv(c->fd, b)) < 0)
            return sp_fail(c, SSEPUB_EIO, "receive: %s", strerror(errno));
        if (r == 0) {
            if (f->has_length)
                return sp_fail(c, SSEPUB_EIO, "connection lost in the body");
            break; /* no length: the close ends the body */
        }
    }
    if (sp_buf_add(body, b->data != NULL ? b->data : "",
                   f->has_length ? (size_t)f->length : b->len) != 0)
        return sp_fail(c, SSEPUB_ENOMEM, "out of memory");
    return SSEPUB_OK;
}

/* Read one whole response into c->status and body. *got counts the bytes
 * received, so a caller can tell a connection closed before any answer. */
static int
sp_read_response(struct ssepub *c, const char *method, struct sp_buf *body,
                 int *keep_alive, size_t *got)
{
    struct sp_buf b = {NULL, 0, 0};
    struct http_header hs[SP_HEADERS_MAX];
    struct http_response res;
    struct sp_framing f;
    ssize_t head, r;
    int rc;

    *got = 0;
    for (;;) {
        if ((r = sp_recv(c->fd, &b)) <= 0) {
            rc = r == 0
                     ? sp_fail(c, SSEPUB_EIO, "server closed the connection")
                     : sp_fail(c, SSEPUB_EIO, "receive: %s", strerror(errno));
            goto out;
        }
        *got += (size_t)r;
        res.headers = hs;
        res.nheaders = SP_HEADERS_MAX;
        head = http_parse_response(b.data, b.len, &res);
        if (head > 0)
            break;
        if (head != PROTO_AGAIN || b.len > SP_HEAD_MAX) {
            rc = sp_fail(c, SSEPUB_EPROTO, "malformed HTTP response");
            goto out;
        }
    }
    c->status = res.status;
    if (sp_framing(&res, method, &f) != 0) {
        rc = sp_fail(c, SSEPUB_EPROTO, "unsupported response framing");
        goto out;
    }
    *keep_alive = f.keep_alive;
    /* The head's spans are not used past this point. */
    memmove(b.data, b.data + head, b.len - (size_t)head);
    b.len -= (size_t)head;
    rc = sp_read_body(c, &b, &f, body);
out:
    free(b.data);
    return rc;
}

/* 1 if s holds no byte that could break a request line or header. */
static int
sp_safe(const char *s, int space_ok)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || (*s == ' ' && !space_ok))
            return 0;
    return 1;
}

static int
sp_build_request(struct ssepub *c, struct sp_buf *req, const char *method,
                 const char *path, const char *body, const char *bearer)
{
    char line[1024];
    size_t blen = body != NULL ? strlen(body) : 0;
    int n;

    n = snprintf(line, sizeof(line),
                 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: libssepub/1\r\n"
                 "Accept: application/json\r\n",
                 method, path, c->hosthdr);
    if (n < 0 || (size_t)n >= sizeof(line) || sp_buf_add(req, line, (size_t)n))
        return -1;
    if (bearer != NULL && (sp_buf_add(req, "Authorization: Bearer ", 22) != 0 ||
                           sp_buf_add(req, bearer, strlen(bearer)) != 0 ||
                           sp_buf_add(req, "\r\n", 2) != 0))
        return -1;
    if (body != NULL ||
        (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) {
        n = snprintf(line, sizeof(line), "%sContent-Length: %zu\r\n",
                     body != NULL ? "Content-Type: application/json\r\n" : "",
                     blen);
        if (n < 0 || (size_t)n >= sizeof(line) ||
            sp_buf_add(req, line, (size_t)n) != 0)
            return -1;
    }
    if (sp_buf_add(req, "\r\n", 2) != 0 ||
        (blen > 0 && sp_buf_add(req, body, blen) != 0))
        return -1;
    return 0;
}

/* Send the request and read the answer, on the kept connection if any;
 * if that one turns out closed before any answer, once more on a new one. */
static int
sp_roundtrip(struct ssepub *c, const struct sp_buf *req, const char *method,
             struct sp_buf *resp)
{
    int attempt, reused, keep = 0, rc = SSEPUB_EIO;
    size_t got;

    for (attempt = 0; attempt < 2; attempt++) {
        reused = c->fd >= 0;
        if (!reused && (rc = sp_connect(c)) != SSEPUB_OK)
            return rc;
        c->status = 0;
        resp->len = 0;
        got = 0;
        if (sp_send_all(c->fd, req->data, req->len) != 0)
            rc = sp_fail(c, SSEPUB_EIO, "send: %s", strerror(errno));
        else
            rc = sp_read_response(c, method, resp, &keep, &got);
        if (rc == SSEPUB_OK) {
            if (!keep)
                sp_close(c);
            return rc;
        }
        sp_close(c);
        if (!reused || got > 0 || rc != SSEPUB_EIO)
            return rc;
    }
    return rc;
}

/* The server's "message" of an error answer, else "HTTP <status>". */
static void
sp_server_message(struct ssepub *c, const struct sp_buf *body)
{
    struct proto_span v;
    char msg[SSEPUB_ERR_MAX];

    if (body->len > 0 &&
        jscan_validate(body->data, body->len, JSCAN_DEFAULT_DEPTH) ==
            PROTO_OK &&
        jscan_kind(body->data, body->len) == JSCAN_OBJECT &&
        jscan_object_get(body->data, body->len, "message", &v) == PROTO_OK &&
        jscan_kind(v.p, v.len) == JSCAN_STRING &&
        jscan_string_get(v.p, v.len, msg, sizeof(msg)) >= 0)
        snprintf(c->err, sizeof(c->err), "%s", msg);
    else
        snprintf(c->err, sizeof(c->err), "HTTP %d", c->status);
}

int
ssepub_request(struct ssepub *c, const char *method, const char *path,
               const char *body, const char *bearer, int *status,
               char **response)
{
    struct sp_buf req = {NULL, 0, 0}, resp = {NULL, 0, 0};
    int rc;

    if (status != NULL)
        *status = 0;
    if (response != NULL)
        *response = NULL;
    c->err[0] = '\0';
    c->status = 0;
    if (method == NULL || path == NULL || path[0] != '/' ||
        !sp_safe(method, 0) || !sp_safe(path, 0) ||
        (bearer != NULL && !sp_safe(bearer, 1)))
        return sp_fail(c, SSEPUB_EINVAL, "bad method, path or token");
    if (sp_build_request(c, &req, method, path, body, bearer) != 0)
        rc = sp_fail(c, SSEPUB_ENOMEM, "out of memory");
    else
        rc = sp_roundtrip(c, &req, method, &resp);
    if (req.data != NULL) {
        explicit_bzero(req.data, req.len); /* it held the bearer token */
        free(req.data);
    }
    if (status != NULL)
        *status = c->status;
    if (rc != SSEPUB_OK) {
        free(resp.data);
        return rc;
    }
    if (c->status < 200 || c->status > 299) {
        sp_server_message(c, &resp);
        rc = SSEPUB_EHTTP;
    }
    if (response != NULL)
        *response = resp.data;
    else
        free(resp.data);
    return rc;
}

/* ---- channels, publish and tokens ---- */

static struct ssepub_channel *
sp_channel(struct ssepub *c, const char *name, int private_only)
{
    struct ssepub_channel *ch;
    size_t len;

    if (c == NULL || name == NULL)
        return NULL;
    len = strlen(name);
    if (!chan_name_valid(name, len) ||
        (private_only && !chan_is_private(name, len)))
        return NULL;
    if ((ch = calloc(1, sizeof(*ch))) == NULL)
        return NULL;
    ch->client = c;
    ch->private_only = private_only;
    memcpy(ch->name, name, len + 1);
    return ch;
}

struct ssepub_channel *
ssepub_channel(struct ssepub *c, const char *name)
{
    return sp_channel(c, name, 0);
}

struct ssepub_channel *
ssepub_private_channel(struct ssepub *c, const char *name)
{
    return sp_channel(c, name, 1);
}

void
ssepub_channel_free(struct ssepub_channel *ch)
{
    free(ch);
}

const char *
ssepub_channel_name(const struct ssepub_channel *ch)
{
    return ch->name;
}

/* Member key of a JSON object text as a string into out. 0 or -1. */
static int
sp_json_string(const char *json, const char *key, char *out, size_t cap)
{
    struct proto_span v;
    size_t len = strlen(json);

    if (jscan_validate(json, len, JSCAN_DEFAULT_DEPTH) != PROTO_OK ||
        jscan_object_get(json, len, key, &v) != PROTO_OK ||
        jscan_kind(v.p, v.len) != JSCAN_STRING)
        return -1;
    return jscan_string_get(v.p, v.len, out, cap) >= 0 ? 0 : -1;
}

/* POST body to path with the client's key; the answer in *resp. */
static int
sp_call(struct ssepub *c, const char *path, const char *body, char **resp)
{
    if (c->api_key == NULL)
        return sp_fail(c, SSEPUB_ENOKEY, "no API key");
    return ssepub_request(c, "POST", path, body, c->api_key, NULL, resp);
}

int
ssepub_publish(struct ssepub_channel *ch, const char *payload_json,
               char *out_event_id)
{
    static const char fmt[] = "{\"channelName\":\"%s\",\"payload\":%s}";
    struct ssepub *c = ch->client;
    char *body, *resp = NULL;
    size_t n;
    int rc;

    if (payload_json == NULL ||
        jscan_validate(payload_json, strlen(payload_json),
                       JSCAN_DEFAULT_DEPTH) != PROTO_OK)
        return sp_fail(c, SSEPUB_EINVAL, "payload is not JSON");
    /* A valid channel name needs no JSON escaping. */
    n = sizeof(fmt) + strlen(ch->name) + strlen(payload_json);
    if ((body = malloc(n)) == NULL)
        return sp_fail(c, SSEPUB_ENOMEM, "out of memory");
    snprintf(body, n, fmt, ch->name, payload_json);
    rc = sp_call(c, "/v1/publishers/events/publish", body, &resp);
    free(body);
    if (rc == SSEPUB_OK && out_event_id != NULL &&
        sp_json_string(resp, "id", out_event_id, SSEPUB_EVENT_ID_MAX + 1) != 0)
        rc = sp_fail(c, SSEPUB_EPROTO, "answer without an event id");
    free(resp);
    return rc;
}

int
ssepub_auth_token(struct ssepub_channel *ch, char **out_token,
                  int64_t *out_expires_at)
{
    struct ssepub *c = ch->client;
    char body[CHAN_NAME_MAX + 32], *resp = NULL, *tok = NULL;
    struct proto_span v;
    int rc;

    *out_token = NULL;
    if (!chan_is_private(ch->name, strlen(ch->name)))
        return sp_fail(c, SSEPUB_EINVAL, "channel is not private");
    snprintf(body, sizeof(body), "{\"channelName\":\"%s\"}", ch->name);
    rc = sp_call(c, "/v1/publishers/sign", body, &resp);
    if (rc != SSEPUB_OK) {
        free(resp);
        return rc;
    }
    if ((tok = malloc(strlen(resp) + 1)) == NULL)
        rc = sp_fail(c, SSEPUB_ENOMEM, "out of memory");
    else if (sp_json_string(resp, "token", tok, strlen(resp) + 1) != 0 ||
             jscan_object_get(resp, strlen(resp), "expiresAt", &v) !=
                 PROTO_OK ||
             jscan_kind(v.p, v.len) != JSCAN_NUMBER)
        rc = sp_fail(c, SSEPUB_EPROTO, "answer without a token");
    if (rc == SSEPUB_OK) {
        if (out_expires_at != NULL)
            *out_expires_at = strtoll(v.p, NULL, 10);
        *out_token = tok;
        tok = NULL;
    }
    free(tok);
    free(resp);
    return rc;
}
