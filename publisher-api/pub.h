/*
 * pub.h - the publisher API's one process context and the helpers its
 * handlers share: guards (admin token, API key and scope), JSON body and
 * field checks, and replies that free the call. Handlers live in
 * pub_admin.c, pub_publish.c and pub_sign.c; the route table in
 * pub_routes.c; the per-key rate limit in pub_rate.c.
 */
#ifndef SSE_PUB_H
#define SSE_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "cm_config.h"
#include "cm_httpd.h"
#include "cm_service.h"
#include "cm_store.h"
#include "chan.h"
#include "proto.h"

struct event;
struct event_base;
struct cm_redis;
struct cm_metrics;
struct cm_histogram;
struct cm_counter;
struct pub_rate;

/* The service's own settings (SSE_PUBLISHER_* and SSE_HTTP_*). */
struct pub_conf {
    char *addr;
    long long max_body; /* 0: SSE_MAX_PAYLOAD + PUB_BODY_SLACK */
    long long max_head;
    long long max_conns;
    long long head_timeout_ms;
    long long idle_timeout_ms;
    long long drain_ms;      /* SIGTERM: longest wait for open requests */
    long long publish_rate;  /* per key, per second; 0 = unlimited */
    long long rate_keys_max; /* keys tracked by the rate limiter */
};

/* Room for the JSON around a payload of SSE_MAX_PAYLOAD bytes. */
#define PUB_BODY_SLACK 4096

/* The whole process: one per process, passed to every handler. */
struct pub_ctx {
    struct event_base *base;
    struct pub_conf conf;
    struct cm_conf_common common;
    struct cm_redis *redis;
    struct cm_store store;
    struct cm_metrics *metrics;
    struct cm_httpd *httpd;
    struct pub_rate *rate; /* NULL when publish_rate is 0 */
    struct cm_histogram *publish_seconds;
    struct cm_counter *published;
    struct cm_signals signals; /* SIGTERM/SIGINT: drain */
    struct event *drain_timer;
    double drain_deadline;
};

/* The route table (pub_routes.c). */
extern const struct cm_httpd_route pub_routes[];
extern const size_t pub_nroutes;

struct pub_call;
typedef void (*pub_step)(struct pub_call *call);

/*
 * One request in flight. Owned by the handler chain; every reply helper
 * below answers the request and frees the call, so after a reply the call
 * must not be touched.
 */
struct pub_call {
    struct pub_ctx *ctx;
    struct cm_httpd_req *req;
    double t0;                 /* cm_now_mono() at arrival */
    pub_step next;             /* runs once the key is verified */
    unsigned scope;            /* the scope the route needs */
    int ok_status;             /* 200 or 201, for shared callbacks */
    struct cm_apikey key;      /* the caller's key (API-key routes) */
    struct cm_project project; /* and its project */
    struct proto_span body;    /* validated JSON object */
    char channel[CHAN_NAME_MAX + 1];
    char event_id[24];
};

/* ---- guards (pub_routes.c) ---- */

/*
 * Admin routes: 403 when SSE_ADMIN_TOKEN is unset, 401 for a missing or
 * wrong bearer (constant-time). Returns a new call, or NULL when the
 * request was answered.
 */
struct pub_call *pub_admin_guard(struct pub_ctx *ctx, struct cm_httpd_req *req);

/*
 * API-key routes: 401 without a key, then one store round trip; an
 * unknown, wrong, expired or deleted key is 401, a key without scope 403.
 * On success next(call) runs with call->key and call->project filled.
 */
void pub_key_guard(struct pub_ctx *ctx, struct cm_httpd_req *req,
                   unsigned scope, pub_step next);

/* ---- body and fields: each returns 0, or -1 after answering ---- */

/* 413 if over the body limit, 400 unless the body is a JSON object.
 * Fills call->body. */
int pub_body_object(struct pub_call *call);

/*
 * Member key of call->body as a string unescaped into out (cap bytes with
 * the NUL). 400 when missing (unless optional: returns 1 and out = ""),
 * not a string, too long or holding a NUL.
 */
int pub_field_string(struct pub_call *call, const char *key, char *out,
                     size_t cap, int optional);

/* channelName: a string and a valid channel name, into call->channel. */
int pub_field_channel(struct pub_call *call);

/* ---- replies: answer, then free the call ---- */

void pub_reply_error(struct pub_call *call, int status, const char *message);
/* json is NUL-terminated and copied. */
void pub_reply_json(struct pub_call *call, int status, const char *json);
/* Takes a cJSON tree (struct cJSON *), prints it, frees it; 500 on NULL. */
void pub_reply_tree(struct pub_call *call, int status, void *tree);
/* A cm_store rc to its HTTP answer (404, 409, 503 ...). */
void pub_reply_store(struct pub_call *call, int rc);
/* Redis is down (a call returned -1 or a reply was NULL): 503. */
void pub_reply_unavailable(struct pub_call *call);

/* ---- handlers ---- */

void pub_admin_project_create(struct cm_httpd_req *req, void *arg);
void pub_admin_project_get(struct cm_httpd_req *req, void *arg);
void pub_admin_key_create(struct cm_httpd_req *req, void *arg);
void pub_admin_key_list(struct cm_httpd_req *req, void *arg);
void pub_admin_key_delete(struct cm_httpd_req *req, void *arg);
void pub_publish_run(struct pub_call *call);
void pub_sign_run(struct pub_call *call);

/* ---- per-key publish rate (pub_rate.c): a token bucket per key id ---- */

/* rate: tokens per second and the bucket size; max_keys: keys tracked
 * (idle full buckets are dropped to make room). NULL on allocation
 * failure. */
struct pub_rate *pub_rate_new(double rate, size_t max_keys);
void pub_rate_free(struct pub_rate *r);
/*
 * Take one token for kid at time now (monotonic seconds). Returns 0 when
 * allowed, else the whole seconds to wait (>= 1) for Retry-After.
 */
long pub_rate_take(struct pub_rate *r, const char *kid, double now);

#endif
