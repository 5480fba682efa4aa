/*
 * pub_main.c - sse-publisher-api: configuration, the event loop, the Redis
 * link, the store, metrics and the HTTP server with the route table of
 * pub_routes.c. SIGTERM stops accepting, lets open requests finish (at
 * most SSE_DRAIN_MS) and exits 0.
 */
#include "pub.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_redis.h"
#include "cm_service.h"

#define PUB_DRAIN_TICK_US 50000

#define PUB_INT(env, field, def, min, max, help)                               \
    CM_CONF_INT_ITEM(pub_conf, env, field, def, min, max, help)

static const struct cm_conf_item pub_conf_items[] = {
    {"SSE_PUBLISHER_ADDR", CM_CONF_STR, offsetof(struct pub_conf, addr),
     "0.0.0.0:8081", 0, 0, NULL, "listen address host:port"},
    PUB_INT("SSE_HTTP_MAX_BODY", max_body, "0", 0, 1LL << 30,
            "largest request body in bytes (0: SSE_MAX_PAYLOAD + 4096)"),
    PUB_INT("SSE_HTTP_MAX_HEAD", max_head, "16384", 1024, 1 << 20,
            "largest request head in bytes"),
    PUB_INT("SSE_HTTP_MAX_CONNS", max_conns, "10000", 1, 1000000,
            "open connections before new ones get 503"),
    PUB_INT("SSE_HTTP_HEAD_TIMEOUT_MS", head_timeout_ms, "10000", 100, 600000,
            "time to receive a whole request head"),
    PUB_INT("SSE_HTTP_IDLE_TIMEOUT_MS", idle_timeout_ms, "60000", 100, 3600000,
            "keep-alive idle time"),
    PUB_INT("SSE_DRAIN_MS", drain_ms, "8000", 0, 9500,
            "on SIGTERM, longest wait for open requests"),
    PUB_INT("SSE_PUBLISH_RATE", publish_rate, "0", 0, 1000000,
            "publishes per second per API key, per process (0: unlimited)"),
    PUB_INT("SSE_PUBLISH_RATE_KEYS", rate_keys_max, "100000", 16, 10000000,
            "API keys the rate limiter tracks at once"),
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct cm_conf_spec pub_spec = {
    "sse-publisher-api",
    "publisher REST API and admin API of sse",
    pub_conf_items,
};

static int
pub_ready(void *arg)
{
    struct pub_ctx *ctx = arg;

    return cm_redis_up(ctx->redis);
}

static void
pub_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct pub_ctx *ctx = arg;

    (void)fd;
    (void)what;
    if (cm_httpd_conn_count(ctx->httpd) == 0 ||
        cm_now_mono() >= ctx->drain_deadline)
        event_base_loopbreak(ctx->base);
}

static void
pub_drain(int sig, void *arg)
{
    struct pub_ctx *ctx = arg;
    struct timeval tick = {0, PUB_DRAIN_TICK_US};

    cm_info("draining", KV_I("signal", sig),
            KV_I("open_connections", cm_httpd_conn_count(ctx->httpd)));
    cm_httpd_stop_accepting(ctx->httpd);
    ctx->drain_deadline = cm_now_mono() + (double)ctx->conf.drain_ms / 1000;
    ctx->drain_timer =
        event_new(ctx->base, -1, EV_PERSIST, pub_drain_tick, ctx);
    if (ctx->drain_timer == NULL || event_add(ctx->drain_timer, &tick) != 0)
        event_base_loopbreak(ctx->base);
}

/* Metrics, the rate limiter and the HTTP server. Returns 0 or -1. */
static int
pub_start(struct pub_ctx *ctx)
{
    struct cm_httpd_conf hc;
    char err[256];

    ctx->metrics = cm_metrics_new("publisher-api", ctx->common.node_id);
    if (ctx->metrics == NULL)
        return -1;
    ctx->publish_seconds = cm_metrics_histogram(
        ctx->metrics, "sse_publish_seconds", NULL,
        "REST publish: request arrival to Redis reply", NULL, 0);
    ctx->published =
        cm_metrics_counter(ctx->metrics, "sse_events_published_total", NULL,
                           "events published over REST");
    if (ctx->conf.publish_rate > 0 &&
        (ctx->rate = pub_rate_new((double)ctx->conf.publish_rate,
                                  (size_t)ctx->conf.rate_keys_max)) == NULL)
        return -1;
    memset(&hc, 0, sizeof(hc));
    hc.addr = ctx->conf.addr;
    hc.max_head = (size_t)ctx->conf.max_head;
    hc.max_body = (size_t)ctx->conf.max_body;
    hc.head_timeout_ms = (unsigned)ctx->conf.head_timeout_ms;
    hc.idle_timeout_ms = (unsigned)ctx->conf.idle_timeout_ms;
    hc.max_conns = (unsigned)ctx->conf.max_conns;
    hc.cors_origins = ctx->common.cors_origins;
    hc.ready = pub_ready;
    ctx->httpd = cm_httpd_new(ctx->base, &hc, pub_routes, pub_nroutes, ctx,
                              ctx->metrics, err, sizeof(err));
    if (ctx->httpd == NULL) {
        /* name the setting, as every other configuration error does */
        cm_error("cannot listen", KV_S("setting", "SSE_PUBLISHER_ADDR"),
                 KV_S("addr", ctx->conf.addr), KV_S("error", err));
        return -1;
    }
    return cm_signals_init(&ctx->signals, ctx->base, pub_drain, ctx);
}

/* Redis and the store. Returns 0 or -1 with the reason logged. */
static int
pub_connect(struct pub_ctx *ctx)
{
    struct cm_redis_url url;
    char err[256];

    if (cm_redis_url_parse(ctx->common.redis_url, &url, err, sizeof(err)) !=
        0) {
        cm_error("bad configuration", KV_S("error", err));
        return -1;
    }
    if ((ctx->redis = cm_redis_new(ctx->base, &url, "publisher")) == NULL)
        return -1;
    if (cm_store_init(&ctx->store, ctx->redis, ctx->common.master_key,
                      ctx->common.master_key_previous) != 0) {
        cm_error(
            "bad configuration",
            KV_S("error", "SSE_MASTER_KEY(_PREVIOUS): not 64 hex characters"));
        return -1;
    }
    return 0;
}

/* SSE_HTTP_MAX_BODY 0 means the payload limit plus room for the rest. */
static void
pub_resolve(void *svc, const struct cm_conf_common *common)
{
    struct pub_conf *conf = svc;

    if (conf->max_body == 0)
        conf->max_body = common->max_payload + PUB_BODY_SLACK;
}

static void
pub_cleanup(struct pub_ctx *ctx)
{
    if (ctx->drain_timer != NULL)
        event_free(ctx->drain_timer);
    cm_signals_free(&ctx->signals);
    if (ctx->httpd != NULL)
        cm_httpd_free(ctx->httpd);
    if (ctx->redis != NULL)
        cm_redis_free(ctx->redis);
    pub_rate_free(ctx->rate);
    if (ctx->metrics != NULL)
        cm_metrics_free(ctx->metrics);
    explicit_bzero(&ctx->store, sizeof(ctx->store));
    if (ctx->base != NULL)
        event_base_free(ctx->base);
    cm_config_free(&pub_spec, &ctx->conf, &ctx->common);
}

int
main(int argc, char **argv)
{
    struct pub_ctx ctx;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    rc = cm_service_start(&pub_spec, &ctx.conf, &ctx.common, argc, argv,
                          "publisher-api", pub_resolve);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    rc = 1;
    if ((ctx.base = event_base_new()) != NULL && pub_connect(&ctx) == 0 &&
        pub_start(&ctx) == 0) {
        cm_info("listening", KV_S("addr", ctx.conf.addr));
        rc = event_base_dispatch(ctx.base) < 0;
        cm_info("stopped");
    }
    pub_cleanup(&ctx);
    return rc;
}
