/*
 * cm_queue.h - a job queue on Redis lists, after Bull: waiting lists by
 * priority, an active set with leases, a delayed set for backoff, a failed
 * set an operator can inspect and requeue. Every state change is one Lua
 * script, so a job is always in exactly one place; a worker that dies
 * mid-job loses nothing: its lease runs out and the job waits again.
 *
 * Job ids of revocations are deterministic ("rev-" type "-" kid), which
 * makes the intake idempotent: enqueuing an event already queued or
 * running returns the same id and adds nothing.
 */
#ifndef SSE_CM_QUEUE_H
#define SSE_CM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct cm_redis;

#define CM_JOB_ID_MAX 64
#define CM_JOB_ERR_MAX 256
#define CM_QUEUE_PRIO_HIGH 0
#define CM_QUEUE_PRIO_NORMAL 1
#define CM_QUEUE_NPRIO 2
#define CM_QUEUE_ATTEMPTS 5     /* default attempts per job */
#define CM_QUEUE_BACKOFF_MS 200 /* first retry delay; doubles */
#define CM_QUEUE_LEASE_MS 10000 /* a running job's lease */

struct cm_job {
    char id[CM_JOB_ID_MAX + 1];
    char type[32]; /* "ApiKeyDeleted" | "ApiKeyExpired" */
    char api_key_id[32];
    char project_id[65];
    char state[16]; /* waiting active delayed completed failed */
    int priority;
    int attempts; /* attempts started so far */
    int max_attempts;
    int64_t created_ms, updated_ms;
    char last_error[CM_JOB_ERR_MAX];
};

typedef void (*cm_queue_enqueue_cb)(int rc, const char *job_id, int created,
                                    void *arg);
typedef void (*cm_queue_take_cb)(int rc, const struct cm_job *job, void *arg);
typedef void (*cm_queue_jobs_cb)(int rc, const struct cm_job *jobs, size_t n,
                                 void *arg);
typedef void (*cm_queue_done_cb)(int rc, void *arg);
typedef void (*cm_queue_count_cb)(int rc, long long n, void *arg);

/* rc values are those of cm_store.h: CM_STORE_OK, CM_STORE_NOTFOUND,
 * CM_STORE_UNAVAILABLE, CM_STORE_INVALID. Every call returns 0 when sent
 * (cb called once) or -1 when Redis is down (cb not called). */

/*
 * The one entry point of a revocation, used by the publisher API (admin
 * DELETE), the worker's intake and its expiry sweeper: type is
 * "ApiKeyDeleted" or "ApiKeyExpired". created = 0 when the job already
 * existed (waiting, active or delayed): the same event twice does no harm.
 */
int cm_queue_enqueue_revocation(struct cm_redis *r, const char *type,
                                const char *kid, const char *project_id,
                                int64_t now_ms, cm_queue_enqueue_cb cb,
                                void *arg);

/* How a consumer runs jobs: the retry policy belongs to the workers (their
 * SSE_JOB_* settings), not to whoever enqueued the job. */
struct cm_queue_policy {
    int max_attempts;   /* attempts before a job is failed (>= 1) */
    int64_t lease_ms;   /* a running job's lease */
    int64_t backoff_ms; /* first retry delay; doubles per attempt */
};

/* CM_QUEUE_ATTEMPTS, CM_QUEUE_LEASE_MS, CM_QUEUE_BACKOFF_MS */
#define CM_QUEUE_POLICY_DEFAULT                                                \
    {                                                                          \
        CM_QUEUE_ATTEMPTS, CM_QUEUE_LEASE_MS, CM_QUEUE_BACKOFF_MS              \
    }

/*
 * Take the next job for worker_id: first moves due delayed jobs and jobs
 * whose lease ran out back to waiting, then pops the highest priority,
 * marks it active with a lease until now_ms + policy->lease_ms, records
 * policy->max_attempts on it and counts the attempt. rc CM_STORE_NOTFOUND
 * when nothing waits.
 */
int cm_queue_take(struct cm_redis *r, const char *worker_id, int64_t now_ms,
                  const struct cm_queue_policy *policy, cm_queue_take_cb cb,
                  void *arg);

/*
 * extend, complete and fail act only for the run that holds the job: the
 * caller passes the attempt number its take returned (job->attempts).
 * A run whose lease ran out and whose job was taken again gets
 * CM_STORE_NOTFOUND and must drop its result.
 */

/* Extend a running job's lease (long jobs). */
int cm_queue_extend(struct cm_redis *r, const char *job_id, int attempt,
                    int64_t until_ms, cm_queue_done_cb cb, void *arg);

/* The job succeeded: leave active, state completed (record kept 24 h). */
int cm_queue_complete(struct cm_redis *r, const char *job_id, int attempt,
                      int64_t now_ms, cm_queue_done_cb cb, void *arg);

/* The attempt failed with error: delayed by policy->backoff_ms *
 * 2^(attempts-1), or failed once attempts reach policy->max_attempts. */
int cm_queue_fail(struct cm_redis *r, const char *job_id, int attempt,
                  const char *error, int64_t now_ms,
                  const struct cm_queue_policy *policy, cm_queue_done_cb cb,
                  void *arg);

/* Failed jobs, newest first, at most limit. */
int cm_queue_failed_list(struct cm_redis *r, size_t limit, cm_queue_jobs_cb cb,
                         void *arg);

/* Requeue a failed job with its attempts reset. NOTFOUND unless failed. */
int cm_queue_retry(struct cm_redis *r, const char *job_id, int64_t now_ms,
                   cm_queue_done_cb cb, void *arg);

/* Jobs waiting (all priorities) + delayed + active, for metrics. */
int cm_queue_depth(struct cm_redis *r, cm_queue_count_cb cb, void *arg);

/*
 * Expiry sweep: atomically take up to limit keys whose expiresAt <= now
 * from the expiry zset and enqueue an ApiKeyExpired revocation for each
 * (same script, so an expiry is never lost between two steps and exactly
 * one worker takes it). Count of keys swept in the callback.
 */
int cm_queue_sweep_expired(struct cm_redis *r, int64_t now_s, int64_t now_ms,
                           size_t limit, cm_queue_count_cb cb, void *arg);

/* The wake-up list: an enqueue pushes a token here; an idle worker waits
 * on it with BLPOP on its own connection (CM_K_Q_NOTIFY). */

#endif
