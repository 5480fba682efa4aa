/*
 * gw_track.h - connection tracking in Redis (CONTRACT.md section 5,
 * proto/REDIS.md "Connection tracking"): for private joins, the socket's
 * set of <kid>|<ch> and the key's set of <sid>|<ch>, changed together in
 * one MULTI, plus sse:gw:<tag>:socks so a crashed gateway can be swept.
 * Writes only: the in-memory memberships say what to remove.
 */
#ifndef SSE_GW_TRACK_H
#define SSE_GW_TRACK_H

#include "gw.h"

struct gw_member;

/* Called once with ok = 1 when the write succeeded, 0 when Redis failed,
 * GW_TRACK_KEY_GONE when the join's signing key was revoked or expired
 * meanwhile (nothing was written). */
typedef void (*gw_track_cb)(struct gw_ctx *ctx, int ok, void *arg);

#define GW_TRACK_KEY_GONE (-1)

/*
 * Record a private join of m (m->kid set): both indexes and the gateway's
 * socket set, in one script that first checks that the signing key is
 * still live. A revocation revokes the key before it reads the key's
 * sockets, so a join is either seen by it or refused here: none slips
 * between the two. Returns 0 when sent (cb called exactly once), -1 when
 * Redis is down (cb not called).
 */
int gw_track_join(struct gw_ctx *ctx, const struct gw_member *m, gw_track_cb cb,
                  void *arg);

/* Forget one private membership (remove, control removal). Fire and
 * forget: a failure is logged; the worker's sweeps are the backstop. */
void gw_track_leave(struct gw_ctx *ctx, const struct gw_member *m);

/* Forget every tracked membership of s and the socket itself (disconnect),
 * from its in-memory member list. No-op for untracked sockets. */
void gw_track_forget(struct gw_ctx *ctx, struct gw_session *s);

/* Shutdown, after the loop stopped: drop every entry this gateway wrote
 * (its socket set, both indexes of those sockets) and its heartbeat, in
 * one script, turning the loop until Redis answers (at most 1 s). */
void gw_track_shutdown(struct gw_ctx *ctx);

#endif
