/*
 * tw_consumer.h - takes revocation jobs from the queue and runs up to
 * SSE_WORKER_CONCURRENCY of them at once. Idle, it waits on
 * BLPOP sse:q:notify with a 1 s timeout on its own Redis link, so the
 * command link never blocks and delayed or lease-expired jobs are still
 * seen every second.
 */
#ifndef SSE_TW_CONSUMER_H
#define SSE_TW_CONSUMER_H

struct tw_ctx;
struct tw_consumer;

/* Create and start taking jobs. NULL on allocation failure. */
struct tw_consumer *tw_consumer_new(struct tw_ctx *ctx);

/* SIGTERM: take no more jobs. Running ones go on; when none is left (at
 * once if none runs), tw_main_drained(ctx) is called, from the loop. */
void tw_consumer_stop(struct tw_consumer *c);

/* Jobs running now. */
int tw_consumer_running(const struct tw_consumer *c);

/* Free; call after ctx->closing is set and the Redis links are freed
 * (running jobs were then abandoned to their leases). */
void tw_consumer_free(struct tw_consumer *c);

#endif
