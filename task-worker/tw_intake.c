/*
 * tw_intake.c - POST /v1/tasks/events: authenticate, validate the event,
 * hand it to the bus and answer 202 {"jobId"} once the job is queued.
 * Checks run in the contract's order: token (403/401), then body (413,
 * 400). The intake does no revocation work itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tw.h"
#include "tw_bus.h"
#include "tw_intake.h"
#include "chan.h"
#include "cm_crypto.h"
#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_queue.h"

int
tw_intake_authorize(struct tw_ctx *ctx, struct cm_httpd_req *req)
{
    const char *want = ctx->common.internal_token;
    const char *got;

    if (want == NULL || want[0] == '\0') {
        cm_httpd_error(req, 403, "intake disabled: SSE_INTERNAL_TOKEN unset");
        return 0;
    }
    got = cm_httpd_bearer(req);
    if (got == NULL || strlen(got) != strlen(want) ||
        !cm_ct_equal(got, want, strlen(want))) {
        cm_httpd_error(req, 401, "missing or wrong internal token");
        return 0;
    }
    return 1;
}

/* A string member of obj that fits cap - 1 bytes, copied to out. */
static int
intake_string(const cJSON *obj, const char *name, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return -1;
    if (strlen(v->valuestring) >= cap)
        return -1;
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

int
tw_intake_parse(const char *body, size_t len, struct tw_event *ev,
                const char **msg)
{
    char type[32];
    const char *end = NULL;
    cJSON *root;
    int t, rc = -1;

    memset(ev, 0, sizeof(*ev));
    if (body == NULL || len == 0) {
        *msg = "body must be a JSON object";
        return -1;
    }
    /* Bounded by len (the body need not be NUL-terminated); only
     * whitespace may follow the value. */
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    while (root != NULL && end < body + len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (!cJSON_IsObject(root) || end != body + len) {
        *msg = "body must be a JSON object";
        goto out;
    }
    if (intake_string(root, "type", type, sizeof(type)) != 0 ||
        (t = tw_event_type_parse(type)) < 0) {
        *msg = "type must be \"ApiKeyDeleted\" or \"ApiKeyExpired\"";
        goto out;
    }
    ev->type = (enum tw_event_type)t;
    if (intake_string(root, "apiKeyRecordId", ev->kid, sizeof(ev->kid)) != 0 ||
        !tw_kid_valid(ev->kid)) {
        *msg = "apiKeyRecordId must be an API key record id";
        goto out;
    }
    if (intake_string(root, "projectId", ev->project_id,
                      sizeof(ev->project_id)) != 0 ||
        !chan_project_id_valid(ev->project_id, strlen(ev->project_id))) {
        *msg = "projectId must be a project id";
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

struct intake_call {
    struct tw_ctx *ctx;
    struct cm_httpd_req *req;
    struct tw_event ev;
};

static void
intake_queued(int rc, const char *job_id, int created, void *arg)
{
    struct intake_call *call = arg;
    char out[CM_JOB_ID_MAX + 16];

    if (rc != CM_STORE_OK || job_id == NULL) {
        cm_warn("intake: enqueue failed", KV_S("rc", cm_store_strerror(rc)),
                KV_S("kid", call->ev.kid));
        if (rc == CM_STORE_INVALID)
            cm_httpd_error(call->req, 400, "event refused by the queue");
        else
            cm_httpd_error(call->req, 503, "queue unavailable");
        free(call);
        return;
    }
    cm_info("intake: event queued",
            KV_S("type", tw_event_type_name(call->ev.type)),
            KV_S("kid", call->ev.kid), KV_S("project", call->ev.project_id),
            KV_S("job", job_id), KV_I("created", created));
    /* Job ids are [a-z0-9-]: no JSON escaping needed, but bound them. */
    if ((size_t)snprintf(out, sizeof(out), "{\"jobId\":\"%s\"}", job_id) >=
        sizeof(out))
        cm_httpd_error(call->req, 500, "job id too long");
    else
        cm_httpd_reply_json(call->req, 202, out);
    free(call);
}

void
tw_intake_handle(struct cm_httpd_req *req, void *arg)
{
    struct tw_ctx *ctx = arg;
    struct intake_call *call;
    const char *body, *msg = NULL;
    size_t len = 0;
    struct tw_event ev;

    if (!tw_intake_authorize(ctx, req))
        return;
    if (cm_httpd_body_too_large(req)) {
        cm_httpd_error(req, 413, "body over the limit");
        return;
    }
    body = cm_httpd_body(req, &len);
    if (tw_intake_parse(body, len, &ev, &msg) != 0) {
        cm_httpd_error(req, 400, msg);
        return;
    }
    cm_counter_inc(ev.type == TW_EV_API_KEY_DELETED ? ctx->m.events_deleted
                                                    : ctx->m.events_expired);
    call = malloc(sizeof(*call));
    if (call == NULL) {
        cm_httpd_error(req, 503, "out of memory");
        return;
    }
    call->ctx = ctx;
    call->req = req;
    call->ev = ev;
    if (ctx->stopping ||
        tw_bus_dispatch(ctx, &call->ev, intake_queued, call) != 0) {
        free(call);
        cm_httpd_error(req, 503, "queue unavailable");
    }
}
