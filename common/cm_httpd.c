/*
 * cm_httpd.c - the services' HTTP/1.1 server on libevent bufferevents, its
 * connection half: accept, one request at a time per connection (pipelined
 * requests wait in the input buffer, so answers keep their order), heads
 * parsed by proto/http.c from a bounded pullup, bodies by Content-Length or
 * chunked, timeouts, lingering close, hijacking and the request accessors.
 * Routing is cm_httpd_route.c, answers cm_httpd_reply.c. Not TLS.
 */
#include "cm_httpd_internal.h"
#include "cm_log.h"
#include "cm_metrics.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* ---- small helpers ---- */

void
cm_httpd_timer_set(struct cm_httpd_conn *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* The last answer is queued: flush it, then shut down our side and drain
 * what the peer still sends until it closes or the linger time is up. */
void
cm_httpd_conn_closing(struct cm_httpd_conn *c)
{
    c->state = CM_HTTPD_ST_CLOSING;
    cm_httpd_timer_set(c, CM_HTTPD_LINGER_MS);
}

static void
conn_flushed(struct cm_httpd_conn *c)
{
    if (c->state == CM_HTTPD_ST_CLOSING && !c->shut &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
}

/* ---- requests ---- */

void
cm_httpd_req_free(struct cm_httpd_req *req)
{
    for (size_t i = 0; i < req->nparams; i++)
        free(req->params[i]);
    if (req->extra)
        evbuffer_free(req->extra);
    free(req->head);
    free(req->body);
    free(req);
}

/* Copy the head and NUL-terminate its parts in place: each span is
 * followed by a byte of framing (SP, '?', ':', CR, LF) no longer needed. */
static struct cm_httpd_req *
req_new(struct cm_httpd_conn *c, const char *raw, size_t len)
{
    struct cm_httpd_req *req = calloc(1, sizeof *req);
    if (req == NULL || (req->head = malloc(len + 1)) == NULL) {
        free(req);
        return NULL;
    }
    memcpy(req->head, raw, len);
    req->head[len] = '\0';
    struct http_request r = {.headers = req->headers,
                             .nheaders = CM_HTTPD_MAX_HEADERS};
    if (http_parse_request(req->head, len, &r) != (ssize_t)len) {
        cm_httpd_req_free(req);
        return NULL;
    }
    req->h = c->h;
    req->conn = c;
    req->minor = r.minor_version;
    req->nheaders = r.nheaders;
    req->method = r.method.p;
    req->path = r.path.p;
    req->query = r.query.p ? r.query.p : "";
    ((char *)r.method.p)[r.method.len] = '\0';
    ((char *)r.path.p)[r.path.len] = '\0';
    if (r.query.p)
        ((char *)r.query.p)[r.query.len] = '\0';
    for (size_t i = 0; i < r.nheaders; i++) {
        ((char *)r.headers[i].name.p)[r.headers[i].name.len] = '\0';
        ((char *)r.headers[i].value.p)[r.headers[i].value.len] = '\0';
    }
    req->t0 = cm_now_mono();
    return req;
}

/* Keep-alive by version and Connection (RFC 9112 9.3). */
static int
req_keep_alive(const struct cm_httpd_req *req)
{
    const char *conn = cm_httpd_header(req, "Connection");
    struct proto_span v = {conn ? conn : "", conn ? strlen(conn) : 0};
    if (req->minor == 0)
        return http_header_has_token(&v, "keep-alive");
    return !http_header_has_token(&v, "close");
}

/* Decide how the body is framed. Returns 0, or -1 after answering 400. */
static int
req_framing(struct cm_httpd_conn *c, struct cm_httpd_req *req)
{
    const char *te = cm_httpd_header(req, "Transfer-Encoding");
    const char *cl = cm_httpd_header(req, "Content-Length");
    if (te != NULL) {
        struct proto_span v = {te, strlen(te)};
        /* RFC 9112 6.1: chunked must be last; with CL it is smuggling */
        if (cl != NULL || strcasecmp(te, "chunked") != 0 ||
            !http_header_has_token(&v, "chunked")) {
            cm_httpd_conn_fail(c, 400, "unsupported Transfer-Encoding");
            return -1;
        }
        req->chunked = 1;
        return 0;
    }
    if (cl != NULL) {
        struct proto_span v = {cl, strlen(cl)};
        if (http_content_length(&v, &req->clen) != PROTO_OK) {
            cm_httpd_conn_fail(c, 400, "bad Content-Length");
            return -1;
        }
    }
    return 0;
}

/* Read what is there of the body. Returns 1 when whole (or refused as
 * too large), 0 for more, -1 after a 400. */
static int
req_read_body(struct cm_httpd_conn *c, struct cm_httpd_req *req)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);
    if (!req->chunked) {
        if (req->clen > req->limit) {
            req->too_large = 1;
            return 1;
        }
        if (avail < req->clen)
            return 0;
        req->body = malloc(req->clen + 1);
        if (req->body == NULL) {
            cm_httpd_conn_fail(c, 503, "out of memory");
            return -1;
        }
        evbuffer_remove(in, req->body, req->clen);
        req->body_len = req->clen;
        req->body[req->body_len] = '\0';
        return 1;
    }
    if (avail == 0)
        return 0;
    if (req->body_len + avail + 1 > req->body_cap) {
        size_t cap = req->body_len + avail + 1;
        char *b = realloc(req->body, cap);
        if (b == NULL) {
            cm_httpd_conn_fail(c, 503, "out of memory");
            return -1;
        }
        req->body = b;
        req->body_cap = cap;
    }
    char *at = req->body + req->body_len;
    evbuffer_copyout(in, at, avail);
    size_t out;
    int done;
    ssize_t used = http_chunked_decode(&req->ch, at, avail, &out, &done);
    if (used < 0) {
        cm_httpd_conn_fail(c, 400, "bad chunked encoding");
        return -1;
    }
    evbuffer_drain(in, (size_t)used);
    req->body_len += out;
    req->raw += (size_t)used;
    req->body[req->body_len] = '\0';
    /* framing counts too, or endless trailers would never stop */
    if (req->body_len > req->limit || req->raw > 2 * req->limit + 65536) {
        req->too_large = 1;
        return 1;
    }
    return done;
}

/* Parse a head from the input; 1 when a request is ready to dispatch. */
static int
conn_read_head(struct cm_httpd_conn *c)
{
    struct cm_httpd *h = c->h;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);
    if (avail == 0)
        return 0;
    if (c->state == CM_HTTPD_ST_IDLE) {
        c->state = CM_HTTPD_ST_HEAD;
        cm_httpd_timer_set(c, h->conf.head_timeout_ms);
    }
    size_t n = avail < h->conf.max_head ? avail : h->conf.max_head;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    struct http_header hs[CM_HTTPD_MAX_HEADERS];
    struct http_request r = {.headers = hs, .nheaders = CM_HTTPD_MAX_HEADERS};
    ssize_t rc = http_parse_request(p, n, &r);
    if (rc == PROTO_AGAIN && n < h->conf.max_head)
        return 0;
    if (rc == PROTO_AGAIN || rc == PROTO_ETOOBIG) {
        cm_httpd_conn_fail(c, 431, "request head too large");
        return 0;
    }
    if (rc < 0) {
        cm_httpd_conn_fail(c, 400, "malformed request");
        return 0;
    }
    struct cm_httpd_req *req = req_new(c, p, (size_t)rc);
    evbuffer_drain(in, (size_t)rc);
    if (req == NULL) {
        cm_httpd_conn_fail(c, 503, "out of memory");
        return 0;
    }
    req->keep_alive = req_keep_alive(req) && !h->draining;
    c->req = req;
    if (req_framing(c, req) != 0) {
        c->req = NULL;
        cm_httpd_req_free(req);
        return 0;
    }
    int matched;
    const struct cm_httpd_route *rt = cm_httpd_route_find(h, req, &matched);
    req->limit = rt && rt->max_body ? rt->max_body : h->conf.max_body;
    c->state = CM_HTTPD_ST_BODY;
    cm_httpd_timer_set(c, h->conf.idle_timeout_ms);
    const char *expect = cm_httpd_header(req, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 &&
        req->clen <= req->limit && req->minor == 1)
        evbuffer_add_printf(bufferevent_get_output(c->bev),
                            "HTTP/1.1 100 Continue\r\n\r\n");
    return 1;
}

void
cm_httpd_conn_process(struct cm_httpd_conn *c)
{
    if (c->processing)
        return;
    c->processing = 1;
    if (c->state == CM_HTTPD_ST_CLOSING) /* lingering: the rest is discarded */
        evbuffer_drain(bufferevent_get_input(c->bev),
                       evbuffer_get_length(bufferevent_get_input(c->bev)));
    for (;;) {
        if (c->dead || c->state == CM_HTTPD_ST_CLOSING ||
            c->state == CM_HTTPD_ST_HANDLER)
            break;
        if (c->state == CM_HTTPD_ST_IDLE || c->state == CM_HTTPD_ST_HEAD) {
            if (!conn_read_head(c))
                break;
        }
        if (c->state == CM_HTTPD_ST_BODY) {
            int rc = req_read_body(c, c->req);
            if (rc < 0) {
                struct cm_httpd_req *req = c->req;
                c->req = NULL;
                cm_httpd_req_free(req);
                break;
            }
            if (rc == 0)
                break;
            c->state = CM_HTTPD_ST_HANDLER;
            evtimer_del(c->timer);
            cm_httpd_route_dispatch(
                c->req); /* may reply at once: loop goes on */
        }
    }
    c->processing = 0;
    if (c->dead)
        cm_httpd_conn_free(c);
    else
        conn_flushed(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
    cm_httpd_conn_process(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
    conn_flushed(arg);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        cm_httpd_conn_free(arg);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cm_httpd_conn *c = arg;
    if (c->state == CM_HTTPD_ST_HEAD || c->state == CM_HTTPD_ST_BODY) {
        if (c->req) {
            struct cm_httpd_req *req = c->req;
            c->req = NULL;
            cm_httpd_req_free(req);
        }
        cm_httpd_conn_fail(c, 408, "request not received in time");
        return;
    }
    if (c->state == CM_HTTPD_ST_IDLE || c->state == CM_HTTPD_ST_CLOSING)
        cm_httpd_conn_free(c);
}

/* The one place a connection dies. A request still waiting for its reply
 * is orphaned: it lives on until the handler replies (dropped then). */
void
cm_httpd_conn_free(struct cm_httpd_conn *c)
{
    struct cm_httpd_req *req = c->req;
    struct cm_httpd *h = c->h;
    if (c->processing) { /* a handler hijacked inside conn_process */
        c->dead = 1;
        return;
    }
    if (req != NULL) {
        req->conn = NULL;
        c->req = NULL;
        if (c->state == CM_HTTPD_ST_HANDLER) {
            if (req->on_close)
                req->on_close(req, req->on_close_arg);
        } else {
            cm_httpd_req_free(req);
        }
    }
    TAILQ_REMOVE(&h->conns, c, link);
    h->nconns--;
    event_free(c->timer);
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    free(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct cm_httpd *h = arg;
    struct cm_httpd_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->h = h;
    c->fd = fd;
    c->bev = bufferevent_socket_new(h->base, fd, 0); /* we close fd */
    c->timer = evtimer_new(h->base, conn_timer_cb, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev)
            bufferevent_free(c->bev);
        if (c->timer)
            event_free(c->timer);
        evutil_closesocket(fd);
        free(c);
        return;
    }
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer,
                  sizeof c->peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
                  sizeof c->peer);
    TAILQ_INSERT_TAIL(&h->conns, c, link);
    h->nconns++;
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* pipelined input waits in the buffer; this bounds how much */
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             h->conf.max_head + h->conf.max_body + 16384);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (h->nconns > h->conf.max_conns) {
        cm_warn("http connection refused: too many",
                KV_I("max_conns", h->conf.max_conns));
        cm_httpd_conn_fail(c, 503, "too many connections");
        return;
    }
    c->state = CM_HTTPD_ST_IDLE;
    cm_httpd_timer_set(c,
                       h->conf.head_timeout_ms); /* a fresh peer must speak */
}

void
cm_httpd_on_close(struct cm_httpd_req *req,
                  void (*cb)(struct cm_httpd_req *req, void *arg), void *arg)
{
    req->on_close = cb;
    req->on_close_arg = arg;
}

int
cm_httpd_hijack(struct cm_httpd_req *req, evutil_socket_t *fd,
                struct evbuffer **leftover)
{
    struct cm_httpd_conn *c = req->conn;
    if (c == NULL || req->too_large || c->state != CM_HTTPD_ST_HANDLER)
        return -1;
    /* earlier answers still queued must reach the peer before the takeover */
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (evbuffer_get_length(out) > 0)
        if (evbuffer_write(out, c->fd) <= 0)
            return -1;
    struct evbuffer *lo = evbuffer_new();
    if (lo == NULL)
        return -1;
    evbuffer_add_buffer(lo, bufferevent_get_input(c->bev));
    cm_httpd_count_request(
        req->h, req->route_name ? req->route_name : "unmatched", 101, req->t0);
    *fd = c->fd;
    *leftover = lo;
    c->fd = -1;
    c->req = NULL;
    cm_httpd_req_free(req);
    bufferevent_free(c->bev);
    c->bev = NULL;
    cm_httpd_conn_free(c);
    return 0;
}

/* ---- request accessors ---- */

const char *
cm_httpd_method(const struct cm_httpd_req *req)
{
    return req->method;
}

const char *
cm_httpd_path(const struct cm_httpd_req *req)
{
    return req->path;
}

const char *
cm_httpd_query(const struct cm_httpd_req *req)
{
    return req->query;
}

const char *
cm_httpd_param(const struct cm_httpd_req *req, size_t i)
{
    return i < req->nparams ? req->params[i] : NULL;
}

const char *
cm_httpd_header(const struct cm_httpd_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name.p, name) == 0)
            return req->headers[i].value.p;
    return NULL;
}

const char *
cm_httpd_body(const struct cm_httpd_req *req, size_t *len)
{
    *len = req->too_large ? 0 : req->body_len;
    return req->too_large ? NULL : req->body;
}

int
cm_httpd_body_too_large(const struct cm_httpd_req *req)
{
    return req->too_large;
}

const char *
cm_httpd_peer(const struct cm_httpd_req *req)
{
    return req->conn ? req->conn->peer : "";
}

int
cm_httpd_http_minor(const struct cm_httpd_req *req)
{
    return req->minor;
}

int
cm_httpd_alive(const struct cm_httpd_req *req)
{
    return req->conn != NULL;
}

const char *
cm_httpd_bearer(const struct cm_httpd_req *req)
{
    const char *v = cm_httpd_header(req, "Authorization");
    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    while (*v == ' ')
        v++;
    return *v ? v : NULL;
}

const char *
cm_httpd_api_key(const struct cm_httpd_req *req)
{
    const char *v = cm_httpd_bearer(req);
    if (v == NULL)
        v = cm_httpd_header(req, "X-API-Key");
    return v && *v ? v : NULL;
}

/* ---- the server ---- */

/*
 * "host:port", "[v6]:port" or ":port" (every interface). The host may be a
 * name ("localhost"): it is resolved here, once, at start-up, before the
 * loop runs. Port 0 takes any free port. Returns 0 or -1.
 */
static int
addr_parse(const char *addr, struct sockaddr_storage *ss, int *len)
{
    struct addrinfo hints, *res = NULL;
    char host[256];
    const char *colon = strrchr(addr, ':');
    size_t hl;
    int rc;

    if (colon == NULL || colon[1] == '\0' ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        addr++; /* [v6] */
        hl -= 2;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(hl > 0 ? host : NULL, colon + 1, &hints, &res);
    if (rc != 0 || res == NULL || res->ai_addrlen > sizeof *ss) {
        if (res != NULL)
            freeaddrinfo(res);
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (int)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

struct cm_httpd *
cm_httpd_new(struct event_base *base, const struct cm_httpd_conf *conf,
             const struct cm_httpd_route *routes, size_t nroutes, void *arg,
             struct cm_metrics *metrics, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (conf->addr == NULL || addr_parse(conf->addr, &ss, &sslen) != 0) {
        snprintf(err, errlen, "bad listen address '%s'", conf->addr);
        return NULL;
    }
    struct cm_httpd *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->base = base;
    h->conf = *conf;
    h->conf.max_head = conf->max_head ? conf->max_head : CM_HTTPD_MAX_HEAD;
    h->conf.max_body = conf->max_body ? conf->max_body : CM_HTTPD_MAX_BODY;
    if (!h->conf.head_timeout_ms)
        h->conf.head_timeout_ms = CM_HTTPD_HEAD_TIMEOUT_MS;
    if (!h->conf.idle_timeout_ms)
        h->conf.idle_timeout_ms = CM_HTTPD_IDLE_TIMEOUT_MS;
    if (!h->conf.max_conns)
        h->conf.max_conns = CM_HTTPD_MAX_CONNS;
    h->routes = routes;
    h->nroutes = nroutes;
    h->arg = arg;
    h->metrics = metrics;
    TAILQ_INIT(&h->conns);
    h->listener = evconnlistener_new_bind(
        base, accept_cb, h, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
        CM_HTTPD_BACKLOG, (struct sockaddr *)&ss, sslen);
    if (h->listener == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", conf->addr,
                 strerror(errno));
        free(h);
        return NULL;
    }
    return h;
}

int
cm_httpd_port(const struct cm_httpd *h)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evconnlistener_get_fd(h->listener), (struct sockaddr *)&ss,
                    &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void
cm_httpd_stop_accepting(struct cm_httpd *h)
{
    h->draining = 1;
    evconnlistener_disable(h->listener);
    struct cm_httpd_conn *c, *next;
    for (c = TAILQ_FIRST(&h->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, link);
        if (c->state == CM_HTTPD_ST_IDLE && !c->processing)
            cm_httpd_conn_free(c);
    }
}

size_t
cm_httpd_conn_count(const struct cm_httpd *h)
{
    return h->nconns;
}

void
cm_httpd_free(struct cm_httpd *h)
{
    if (h == NULL)
        return;
    evconnlistener_free(h->listener);
    struct cm_httpd_conn *c;
    while ((c = TAILQ_FIRST(&h->conns)) != NULL)
        cm_httpd_conn_free(c);
    free(h);
}
