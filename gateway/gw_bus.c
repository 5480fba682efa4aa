/*
 * gw_bus.c - the gateway's pub/sub side (proto/REDIS.md "Events" and
 * "Gateway control channel"): one cm_sub carries the event channels of
 * local rooms and sse:gw:<tag>; a timer beats in sse:gateways every 5 s;
 * client events are PUBLISHed with the sender's sid as origin.
 */
#include "gw_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cJSON.h>
#include <event2/event.h>

#include "chan.h"
#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_redis.h"
#include "evt.h"
#include "gw_app.h"
#include "gw_rooms.h"
#include "gw_track.h"
#include "json.h"

/* Random part of the event ids of client events. */
#define GW_BUS_EVENT_ID_LEN 20
/* A heartbeat missed because Redis was down is retried this soon. */
#define GW_BUS_BEAT_RETRY_MS 200
/* Bus messages up to this size are built on the stack. */
#define GW_BUS_STACK_MSG 4096

struct gw_bus {
    struct gw_ctx *ctx;
    struct cm_sub *sub;
    struct event *beat;
    struct event *retry;      /* one-shot: a beat missed while Redis was down */
    char control[CM_KEY_MAX]; /* sse:gw:<tag> */
    size_t control_len;
};

static void
gw_bus_message(const char *channel, size_t chlen, const char *data, size_t len,
               void *arg)
{
    struct gw_bus *b = arg;

    if (chlen == b->control_len && memcmp(channel, b->control, chlen) == 0)
        gw_bus_control(b->ctx, data, len);
    else if (b->ctx->rooms != NULL)
        gw_rooms_fanout(b->ctx->rooms, channel, chlen, data, len);
}

static void gw_bus_beat(evutil_socket_t fd, short what, void *arg);

static void
gw_bus_state(struct cm_redis *r, int up, void *arg)
{
    struct gw_bus *b = arg;

    if (up) {
        cm_info("bus subscribed", KV_I("channels", cm_sub_count(b->sub)));
        gw_bus_beat(-1, 0, b); /* Redis is back: say we are alive now */
    } else
        cm_warn("bus connection lost; resubscribing when Redis returns");
}

static void
gw_bus_beat(evutil_socket_t fd, short what, void *arg)
{
    struct gw_bus *b = arg;
    struct timeval tv, again = {0, GW_BUS_BEAT_RETRY_MS * 1000};
    long long ms;

    gettimeofday(&tv, NULL);
    ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;

    if (cm_redis_command(b->ctx->redis, NULL, NULL, "ZADD %s %lld %s",
                         CM_K_GATEWAYS, ms, b->ctx->tag) != 0 &&
        !evtimer_pending(b->retry, NULL))
        evtimer_add(b->retry, &again); /* do not wait a whole period */
}

struct gw_bus *
gw_bus_new(struct gw_ctx *ctx)
{
    struct timeval tv = {GW_BUS_HEARTBEAT_MS / 1000,
                         (GW_BUS_HEARTBEAT_MS % 1000) * 1000};
    struct cm_redis_url url;
    struct gw_bus *b;
    char err[128];
    int n;

    if (cm_redis_url_parse(ctx->common.redis_url, &url, err, sizeof err)) {
        cm_error("bus: bad redis url", KV_S("error", err));
        return NULL;
    }
    if ((b = calloc(1, sizeof *b)) == NULL)
        return NULL;
    b->ctx = ctx;
    n = snprintf(b->control, sizeof b->control, CM_C_GATEWAY, ctx->tag);
    b->control_len = (size_t)n;
    b->sub = cm_sub_new(ctx->base, &url, "gateway-sub", gw_bus_message, b);
    b->beat = event_new(ctx->base, -1, EV_PERSIST, gw_bus_beat, b);
    b->retry = evtimer_new(ctx->base, gw_bus_beat, b);
    if (b->sub == NULL || b->beat == NULL || b->retry == NULL ||
        cm_sub_add(b->sub, b->control, b->control_len) != 0 ||
        event_add(b->beat, &tv) != 0) {
        gw_bus_free(b);
        return NULL;
    }
    cm_sub_set_state_cb(b->sub, gw_bus_state, b);
    gw_bus_beat(-1, 0, b); /* at once: a fresh gateway is alive */
    return b;
}

void
gw_bus_free(struct gw_bus *b)
{
    if (b == NULL)
        return;
    if (b->beat != NULL)
        event_free(b->beat);
    if (b->retry != NULL)
        event_free(b->retry);
    if (b->sub != NULL)
        cm_sub_free(b->sub);
    free(b);
}

struct cm_sub *
gw_bus_sub(struct gw_bus *b)
{
    return b->sub;
}

/* ---- publish ---- */

struct gw_bus_pub {
    struct gw_ctx *ctx;
    gw_bus_publish_cb cb;
    void *arg;
};

static void
gw_bus_published(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct gw_bus_pub *p = arg;
    int ok = reply != NULL && reply->type == REDIS_REPLY_INTEGER;

    p->cb(p->ctx, ok, p->arg);
    free(p);
}

int
gw_bus_publish(struct gw_ctx *ctx, const char *project, const char *channel,
               const char *origin_sid, const char *payload, size_t payload_len,
               gw_bus_publish_cb cb, void *arg)
{
    char bus[CM_KEY_MAX], id[GW_BUS_EVENT_ID_LEN + 1];
    char stack[GW_BUS_STACK_MSG], *msg;
    size_t clen = strlen(channel), need;
    struct gw_bus_pub *p;
    const char *argv[3];
    size_t lens[3];
    int rc = -1;

    if (cm_random_id(id, GW_BUS_EVENT_ID_LEN) != 0)
        return -1;
    snprintf(bus, sizeof bus, CM_C_EVENTS, project, channel);
    need = evt_bus_encode(NULL, 0, id, origin_sid, channel, clen, payload,
                          payload_len);
    msg = need < sizeof stack ? stack : malloc(need + 1);
    if (msg == NULL || (p = malloc(sizeof *p)) == NULL)
        goto out;
    evt_bus_encode(msg, need + 1, id, origin_sid, channel, clen, payload,
                   payload_len);
    p->ctx = ctx;
    p->cb = cb;
    p->arg = arg;
    argv[0] = "PUBLISH";
    lens[0] = 7;
    argv[1] = bus;
    lens[1] = strlen(bus);
    argv[2] = msg;
    lens[2] = need;
    rc = cm_redis_commandargv(ctx->redis, gw_bus_published, p, 3, argv, lens);
    if (rc != 0)
        free(p);
out:
    if (msg != stack)
        free(msg);
    return rc;
}

/* ---- control channel ---- */

#define GW_BUS_REMOVED_DEFAULT "removed from channel"

/*
 * Apply a removal to one socket: leave each listed channel it is in,
 * untrack it, then one RemovedFromChannel naming what it lost. Sockets
 * not held here, gone, or of another project are ignored.
 */
static void
gw_bus_remove_socket(struct gw_ctx *ctx, const char *pid, const char *sid,
                     const cJSON *channels, const char *message)
{
    struct gw_session *s;
    struct gw_app_state *app;
    struct gw_member *m;
    const cJSON *ch;
    char *data, *p;
    size_t n = 0;

    if (strlen(sid) != CM_SID_LEN ||
        memcmp(sid, ctx->tag, CM_GW_TAG_LEN) != 0 ||
        (s = gw_session_by_sid(ctx, sid)) == NULL || !gw_session_alive(s))
        return;
    app = gw_session_app(s);
    if (strcmp(app->project, pid) != 0)
        return;
    /* {"channels":[ + per channel "<name>", + ]} */
    data =
        malloc(16 + (size_t)cJSON_GetArraySize(channels) * (CHAN_NAME_MAX + 3));
    if (data == NULL)
        return;
    p = data + sprintf(data, "{\"channels\":[");
    cJSON_ArrayForEach(ch, channels)
    {
        if (!cJSON_IsString(ch) ||
            (m = gw_rooms_find(s, ch->valuestring)) == NULL)
            continue;
        /* A member's channel is a valid name: no escaping needed. */
        p += sprintf(p, "%s\"%s\"", n++ ? "," : "", m->room->channel);
        gw_track_leave(ctx, m);
        gw_rooms_leave(ctx->rooms, m);
    }
    sprintf(p, "]}");
    if (n > 0) {
        cm_debug("removed by control", KV_S("sid", sid), KV_S("project", pid),
                 KV_I("channels", n));
        gw_app_answer(s, -1, EVT_CODE_REMOVED, message, data);
    }
    free(data);
}

void
gw_bus_control(struct gw_ctx *ctx, const char *msg, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(msg, len);
    const cJSON *op, *pid, *text, *socks, *sock, *sid;

    op = cJSON_GetObjectItemCaseSensitive(root, "op");
    pid = cJSON_GetObjectItemCaseSensitive(root, "projectId");
    text = cJSON_GetObjectItemCaseSensitive(root, "message");
    socks = cJSON_GetObjectItemCaseSensitive(root, "sockets");
    if (!cJSON_IsString(op) || strcmp(op->valuestring, "remove") != 0 ||
        !cJSON_IsString(pid) || !cJSON_IsArray(socks)) {
        cm_warn("control message ignored", KV_I("bytes", len));
        cJSON_Delete(root);
        return;
    }
    cJSON_ArrayForEach(sock, socks)
    {
        const cJSON *chans = cJSON_GetObjectItemCaseSensitive(sock, "channels");
        sid = cJSON_GetObjectItemCaseSensitive(sock, "sid");
        if (cJSON_IsString(sid) && cJSON_IsArray(chans))
            gw_bus_remove_socket(ctx, pid->valuestring, sid->valuestring, chans,
                                 cJSON_IsString(text) ? text->valuestring
                                                      : GW_BUS_REMOVED_DEFAULT);
    }
    cJSON_Delete(root);
}
