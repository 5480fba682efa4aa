/*
 * t_redis.h - the async-Redis part of the unit tests' kit: connect a
 * private database of the test Redis (SSE_TEST_REDIS_URL) on a libevent
 * loop, and run that loop until a callback says it is done.
 */
#ifndef SSE_TEST_T_REDIS_H
#define SSE_TEST_T_REDIS_H

#include <hiredis/hiredis.h>

#include "cm_redis.h"

struct event_base;

struct t_redis {
    struct event_base *base;
    struct cm_redis *link; /* async, up when t_redis_open returns 0 */
    redisContext *raw;     /* blocking, for reading what the code wrote */
};

/*
 * Open database db of the test Redis, FLUSHDB it (meson runs unit tests in
 * parallel against one Redis: each test that flushes takes its own db),
 * and wait until the async link is up. Returns 0, or -1 after a failed
 * check (the test then ends with t_done()).
 */
int t_redis_open(struct t_redis *t, int db);
void t_redis_close(struct t_redis *t);

/* Run base until *done is non-zero or 10 s pass; -1 on the timeout. */
int t_loop_until(struct event_base *base, const int *done);

#endif
