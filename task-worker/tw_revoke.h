/*
 * tw_revoke.h - one run of a revocation job: revoke the key, read who
 * joined with it, tell their gateways, clean both tracking indexes, then
 * complete or fail the job in the queue. The consumer decides when runs
 * start; this module decides what a run does.
 */
#ifndef SSE_TW_REVOKE_H
#define SSE_TW_REVOKE_H

struct tw_ctx;
struct tw_run;
struct cm_job;

enum tw_outcome {
    TW_OUTCOME_COMPLETED, /* done, cm_queue_complete acknowledged */
    TW_OUTCOME_RETRIED,   /* failed, the queue will retry after backoff */
    TW_OUTCOME_FAILED,    /* failed its last attempt: in the failed list */
    TW_OUTCOME_ABANDONED, /* Redis lost or shutting down: the lease runs
                             out and another worker runs it again */
};

typedef void (*tw_run_done_cb)(struct tw_run *run, enum tw_outcome outcome,
                               void *arg);

/*
 * Start running job (copied). done is called exactly once, from the loop,
 * after which the run is freed. Returns NULL on allocation failure
 * (nothing started; the job's lease will run out).
 */
struct tw_run *tw_run_start(struct tw_ctx *ctx, const struct cm_job *job,
                            tw_run_done_cb done, void *arg);

#endif
