/*
 * cm_httpd.h - the HTTP/1.1 server every service shares, on libevent
 * bufferevents and proto/http.h's parser: keep-alive, bounded heads and
 * bodies, a route table (404/405 decided here), the error shape of
 * CONTRACT.md section 3, CORS, and the built-in /healthz, /readyz and
 * /metrics. The gateway also uses it for long-polling (a request answered
 * later) and takes WebSocket connections over with cm_httpd_hijack().
 *
 * Order of checks, as the contract wants: routing (404, 405) is done here;
 * authentication is the handler's first step; only then does the handler
 * look at the body, which may have been refused for size (413).
 */
#ifndef SSE_CM_HTTPD_H
#define SSE_CM_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <event2/util.h>

struct event_base;
struct evbuffer;
struct cm_metrics;
struct cm_httpd;
struct cm_httpd_req;

typedef void (*cm_httpd_handler)(struct cm_httpd_req *req, void *arg);

struct cm_httpd_route {
    const char *method; /* "GET" (answers HEAD too), "POST", "DELETE" */
    const char *path;   /* "/v1/admin/projects/{}/api-keys": {} = a segment */
    cm_httpd_handler handler;
    const char *name; /* metrics label; defaults to path */
    size_t max_body;  /* 0: the server's max_body */
};

struct cm_httpd_conf {
    const char *addr;         /* "0.0.0.0:8081" */
    size_t max_head;          /* bytes of a request head (431 past it) */
    size_t max_body;          /* bytes of a body (413 past it) */
    unsigned head_timeout_ms; /* to receive a whole head (slowloris) */
    unsigned idle_timeout_ms; /* keep-alive idle */
    unsigned max_conns;       /* 503 and close past it */
    const char *cors_origins; /* "*" or "https://a,https://b" */
    /* /readyz: 200 while ready(arg) returns 1, else 503. NULL: always. */
    int (*ready)(void *arg);
    /* paths answered by prefix_handler when no route matches exactly,
     * e.g. "/socket.io/" for the gateway (NULL: none). */
    const char *prefix;
    cm_httpd_handler prefix_handler;
};

/*
 * Listen on conf->addr and serve. routes[0..nroutes) and arg are kept by
 * reference. metrics may be NULL; otherwise requests are counted by route
 * and status and timed (sse_http_request_seconds). Returns NULL with err
 * filled when the address cannot be bound.
 */
struct cm_httpd *
cm_httpd_new(struct event_base *base, const struct cm_httpd_conf *conf,
             const struct cm_httpd_route *routes, size_t nroutes, void *arg,
             struct cm_metrics *metrics, char *err, size_t errlen);

/* Stop accepting new connections (SIGTERM drain); existing ones finish
 * their request and close. */
void cm_httpd_stop_accepting(struct cm_httpd *h);
/* The bound port (useful with addr "127.0.0.1:0"), or -1. */
int cm_httpd_port(const struct cm_httpd *h);
size_t cm_httpd_conn_count(const struct cm_httpd *h);
void cm_httpd_free(struct cm_httpd *h);

/* ---- the request: valid until one reply function is called, even if the
 * peer went away meanwhile (the reply is then dropped). ---- */

const char *cm_httpd_method(const struct cm_httpd_req *req);
/* path without query; NUL-terminated copy owned by req */
const char *cm_httpd_path(const struct cm_httpd_req *req);
/* query without '?', "" when none; owned by req */
const char *cm_httpd_query(const struct cm_httpd_req *req);
/* i-th "{}" segment of the route, percent-decoded; NULL past the last */
const char *cm_httpd_param(const struct cm_httpd_req *req, size_t i);
/* header value (NUL-terminated copy owned by req) or NULL */
const char *cm_httpd_header(const struct cm_httpd_req *req, const char *name);
/* the body (NUL-terminated, owned by req); NULL and *len 0 when none */
const char *cm_httpd_body(const struct cm_httpd_req *req, size_t *len);
/* 1 when the body passed the limit and was not read: answer 413 */
int cm_httpd_body_too_large(const struct cm_httpd_req *req);
/* the request's HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0 */
int cm_httpd_http_minor(const struct cm_httpd_req *req);
/* peer address text ("127.0.0.1") owned by req */
const char *cm_httpd_peer(const struct cm_httpd_req *req);
/* 1 while the client is still connected */
int cm_httpd_alive(const struct cm_httpd_req *req);

/* Credentials: "Authorization: Bearer X" -> X; cm_httpd_api_key also takes
 * "X-API-Key: X". NULL when absent. Owned by req. */
const char *cm_httpd_bearer(const struct cm_httpd_req *req);
const char *cm_httpd_api_key(const struct cm_httpd_req *req);

/* Called once if the client disconnects before the reply (long-polling). */
void cm_httpd_on_close(struct cm_httpd_req *req,
                       void (*cb)(struct cm_httpd_req *req, void *arg),
                       void *arg);

/* Add a response header before replying (copied). */
void cm_httpd_add_header(struct cm_httpd_req *req, const char *name,
                         const char *value);

/* ---- replies: exactly one per request; each frees req ---- */

/* body copied; content_type NULL means no Content-Type */
void cm_httpd_reply(struct cm_httpd_req *req, int status,
                    const char *content_type, const void *body, size_t len);
/* body taken from buf (drained into the connection without a copy) */
void cm_httpd_reply_buffer(struct cm_httpd_req *req, int status,
                           const char *content_type, struct evbuffer *buf);
/* application/json from a NUL-terminated JSON text */
void cm_httpd_reply_json(struct cm_httpd_req *req, int status,
                         const char *json);
/* {"statusCode":N,"error":"<reason phrase>","message":"<message>"} */
void cm_httpd_error(struct cm_httpd_req *req, int status, const char *message);

/*
 * Take the connection over (WebSocket upgrade). The caller gets the socket
 * (non-blocking) and any bytes already read past the head (moved into
 * leftover, which the caller frees); req and its connection are freed.
 * Returns 0, or -1 (req still valid) if the request had a body in flight.
 */
int cm_httpd_hijack(struct cm_httpd_req *req, evutil_socket_t *fd,
                    struct evbuffer **leftover);

#endif
