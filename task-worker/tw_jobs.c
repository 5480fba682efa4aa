/*
 * tw_jobs.c - failed-job inspection and requeue. The queue scripts do the
 * state changes (cm_queue.h); this file only authenticates, maps results
 * to HTTP answers and renders jobs as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tw.h"
#include "tw_intake.h"
#include "tw_jobs.h"
#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_queue.h"

static cJSON *
jobs_one(const struct cm_job *j)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    if (!cJSON_AddStringToObject(o, "id", j->id) ||
        !cJSON_AddStringToObject(o, "type", j->type) ||
        !cJSON_AddStringToObject(o, "apiKeyRecordId", j->api_key_id) ||
        !cJSON_AddStringToObject(o, "projectId", j->project_id) ||
        !cJSON_AddStringToObject(o, "state", j->state) ||
        !cJSON_AddNumberToObject(o, "attempts", j->attempts) ||
        !cJSON_AddNumberToObject(o, "maxAttempts", j->max_attempts) ||
        !cJSON_AddStringToObject(o, "lastError", j->last_error) ||
        !cJSON_AddNumberToObject(o, "createdAt",
                                 (double)(j->created_ms / 1000)) ||
        !cJSON_AddNumberToObject(o, "updatedAt",
                                 (double)(j->updated_ms / 1000))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *
tw_jobs_json(const struct cm_job *jobs, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = jobs_one(&jobs[i]);
        if (o == NULL) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
    }
    text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return text;
}

static void
jobs_listed(int rc, const struct cm_job *jobs, size_t n, void *arg)
{
    struct cm_httpd_req *req = arg;
    char *text;

    if (rc != CM_STORE_OK) {
        cm_httpd_error(req, 503, "queue unavailable");
        return;
    }
    text = tw_jobs_json(jobs, n);
    if (text == NULL) {
        cm_httpd_error(req, 500, "out of memory");
        return;
    }
    cm_httpd_reply_json(req, 200, text);
    free(text);
}

void
tw_jobs_failed_handle(struct cm_httpd_req *req, void *arg)
{
    struct tw_ctx *ctx = arg;

    if (!tw_intake_authorize(ctx, req))
        return;
    if (cm_queue_failed_list(ctx->redis, (size_t)ctx->conf.failed_list_max,
                             jobs_listed, req) != 0)
        cm_httpd_error(req, 503, "queue unavailable");
}

struct retry_call {
    struct cm_httpd_req *req;
    char id[CM_JOB_ID_MAX + 1];
};

static void
jobs_retried(int rc, void *arg)
{
    struct retry_call *call = arg;
    char out[CM_JOB_ID_MAX + 16];

    if (rc == CM_STORE_OK) {
        cm_info("job requeued by operator", KV_S("job", call->id));
        snprintf(out, sizeof(out), "{\"jobId\":\"%s\"}", call->id);
        cm_httpd_reply_json(call->req, 202, out);
    } else if (rc == CM_STORE_NOTFOUND || rc == CM_STORE_INVALID) {
        cm_httpd_error(call->req, 404, "no failed job with that id");
    } else {
        cm_httpd_error(call->req, 503, "queue unavailable");
    }
    free(call);
}

/* Job ids are built by cm_queue from [a-z0-9-]; anything else cannot be
 * one, and must not reach a key name or the JSON answer unescaped. */
static int
jobs_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > CM_JOB_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':'))
            return 0;
    }
    return 1;
}

void
tw_jobs_retry_handle(struct cm_httpd_req *req, void *arg)
{
    struct tw_ctx *ctx = arg;
    const char *id = cm_httpd_param(req, 0);
    struct retry_call *call;

    if (!tw_intake_authorize(ctx, req))
        return;
    if (id == NULL || !jobs_id_valid(id)) {
        cm_httpd_error(req, 404, "no failed job with that id");
        return;
    }
    call = malloc(sizeof(*call));
    if (call == NULL) {
        cm_httpd_error(req, 503, "out of memory");
        return;
    }
    call->req = req;
    memcpy(call->id, id, strlen(id) + 1);
    if (cm_queue_retry(ctx->redis, call->id, tw_now_ms(), jobs_retried, call) !=
        0) {
        free(call);
        cm_httpd_error(req, 503, "queue unavailable");
    }
}
