/*
 * tw_command.h - the RejectApiKeyCommand and its handler: the command
 * becomes a revocation job on the Redis-list queue through
 * cm_queue_enqueue_revocation, the very function the publisher API's admin
 * DELETE calls, so both paths give the same deterministic job id.
 */
#ifndef SSE_TW_COMMAND_H
#define SSE_TW_COMMAND_H

#include "tw_bus.h"

/* Reject every use of key kid of project_id; reason is the event type
 * name ("ApiKeyDeleted" | "ApiKeyExpired"). Pointers borrowed. */
struct tw_reject_cmd {
    const char *reason;
    const char *kid;
    const char *project_id;
};

/*
 * Handle the command: enqueue the revocation job. Returns 0 and calls cb
 * once with the job id, or -1 when Redis is down (cb not called).
 */
int tw_command_reject_api_key(struct tw_ctx *ctx,
                              const struct tw_reject_cmd *cmd, tw_job_cb cb,
                              void *arg);

#endif
