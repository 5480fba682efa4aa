/*
 * cm_redis.h - Redis for services: async hiredis on the libevent loop with
 * automatic reconnect (capped exponential backoff), and a pub/sub
 * subscriber that restores every subscription after a reconnect.
 *
 * Nothing here blocks the loop. The blocking client at the end is for
 * tools and tests only.
 */
#ifndef SSE_CM_REDIS_H
#define SSE_CM_REDIS_H

#include <stddef.h>
#include <hiredis/hiredis.h>

struct event_base;

struct cm_redis_url {
    char host[256];
    int port;
    char unix_path[256]; /* non-empty for unix:// */
    char username[128];  /* Redis 6 ACL user; may be empty */
    char password[256];  /* may be empty */
    int db;
};

/*
 * Parse redis://[[username]:password@]host[:port][/db] or
 * unix:///path[?db=N]. Username and password are percent-decoded.
 * Returns 0, or -1 with err filled ("SSE_REDIS_URL: bad port").
 */
int cm_redis_url_parse(const char *s, struct cm_redis_url *out, char *err,
                       size_t errlen);

struct cm_redis;

/* reply is NULL when the command failed because the link went down (or
 * was never up); callbacks are then called once with NULL. A reply of
 * type REDIS_REPLY_ERROR is passed through. The reply is freed after the
 * callback returns. */
typedef void (*cm_redis_cb)(struct cm_redis *r, redisReply *reply, void *arg);

/* Called after each (re)connection is ready (AUTH and SELECT done) with
 * up = 1, and once per loss with up = 0. */
typedef void (*cm_redis_state_cb)(struct cm_redis *r, int up, void *arg);

/* Start connecting; returns NULL only on allocation failure. name appears
 * in logs ("publisher", "gateway-sub"). Backoff: 100 ms doubling to 5 s. */
struct cm_redis *cm_redis_new(struct event_base *base,
                              const struct cm_redis_url *url, const char *name);

void cm_redis_set_state_cb(struct cm_redis *r, cm_redis_state_cb cb, void *arg);

/* 1 when connected and ready. */
int cm_redis_up(const struct cm_redis *r);

/*
 * Send a command (printf-style as redisAsyncCommand, or argv form).
 * Returns 0 when queued (cb will be called exactly once), -1 when the link
 * is down (cb is not called; the caller answers "unavailable").
 * cb may be NULL.
 */
int cm_redis_command(struct cm_redis *r, cm_redis_cb cb, void *arg,
                     const char *fmt, ...);
int cm_redis_commandargv(struct cm_redis *r, cm_redis_cb cb, void *arg,
                         int argc, const char **argv, const size_t *argvlen);

/* Free: pending callbacks are called with NULL first. */
void cm_redis_free(struct cm_redis *r);

/* ---- subscriber ---- */

struct cm_sub;

/* One published message: channel and data are not NUL-terminated and are
 * valid only during the call. */
typedef void (*cm_sub_msg_cb)(const char *channel, size_t chlen,
                              const char *data, size_t len, void *arg);

struct cm_sub *cm_sub_new(struct event_base *base,
                          const struct cm_redis_url *url, const char *name,
                          cm_sub_msg_cb cb, void *arg);

void cm_sub_set_state_cb(struct cm_sub *s, cm_redis_state_cb cb, void *arg);

/*
 * Add/remove a channel to the wanted set (idempotent). While connected the
 * SUBSCRIBE/UNSUBSCRIBE goes out at once; after each reconnect the whole
 * set is subscribed again. Returns 0, or -1 on allocation failure.
 */
int cm_sub_add(struct cm_sub *s, const char *channel, size_t len);
int cm_sub_remove(struct cm_sub *s, const char *channel, size_t len);
size_t cm_sub_count(const struct cm_sub *s);
int cm_sub_up(const struct cm_sub *s);
void cm_sub_free(struct cm_sub *s);

/* ---- blocking client: tools and tests only, never on a service loop ---- */
redisContext *cm_redis_connect_blocking(const struct cm_redis_url *url,
                                        int timeout_ms, char *err,
                                        size_t errlen);

#endif
