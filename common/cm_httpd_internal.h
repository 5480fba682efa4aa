/*
 * cm_httpd_internal.h - what the three halves of the HTTP server share and
 * nobody else sees: the server, connection and request structs, the named
 * bounds, and the calls between cm_httpd.c (connections, parsing, timers),
 * cm_httpd_route.c (routing, CORS, built-ins) and cm_httpd_reply.c
 * (answers and the error shape). Include only from common/cm_httpd*.c.
 */
#ifndef SSE_CM_HTTPD_INTERNAL_H
#define SSE_CM_HTTPD_INTERNAL_H

#include "cm_httpd.h"
#include "http.h"

#include <netinet/in.h>
#include <sys/queue.h>

struct bufferevent;
struct evconnlistener;
struct event;

#define CM_HTTPD_MAX_HEAD 16384
#define CM_HTTPD_MAX_BODY (1024 * 1024)
#define CM_HTTPD_HEAD_TIMEOUT_MS 10000
#define CM_HTTPD_IDLE_TIMEOUT_MS 60000
#define CM_HTTPD_MAX_CONNS 10000
#define CM_HTTPD_MAX_HEADERS 64 /* 431 past it */
#define CM_HTTPD_MAX_PARAMS 8
#define CM_HTTPD_MAX_SEGMENTS 16
#define CM_HTTPD_BACKLOG 511
/* After a closing answer: time to flush it and drain the peer's unread
 * body, so our close does not RST the answer away (nginx's lingering). */
#define CM_HTTPD_LINGER_MS 2000

enum cm_httpd_conn_state {
    CM_HTTPD_ST_IDLE,    /* between requests: idle timer */
    CM_HTTPD_ST_HEAD,    /* part of a head received: head timer */
    CM_HTTPD_ST_BODY,    /* reading a body: idle timer per progress */
    CM_HTTPD_ST_HANDLER, /* request handed over, waiting for its reply */
    CM_HTTPD_ST_CLOSING, /* flushing the last answer, draining input, then free
                          */
};

struct cm_httpd_req;

struct cm_httpd_conn {
    TAILQ_ENTRY(cm_httpd_conn) link;
    struct cm_httpd *h;
    struct bufferevent *bev;
    evutil_socket_t fd;
    struct event *timer;
    enum cm_httpd_conn_state state;
    struct cm_httpd_req *req; /* in CM_HTTPD_ST_BODY and CM_HTTPD_ST_HANDLER */
    int processing;           /* inside conn_process: no recursion */
    int dead;                 /* freed while processing: free at its end */
    int shut;                 /* closing: our side shut down for writing */
    char peer[INET6_ADDRSTRLEN];
};

struct cm_httpd {
    struct event_base *base;
    struct cm_httpd_conf conf; /* zero limits replaced by defaults */
    const struct cm_httpd_route *routes;
    size_t nroutes;
    void *arg;
    struct cm_metrics *metrics;
    struct evconnlistener *listener;
    TAILQ_HEAD(, cm_httpd_conn) conns;
    size_t nconns;
    int draining;
};

struct cm_httpd_req {
    struct cm_httpd *h;
    struct cm_httpd_conn *conn; /* NULL once the peer is gone */
    const struct cm_httpd_route *route;
    const char *route_name;
    char *head; /* NUL-terminated copy of the head: the strings below */
    const char *method, *path, *query;
    struct http_header headers[CM_HTTPD_MAX_HEADERS];
    size_t nheaders;
    char *params[CM_HTTPD_MAX_PARAMS];
    size_t nparams;
    int minor, keep_alive, too_large, chunked;
    uint64_t clen;
    struct http_chunked ch;
    size_t raw; /* chunked bytes consumed, framing included */
    size_t limit;
    char *body;
    size_t body_len, body_cap;
    struct evbuffer *extra; /* response headers added by the handler */
    void (*on_close)(struct cm_httpd_req *, void *);
    void *on_close_arg;
    double t0;
};

/* ---- cm_httpd.c: connections and requests ---- */

/* (Re)arm the connection's one timer for ms. */
void cm_httpd_timer_set(struct cm_httpd_conn *c, unsigned ms);
/* The last answer is queued: linger, then close (see cm_httpd.c). */
void cm_httpd_conn_closing(struct cm_httpd_conn *c);
/* Parse and dispatch what the input holds; a no-op when re-entered. */
void cm_httpd_conn_process(struct cm_httpd_conn *c);
/* The one place a connection dies; deferred while processing. */
void cm_httpd_conn_free(struct cm_httpd_conn *c);
void cm_httpd_req_free(struct cm_httpd_req *req);

/* ---- cm_httpd_route.c: routing and CORS ---- */

/* The route for req's path and method (params captured into req, route and
 * route_name set), or NULL; *path_matched says whether any route has the
 * path (405 rather than 404). A GET route also serves HEAD. */
const struct cm_httpd_route *cm_httpd_route_find(struct cm_httpd *h,
                                                 struct cm_httpd_req *req,
                                                 int *path_matched);
/* Hand a whole request to its handler, or answer 404/405/preflight. */
void cm_httpd_route_dispatch(struct cm_httpd_req *req);
/* 1 when origin is in conf.cors_origins ("*" allows any). */
int cm_httpd_origin_allowed(const struct cm_httpd *h, const char *origin);

/* ---- cm_httpd_reply.c: answers ---- */

/* An answer with no request behind it (400, 408, 431, 503), then close. */
void cm_httpd_conn_fail(struct cm_httpd_conn *c, int status,
                        const char *message);
/* Count one answer by route and status and time it since t0. */
void cm_httpd_count_request(struct cm_httpd *h, const char *route, int status,
                            double t0);

#endif
