/*
 * gw_rooms.c - rooms keyed by their bus channel name (which names the
 * project and the channel), in a red-black tree; members on intrusive
 * lists. A room subscribes its bus channel with its first local member
 * and unsubscribes with its last. Fan-out encodes once and queues one
 * shared frame to every member: the only walk over many sockets.
 */
#include "gw_rooms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_redis.h"
#include "evt.h"

RB_HEAD(gw_room_tree, gw_room);

struct gw_rooms {
    struct gw_ctx *ctx;
    struct cm_sub *sub;
    struct gw_room_tree tree;
    size_t count;
    struct cm_counter *events_in;
    struct cm_counter *events_out;
    struct cm_counter *events_bad;
    struct cm_gauge *channels;
    struct cm_histogram *fanout;
};

static int
gw_room_cmp(const struct gw_room *a, const struct gw_room *b)
{
    if (a->bus_len != b->bus_len)
        return a->bus_len < b->bus_len ? -1 : 1;
    return memcmp(a->bus, b->bus, a->bus_len);
}

/* RB_GENERATE_STATIC spells "__unused static", which libbsd leaves
 * undefined (Debian #522773): name the attribute ourselves. */
RB_GENERATE_INTERNAL(gw_room_tree, gw_room, node, gw_room_cmp,
                     __attribute__((unused)) static)

struct gw_rooms *
gw_rooms_new(struct gw_ctx *ctx, struct cm_sub *sub)
{
    struct gw_rooms *r = calloc(1, sizeof *r);
    struct cm_metrics *m = ctx->metrics;

    if (r == NULL)
        return NULL;
    r->ctx = ctx;
    r->sub = sub;
    RB_INIT(&r->tree);
    r->events_in = cm_metrics_counter(
        m, "sse_events_in_total", NULL,
        "Channel events received from the bus for local members");
    r->events_out = cm_metrics_counter(
        m, "sse_events_out_total", NULL,
        "Channel events queued to client sockets (deliveries)");
    r->events_bad = cm_metrics_counter(m, "sse_events_malformed_total", NULL,
                                       "Bus messages dropped as malformed");
    r->channels = cm_metrics_gauge(m, "sse_channels", NULL,
                                   "Channels with at least one local member");
    r->fanout = cm_metrics_histogram(
        m, "sse_fanout_seconds", NULL,
        "From bus receipt to the last member's frame queued", NULL, 0);
    return r;
}

static void
gw_room_free(struct gw_rooms *r, struct gw_room *room)
{
    RB_REMOVE(gw_room_tree, &r->tree, room);
    r->count--;
    if (r->channels != NULL)
        cm_gauge_add(r->channels, -1);
    if (cm_sub_remove(r->sub, room->bus, room->bus_len) != 0)
        cm_warn("unsubscribe failed", KV_S("project", room->project),
                KV_S("channel", room->channel));
    free(room);
}

void
gw_rooms_free(struct gw_rooms *r)
{
    struct gw_room *room, *rnext;
    struct gw_member *m;

    if (r == NULL)
        return;
    RB_FOREACH_SAFE(room, gw_room_tree, &r->tree, rnext)
    {
        while ((m = TAILQ_FIRST(&room->members)) != NULL) {
            TAILQ_REMOVE(&room->members, m, room_link);
            LIST_REMOVE(m, sock_link);
            gw_session_app(m->s)->nchannels--;
            free(m);
        }
        RB_REMOVE(gw_room_tree, &r->tree, room);
        free(room);
    }
    free(r);
}

struct gw_member *
gw_rooms_find(struct gw_session *s, const char *channel)
{
    struct gw_member *m;

    LIST_FOREACH(m, &gw_session_app(s)->members, sock_link)
    {
        if (strcmp(m->room->channel, channel) == 0)
            return m;
    }
    return NULL;
}

/* The room of (project, channel), created (and subscribed) if absent. */
static struct gw_room *
gw_rooms_get(struct gw_rooms *r, const char *project, const char *channel)
{
    struct gw_room *room = calloc(1, sizeof *room), *old;
    int n;

    if (room == NULL)
        return NULL;
    n = snprintf(room->bus, sizeof room->bus, CM_C_EVENTS, project, channel);
    if (n < 0 || (size_t)n >= sizeof room->bus) {
        free(room);
        return NULL;
    }
    room->bus_len = (size_t)n;
    if ((old = RB_FIND(gw_room_tree, &r->tree, room)) != NULL) {
        free(room);
        return old;
    }
    snprintf(room->project, sizeof room->project, "%s", project);
    snprintf(room->channel, sizeof room->channel, "%s", channel);
    TAILQ_INIT(&room->members);
    if (cm_sub_add(r->sub, room->bus, room->bus_len) != 0) {
        free(room);
        return NULL;
    }
    RB_INSERT(gw_room_tree, &r->tree, room);
    r->count++;
    if (r->channels != NULL)
        cm_gauge_add(r->channels, 1);
    return room;
}

struct gw_member *
gw_rooms_join(struct gw_rooms *r, struct gw_session *s, const char *channel,
              const char *kid)
{
    struct gw_app_state *app = gw_session_app(s);
    struct gw_member *m = gw_rooms_find(s, channel);
    struct gw_room *room;

    if (m != NULL)
        return m;
    if ((m = calloc(1, sizeof *m)) == NULL)
        return NULL;
    if ((room = gw_rooms_get(r, app->project, channel)) == NULL) {
        free(m);
        return NULL;
    }
    m->room = room;
    m->s = s;
    if (kid != NULL)
        snprintf(m->kid, sizeof m->kid, "%s", kid);
    TAILQ_INSERT_TAIL(&room->members, m, room_link);
    room->nmembers++;
    LIST_INSERT_HEAD(&app->members, m, sock_link);
    app->nchannels++;
    cm_debug("join", KV_S("sid", app->sid), KV_S("project", app->project),
             KV_S("channel", channel), KV_S("kid", kid ? kid : "-"));
    return m;
}

void
gw_rooms_leave(struct gw_rooms *r, struct gw_member *m)
{
    struct gw_room *room = m->room;
    struct gw_app_state *app = gw_session_app(m->s);

    cm_debug("leave", KV_S("sid", app->sid), KV_S("project", app->project),
             KV_S("channel", room->channel));
    TAILQ_REMOVE(&room->members, m, room_link);
    room->nmembers--;
    LIST_REMOVE(m, sock_link);
    app->nchannels--;
    free(m);
    /* During a fan-out walk the walker frees the emptied room. */
    if (room->nmembers == 0 && !room->walking)
        gw_room_free(r, room);
}

void
gw_rooms_leave_all(struct gw_rooms *r, struct gw_session *s)
{
    struct gw_member *m;

    while ((m = LIST_FIRST(&gw_session_app(s)->members)) != NULL)
        gw_rooms_leave(r, m);
}

size_t
gw_rooms_count(const struct gw_rooms *r)
{
    return r->count;
}

/* 1 when the member's socket is the origin sid of the event. */
static int
gw_rooms_is_origin(const struct gw_member *m, const struct proto_span *o)
{
    const char *sid = gw_session_app(m->s)->sid;

    return o->len == CM_SID_LEN && memcmp(sid, o->p, o->len) == 0;
}

void
gw_rooms_fanout(struct gw_rooms *r, const char *bus, size_t bus_len,
                const char *msg, size_t len)
{
    struct gw_room key, *room;
    struct gw_member *m, *next;
    struct evt_bus_msg ev;
    struct gw_frame *f;
    double t0 = cm_now_mono();
    uint64_t out = 0;

    if (bus_len >= sizeof key.bus)
        return;
    memcpy(key.bus, bus, bus_len);
    key.bus_len = bus_len;
    if ((room = RB_FIND(gw_room_tree, &r->tree, &key)) == NULL)
        return; /* a message in flight as we unsubscribed */
    if (evt_bus_decode(msg, len, &ev) != PROTO_OK) {
        cm_counter_inc(r->events_bad);
        cm_warn("malformed bus message", KV_S("channel", room->channel),
                KV_I("bytes", len));
        return;
    }
    cm_counter_inc(r->events_in);
    if ((f = gw_frame_new(ev.packet.p, ev.packet.len)) == NULL) {
        cm_error("fan-out: out of memory", KV_S("channel", room->channel));
        return;
    }
    /* A send may close a slow socket, and its disconnect may leave this
     * room: walk with the next saved and keep the room until the end. */
    room->walking = 1;
    for (m = TAILQ_FIRST(&room->members); m != NULL; m = next) {
        next = TAILQ_NEXT(m, room_link);
        if (gw_rooms_is_origin(m, &ev.origin))
            continue;
        if (gw_session_send_frame(m->s, f) == 0)
            out++;
    }
    room->walking = 0;
    gw_frame_unref(f);
    cm_counter_add(r->events_out, out);
    cm_histogram_observe(r->fanout, cm_now_mono() - t0);
    if (room->nmembers == 0)
        gw_room_free(r, room);
}
