/*
 * tw.h - the task worker's process context: its configuration, its Redis
 * links, its metrics and the stages of the revocation pipeline
 * (intake -> bus -> saga -> command -> queue -> consumer; sweeper). One
 * struct per process, passed explicitly; nothing global.
 */
#ifndef SSE_TW_H
#define SSE_TW_H

#include <stdint.h>

#include "cm_config.h"
#include "cm_queue.h"
#include "cm_redis.h"
#include "cm_service.h"
#include "cm_store.h"

struct event;
struct event_base;
struct cm_httpd;
struct cm_metrics;
struct cm_counter;
struct cm_gauge;
struct cm_histogram;
struct tw_consumer;
struct tw_sweeper;

/* The worker's own settings (the common ones are in cm_conf_common). */
struct tw_conf {
    char *addr;                  /* SSE_WORKER_ADDR */
    long long job_attempts;      /* SSE_JOB_ATTEMPTS */
    long long job_backoff_ms;    /* SSE_JOB_BACKOFF_MS */
    long long job_lease_ms;      /* SSE_JOB_LEASE_MS */
    long long concurrency;       /* SSE_WORKER_CONCURRENCY: jobs at once */
    long long sweep_interval_ms; /* SSE_SWEEP_INTERVAL_MS */
    long long gateway_dead_ms;   /* SSE_GATEWAY_DEAD_MS */
    long long sweep_batch;       /* SSE_SWEEP_BATCH: keys/gateways a tick */
    long long control_max;       /* SSE_CONTROL_MSG_MAX: bytes a PUBLISH */
    long long failed_list_max;   /* SSE_FAILED_LIST_MAX: jobs listed */
    long long max_body;          /* SSE_WORKER_MAX_BODY: intake body bytes */
};

/* Series looked up once at start (cm_metrics.h). */
struct tw_metrics {
    struct cm_counter *events_deleted; /* sse_events_in_total{type=..} */
    struct cm_counter *events_expired;
    struct cm_counter *keys_swept;     /* sse_keys_expired_total */
    struct cm_counter *jobs_completed; /* sse_jobs_total{outcome=..} */
    struct cm_counter *jobs_retried;
    struct cm_counter *jobs_failed;
    struct cm_counter *memberships;    /* sse_memberships_revoked_total */
    struct cm_counter *control_msgs;   /* sse_control_messages_total */
    struct cm_counter *gateways_swept; /* sse_gateways_swept_total */
    struct cm_counter *redis_errors;   /* sse_errors_total{kind="redis"} */
    struct cm_gauge *queue_depth;      /* sse_queue_depth */
    struct cm_gauge *jobs_running;     /* sse_jobs_running */
    struct cm_histogram *job_seconds;  /* sse_job_seconds */
};

struct tw_ctx {
    struct event_base *base;
    struct tw_conf conf;
    struct cm_queue_policy policy; /* from conf: attempts, lease, backoff */
    struct cm_conf_common common;
    struct cm_redis_url url;
    struct cm_redis *redis;  /* every command but the idle wait */
    struct cm_redis *notify; /* BLPOP sse:q:notify only: may sit 1 s */
    struct cm_store store;
    struct cm_metrics *metrics;
    struct tw_metrics m;
    struct cm_httpd *httpd;
    struct tw_consumer *consumer;
    struct tw_sweeper *sweeper;
    struct cm_signals signals; /* SIGTERM/SIGINT: drain */
    struct event *ev_deadline;
    int stopping; /* SIGTERM seen: take no new work */
    int closing;  /* links being freed: issue no command from callbacks */
};

/* Wall clock in Unix milliseconds. */
int64_t tw_now_ms(void);

/* Called by the consumer when its last running job ended after
 * tw_consumer_stop(): the process may exit. */
void tw_main_drained(struct tw_ctx *ctx);

#endif
