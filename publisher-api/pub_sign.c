/*
 * pub_sign.c - POST /v1/publishers/sign (CONTRACT.md section 3): a channel
 * token for a private channel, signed with the caller's project secret,
 * kid = the caller's key id, exp capped by the key's own expiry.
 */
#include "pub.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cm_token.h"

void
pub_sign_run(struct pub_call *call)
{
    struct pub_ctx *ctx = call->ctx;
    char *token = NULL;
    int64_t exp = 0;
    cJSON *o;

    if (pub_body_object(call) != 0 || pub_field_channel(call) != 0)
        return;
    if (!chan_is_private(call->channel, strlen(call->channel))) {
        pub_reply_error(call, 400, "channel is not private");
        return;
    }
    if (cm_token_sign(call->project.secret, call->key.id, ctx->common.audience,
                      call->channel, call->project.id, (int64_t)time(NULL),
                      call->key.expires, &token, &exp) != CM_TOKEN_OK) {
        pub_reply_error(call, 500, "could not sign the token");
        return;
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "token", token);
        cJSON_AddStringToObject(o, "channelName", call->channel);
        cJSON_AddNumberToObject(o, "expiresAt", (double)exp);
    }
    /* The token's bytes are a secret: wipe our copy. */
    explicit_bzero(token, strlen(token));
    free(token);
    pub_reply_tree(call, 201, o);
}
