/*
 * gw_track.c - the connection-tracking writes of private joins
 * (proto/REDIS.md "Connection tracking"). Each change touches both
 * indexes at once (a script for joins, MULTI/EXEC for the rest) so the
 * worker never sees one without the other. Nothing here reads Redis: what to
 * remove comes from memory.
 */
#include "gw_track.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "cm_keys.h"
#include "cm_log.h"
#include "cm_redis.h"
#include "gw_rooms.h"

/* Longest set member: <kid or sid or pid>|<channel or sid>. */
#define GW_TRACK_MEMBER_MAX (CM_PROJECT_ID_MAX + CHAN_NAME_MAX + 2)

/* KEYS: apikey sock keysocks gwsocks. ARGV: kid|ch sid|ch pid|sid pid now.
 * 1 written; 0 when the key is gone, revoked, expired or another
 * project's (then nothing is written). */
/* clang-format off */
static const char gw_track_join_lua[] =
    "local k = redis.call('HMGET', KEYS[1], 'pid', 'revoked', 'expires')\n"
    "if not k[1] or k[1] ~= ARGV[4] or k[2] == '1' then return 0 end\n"
    "local exp = tonumber(k[3]) or 0\n"
    "if exp > 0 and exp <= tonumber(ARGV[5]) then return 0 end\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "redis.call('SADD', KEYS[3], ARGV[2])\n"
    "redis.call('SADD', KEYS[4], ARGV[3])\n"
    "return 1\n";
/* clang-format on */

struct gw_track_req {
    struct gw_ctx *ctx;
    gw_track_cb cb;
    void *arg;
};

static void
gw_track_join_done(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_track_req *q = arg;
    int ok = reply != NULL && reply->type == REDIS_REPLY_INTEGER;

    if (!ok)
        cm_warn("tracking write failed",
                KV_S("error", reply && reply->type == REDIS_REPLY_ERROR
                                  ? reply->str
                                  : "redis down"));
    else if (reply->integer != 1)
        ok = GW_TRACK_KEY_GONE;
    q->cb(q->ctx, ok, q->arg);
    free(q);
}

static void
gw_track_exec_done(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_track_req *q = arg;
    int ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY;

    if (!ok)
        cm_warn("tracking write failed",
                KV_S("error", reply && reply->type == REDIS_REPLY_ERROR
                                  ? reply->str
                                  : "redis down"));
    if (q->cb != NULL)
        q->cb(q->ctx, ok, q->arg);
    free(q);
}

/* One command of two arguments after the verb; -1 when Redis is down. */
static int
gw_track_cmd(struct gw_ctx *ctx, const char *verb, const char *key,
             const char *member)
{
    const char *argv[3] = {verb, key, member};
    size_t lens[3] = {strlen(verb), strlen(key), strlen(member)};

    return cm_redis_commandargv(ctx->redis, NULL, NULL, 3, argv, lens);
}

/* Send EXEC with q (freed here if it cannot be sent). */
static int
gw_track_exec(struct gw_ctx *ctx, gw_track_cb cb, void *arg)
{
    struct gw_track_req *q = malloc(sizeof *q);

    if (q == NULL) {
        cm_redis_command(ctx->redis, NULL, NULL, "DISCARD");
        return -1;
    }
    q->ctx = ctx;
    q->cb = cb;
    q->arg = arg;
    if (cm_redis_command(ctx->redis, gw_track_exec_done, q, "EXEC") != 0) {
        free(q);
        return -1;
    }
    return 0;
}

/* Build the three names of one tracked membership. */
static void
gw_track_names(struct gw_ctx *ctx, const struct gw_member *m,
               char sock[CM_KEY_MAX], char keysocks[CM_KEY_MAX],
               char gwsocks[CM_KEY_MAX])
{
    const struct gw_app_state *app = gw_session_app(m->s);

    snprintf(sock, CM_KEY_MAX, CM_K_SOCK, app->project, app->sid);
    snprintf(keysocks, CM_KEY_MAX, CM_K_KEYSOCKS, app->project, m->kid);
    snprintf(gwsocks, CM_KEY_MAX, CM_K_GW_SOCKS, ctx->tag);
}

int
gw_track_join(struct gw_ctx *ctx, const struct gw_member *m, gw_track_cb cb,
              void *arg)
{
    struct gw_app_state *app = gw_session_app(m->s);
    char sock[CM_KEY_MAX], keysocks[CM_KEY_MAX], gwsocks[CM_KEY_MAX];
    char kidch[GW_TRACK_MEMBER_MAX], sidch[GW_TRACK_MEMBER_MAX];
    char pidsid[GW_TRACK_MEMBER_MAX];

    char apikey[CM_KEY_MAX], now[24];
    struct gw_track_req *q;

    gw_track_names(ctx, m, sock, keysocks, gwsocks);
    snprintf(apikey, sizeof apikey, CM_K_APIKEY, m->kid);
    snprintf(kidch, sizeof kidch, "%s%c%s", m->kid, CM_SEP, m->room->channel);
    snprintf(sidch, sizeof sidch, "%s%c%s", app->sid, CM_SEP, m->room->channel);
    snprintf(pidsid, sizeof pidsid, "%s%c%s", app->project, CM_SEP, app->sid);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *argv[] = {"EVAL",       gw_track_join_lua,
                          "4",          apikey,
                          sock,         keysocks,
                          gwsocks,      kidch,
                          sidch,        pidsid,
                          app->project, now};
    size_t lens[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        lens[i] = strlen(argv[i]);
    if ((q = malloc(sizeof *q)) == NULL)
        return -1;
    q->ctx = ctx;
    q->cb = cb;
    q->arg = arg;
    if (cm_redis_commandargv(ctx->redis, gw_track_join_done, q,
                             (int)(sizeof argv / sizeof argv[0]), argv,
                             lens) != 0) {
        free(q);
        return -1;
    }
    app->tracked = 1;
    return 0;
}

void
gw_track_leave(struct gw_ctx *ctx, const struct gw_member *m)
{
    struct gw_app_state *app = gw_session_app(m->s);
    char sock[CM_KEY_MAX], keysocks[CM_KEY_MAX], gwsocks[CM_KEY_MAX];
    char kidch[GW_TRACK_MEMBER_MAX], sidch[GW_TRACK_MEMBER_MAX];

    if (m->kid[0] == '\0')
        return;
    gw_track_names(ctx, m, sock, keysocks, gwsocks);
    snprintf(kidch, sizeof kidch, "%s%c%s", m->kid, CM_SEP, m->room->channel);
    snprintf(sidch, sizeof sidch, "%s%c%s", app->sid, CM_SEP, m->room->channel);
    /* The socket stays in the gateway's set: it may hold other tracked
     * joins, and the disconnect (or the sweep) removes it. */
    if (cm_redis_command(ctx->redis, NULL, NULL, "MULTI") != 0 ||
        gw_track_cmd(ctx, "SREM", sock, kidch) != 0 ||
        gw_track_cmd(ctx, "SREM", keysocks, sidch) != 0 ||
        gw_track_exec(ctx, NULL, NULL) != 0)
        cm_warn("untrack failed: redis down", KV_S("sid", app->sid));
}

void
gw_track_forget(struct gw_ctx *ctx, struct gw_session *s)
{
    struct gw_app_state *app = gw_session_app(s);
    char sock[CM_KEY_MAX], keysocks[CM_KEY_MAX], gwsocks[CM_KEY_MAX];
    char sidch[GW_TRACK_MEMBER_MAX], pidsid[GW_TRACK_MEMBER_MAX];
    struct gw_member *m;
    int rc;

    if (!app->tracked)
        return;
    snprintf(sock, sizeof sock, CM_K_SOCK, app->project, app->sid);
    snprintf(gwsocks, sizeof gwsocks, CM_K_GW_SOCKS, ctx->tag);
    snprintf(pidsid, sizeof pidsid, "%s%c%s", app->project, CM_SEP, app->sid);
    rc = cm_redis_command(ctx->redis, NULL, NULL, "MULTI");
    LIST_FOREACH(m, &app->members, sock_link)
    {
        if (rc != 0 || m->kid[0] == '\0')
            continue;
        snprintf(keysocks, sizeof keysocks, CM_K_KEYSOCKS, app->project,
                 m->kid);
        snprintf(sidch, sizeof sidch, "%s%c%s", app->sid, CM_SEP,
                 m->room->channel);
        rc = gw_track_cmd(ctx, "SREM", keysocks, sidch);
    }
    if (rc == 0) {
        const char *argv[2] = {"DEL", sock};
        size_t lens[2] = {3, strlen(sock)};
        rc = cm_redis_commandargv(ctx->redis, NULL, NULL, 2, argv, lens);
    }
    if (rc != 0 || gw_track_cmd(ctx, "SREM", gwsocks, pidsid) != 0 ||
        gw_track_exec(ctx, NULL, NULL) != 0)
        cm_warn("untrack on disconnect failed: redis down",
                KV_S("sid", app->sid));
    app->tracked = 0;
}

/*
 * Everything this gateway still tracks, removed in one script: each
 * <pid>|<sid> of its set, that socket's pairs from both indexes, then the
 * set and the heartbeat. Key shapes are cm_keys.h's CM_K_SOCK,
 * CM_K_KEYSOCKS (the worker's dead-gateway sweep does the same).
 */
static const char gw_track_cleanup_lua[] =
    "local socks = redis.call('SMEMBERS', KEYS[1])\n"
    "for _, e in ipairs(socks) do\n"
    "  local pid, sid = string.match(e, '^([^|]+)|(.+)$')\n"
    "  if pid then\n"
    "    local sk = 'sse:{p:' .. pid .. '}:sock:' .. sid\n"
    "    for _, j in ipairs(redis.call('SMEMBERS', sk)) do\n"
    "      local kid, ch = string.match(j, '^([^|]+)|(.+)$')\n"
    "      if kid then\n"
    "        redis.call('SREM', 'sse:{p:' .. pid .. '}:keysocks:' .. kid,\n"
    "                   sid .. '|' .. ch)\n"
    "      end\n"
    "    end\n"
    "    redis.call('DEL', sk)\n"
    "  end\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return #socks\n";

/* Shutdown runs after the loop stopped: it turns the loop again until the
 * script's reply, at most this long, so the cleanup really goes out. */
#define GW_TRACK_SHUTDOWN_MS 1000

struct gw_track_bye {
    struct event_base *base;
    int done;      /* the reply came */
    int abandoned; /* the wait gave up: the reply callback frees this */
};

static void
gw_track_bye_done(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_track_bye *b = arg;

    if (b->abandoned) {
        free(b);
        return;
    }
    b->done = 1;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        cm_warn("shutdown cleanup failed",
                KV_S("error", reply ? reply->str : "redis down"));
    event_base_loopbreak(b->base);
}

static void
gw_track_bye_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct gw_track_bye *b = arg;

    b->abandoned = 1;
    event_base_loopbreak(b->base);
}

void
gw_track_shutdown(struct gw_ctx *ctx)
{
    struct timeval tv = {GW_TRACK_SHUTDOWN_MS / 1000,
                         (GW_TRACK_SHUTDOWN_MS % 1000) * 1000};
    struct gw_track_bye *b = calloc(1, sizeof *b);
    char gwsocks[CM_KEY_MAX];
    struct event *t;

    if (b == NULL)
        return;
    b->base = ctx->base;
    snprintf(gwsocks, sizeof gwsocks, CM_K_GW_SOCKS, ctx->tag);
    if (cm_redis_command(ctx->redis, gw_track_bye_done, b, "EVAL %s 2 %s %s %s",
                         gw_track_cleanup_lua, gwsocks, CM_K_GATEWAYS,
                         ctx->tag) != 0) {
        cm_warn("shutdown cleanup skipped: redis down", KV_S("tag", ctx->tag));
        free(b);
        return;
    }
    t = evtimer_new(ctx->base, gw_track_bye_timeout, b);
    if (t == NULL || evtimer_add(t, &tv) != 0) {
        b->abandoned = 1; /* cannot wait: the reply, if any, frees b */
    } else {
        while (!b->done && !b->abandoned)
            event_base_loop(ctx->base, EVLOOP_ONCE);
    }
    if (t != NULL)
        event_free(t);
    if (b->done)
        free(b);
    else
        b->abandoned = 1;
}
