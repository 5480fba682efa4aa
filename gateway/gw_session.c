/*
 * gw_session.c - Engine.IO sessions: creation with an unguessable sid, the
 * lookup trees, the ping/pong and connect timers, output backlogs (bounded
 * by SSE_CLIENT_QUEUE_MAX), the batched write pass and the deferred free.
 * Not here: the wire (gw_ws.c, gw_polling.c) and the packets (gw_eio.c,
 * gw_sio.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>

#include "b64.h"
#include "cm_httpd.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "gw_polling.h"
#include "gw_sio.h"
#include "gw_ws.h"
#include "ws.h"

#define GW_TIMER_SLACK_MS 20 /* libevent's coarse clock may fire early */

static const char *const gw_reason_names[GW_CR_MAX] = {
    "client",      "transport",     "ping_timeout", "connect_timeout",
    "parse_error", "slow_consumer", "server",       "shutdown",
};

static int
gw_eio_cmp(struct gw_session *a, struct gw_session *b)
{
    return memcmp(a->eio_sid, b->eio_sid, GW_EIO_SID_LEN);
}

static int
gw_sio_cmp(struct gw_session *a, struct gw_session *b)
{
    return strcmp(a->app.sid, b->app.sid);
}

/* libbsd leaves RB_GENERATE_STATIC's "__unused" undefined: spell it */
RB_GENERATE_INTERNAL(gw_eio_tree, gw_session, by_eio, gw_eio_cmp,
                     __attribute__((unused)) static)
RB_GENERATE_INTERNAL(gw_sio_tree, gw_session, by_sio, gw_sio_cmp,
                     __attribute__((unused)) static)

int64_t
gw_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
gw_rand_alnum(char *out, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[arc4random_uniform(36)];
}

/* ---- the write pass ---- */

static void
gw_free_session(struct gw_session *s)
{
    if (s->pq != NULL)
        evbuffer_free(s->pq);
    free(s);
}

static void
gw_reap(struct gw_tp *tp)
{
    struct gw_session *s;

    while ((s = TAILQ_FIRST(&tp->dead)) != NULL) {
        TAILQ_REMOVE(&tp->dead, s, link);
        s->queued = GW_Q_NONE;
        if (s->sio == GW_SIO_CONNECTED) {
            /* deferred out of the closing call chain: the channels half
             * may be walking a room when a slow socket is closed */
            s->sio = GW_SIO_NONE;
            gw_app_on_disconnect(s->ctx, s);
        }
        if (s->holds == 0)
            gw_free_session(s);
        /* else gw_session_release() puts it back here */
    }
}

static void
gw_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_ctx *ctx = arg;
    struct gw_tp *tp = gw_tp(ctx);
    struct gw_session *s;

    (void)fd;
    (void)what;
    tp->flush_armed = 0;
    gw_ws_flush_all(tp);
    while ((s = TAILQ_FIRST(&tp->poll_dirty)) != NULL) {
        TAILQ_REMOVE(&tp->poll_dirty, s, link);
        s->queued = GW_Q_NONE;
        gw_polling_flush(s);
    }
    gw_reap(tp);
}

void
gw_tp_schedule_flush(struct gw_tp *tp)
{
    if (!tp->flush_armed) {
        tp->flush_armed = 1;
        event_active(&tp->flush_ev, EV_TIMEOUT, 1);
    }
}

static void
gw_mark_poll_dirty(struct gw_session *s)
{
    struct gw_tp *tp = gw_tp(s->ctx);

    if (s->queued == GW_Q_NONE) {
        TAILQ_INSERT_TAIL(&tp->poll_dirty, s, link);
        s->queued = GW_Q_DIRTY;
    }
    gw_tp_schedule_flush(tp);
}

/* ---- timers: ping interval, pong wait, connect deadline ---- */

static void
gw_arm(struct gw_session *s, int64_t now)
{
    struct gw_tp *tp = gw_tp(s->ctx);
    int64_t due, left;
    struct timeval tv;

    int64_t phase = s->phase == GW_PH_PONG ? s->ctx->conf.ping_timeout
                                           : s->ctx->conf.ping_interval;

    if (s->sio == GW_SIO_CONNECTED &&
        s->phase_due - now + GW_TIMER_SLACK_MS >= phase) {
        /* a whole phase ahead: the shared common timeout queue (O(1)) */
        event_add(&s->timer,
                  s->phase == GW_PH_PONG ? tp->tv_pong : tp->tv_interval);
        return;
    }
    due = s->phase_due;
    if (s->sio != GW_SIO_CONNECTED && s->connect_due < due)
        due = s->connect_due;
    left = due - now;
    if (left < 0)
        left = 0;
    tv.tv_sec = left / 1000;
    tv.tv_usec = (left % 1000) * 1000;
    event_add(&s->timer, &tv);
}

static void
gw_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_session *s = arg;
    struct gw_conf *conf = &s->ctx->conf;
    int64_t now = gw_now_ms();

    (void)fd;
    (void)what;
    if (s->sio != GW_SIO_CONNECTED &&
        now + GW_TIMER_SLACK_MS >= s->connect_due) {
        gw_session_end(s, GW_CR_CONNECT_TIMEOUT, 0);
        return;
    }
    if (now + GW_TIMER_SLACK_MS >= s->phase_due) {
        if (s->phase == GW_PH_PONG) {
            gw_session_end(s, GW_CR_PING_TIMEOUT, 0);
            return;
        }
        s->phase = GW_PH_PONG;
        s->phase_due = now + conf->ping_timeout;
        if (gw_session_send_eio(s, "2", 1) != 0)
            return; /* closed */
    }
    gw_arm(s, now);
}

void
gw_session_on_pong(struct gw_session *s)
{
    int64_t now;

    if (!s->open || s->phase != GW_PH_PONG)
        return;
    now = gw_now_ms();
    s->phase = GW_PH_INTERVAL;
    s->phase_due = now + s->ctx->conf.ping_interval;
    event_del(&s->timer);
    gw_arm(s, now);
}

/* ---- lifecycle ---- */

struct gw_session *
gw_session_new(struct gw_ctx *ctx, enum gw_transport t)
{
    struct gw_tp *tp = gw_tp(ctx);
    struct gw_session *s = calloc(1, sizeof(*s));
    uint8_t rnd[15];
    int64_t now = gw_now_ms();

    if (s == NULL)
        return NULL;
    if (t == GW_T_POLLING && (s->pq = evbuffer_new()) == NULL) {
        free(s);
        return NULL;
    }
    s->ctx = ctx;
    s->transport = (uint8_t)t;
    s->open = 1;
    do { /* 120 random bits: unguessable; a collision only re-draws */
        arc4random_buf(rnd, sizeof(rnd));
        b64url_encode(rnd, sizeof(rnd), s->eio_sid, sizeof(s->eio_sid));
    } while (RB_INSERT(gw_eio_tree, &tp->by_eio, s) != NULL);
    memcpy(s->app.sid, ctx->tag, CM_GW_TAG_LEN);
    gw_rand_alnum(s->app.sid + CM_GW_TAG_LEN, CM_SID_LEN - CM_GW_TAG_LEN);
    s->app.sid[CM_SID_LEN] = '\0';
    LIST_INIT(&s->app.members);
    LIST_INIT(&s->app.listens);
    evtimer_assign(&s->timer, ctx->base, gw_timer_cb, s);
    s->phase = GW_PH_INTERVAL;
    s->phase_due = now + ctx->conf.ping_interval;
    s->connect_due = now + ctx->conf.handshake_timeout;
    gw_arm(s, now);
    tp->nsessions++;
    cm_gauge_add(tp->m.conns[t], 1);
    return s;
}

struct gw_session *
gw_session_by_eio(struct gw_ctx *ctx, const char *sid, size_t len)
{
    struct gw_session key;

    if (len != GW_EIO_SID_LEN)
        return NULL;
    memcpy(key.eio_sid, sid, GW_EIO_SID_LEN);
    return RB_FIND(gw_eio_tree, &gw_tp(ctx)->by_eio, &key);
}

struct gw_session *
gw_session_by_sid(struct gw_ctx *ctx, const char *sid)
{
    struct gw_session key;

    if (sid == NULL || strlen(sid) != CM_SID_LEN)
        return NULL;
    memcpy(key.app.sid, sid, CM_SID_LEN + 1);
    return RB_FIND(gw_sio_tree, &gw_tp(ctx)->by_sio, &key);
}

/* Called by gw_sio.c when a CONNECT is accepted. */
void
gw_session_index_sid(struct gw_session *s)
{
    struct gw_tp *tp = gw_tp(s->ctx);

    if (!s->in_sio_tree && RB_INSERT(gw_sio_tree, &tp->by_sio, s) == NULL)
        s->in_sio_tree = 1;
}

void
gw_session_end(struct gw_session *s, enum gw_close_reason why,
               int sio_disconnect)
{
    struct gw_tp *tp = gw_tp(s->ctx);
    uint16_t code =
        why == GW_CR_SHUTDOWN ? WS_CLOSE_GOING_AWAY : WS_CLOSE_NORMAL;

    if (!s->open)
        return;
    if (sio_disconnect && s->sio == GW_SIO_CONNECTED)
        gw_session_send_eio(s, "41", 2); /* Socket.IO DISCONNECT */
    s->open = 0;
    s->why = (uint8_t)why;
    event_del(&s->timer);
    RB_REMOVE(gw_eio_tree, &tp->by_eio, s);
    if (s->in_sio_tree) {
        RB_REMOVE(gw_sio_tree, &tp->by_sio, s);
        s->in_sio_tree = 0;
    }
    tp->nsessions--;
    cm_gauge_add(tp->m.conns[s->transport], -1);
    cm_counter_inc(tp->m.closed[why]);
    cm_debug("disconnect", KV_S("sid", s->app.sid),
             KV_S("transport", gw_session_transport(s)),
             KV_S("reason", gw_reason_names[why]));
    if (s->probe != NULL)
        gw_ws_close(s->probe, code);
    if (s->ws != NULL) {
        gw_ws_close(s->ws, code);
    } else if (s->pq != NULL) {
        /* Engine.IO close, after what is queued, to a held GET; when the
         * client itself closed, a noop ends its poll, as the reference
         * does (engine.io-protocol test suite, "forcefully closes") */
        if (evbuffer_get_length(s->pq) > 0)
            evbuffer_add(s->pq, "\x1e", 1);
        evbuffer_add(s->pq, why == GW_CR_CLIENT ? "6" : "1", 1);
        gw_polling_flush(s);
    }
    if (s->bin != NULL) {
        gw_sio_binasm_free(s->bin);
        s->bin = NULL;
    }
    if (s->query_key != NULL) {
        explicit_bzero(s->query_key, strlen(s->query_key));
        free(s->query_key);
        s->query_key = NULL;
    }
    if (s->queued == GW_Q_DIRTY)
        TAILQ_REMOVE(&tp->poll_dirty, s, link);
    TAILQ_INSERT_TAIL(&tp->dead, s, link);
    s->queued = GW_Q_DEAD;
    gw_tp_schedule_flush(tp);
}

void
gw_session_close(struct gw_session *s, const char *reason)
{
    if (s->open)
        cm_debug("close by server", KV_S("sid", s->app.sid),
                 KV_S("why", reason != NULL ? reason : "-"));
    gw_session_end(s, GW_CR_SERVER, 1);
}

void
gw_session_hold(struct gw_session *s)
{
    s->holds++;
}

void
gw_session_release(struct gw_session *s)
{
    struct gw_tp *tp = gw_tp(s->ctx);

    if (--s->holds == 0 && !s->open && s->queued == GW_Q_NONE) {
        TAILQ_INSERT_TAIL(&tp->dead, s, link); /* freed by the next pass */
        s->queued = GW_Q_DEAD;
        gw_tp_schedule_flush(tp);
    }
}

struct gw_app_state *
gw_session_app(struct gw_session *s)
{
    return &s->app;
}

struct gw_ctx *
gw_session_ctx(struct gw_session *s)
{
    return s->ctx;
}

int
gw_session_alive(const struct gw_session *s)
{
    return s->open;
}

const char *
gw_session_transport(const struct gw_session *s)
{
    return s->transport == GW_T_WS ? "websocket" : "polling";
}

/* ---- output ---- */

static int
gw_slow(struct gw_session *s)
{
    cm_counter_inc(gw_tp(s->ctx)->m.slow);
    gw_session_end(s, GW_CR_SLOW_CONSUMER, 0);
    return -1;
}

static void
gw_frame_cleanup(const void *data, size_t len, void *extra)
{
    (void)data;
    (void)len;
    gw_frame_unref(extra);
}

int
gw_session_send_frame(struct gw_session *s, struct gw_frame *f)
{
    size_t max = (size_t)s->ctx->common.client_queue_max;
    size_t plen = f->len - f->ws_hdr;

    if (!s->open)
        return -1;
    if (s->ws != NULL) {
        if (gw_ws_backlog(s->ws) + f->len > max)
            return gw_slow(s);
        return gw_ws_send_frame(s->ws, f);
    }
    if (evbuffer_get_length(s->pq) + plen + 1 > max)
        return gw_slow(s);
    if (evbuffer_get_length(s->pq) > 0 && evbuffer_add(s->pq, "\x1e", 1) != 0)
        return -1;
    gw_frame_ref(f);
    if (evbuffer_add_reference(s->pq, f->data + f->ws_hdr, plen,
                               gw_frame_cleanup, f) != 0) {
        gw_frame_unref(f); /* no cleanup on failure */
        return -1;
    }
    gw_mark_poll_dirty(s);
    return 0;
}

int
gw_session_send_packet(struct gw_session *s, const char *sio_packet, size_t len)
{
    struct gw_frame *f;
    int rc;

    if (!s->open)
        return -1;
    if ((f = gw_frame_new(sio_packet, len)) == NULL)
        return -1;
    rc = gw_session_send_frame(s, f);
    gw_frame_unref(f);
    return rc;
}

int
gw_session_send_eio(struct gw_session *s, const char *pkt, size_t len)
{
    size_t max = (size_t)s->ctx->common.client_queue_max;

    if (!s->open)
        return -1;
    if (s->ws != NULL) {
        if (gw_ws_backlog(s->ws) + len + WS_MAX_HEADER > max)
            return gw_slow(s);
        return gw_ws_send_text(s->ws, pkt, len);
    }
    if (evbuffer_get_length(s->pq) + len + 1 > max)
        return gw_slow(s);
    if (evbuffer_get_length(s->pq) > 0 && evbuffer_add(s->pq, "\x1e", 1) != 0)
        return -1;
    if (evbuffer_add(s->pq, pkt, len) != 0)
        return -1;
    gw_mark_poll_dirty(s);
    return 0;
}

void
gw_session_upgrade(struct gw_session *s)
{
    struct gw_tp *tp = gw_tp(s->ctx);
    struct gw_ws *c = s->probe;
    size_t n;
    char *p, *end, *sep;

    s->probe = NULL;
    gw_polling_release(s, "6"); /* a GET still held gets a noop */
    /* what polling had queued goes out first, one frame per packet;
     * our packets never contain 0x1e (JSON escapes control chars) */
    n = evbuffer_get_length(s->pq);
    p = n > 0 ? (char *)evbuffer_pullup(s->pq, -1) : NULL;
    for (end = p + n; p != NULL && p < end; p = sep + 1) {
        sep = memchr(p, 0x1e, (size_t)(end - p));
        if (sep == NULL)
            sep = end;
        gw_ws_send_text(c, p, (size_t)(sep - p));
    }
    evbuffer_free(s->pq);
    s->pq = NULL;
    if (s->queued == GW_Q_DIRTY) {
        TAILQ_REMOVE(&tp->poll_dirty, s, link);
        s->queued = GW_Q_NONE;
    }
    s->ws = c;
    s->transport = GW_T_WS;
    cm_gauge_add(tp->m.conns[GW_T_POLLING], -1);
    cm_gauge_add(tp->m.conns[GW_T_WS], 1);
    cm_debug("upgrade", KV_S("sid", s->app.sid));
}

void
gw_tp_close_all(struct gw_ctx *ctx)
{
    struct gw_tp *tp = gw_tp(ctx);
    struct gw_session *s;

    while ((s = RB_MIN(gw_eio_tree, &tp->by_eio)) != NULL)
        gw_session_end(s, GW_CR_SHUTDOWN, 0);
}

/* ---- process state ---- */

int
gw_tp_init(struct gw_ctx *ctx)
{
    struct gw_tp *tp = gw_tp(ctx);
    struct timeval tv;
    char labels[64];

    RB_INIT(&tp->by_eio);
    RB_INIT(&tp->by_sio);
    TAILQ_INIT(&tp->poll_dirty);
    TAILQ_INIT(&tp->ws_dirty);
    TAILQ_INIT(&tp->dead);
    if ((tp->rdbuf = malloc(GW_RDBUF_SIZE)) == NULL)
        return -1;
    /* the write pass: the lowest priority of two, so it runs after the
     * I/O callbacks that made sockets dirty in this loop pass */
    event_assign(&tp->flush_ev, ctx->base, -1, 0, gw_flush_cb, ctx);
    event_priority_set(&tp->flush_ev, 1);
    tv.tv_sec = ctx->conf.ping_interval / 1000;
    tv.tv_usec = (ctx->conf.ping_interval % 1000) * 1000;
    tp->tv_interval = event_base_init_common_timeout(ctx->base, &tv);
    tv.tv_sec = ctx->conf.ping_timeout / 1000;
    tv.tv_usec = (ctx->conf.ping_timeout % 1000) * 1000;
    tp->tv_pong = event_base_init_common_timeout(ctx->base, &tv);
    if (tp->tv_interval == NULL || tp->tv_pong == NULL)
        return -1;
    tp->m.conns[GW_T_WS] = cm_metrics_gauge(
        ctx->metrics, "sse_connections", "transport=\"websocket\"",
        "Open client sessions by transport");
    tp->m.conns[GW_T_POLLING] = cm_metrics_gauge(
        ctx->metrics, "sse_connections", "transport=\"polling\"",
        "Open client sessions by transport");
    tp->m.ws_frames_in =
        cm_metrics_counter(ctx->metrics, "sse_ws_frames_in_total", NULL,
                           "WebSocket frames received");
    tp->m.eio_packets_in =
        cm_metrics_counter(ctx->metrics, "sse_eio_packets_in_total", NULL,
                           "Engine.IO packets received");
    tp->m.slow = cm_metrics_counter(
        ctx->metrics, "sse_slow_consumer_disconnects_total", NULL,
        "Clients disconnected for passing SSE_CLIENT_QUEUE_MAX");
    for (int i = 0; i < GW_CR_MAX; i++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", gw_reason_names[i]);
        tp->m.closed[i] =
            cm_metrics_counter(ctx->metrics, "sse_sessions_closed_total",
                               labels, "Sessions closed by reason");
    }
    return 0;
}

void
gw_tp_free(struct gw_ctx *ctx)
{
    struct gw_tp *tp = gw_tp(ctx);
    struct gw_ws *c;

    gw_tp_close_all(ctx);
    while ((c = TAILQ_FIRST(&tp->ws_dirty)) != NULL)
        gw_ws_free(c); /* unlinks itself */
    gw_reap(tp);       /* sessions still held by the channels half stay */
    event_del(&tp->flush_ev);
    free(tp->rdbuf);
    free(tp->static_js);
    free(tp->static_index);
}
