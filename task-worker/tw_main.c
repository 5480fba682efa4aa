/*
 * tw_main.c - sse-task-worker: configuration, the Redis links, the HTTP
 * routes, metrics, and the process lifecycle (SIGTERM: stop taking jobs,
 * let running ones finish or leave them to their lease, exit 0 within
 * 10 s). The pipeline's stages live in their own files.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "tw.h"
#include "tw_consumer.h"
#include "tw_intake.h"
#include "tw_jobs.h"
#include "tw_sweeper.h"
#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_queue.h"
#include "cm_service.h"

/* After SIGTERM, give running jobs this long, then leave them to their
 * lease: the contract wants an exit within 10 s. */
#define TW_DRAIN_MS 8000

#define TW_I(env, field, def, min, max, help)                                  \
    CM_CONF_INT_ITEM(tw_conf, env, field, def, min, max, help)

static const struct cm_conf_item tw_conf_items[] = {
    {"SSE_WORKER_ADDR", CM_CONF_STR, offsetof(struct tw_conf, addr),
     "0.0.0.0:8082", 0, 0, NULL, "listen address of the task worker"},
    TW_I("SSE_JOB_ATTEMPTS", job_attempts, "5", 1, 100,
         "attempts per job before it lands in the failed list"),
    TW_I("SSE_JOB_BACKOFF_MS", job_backoff_ms, "200", 1, 3600000,
         "first retry delay in ms; doubles each attempt"),
    TW_I("SSE_JOB_LEASE_MS", job_lease_ms, "10000", 100, 3600000,
         "a running job's lease in ms; extended while it runs"),
    TW_I("SSE_WORKER_CONCURRENCY", concurrency, "4", 1, 1024,
         "jobs run at once by this worker"),
    TW_I("SSE_SWEEP_INTERVAL_MS", sweep_interval_ms, "1000", 10, 3600000,
         "period of the expiry and dead-gateway sweeps in ms"),
    TW_I("SSE_GATEWAY_DEAD_MS", gateway_dead_ms, "30000", 1000, 86400000,
         "a gateway silent this long (ms) has its sockets swept"),
    TW_I("SSE_SWEEP_BATCH", sweep_batch, "100", 1, 100000,
         "expired keys and dead gateways handled per sweep"),
    TW_I("SSE_CONTROL_MSG_MAX", control_max, "524288", 1024, 16777216,
         "largest gateway control message in bytes (split past it)"),
    TW_I("SSE_FAILED_LIST_MAX", failed_list_max, "1000", 1, 100000,
         "failed jobs listed by GET /v1/tasks/jobs/failed"),
    TW_I("SSE_WORKER_MAX_BODY", max_body, "4096", 256, 1048576,
         "largest intake body in bytes (413 past it)"),
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct cm_conf_spec tw_spec = {
    "sse-task-worker",
    "event intake, revocation queue consumer and key-expiry sweeper",
    tw_conf_items,
};

static const struct cm_httpd_route tw_routes[] = {
    {"POST", "/v1/tasks/events", tw_intake_handle, "/v1/tasks/events", 0},
    {"GET", "/v1/tasks/jobs/failed", tw_jobs_failed_handle,
     "/v1/tasks/jobs/failed", 0},
    {"POST", "/v1/tasks/jobs/{}/retry", tw_jobs_retry_handle,
     "/v1/tasks/jobs/{}/retry", 0},
};

static int
tw_ready(void *arg)
{
    struct tw_ctx *ctx = arg;

    return cm_redis_up(ctx->redis);
}

void
tw_main_drained(struct tw_ctx *ctx)
{
    cm_info("drained: exiting");
    event_base_loopexit(ctx->base, NULL);
}

static void
tw_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct tw_ctx *ctx = arg;

    (void)fd;
    (void)what;
    cm_warn("drain deadline: leaving running jobs to their lease",
            KV_I("running", tw_consumer_running(ctx->consumer)));
    event_base_loopexit(ctx->base, NULL);
}

static void
tw_drain(int sig, void *arg)
{
    struct tw_ctx *ctx = arg;
    struct timeval tv = {TW_DRAIN_MS / 1000, (TW_DRAIN_MS % 1000) * 1000};

    ctx->stopping = 1;
    cm_info("signal: draining", KV_I("signal", (long long)sig),
            KV_I("running", tw_consumer_running(ctx->consumer)));
    cm_httpd_stop_accepting(ctx->httpd);
    tw_sweeper_stop(ctx->sweeper);
    ctx->ev_deadline = evtimer_new(ctx->base, tw_on_deadline, ctx);
    if (ctx->ev_deadline != NULL)
        evtimer_add(ctx->ev_deadline, &tv);
    tw_consumer_stop(ctx->consumer);
}

static int
tw_metrics_init(struct tw_ctx *ctx)
{
    struct cm_metrics *m = ctx->metrics;
    struct tw_metrics *t = &ctx->m;
    static const char ev_help[] = "revocation events taken in";
    static const char job_help[] = "job attempts by outcome";
    static const double bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25,
                                    0.5,   1,     2.5,  5,    10,  30};

    t->events_deleted = cm_metrics_counter(m, "sse_events_in_total",
                                           "type=\"ApiKeyDeleted\"", ev_help);
    t->events_expired = cm_metrics_counter(m, "sse_events_in_total",
                                           "type=\"ApiKeyExpired\"", ev_help);
    t->keys_swept = cm_metrics_counter(m, "sse_keys_expired_total", NULL,
                                       "expired keys found by the sweeper");
    t->jobs_completed = cm_metrics_counter(m, "sse_jobs_total",
                                           "outcome=\"completed\"", job_help);
    t->jobs_retried = cm_metrics_counter(m, "sse_jobs_total",
                                         "outcome=\"retried\"", job_help);
    t->jobs_failed =
        cm_metrics_counter(m, "sse_jobs_total", "outcome=\"failed\"", job_help);
    t->memberships = cm_metrics_counter(m, "sse_memberships_revoked_total",
                                        NULL, "channel memberships revoked");
    t->control_msgs = cm_metrics_counter(m, "sse_control_messages_total", NULL,
                                         "control messages to gateways");
    t->gateways_swept = cm_metrics_counter(m, "sse_gateways_swept_total", NULL,
                                           "dead gateways cleaned up");
    t->redis_errors = cm_metrics_counter(m, "sse_errors_total",
                                         "kind=\"redis\"", "errors by kind");
    t->queue_depth = cm_metrics_gauge(m, "sse_queue_depth", NULL,
                                      "jobs waiting, delayed or active");
    t->jobs_running = cm_metrics_gauge(m, "sse_jobs_running", NULL,
                                       "jobs running in this worker");
    t->job_seconds = cm_metrics_histogram(m, "sse_job_seconds", NULL,
                                          "duration of one job attempt", bounds,
                                          sizeof(bounds) / sizeof(bounds[0]));
    return (t->events_deleted && t->events_expired && t->keys_swept &&
            t->jobs_completed && t->jobs_retried && t->jobs_failed &&
            t->memberships && t->control_msgs && t->gateways_swept &&
            t->redis_errors && t->queue_depth && t->jobs_running &&
            t->job_seconds)
               ? 0
               : -1;
}

/* Links, routes and timers; on failure, err says why. */
static int
tw_start(struct tw_ctx *ctx, char *err, size_t errlen)
{
    struct cm_httpd_conf hc = {
        .addr = ctx->conf.addr,
        .max_head = 8192,
        .max_body = (size_t)ctx->conf.max_body,
        .head_timeout_ms = 10000,
        .idle_timeout_ms = 60000,
        .max_conns = 1024,
        .cors_origins = ctx->common.cors_origins,
        .ready = tw_ready,
    };
    char why[200];

    if (cm_redis_url_parse(ctx->common.redis_url, &ctx->url, err, errlen))
        return -1;
    ctx->metrics = cm_metrics_new("task-worker", ctx->common.node_id);
    if (ctx->metrics == NULL || tw_metrics_init(ctx) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ctx->redis = cm_redis_new(ctx->base, &ctx->url, "worker");
    ctx->notify = cm_redis_new(ctx->base, &ctx->url, "worker-notify");
    if (ctx->redis == NULL || ctx->notify == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cm_store_init(&ctx->store, ctx->redis, ctx->common.master_key,
                      ctx->common.master_key_previous)) {
        snprintf(err, errlen,
                 "SSE_MASTER_KEY(_PREVIOUS): must be 64 hex characters");
        return -1;
    }
    ctx->httpd = cm_httpd_new(ctx->base, &hc, tw_routes,
                              sizeof(tw_routes) / sizeof(tw_routes[0]), ctx,
                              ctx->metrics, why, sizeof(why));
    if (ctx->httpd == NULL) {
        /* name the setting, as every other configuration error does */
        snprintf(err, errlen, "SSE_WORKER_ADDR: %s", why);
        return -1;
    }
    ctx->consumer = tw_consumer_new(ctx);
    ctx->sweeper = tw_sweeper_new(ctx);
    if (ctx->consumer == NULL || ctx->sweeper == NULL ||
        cm_signals_init(&ctx->signals, ctx->base, tw_drain, ctx) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Free in dependency order: the Redis links first, so their pending
 * callbacks (answered with NULL) still find requests and runs alive. */
static void
tw_stop(struct tw_ctx *ctx)
{
    ctx->closing = 1;
    if (ctx->redis != NULL)
        cm_redis_free(ctx->redis);
    if (ctx->notify != NULL)
        cm_redis_free(ctx->notify);
    ctx->redis = ctx->notify = NULL;
    if (ctx->httpd != NULL)
        cm_httpd_free(ctx->httpd);
    tw_consumer_free(ctx->consumer);
    tw_sweeper_free(ctx->sweeper);
    cm_signals_free(&ctx->signals);
    if (ctx->ev_deadline != NULL)
        event_free(ctx->ev_deadline);
    if (ctx->metrics != NULL)
        cm_metrics_free(ctx->metrics);
}

int
main(int argc, char **argv)
{
    struct tw_ctx ctx;
    char err[256] = "";
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    rc = cm_service_start(&tw_spec, &ctx.conf, &ctx.common, argc, argv,
                          "task-worker", NULL);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    ctx.policy.max_attempts = (int)ctx.conf.job_attempts;
    ctx.policy.lease_ms = ctx.conf.job_lease_ms;
    ctx.policy.backoff_ms = ctx.conf.job_backoff_ms;
    ctx.base = event_base_new();
    if (ctx.base == NULL || tw_start(&ctx, err, sizeof(err)) != 0) {
        cm_error("cannot start", KV_S("error", err[0] ? err : "event base"));
        rc = 1;
    } else {
        cm_info("task worker listening", KV_S("addr", ctx.conf.addr),
                KV_I("concurrency", ctx.conf.concurrency));
        event_base_dispatch(ctx.base);
        rc = 0;
    }
    tw_stop(&ctx);
    if (ctx.base != NULL)
        event_base_free(ctx.base);
    cm_config_free(&tw_spec, &ctx.conf, &ctx.common);
    cm_info("task worker stopped");
    return rc;
}
