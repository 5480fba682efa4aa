/*
 * tw_saga.h - the revocation saga: ApiKeyDeleted and ApiKeyExpired both
 * become one RejectApiKeyCommand (the seed's RejectApiKeySaga). A saga
 * maps events to commands; it touches no Redis itself.
 */
#ifndef SSE_TW_SAGA_H
#define SSE_TW_SAGA_H

#include "tw_bus.h"

/*
 * Turn ev into a RejectApiKeyCommand and execute it. Same contract as
 * tw_bus_dispatch: 0 and cb called once, or -1 and cb not called.
 */
int tw_saga_reject_api_key(struct tw_ctx *ctx, const struct tw_event *ev,
                           tw_job_cb cb, void *arg);

#endif
