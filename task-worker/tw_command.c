/*
 * tw_command.c - the RejectApiKeyCommand handler: queue the revocation
 * job. The job, not this handler, does the work, so an intake answers at
 * once and a crash after the 202 loses nothing.
 */
#include "tw.h"
#include "tw_command.h"
#include "cm_log.h"
#include "cm_queue.h"

int
tw_command_reject_api_key(struct tw_ctx *ctx, const struct tw_reject_cmd *cmd,
                          tw_job_cb cb, void *arg)
{
    cm_debug("RejectApiKeyCommand", KV_S("reason", cmd->reason),
             KV_S("kid", cmd->kid), KV_S("project", cmd->project_id));
    /* The same entry point as the publisher API's admin DELETE: one
     * deterministic job id per (type, key), hence idempotent intake. */
    return cm_queue_enqueue_revocation(ctx->redis, cmd->reason, cmd->kid,
                                       cmd->project_id, tw_now_ms(), cb, arg);
}
