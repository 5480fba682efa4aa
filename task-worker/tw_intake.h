/*
 * tw_intake.h - the HTTP face of the worker: the event intake
 * (POST /v1/tasks/events) and the bearer check shared by every worker
 * route (SSE_INTERNAL_TOKEN: unset 403, missing or wrong 401).
 */
#ifndef SSE_TW_INTAKE_H
#define SSE_TW_INTAKE_H

#include <stddef.h>

struct cm_httpd_req;
struct tw_ctx;

/*
 * 1 when req carries the internal token. Otherwise replies (403 when no
 * token is configured, else 401), which frees req, and returns 0.
 */
int tw_intake_authorize(struct tw_ctx *ctx, struct cm_httpd_req *req);

/* Route handler for POST /v1/tasks/events; arg is the tw_ctx. */
void tw_intake_handle(struct cm_httpd_req *req, void *arg);

/*
 * Parse an intake body into ev. Returns 0, or -1 with a message for the
 * 400 answer in msg (a static string). Exposed for unit tests.
 */
struct tw_event;
int tw_intake_parse(const char *body, size_t len, struct tw_event *ev,
                    const char **msg);

#endif
