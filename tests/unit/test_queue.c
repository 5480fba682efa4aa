/*
 * test_queue.c - the job queue against a real Redis (SSE_TEST_REDIS_URL;
 * the test fails when it is unset): idempotent enqueue, priorities,
 * take/complete, backoff times to the failed set, retry, lease expiry,
 * extend, the expiry sweep, and where each job id sits, read back raw.
 */
#include "t.h"
#include "t_redis.h"

#include <stdlib.h>

#include <event2/event.h>

#include "cm_keys.h"
#include "cm_queue.h"
#include "cm_redis.h"
#include "cm_store.h"

#define LEASE 10000

static struct event_base *base;
static struct cm_redis *rd;
static redisContext *raw;

static struct {
    int done, rc, created;
    char id[CM_JOB_ID_MAX + 1];
    struct cm_job job, jobs[4];
    size_t n;
    long long count;
} res;

/* Run the loop until a callback (or 10 s). */
static void
wait_cb(void)
{
    if (t_loop_until(base, &res.done) != 0)
        res.rc = 999;
}

static void
reset(void)
{
    memset(&res, 0, sizeof res);
}

static void
enqueue_cb(int rc, const char *id, int created, void *arg)
{
    res.done = 1;
    res.rc = rc;
    res.created = created;
    if (id != NULL)
        snprintf(res.id, sizeof res.id, "%s", id);
}

static void
take_cb(int rc, const struct cm_job *job, void *arg)
{
    res.done = 1;
    res.rc = rc;
    if (job != NULL)
        res.job = *job;
}

static void
jobs_cb(int rc, const struct cm_job *jobs, size_t n, void *arg)
{
    res.done = 1;
    res.rc = rc;
    res.n = n;
    memcpy(res.jobs, jobs, (n < 4 ? n : 4) * sizeof *jobs);
}

static void
done_cb(int rc, void *arg)
{
    res.done = 1;
    res.rc = rc;
}

static void
count_cb(int rc, long long n, void *arg)
{
    res.done = 1;
    res.rc = rc;
    res.count = n;
}

static int
enqueue(const char *type, const char *kid, int64_t now)
{
    reset();
    T_EQ_INT(cm_queue_enqueue_revocation(rd, type, kid, "proj", now, enqueue_cb,
                                         NULL),
             0);
    wait_cb();
    return res.rc;
}

/* The attempt number of the last successful take. */
static int taken_attempt;

static int
take(int64_t now, int64_t lease)
{
    reset();
    struct cm_queue_policy pol = CM_QUEUE_POLICY_DEFAULT;

    pol.lease_ms = lease;
    T_EQ_INT(cm_queue_take(rd, "w1", now, &pol, take_cb, NULL), 0);
    wait_cb();
    if (res.rc == CM_STORE_OK)
        taken_attempt = res.job.attempts;
    return res.rc;
}

/* Complete as the run that holds attempt. */
static int
complete_as(const char *id, int attempt, int64_t now)
{
    reset();
    T_EQ_INT(cm_queue_complete(rd, id, attempt, now, done_cb, NULL), 0);
    wait_cb();
    return res.rc;
}

/* Complete or fail as the run of the last take. */
static int
complete(const char *id, int64_t now)
{
    return complete_as(id, taken_attempt, now);
}

static int
fail(const char *id, int64_t now)
{
    reset();
    struct cm_queue_policy pol = CM_QUEUE_POLICY_DEFAULT;

    T_EQ_INT(
        cm_queue_fail(rd, id, taken_attempt, "boom", now, &pol, done_cb, NULL),
        0);
    wait_cb();
    return res.rc;
}

static long long
depth(void)
{
    reset();
    T_EQ_INT(cm_queue_depth(rd, count_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    return res.count;
}

/* ZSCORE of a job id in a zset, or -1. */
static long long
zscore(const char *zset, const char *id)
{
    redisReply *r = redisCommand(raw, "ZSCORE %s %s", zset, id);
    long long v =
        r != NULL && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

static void
test_enqueue_take(void)
{
    T_EQ_INT(enqueue("ApiKeyExpired", "kid2", 1000), CM_STORE_OK);
    T_EQ_STR(res.id, "rev-e-kid2");
    T_EQ_INT(res.created, 1);
    T_EQ_INT(enqueue("ApiKeyDeleted", "kid1", 1000), CM_STORE_OK);
    T_EQ_STR(res.id, "rev-d-kid1");
    T_EQ_INT(res.created, 1);
    T_EQ_INT(enqueue("ApiKeyDeleted", "kid1", 1001), CM_STORE_OK);
    T_EQ_STR(res.id, "rev-d-kid1");
    T_EQ_INT(res.created, 0);
    T_EQ_INT(depth(), 2);
    T_EQ_INT(enqueue("Bogus", "kid1", 1000), CM_STORE_INVALID);
    T_EQ_INT(enqueue("ApiKeyDeleted", "a|b", 1000), CM_STORE_INVALID);

    redisReply *r = redisCommand(raw, "LLEN " CM_K_Q_NOTIFY);
    T_CHECK(r != NULL && r->integer >= 1 && r->integer <= 16);
    freeReplyObject(r);

    /* Deletions first, though enqueued second. */
    T_EQ_INT(take(2000, LEASE), CM_STORE_OK);
    T_EQ_STR(res.job.id, "rev-d-kid1");
    T_EQ_STR(res.job.type, "ApiKeyDeleted");
    T_EQ_STR(res.job.api_key_id, "kid1");
    T_EQ_STR(res.job.project_id, "proj");
    T_EQ_STR(res.job.state, "active");
    T_EQ_INT(res.job.priority, CM_QUEUE_PRIO_HIGH);
    T_EQ_INT(res.job.attempts, 1);
    T_EQ_INT(res.job.max_attempts, CM_QUEUE_ATTEMPTS);
    T_EQ_INT(res.job.created_ms, 1000);
    T_EQ_INT(zscore(CM_K_Q_ACTIVE, "rev-d-kid1"), 2000 + LEASE);

    /* Running: the same event again adds nothing. */
    T_EQ_INT(enqueue("ApiKeyDeleted", "kid1", 2001), CM_STORE_OK);
    T_EQ_INT(res.created, 0);
    T_EQ_INT(complete("rev-d-kid1", 2002), CM_STORE_OK);
    T_EQ_INT(complete("rev-d-kid1", 2003), CM_STORE_NOTFOUND);
    T_EQ_INT(zscore(CM_K_Q_ACTIVE, "rev-d-kid1"), -1);
    r = redisCommand(raw, "TTL sse:job:rev-d-kid1");
    T_CHECK(r != NULL && r->integer > 86000 && r->integer <= 86400);
    freeReplyObject(r);
    /* Completed: a new event is a new run. */
    T_EQ_INT(enqueue("ApiKeyDeleted", "kid1", 3000), CM_STORE_OK);
    T_EQ_INT(res.created, 1);
    T_EQ_INT(take(3000, LEASE), CM_STORE_OK);
    T_EQ_STR(res.job.id, "rev-d-kid1");
    T_EQ_INT(res.job.attempts, 1);
    T_EQ_INT(complete("rev-d-kid1", 3001), CM_STORE_OK);
}

static void
test_backoff(void)
{
    int64_t now = 10000, delay = CM_QUEUE_BACKOFF_MS;
    int i;

    for (i = 1; i <= CM_QUEUE_ATTEMPTS; i++) {
        T_EQ_INT(take(now, LEASE), CM_STORE_OK);
        T_EQ_STR(res.job.id, "rev-e-kid2");
        T_EQ_INT(res.job.attempts, i);
        T_EQ_INT(fail("rev-e-kid2", now), CM_STORE_OK);
        if (i == CM_QUEUE_ATTEMPTS)
            break;
        /* 200, 400, 800, 1600 ms: not due a millisecond early. */
        T_EQ_INT(zscore(CM_K_Q_DELAYED, "rev-e-kid2"), now + delay);
        T_EQ_INT(take(now + delay - 1, LEASE), CM_STORE_NOTFOUND);
        now += delay;
        delay *= 2;
    }
    T_EQ_INT(zscore(CM_K_Q_FAILED, "rev-e-kid2"), now);
    T_EQ_INT(zscore(CM_K_Q_DELAYED, "rev-e-kid2"), -1);
    T_EQ_INT(take(now + 1000000, LEASE), CM_STORE_NOTFOUND);
    T_EQ_INT(depth(), 0);
    T_EQ_INT(fail("rev-e-kid2", now), CM_STORE_NOTFOUND);

    reset();
    T_EQ_INT(cm_queue_failed_list(rd, 10, jobs_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    T_EQ_INT(res.n, 1);
    T_EQ_STR(res.jobs[0].id, "rev-e-kid2");
    T_EQ_STR(res.jobs[0].state, "failed");
    T_EQ_STR(res.jobs[0].last_error, "boom");
    T_EQ_INT(res.jobs[0].attempts, CM_QUEUE_ATTEMPTS);

    /* Failed: an enqueue of the same event would replace it; retry
     * requeues it with attempts reset. */
    reset();
    T_EQ_INT(cm_queue_retry(rd, "rev-e-kid2", now, done_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    reset();
    T_EQ_INT(cm_queue_retry(rd, "rev-e-kid2", now, done_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_NOTFOUND);
    T_EQ_INT(zscore(CM_K_Q_FAILED, "rev-e-kid2"), -1);
    T_EQ_INT(take(now, LEASE), CM_STORE_OK);
    T_EQ_STR(res.job.id, "rev-e-kid2");
    T_EQ_INT(res.job.attempts, 1);
    T_EQ_STR(res.job.last_error, "");
    T_EQ_INT(complete("rev-e-kid2", now), CM_STORE_OK);
}

static void
test_lease(void)
{
    T_EQ_INT(enqueue("ApiKeyDeleted", "kid3", 50000), CM_STORE_OK);
    T_EQ_INT(take(50000, 1000), CM_STORE_OK);
    T_EQ_STR(res.job.id, "rev-d-kid3");
    /* The worker died: within the lease nobody else gets it... */
    T_EQ_INT(take(50999, 1000), CM_STORE_NOTFOUND);
    /* ...after it, the next taker does, as a second attempt. */
    T_EQ_INT(take(51000, 1000), CM_STORE_OK);
    T_EQ_STR(res.job.id, "rev-d-kid3");
    T_EQ_INT(res.job.attempts, 2);

    /* The first run, whose lease ran out, can neither extend nor finish
     * the job the second run now holds. */
    reset();
    T_EQ_INT(cm_queue_extend(rd, "rev-d-kid3", 1, 90000, done_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_NOTFOUND);
    T_EQ_INT(complete_as("rev-d-kid3", 1, 51001), CM_STORE_NOTFOUND);

    /* Extending keeps it. */
    reset();
    T_EQ_INT(cm_queue_extend(rd, "rev-d-kid3", 2, 90000, done_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    T_EQ_INT(take(80000, 1000), CM_STORE_NOTFOUND);
    reset();
    T_EQ_INT(cm_queue_extend(rd, "rev-x-none", 1, 90000, done_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_NOTFOUND);
    T_EQ_INT(complete("rev-d-kid3", 80001), CM_STORE_OK);
}

static void
test_sweep(void)
{
    freeReplyObject(
        redisCommand(raw, "ZADD " CM_K_APIKEY_EXPIRY " 100 kA 200 kB 300 kC"));
    freeReplyObject(redisCommand(raw, "HSET sse:apikey:kA pid proj"));
    freeReplyObject(redisCommand(raw, "HSET sse:apikey:kC pid proj"));

    reset();
    T_EQ_INT(cm_queue_sweep_expired(rd, 250, 250000, 100, count_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    T_EQ_INT(res.count, 2); /* kA and kB; kB has no record: no job */
    T_EQ_INT(zscore(CM_K_APIKEY_EXPIRY, "kA"), -1);
    T_EQ_INT(zscore(CM_K_APIKEY_EXPIRY, "kC"), 300);
    reset();
    T_EQ_INT(cm_queue_sweep_expired(rd, 250, 250001, 100, count_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.count, 0);
    T_EQ_INT(depth(), 1);

    T_EQ_INT(take(250002, LEASE), CM_STORE_OK);
    T_EQ_STR(res.job.id, "rev-e-kA");
    T_EQ_STR(res.job.type, "ApiKeyExpired");
    T_EQ_STR(res.job.project_id, "proj");
    T_EQ_INT(res.job.priority, CM_QUEUE_PRIO_NORMAL);
    T_EQ_INT(take(250003, LEASE), CM_STORE_NOTFOUND);
}

int
main(void)
{
    struct t_redis tr;

    /* A database of its own: meson runs the unit tests in parallel
     * against one Redis, and this test flushes what it uses. */
    if (t_redis_open(&tr, 12) != 0)
        return t_done("queue");
    base = tr.base;
    rd = tr.link;
    raw = tr.raw;

    test_enqueue_take();
    test_backoff();
    test_lease();
    test_sweep();

    t_redis_close(&tr);
    return t_done("queue");
}
