/*
 * gw_auth.h - who may connect and who may join a private channel:
 * the CONNECT api key (one cm_store_key_verify round trip) and channel
 * tokens (cm_token_verify, then an async liveness check of the signing
 * key). Answers are the contract's human messages; no secret is logged.
 */
#ifndef SSE_GW_AUTH_H
#define SSE_GW_AUTH_H

#include <stddef.h>

#include "cm_store.h"
#include "gw.h"

/*
 * Authenticate a CONNECT: the key from auth {"apiKey": ".."} (JSON text or
 * NULL) else query_key. Ends in exactly one gw_session_connect_accept (with
 * the app state filled) or _reject, possibly later; holds s meanwhile.
 */
void gw_auth_connect(struct gw_ctx *ctx, struct gw_session *s, const char *auth,
                     size_t auth_len, const char *query_key);

/* err is NULL on success, else the human reason for the client;
 * kid is the token's signing key on success. */
typedef void (*gw_auth_channel_cb)(struct gw_ctx *ctx, struct gw_session *s,
                                   const char *err, const char *kid, void *arg);

/*
 * Check a private-channel token for s's project: the pure checks now,
 * then whether the signing key is a live key of the project. On a pure
 * failure cb is called before this returns. Holds s while waiting; cb is
 * called only if s is still alive (arg is then the caller's to free; when
 * s died first, free_arg(arg) is called instead). Always returns 0.
 */
int gw_auth_channel(struct gw_ctx *ctx, struct gw_session *s,
                    const char *channel, const char *token,
                    gw_auth_channel_cb cb, void (*free_arg)(void *), void *arg);

#endif
