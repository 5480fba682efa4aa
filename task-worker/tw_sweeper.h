/*
 * tw_sweeper.h - the worker's periodic work, every SSE_SWEEP_INTERVAL_MS:
 * the key-expiry sweep (expired keys become ApiKeyExpired jobs in one
 * atomic script: no outside call, exactly one worker per expiry), the
 * queue-depth gauge, and the dead-gateway sweep (a gateway silent for
 * SSE_GATEWAY_DEAD_MS has its sockets removed from both tracking indexes).
 */
#ifndef SSE_TW_SWEEPER_H
#define SSE_TW_SWEEPER_H

struct tw_ctx;
struct tw_sweeper;

/* Create and arm the timer. NULL on allocation failure. */
struct tw_sweeper *tw_sweeper_new(struct tw_ctx *ctx);

/* Stop the timer (SIGTERM); work in flight finishes on its own. */
void tw_sweeper_stop(struct tw_sweeper *s);

/* Free; call after the Redis links are freed. */
void tw_sweeper_free(struct tw_sweeper *s);

/*
 * Split a gateway socks member "<pid>|<sid>" (pid, sid: caller buffers of
 * CM_PROJECT_ID_MAX + 1 and CM_SID_LEN + 1). Returns 1 if well-formed.
 */
int tw_sweeper_split_gwsock(const char *m, size_t len, char *pid, char *sid);

#endif
