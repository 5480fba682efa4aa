/*
 * tw_sweeper.c - timers, not requests: the expiry sweep that turns expired
 * keys into ApiKeyExpired revocations (cm_queue_sweep_expired), the
 * queue-depth gauge, and the dead-gateway sweep of REDIS.md's tracking
 * section. A dead gateway is claimed with ZREM, only while its beat is
 * still old, so one worker cleans it and a returning one is left alone;
 * if its cleanup fails, it is put back with score 0 to be swept again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "tw.h"
#include "tw_bus.h"
#include "tw_sweeper.h"
#include "chan.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_queue.h"

struct tw_sweeper {
    struct tw_ctx *ctx;
    struct event *timer;
    int expiry_busy, depth_busy, dead_busy;
    char (*tags)[CM_GW_TAG_LEN + 1]; /* dead gateways of this round */
    size_t ntags, next;
    char upto[32]; /* this round's bound: a beat at or before it is dead */
    /* After a Redis outage every gateway's beat is stale, and the gateways
     * reconnect on their own backoff: no gateway is judged dead until a
     * whole SSE_GATEWAY_DEAD_MS has passed with Redis up again. */
    int in_outage;
    int64_t outage_end_ms; /* 0: none seen since start */
};

/* KEYS: gateways zset. ARGV: tag, bound (ms). Claims the gateway (1) only
 * if its last beat is still at or before the bound: one that beat again
 * since the round listed it is alive, and its sockets stay tracked. */
/* clang-format off */
static const char gw_claim_lua[] =
    "local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
    "if not s or tonumber(s) > tonumber(ARGV[2]) then return 0 end\n"
    "return redis.call('ZREM', KEYS[1], ARGV[1])\n";
/* clang-format on */

/* One dead gateway being cleaned. */
struct gw_sweep {
    struct tw_sweeper *s;
    char tag[CM_GW_TAG_LEN + 1];
    int pending; /* replies still to come */
    int failed;
    size_t sockets;
};

/* One of its sockets, while its set is read. */
struct gw_sock {
    struct gw_sweep *g;
    char pid[CM_PROJECT_ID_MAX + 1];
    char sid[CM_SID_LEN + 1];
};

static void sweep_dead_next(struct tw_sweeper *s);

/* ---- expiry and depth ---- */

static void sweep_expiry(struct tw_sweeper *s);

static void
sweep_expired_done(int rc, long long n, void *arg)
{
    struct tw_sweeper *s = arg;

    s->expiry_busy = 0;
    if (s->ctx->closing)
        return;
    if (rc != CM_STORE_OK) {
        cm_counter_inc(s->ctx->m.redis_errors);
        cm_warn("expiry sweep failed", KV_S("rc", cm_store_strerror(rc)));
        return;
    }
    if (n <= 0)
        return;
    cm_info("expired keys queued for revocation", KV_I("keys", n));
    cm_counter_add(s->ctx->m.keys_swept, (uint64_t)n);
    cm_counter_add(s->ctx->m.events_expired, (uint64_t)n);
    /* A full batch: more may be due, do not wait for the next tick. */
    if (n >= s->ctx->conf.sweep_batch && !s->ctx->stopping)
        sweep_expiry(s);
}

static void
sweep_expiry(struct tw_sweeper *s)
{
    int64_t now_ms = tw_now_ms();

    if (cm_queue_sweep_expired(s->ctx->redis, now_ms / 1000, now_ms,
                               (size_t)s->ctx->conf.sweep_batch,
                               sweep_expired_done, s) == 0)
        s->expiry_busy = 1;
}

static void
sweep_depth_done(int rc, long long n, void *arg)
{
    struct tw_sweeper *s = arg;

    s->depth_busy = 0;
    if (rc == CM_STORE_OK && !s->ctx->closing)
        cm_gauge_set(s->ctx->m.queue_depth, (double)n);
}

/* ---- dead gateways ---- */

int
tw_sweeper_split_gwsock(const char *m, size_t len, char *pid, char *sid)
{
    const char *bar = memchr(m, CM_SEP, len);
    size_t plen;

    if (bar == NULL)
        return 0;
    plen = (size_t)(bar - m);
    if (plen > CM_PROJECT_ID_MAX || !chan_project_id_valid(m, plen) ||
        len - plen - 1 != CM_SID_LEN)
        return 0;
    for (size_t i = plen + 1; i < len; i++)
        if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9')))
            return 0;
    memcpy(pid, m, plen);
    pid[plen] = '\0';
    memcpy(sid, bar + 1, CM_SID_LEN);
    sid[CM_SID_LEN] = '\0';
    return 1;
}

static void gw_release(struct gw_sweep *g);

static void
gw_reply(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_sweep *g = arg;

    (void)r;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        g->failed = 1;
    else if (reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR)
                g->failed = 1;
    gw_release(g);
}

static int
gw_send(struct gw_sweep *g, int argc, const char **argv, const size_t *lens)
{
    g->pending++;
    if (cm_redis_commandargv(g->s->ctx->redis, gw_reply, g, argc, argv, lens) !=
        0) {
        g->pending--;
        g->failed = 1;
        return -1;
    }
    return 0;
}

/* A socket's set "<kid>|<ch>" arrived: forget it in both indexes, in one
 * MULTI (all keys of one project share its hash slot). */
static void
gw_sock_clean(struct gw_sock *gs, const redisReply *reply)
{
    struct gw_sweep *g = gs->g;
    char key[CM_KEY_MAX], member[CM_KEY_MAX], kid[TW_KID_MAX + 1];
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    size_t l5[1] = {5}, l4[1] = {4}, lens[3];
    const char *argv[3] = {"SREM", key, member};

    if (gw_send(g, 1, multi, l5) != 0)
        return;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        const char *bar = e->str ? memchr(e->str, CM_SEP, e->len) : NULL;
        size_t klen = bar ? (size_t)(bar - e->str) : 0;
        if (bar == NULL || klen == 0 || klen > TW_KID_MAX)
            continue;
        memcpy(kid, e->str, klen);
        kid[klen] = '\0';
        lens[0] = 4;
        lens[1] =
            (size_t)snprintf(key, sizeof(key), CM_K_KEYSOCKS, gs->pid, kid);
        lens[2] = (size_t)snprintf(member, sizeof(member), "%s%c%.*s", gs->sid,
                                   CM_SEP, (int)(e->len - klen - 1), bar + 1);
        if (lens[2] < sizeof(member))
            gw_send(g, 3, argv, lens);
    }
    lens[1] = (size_t)snprintf(key, sizeof(key), CM_K_SOCK, gs->pid, gs->sid);
    argv[0] = "DEL";
    lens[0] = 3;
    gw_send(g, 2, argv, lens);
    gw_send(g, 1, exec, l4);
}

static void
gw_sock_got(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_sock *gs = arg;
    struct gw_sweep *g = gs->g;

    (void)r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        g->failed = 1;
    else if (!g->s->ctx->closing)
        gw_sock_clean(gs, reply);
    free(gs);
    gw_release(g);
}

/* Every reply is in: drop the gateway's own set, then the next gateway. */
static void
gw_release(struct gw_sweep *g)
{
    struct tw_sweeper *s = g->s;
    struct tw_ctx *ctx = s->ctx;
    char key[CM_KEY_MAX];

    if (--g->pending > 0)
        return;
    if (!ctx->closing) {
        if (g->failed) {
            /* Score 0: the oldest beat there is; swept again next tick. */
            cm_warn("dead gateway cleanup failed: will retry",
                    KV_S("gateway", g->tag));
            cm_redis_command(ctx->redis, NULL, NULL, "ZADD %s 0 %s",
                             CM_K_GATEWAYS, g->tag);
        } else {
            snprintf(key, sizeof(key), CM_K_GW_SOCKS, g->tag);
            cm_redis_command(ctx->redis, NULL, NULL, "DEL %s", key);
            cm_counter_inc(ctx->m.gateways_swept);
            cm_info("dead gateway swept", KV_S("gateway", g->tag),
                    KV_I("sockets", (long long)g->sockets));
        }
    }
    free(g);
    sweep_dead_next(s);
}

static void
gw_socks_got(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_sweep *g = arg;
    char key[CM_KEY_MAX];

    (void)r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        g->failed = 1;
    } else if (!g->s->ctx->closing) {
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            struct gw_sock *gs = malloc(sizeof(*gs));
            if (gs == NULL) {
                g->failed = 1;
                break;
            }
            gs->g = g;
            if (e->str == NULL ||
                !tw_sweeper_split_gwsock(e->str, e->len, gs->pid, gs->sid)) {
                free(gs);
                continue;
            }
            snprintf(key, sizeof(key), CM_K_SOCK, gs->pid, gs->sid);
            g->pending++;
            if (cm_redis_command(g->s->ctx->redis, gw_sock_got, gs,
                                 "SMEMBERS %s", key) != 0) {
                g->pending--;
                g->failed = 1;
                free(gs);
                break;
            }
            g->sockets++;
        }
    }
    gw_release(g); /* the hold taken when the gateway was claimed */
}

static void
gw_claimed(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_sweep *g = arg;
    char key[CM_KEY_MAX];

    (void)r;
    if (g->s->ctx->closing || reply == NULL ||
        reply->type != REDIS_REPLY_INTEGER || reply->integer != 1) {
        /* Another worker claimed it, or Redis is gone: not ours. */
        struct tw_sweeper *s = g->s;
        free(g);
        sweep_dead_next(s);
        return;
    }
    cm_warn("gateway dead: removing its sockets", KV_S("gateway", g->tag));
    snprintf(key, sizeof(key), CM_K_GW_SOCKS, g->tag);
    if (cm_redis_command(g->s->ctx->redis, gw_socks_got, g, "SMEMBERS %s",
                         key) != 0) {
        g->failed = 1;
        gw_release(g);
    }
}

/* Claim and clean the next dead gateway of the round, one at a time. */
static void
sweep_dead_next(struct tw_sweeper *s)
{
    struct tw_ctx *ctx = s->ctx;

    while (!ctx->closing && s->next < s->ntags) {
        struct gw_sweep *g = calloc(1, sizeof(*g));
        if (g == NULL)
            break;
        g->s = s;
        g->pending = 1;
        memcpy(g->tag, s->tags[s->next++], sizeof(g->tag));
        if (cm_redis_command(ctx->redis, gw_claimed, g, "EVAL %s 1 %s %s %s",
                             gw_claim_lua, CM_K_GATEWAYS, g->tag, s->upto) == 0)
            return;
        free(g);
        break;
    }
    s->dead_busy = 0;
}

static void
sweep_dead_listed(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct tw_sweeper *s = arg;

    (void)r;
    s->ntags = s->next = 0;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && !s->ctx->closing)
        for (size_t i = 0;
             i < reply->elements && s->ntags < (size_t)s->ctx->conf.sweep_batch;
             i++) {
            const redisReply *e = reply->element[i];
            int ok = e->str != NULL && e->len == CM_GW_TAG_LEN;
            for (size_t k = 0; ok && k < e->len; k++)
                ok = (e->str[k] >= 'a' && e->str[k] <= 'z') ||
                     (e->str[k] >= '0' && e->str[k] <= '9');
            if (!ok)
                continue;
            memcpy(s->tags[s->ntags], e->str, CM_GW_TAG_LEN);
            s->tags[s->ntags++][CM_GW_TAG_LEN] = '\0';
        }
    sweep_dead_next(s);
}

static void
sweep_dead(struct tw_sweeper *s)
{
    struct tw_ctx *ctx = s->ctx;

    snprintf(s->upto, sizeof(s->upto), "%lld",
             (long long)(tw_now_ms() - ctx->conf.gateway_dead_ms));
    if (cm_redis_command(ctx->redis, sweep_dead_listed, s,
                         "ZRANGEBYSCORE %s -inf %s LIMIT 0 %lld", CM_K_GATEWAYS,
                         s->upto, ctx->conf.sweep_batch) == 0)
        s->dead_busy = 1;
}

/* ---- the timer ---- */

static void
sweep_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tw_sweeper *s = arg;
    struct tw_ctx *ctx = s->ctx;

    (void)fd;
    (void)what;
    if (!cm_redis_up(ctx->redis)) {
        s->in_outage = 1;
        return;
    }
    if (s->in_outage) {
        s->in_outage = 0;
        s->outage_end_ms = tw_now_ms();
    }
    if (ctx->stopping || ctx->closing)
        return;
    if (!s->expiry_busy)
        sweep_expiry(s);
    if (!s->depth_busy && cm_queue_depth(ctx->redis, sweep_depth_done, s) == 0)
        s->depth_busy = 1;
    if (!s->dead_busy &&
        (s->outage_end_ms == 0 ||
         tw_now_ms() - s->outage_end_ms >= ctx->conf.gateway_dead_ms))
        sweep_dead(s);
}

struct tw_sweeper *
tw_sweeper_new(struct tw_ctx *ctx)
{
    struct tw_sweeper *s = calloc(1, sizeof(*s));
    long long ms = ctx->conf.sweep_interval_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (s == NULL)
        return NULL;
    s->ctx = ctx;
    s->tags = calloc((size_t)ctx->conf.sweep_batch, sizeof(*s->tags));
    s->timer = event_new(ctx->base, -1, EV_PERSIST, sweep_tick, s);
    if (s->tags == NULL || s->timer == NULL) {
        tw_sweeper_free(s);
        return NULL;
    }
    event_add(s->timer, &tv);
    return s;
}

void
tw_sweeper_stop(struct tw_sweeper *s)
{
    event_del(s->timer);
}

void
tw_sweeper_free(struct tw_sweeper *s)
{
    if (s == NULL)
        return;
    if (s->timer != NULL)
        event_free(s->timer);
    free(s->tags);
    free(s);
}
