/*
 * tw_consumer.c - the scheduling half of the consumer: when to take a job
 * and how many run at once. What a job does is tw_revoke.c. One take is in
 * flight at a time; every finished job and every wake-up pumps again, so a
 * full queue keeps all slots busy and an empty one costs one BLPOP a second.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "tw.h"
#include "tw_consumer.h"
#include "tw_revoke.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_queue.h"

/* Pause before trying again after Redis refused or was down. */
#define TW_CONSUMER_RETRY_MS 250
/* Seconds an idle BLPOP waits (REDIS.md: delayed jobs seen every second). */
#define TW_CONSUMER_IDLE_S 1

struct tw_consumer {
    struct tw_ctx *ctx;
    int running; /* jobs being run */
    int taking;  /* a cm_queue_take in flight */
    int waiting; /* a BLPOP in flight on ctx->notify */
    int stopped; /* tw_consumer_stop called */
    int drained; /* tw_main_drained already called */
    struct event *retry;
};

static void consumer_pump(struct tw_consumer *c);

static void
consumer_check_drained(struct tw_consumer *c)
{
    if (c->stopped && c->running == 0 && !c->taking && !c->drained) {
        c->drained = 1;
        tw_main_drained(c->ctx);
    }
}

static void
consumer_retry_later(struct tw_consumer *c)
{
    struct timeval tv = {0, TW_CONSUMER_RETRY_MS * 1000};

    if (!evtimer_pending(c->retry, NULL))
        evtimer_add(c->retry, &tv);
}

static void
consumer_retry_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    consumer_pump(arg);
}

static void
consumer_job_done(struct tw_run *run, enum tw_outcome outcome, void *arg)
{
    struct tw_consumer *c = arg;

    (void)run;
    (void)outcome;
    c->running--;
    cm_gauge_set(c->ctx->m.jobs_running, c->running);
    if (c->ctx->closing)
        return;
    consumer_check_drained(c);
    consumer_pump(c);
}

static void
consumer_woken(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct tw_consumer *c = arg;

    (void)r;
    c->waiting = 0;
    if (c->ctx->closing)
        return;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        consumer_retry_later(c);
    else
        consumer_pump(c);
}

/* Nothing waits: sleep on the notify list, on the link kept for that. */
static void
consumer_idle(struct tw_consumer *c)
{
    if (c->waiting)
        return;
    if (cm_redis_command(c->ctx->notify, consumer_woken, c, "BLPOP %s %d",
                         CM_K_Q_NOTIFY, TW_CONSUMER_IDLE_S) != 0) {
        consumer_retry_later(c);
        return;
    }
    c->waiting = 1;
}

static void
consumer_taken(int rc, const struct cm_job *job, void *arg)
{
    struct tw_consumer *c = arg;

    c->taking = 0;
    if (c->ctx->closing)
        return;
    if (rc == CM_STORE_OK && job != NULL) {
        /* Taken even if SIGTERM came meanwhile: running it is the
         * quickest way to leave nothing behind. */
        if (tw_run_start(c->ctx, job, consumer_job_done, c) == NULL) {
            cm_error("cannot start job: left to its lease",
                     KV_S("job", job->id));
            consumer_retry_later(c);
            return;
        }
        c->running++;
        cm_gauge_set(c->ctx->m.jobs_running, c->running);
        consumer_pump(c);
    } else if (rc == CM_STORE_NOTFOUND) {
        consumer_check_drained(c);
        consumer_idle(c);
    } else {
        cm_counter_inc(c->ctx->m.redis_errors);
        cm_warn("take failed", KV_S("rc", cm_store_strerror(rc)));
        consumer_check_drained(c);
        consumer_retry_later(c);
    }
}

static void
consumer_pump(struct tw_consumer *c)
{
    struct tw_ctx *ctx = c->ctx;

    if (c->stopped || ctx->closing || c->taking ||
        c->running >= ctx->conf.concurrency)
        return;
    if (cm_queue_take(ctx->redis, ctx->common.node_id, tw_now_ms(),
                      &ctx->policy, consumer_taken, c) != 0) {
        consumer_retry_later(c);
        return;
    }
    c->taking = 1;
}

struct tw_consumer *
tw_consumer_new(struct tw_ctx *ctx)
{
    struct tw_consumer *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->ctx = ctx;
    c->retry = evtimer_new(ctx->base, consumer_retry_fire, c);
    if (c->retry == NULL) {
        free(c);
        return NULL;
    }
    consumer_pump(c);
    return c;
}

void
tw_consumer_stop(struct tw_consumer *c)
{
    c->stopped = 1;
    evtimer_del(c->retry);
    consumer_check_drained(c);
}

int
tw_consumer_running(const struct tw_consumer *c)
{
    return c->running;
}

void
tw_consumer_free(struct tw_consumer *c)
{
    if (c == NULL)
        return;
    event_free(c->retry);
    free(c);
}
