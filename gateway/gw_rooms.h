/*
 * gw_rooms.h - the gateway's rooms: one per (project, channel) with local
 * members, and the fan-out of bus events to them. A membership is one
 * struct gw_member, on both the room's list and the socket's list, so a
 * leave is O(1) and a disconnect walks only that socket's channels.
 * Not thread-safe: everything runs on the one event loop.
 */
#ifndef SSE_GW_ROOMS_H
#define SSE_GW_ROOMS_H

#include <stddef.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include "chan.h"
#include "cm_keys.h"
#include "cm_store.h"
#include "gw.h"

struct cm_sub;

struct gw_room {
    RB_ENTRY(gw_room) node;
    TAILQ_HEAD(, gw_member) members;
    size_t nmembers;
    int walking; /* a fan-out is iterating: do not free */
    char project[CM_PROJECT_ID_MAX + 1];
    char channel[CHAN_NAME_MAX + 1];
    char bus[CM_KEY_MAX]; /* sse:{p:<pid>}:ch:<ch>: the tree key */
    size_t bus_len;
};

struct gw_member {
    LIST_ENTRY(gw_member) sock_link;  /* on gw_app_state.members */
    TAILQ_ENTRY(gw_member) room_link; /* on gw_room.members */
    struct gw_room *room;
    struct gw_session *s;
    char kid[CM_KID_LEN + 1]; /* signing key of a private join, else "" */
};

/* Rooms of one process; sub receives the SUBSCRIBE/UNSUBSCRIBE of rooms
 * as they gain their first / lose their last member. NULL on ENOMEM. */
struct gw_rooms *gw_rooms_new(struct gw_ctx *ctx, struct cm_sub *sub);
/* Free every room and membership (shutdown only; sessions are gone). */
void gw_rooms_free(struct gw_rooms *r);

/* The socket's membership of channel, or NULL. Walks the socket's own
 * list only (at most SSE_MAX_CHANNELS_PER_SOCKET). */
struct gw_member *gw_rooms_find(struct gw_session *s, const char *channel);

/*
 * Join s to (its project, channel); kid is the private token's signing key
 * or NULL. Idempotent: an existing membership is returned as it is.
 * Returns the membership (owned by the rooms; freed by a leave) or NULL
 * on ENOMEM. Bumps app->nchannels.
 */
struct gw_member *gw_rooms_join(struct gw_rooms *r, struct gw_session *s,
                                const char *channel, const char *kid);

/* Leave: unlinks and frees m; the room goes (and is unsubscribed) with
 * its last member. Does not touch connection tracking (gw_track.h). */
void gw_rooms_leave(struct gw_rooms *r, struct gw_member *m);
/* Leave every channel of s (disconnect). */
void gw_rooms_leave_all(struct gw_rooms *r, struct gw_session *s);

/*
 * A bus message arrived on pub/sub channel bus (not NUL-terminated):
 * decode it once, build one shared frame, queue it to every local member
 * but the origin sid. Malformed messages are counted and dropped.
 */
void gw_rooms_fanout(struct gw_rooms *r, const char *bus, size_t bus_len,
                     const char *msg, size_t len);

/* Number of rooms (local channels with members). */
size_t gw_rooms_count(const struct gw_rooms *r);

#endif
