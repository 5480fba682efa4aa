/*
 * gw_main.c - sse-gateway's process: the configuration table, logging,
 * Redis, the tenancy store, metrics, the HTTP server with /socket.io/ and
 * the built-in /healthz /readyz /metrics, the channels half, and the
 * SIGTERM drain (stop accepting, Engine.IO-close every session so clients
 * reconnect elsewhere, exit 0 within SSE_DRAIN_TIMEOUT).
 */
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "cm_config.h"
#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_redis.h"
#include "cm_service.h"
#include "gw_eio.h"
#include "cm_keys.h"
#include "gw_session.h"

#define GW_DRAIN_CHECK_MS 50

/* Keep the heap: a burst's frames and backlogs are freed to the top of the
 * heap; glibc's defaults (128 KiB) would give them back to the kernel and
 * fault fresh pages in on the next burst (do_anonymous_page in the bench
 * profile). Up to GW_MALLOC_TRIM_THRESHOLD of free heap top stays mapped,
 * and each brk grows by GW_MALLOC_TOP_PAD more (address space only: pages
 * count in RSS once touched). Setting them also stops glibc's dynamic
 * mmap threshold from moving. */
#define GW_MALLOC_TRIM_THRESHOLD (64 * 1024 * 1024)
#define GW_MALLOC_TOP_PAD (16 * 1024 * 1024)

#define GW_INT(env, field, def, min, max, help)                                \
    CM_CONF_INT_ITEM(gw_conf, env, field, def, min, max, help)

static const struct cm_conf_item gw_conf_items[] = {
    {"SSE_GATEWAY_ADDR", CM_CONF_STR, offsetof(struct gw_conf, addr),
     "0.0.0.0:8080", 0, 0, NULL, "listen address, host:port"},
    GW_INT("SSE_PING_INTERVAL", ping_interval, "25000", 100, 3600000,
           "ms between Engine.IO pings (pingInterval)"),
    GW_INT("SSE_PING_TIMEOUT", ping_timeout, "20000", 100, 3600000,
           "ms to wait for a pong before closing (pingTimeout)"),
    GW_INT("SSE_MAX_HTTP_BUFFER_SIZE", max_http_buffer, "1000000", 1024,
           100000000, "largest message, POST body or attachment set, bytes"),
    GW_INT("SSE_MAX_CONNECTIONS", max_conns, "100000", 1, 10000000,
           "sessions at once; handshakes past it get 503"),
    GW_INT("SSE_MAX_CHANNELS_PER_SOCKET", max_channels, "100", 1, 100000,
           "channels one socket may join"),
    GW_INT("SSE_HANDSHAKE_TIMEOUT", handshake_timeout, "10000", 100, 600000,
           "ms from the Engine.IO open to an accepted CONNECT"),
    GW_INT("SSE_HTTP_MAX_HEAD", max_head, "8192", 1024, 1048576,
           "bytes of an HTTP request head (431 past it)"),
    GW_INT("SSE_DRAIN_TIMEOUT", drain_timeout, "8000", 0, 9500,
           "ms SIGTERM waits for sessions to close before exiting"),
    {"SSE_STATIC_DIR", CM_CONF_STR, offsetof(struct gw_conf, static_dir), NULL,
     0, 0, NULL,
     "directory of socket.io.js and index.html served by the gateway"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct cm_conf_spec gw_spec = {
    "sse-gateway",
    "Socket.IO v5 / Engine.IO v4 client gateway of sse",
    gw_conf_items,
};

/* Read a small static file once at start (never on the loop). */
static char *
gw_slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf = NULL;
    long n;

    if (dir == NULL ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
            sizeof(path) ||
        (f = fopen(path, "rb")) == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (8 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void
gw_index(struct cm_httpd_req *req, void *arg)
{
    struct gw_tp *tp = gw_tp(arg);

    if (tp->static_index == NULL) {
        cm_httpd_error(req, 404, "Not Found");
        return;
    }
    cm_httpd_reply(req, 200, "text/html; charset=utf-8", tp->static_index,
                   tp->static_index_len);
}

static const struct cm_httpd_route gw_routes[] = {
    {"GET", "/", gw_index, "/", 0},
};

static int
gw_ready(void *arg)
{
    struct gw_ctx *ctx = arg;

    return cm_redis_up(ctx->redis);
}

static void
gw_drain_check(evutil_socket_t fd, short what, void *arg)
{
    struct gw_proc *p = arg;
    struct gw_tp *tp = &p->tp;

    (void)fd;
    (void)what;
    if ((tp->nws == 0 && tp->nsessions == 0 &&
         cm_httpd_conn_count(p->ctx.httpd) == 0) ||
        gw_now_ms() >= p->drain_due)
        event_base_loopbreak(p->ctx.base);
}

static void
gw_drain(int sig, void *arg)
{
    struct gw_proc *p = arg;
    struct timeval tv = {0, GW_DRAIN_CHECK_MS * 1000};

    p->ctx.draining = 1;
    cm_info("draining", KV_I("signal", sig),
            KV_I("sessions", (long long)p->tp.nsessions));
    cm_httpd_stop_accepting(p->ctx.httpd);
    gw_tp_close_all(&p->ctx);
    p->drain_due = gw_now_ms() + p->ctx.conf.drain_timeout;
    p->drain_ev = event_new(p->ctx.base, -1, EV_PERSIST, gw_drain_check, p);
    if (p->drain_ev == NULL || event_add(p->drain_ev, &tv) != 0)
        event_base_loopbreak(p->ctx.base);
}

static int
gw_start(struct gw_proc *p)
{
    struct gw_ctx *ctx = &p->ctx;
    struct cm_redis_url url;
    struct cm_httpd_conf hc;
    char err[256];

    if (cm_redis_url_parse(ctx->common.redis_url, &url, err, sizeof(err)) !=
        0) {
        cm_error("bad configuration", KV_S("error", err));
        return -1;
    }
    if ((ctx->base = event_base_new()) == NULL ||
        event_base_priority_init(ctx->base, 2) != 0)
        return -1;
    gw_rand_alnum(ctx->tag, CM_GW_TAG_LEN);
    ctx->tag[CM_GW_TAG_LEN] = '\0';
    if ((ctx->redis = cm_redis_new(ctx->base, &url, "gateway")) == NULL)
        return -1;
    if (cm_store_init(&ctx->store, ctx->redis, ctx->common.master_key,
                      ctx->common.master_key_previous) != 0) {
        cm_error("bad configuration",
                 KV_S("error", "SSE_MASTER_KEY(_PREVIOUS): not 64 hex"));
        return -1;
    }
    if ((ctx->metrics = cm_metrics_new("gateway", ctx->common.node_id)) ==
            NULL ||
        gw_tp_init(ctx) != 0)
        return -1;
    ctx->errors_connect = cm_metrics_counter(
        ctx->metrics, "sse_errors_total", "kind=\"connect_refused\"",
        "Refused connections and requests answered Error");
    ctx->errors_request =
        cm_metrics_counter(ctx->metrics, "sse_errors_total", "kind=\"request\"",
                           "Refused connections and requests answered Error");
    if (ctx->errors_connect == NULL || ctx->errors_request == NULL)
        return -1;
    p->tp.static_js =
        gw_slurp(ctx->conf.static_dir, "socket.io.js", &p->tp.static_js_len);
    p->tp.static_index =
        gw_slurp(ctx->conf.static_dir, "index.html", &p->tp.static_index_len);
    memset(&hc, 0, sizeof(hc));
    hc.addr = ctx->conf.addr;
    hc.max_head = (size_t)ctx->conf.max_head;
    hc.max_body = (size_t)ctx->conf.max_http_buffer;
    hc.head_timeout_ms = (unsigned)ctx->conf.handshake_timeout;
    /* a held GET waits up to a ping interval: idle must outlast it */
    hc.idle_timeout_ms =
        (unsigned)(ctx->conf.ping_interval + ctx->conf.ping_timeout + 5000);
    hc.max_conns = (unsigned)ctx->conf.max_conns;
    hc.cors_origins = ctx->common.cors_origins;
    hc.ready = gw_ready;
    hc.prefix = "/socket.io/";
    hc.prefix_handler = gw_eio_handle;
    ctx->httpd = cm_httpd_new(ctx->base, &hc, gw_routes,
                              sizeof(gw_routes) / sizeof(gw_routes[0]), ctx,
                              ctx->metrics, err, sizeof(err));
    if (ctx->httpd == NULL) {
        /* name the setting, as every other configuration error does */
        cm_error("cannot listen", KV_S("setting", "SSE_GATEWAY_ADDR"),
                 KV_S("addr", ctx->conf.addr), KV_S("error", err));
        return -1;
    }
    if (gw_app_init(ctx) != 0) {
        cm_error("channels init failed");
        return -1;
    }
    if (cm_signals_init(&p->signals, ctx->base, gw_drain, p) != 0)
        return -1;
    cm_info("listening", KV_S("addr", ctx->conf.addr), KV_S("tag", ctx->tag));
    return 0;
}

static void
gw_stop(struct gw_proc *p)
{
    struct gw_ctx *ctx = &p->ctx;

    if (ctx->httpd != NULL) {
        gw_app_shutdown(ctx);
        gw_tp_free(ctx);
        cm_httpd_free(ctx->httpd);
    }
    if (p->drain_ev != NULL)
        event_free(p->drain_ev);
    cm_signals_free(&p->signals);
    if (ctx->redis != NULL)
        cm_redis_free(ctx->redis);
    if (ctx->metrics != NULL)
        cm_metrics_free(ctx->metrics);
    if (ctx->base != NULL)
        event_base_free(ctx->base);
}

int
main(int argc, char **argv)
{
    struct gw_proc *p = calloc(1, sizeof(*p));
    struct gw_ctx *ctx;
    int rc;

    if (p == NULL)
        return 1;
    ctx = &p->ctx;
    rc = cm_service_start(&gw_spec, &ctx->conf, &ctx->common, argc, argv,
                          "gateway", NULL);
    if (rc != 0) {
        free(p);
        return rc > 0 ? 0 : 2;
    }
    mallopt(M_TRIM_THRESHOLD, GW_MALLOC_TRIM_THRESHOLD);
    mallopt(M_TOP_PAD, GW_MALLOC_TOP_PAD);
    rc = gw_start(p);
    if (rc == 0) {
        event_base_dispatch(ctx->base);
        cm_info("stopped", KV_I("sessions", (long long)p->tp.nsessions));
    }
    gw_stop(p);
    cm_config_free(&gw_spec, &ctx->conf, &ctx->common);
    free(p);
    return rc == 0 ? 0 : 1;
}
