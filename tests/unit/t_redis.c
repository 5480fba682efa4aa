/*
 * t_redis.c - see t_redis.h.
 */
#include "t_redis.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "t.h"

static void
t_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    *(int *)arg = 1;
}

int
t_loop_until(struct event_base *base, const int *done)
{
    struct timeval tv = {10, 0};
    int timed_out = 0;
    struct event *t = evtimer_new(base, t_timeout_cb, &timed_out);

    evtimer_add(t, &tv);
    while (!*done && !timed_out)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    if (timed_out && !*done) {
        fprintf(stderr, "timed out waiting for Redis\n");
        return -1;
    }
    return 0;
}

static void
t_up_cb(struct cm_redis *r, int up, void *arg)
{
    if (up)
        *(int *)arg = 1;
}

int
t_redis_open(struct t_redis *t, int db)
{
    const char *url = t_redis_url();
    struct cm_redis_url u;
    char err[128];
    int up = 0;

    memset(t, 0, sizeof *t);
    T_CHECK(url != NULL);
    if (url == NULL || cm_redis_url_parse(url, &u, err, sizeof err) != 0)
        return -1;
    u.db = db;
    t->raw = cm_redis_connect_blocking(&u, 2000, err, sizeof err);
    T_CHECK(t->raw != NULL);
    if (t->raw == NULL)
        return -1;
    freeReplyObject(redisCommand(t->raw, "FLUSHDB"));
    t->base = event_base_new();
    t->link = cm_redis_new(t->base, &u, "test");
    cm_redis_set_state_cb(t->link, t_up_cb, &up);
    t_loop_until(t->base, &up);
    cm_redis_set_state_cb(t->link, NULL, NULL);
    T_EQ_INT(cm_redis_up(t->link), 1);
    return cm_redis_up(t->link) ? 0 : -1;
}

void
t_redis_close(struct t_redis *t)
{
    if (t->link != NULL)
        cm_redis_free(t->link);
    if (t->base != NULL)
        event_base_free(t->base);
    if (t->raw != NULL)
        redisFree(t->raw);
    memset(t, 0, sizeof *t);
}
