/*
 * pub_publish.c - POST /v1/publishers/events/publish (CONTRACT.md section
 * 3): the payload's own bytes, never re-printed, go into one bus message
 * (proto/evt.h) PUBLISHed on sse:{p:<pid>}:ch:<channel>. The answer is
 * 201 only after Redis replied; any 4xx publishes nothing.
 */
#include "pub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_redis.h"
#include "evt.h"
#include "json.h"

/* Event ids: 20 random [a-z0-9]. */
#define PUB_EVENT_ID_LEN 20

static void
published(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct pub_call *call = arg;
    struct pub_ctx *ctx = call->ctx;
    cJSON *o;

    (void)r;
    if (reply == NULL) {
        pub_reply_unavailable(call);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        cm_error("publish refused by Redis", KV_S("error", reply->str));
        pub_reply_error(call, 503, "Redis refused the publish");
        return;
    }
    cm_histogram_observe(ctx->publish_seconds, cm_now_mono() - call->t0);
    cm_counter_inc(ctx->published);
    cm_debug("event published", KV_S("event", call->event_id),
             KV_S("project", call->project.id), KV_S("channel", call->channel));
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "id", call->event_id);
        cJSON_AddStringToObject(o, "channelName", call->channel);
    }
    pub_reply_tree(call, 201, o);
}

/* SSE_PUBLISH_RATE: 429 with Retry-After past the key's rate. Returns 0,
 * or -1 after answering. */
static int
pub_rate_check(struct pub_call *call)
{
    struct pub_ctx *ctx = call->ctx;
    char secs[24], msg[96];
    long wait;

    if (ctx->rate == NULL)
        return 0;
    wait = pub_rate_take(ctx->rate, call->key.id, cm_now_mono());
    if (wait == 0)
        return 0;
    snprintf(secs, sizeof(secs), "%ld", wait);
    snprintf(msg, sizeof(msg), "over %lld publishes per second for this key",
             ctx->conf.publish_rate);
    cm_httpd_add_header(call->req, "Retry-After", secs);
    pub_reply_error(call, 429, msg);
    return -1;
}

/* Build the bus message and PUBLISH it; answers on failure. */
static void
pub_send(struct pub_call *call, struct proto_span payload)
{
    struct pub_ctx *ctx = call->ctx;
    char chkey[CM_KEY_MAX];
    const char *argv[3];
    size_t argvlen[3], need;
    char *msg;
    int n, rc;

    n = snprintf(chkey, sizeof(chkey), CM_C_EVENTS, call->project.id,
                 call->channel);
    if (n < 0 || (size_t)n >= sizeof(chkey) ||
        cm_random_id(call->event_id, PUB_EVENT_ID_LEN) != 0) {
        pub_reply_error(call, 500, "internal error");
        return;
    }
    need = evt_bus_encode(NULL, 0, call->event_id, "-", call->channel,
                          strlen(call->channel), payload.p, payload.len);
    if ((msg = malloc(need + 1)) == NULL) {
        pub_reply_error(call, 500, "out of memory");
        return;
    }
    evt_bus_encode(msg, need + 1, call->event_id, "-", call->channel,
                   strlen(call->channel), payload.p, payload.len);
    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = chkey;
    argvlen[1] = (size_t)n;
    argv[2] = msg;
    argvlen[2] = need;
    /* hiredis formats (copies) the command before this returns. */
    rc = cm_redis_commandargv(ctx->redis, published, call, 3, argv, argvlen);
    free(msg);
    if (rc != 0)
        pub_reply_unavailable(call);
}

void
pub_publish_run(struct pub_call *call)
{
    struct proto_span payload;
    char msg[80];

    if (pub_body_object(call) != 0 || pub_field_channel(call) != 0)
        return;
    /* Any JSON value, null included; its bytes exactly as sent. */
    if (jscan_object_get(call->body.p, call->body.len, "payload", &payload) !=
        PROTO_OK) {
        pub_reply_error(call, 400, "payload is required");
        return;
    }
    payload = jscan_trim(payload.p, payload.len);
    if ((long long)payload.len > call->ctx->common.max_payload) {
        snprintf(msg, sizeof(msg), "payload over %lld bytes",
                 call->ctx->common.max_payload);
        pub_reply_error(call, 413, msg);
        return;
    }
    if (pub_rate_check(call) != 0)
        return;
    pub_send(call, payload);
}
