/*
 * tw_jobs.h - the operator's view of the queue on the worker's port:
 * GET /v1/tasks/jobs/failed and POST /v1/tasks/jobs/{jobId}/retry, behind
 * the internal token (CONTRACT.md section 5; ssectl jobs failed|retry).
 */
#ifndef SSE_TW_JOBS_H
#define SSE_TW_JOBS_H

#include <stddef.h>

struct cm_httpd_req;
struct cm_job;

/* Route handlers; arg is the tw_ctx. */
void tw_jobs_failed_handle(struct cm_httpd_req *req, void *arg);
void tw_jobs_retry_handle(struct cm_httpd_req *req, void *arg);

/*
 * The JSON array of jobs[0..n): objects with id, type, apiKeyRecordId,
 * projectId, state, attempts, maxAttempts, lastError, createdAt and
 * updatedAt (Unix seconds, like every time of the contract). Returns a
 * malloc'ed string (caller frees) or NULL on allocation failure.
 */
char *tw_jobs_json(const struct cm_job *jobs, size_t n);

#endif
