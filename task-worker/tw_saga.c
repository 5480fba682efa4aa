/*
 * tw_saga.c - RejectApiKeySaga: a deleted key and an expired key call for
 * the same cleanup, so both events map to one RejectApiKeyCommand whose
 * reason keeps the event type (it is the control message's "reason").
 */
#include "tw.h"
#include "tw_command.h"
#include "tw_saga.h"

int
tw_saga_reject_api_key(struct tw_ctx *ctx, const struct tw_event *ev,
                       tw_job_cb cb, void *arg)
{
    struct tw_reject_cmd cmd = {
        .reason = tw_event_type_name(ev->type),
        .kid = ev->kid,
        .project_id = ev->project_id,
    };

    return tw_command_reject_api_key(ctx, &cmd, cb, arg);
}
