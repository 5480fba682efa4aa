/*
 * pub_admin.c - the admin API (CONTRACT.md section 2): projects and API
 * keys, behind SSE_ADMIN_TOKEN. Each handler checks the token, then the
 * body, then makes its store round trips; deleting a key also enqueues
 * the ApiKeyDeleted revocation the task worker carries out.
 */
#include "pub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cm_log.h"
#include "cm_queue.h"
#include "json.h"

/* More array items than there are scopes is allowed (repeats), to a bound. */
#define PUB_SCOPES_MAX 16
/* ttlSeconds: at most 10 digits (about 316 years), so no overflow. */
#define PUB_TTL_DIGITS_MAX 10

static int64_t
pub_now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* {"id",["key",]"projectId","name","scopes","createdAt","expiresAt"} */
static cJSON *
pub_key_tree(const struct cm_apikey *k, const char *plaintext)
{
    cJSON *o = cJSON_CreateObject(), *scopes;
    unsigned bit;

    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "id", k->id);
    if (plaintext != NULL)
        cJSON_AddStringToObject(o, "key", plaintext);
    cJSON_AddStringToObject(o, "projectId", k->project_id);
    cJSON_AddStringToObject(o, "name", k->name);
    scopes = cJSON_AddArrayToObject(o, "scopes");
    for (bit = 1; bit <= CM_SCOPE_ALL && scopes != NULL; bit <<= 1)
        if (k->scopes & bit)
            cJSON_AddItemToArray(scopes,
                                 cJSON_CreateString(cm_scope_name(bit)));
    cJSON_AddNumberToObject(o, "createdAt", (double)k->created);
    if (k->expires > 0)
        cJSON_AddNumberToObject(o, "expiresAt", (double)k->expires);
    else
        cJSON_AddNullToObject(o, "expiresAt");
    return o;
}

static void
project_done(int rc, const struct cm_project *p, void *arg)
{
    struct pub_call *call = arg;
    cJSON *o;

    if (rc == CM_STORE_NOTFOUND) {
        pub_reply_error(call, 404, "project not found");
        return;
    }
    if (rc == CM_STORE_EXISTS) {
        pub_reply_error(call, 409, "project already exists");
        return;
    }
    if (rc != CM_STORE_OK || p == NULL) {
        pub_reply_store(call, rc);
        return;
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "id", p->id);
        cJSON_AddStringToObject(o, "name", p->name);
    }
    pub_reply_tree(call, call->ok_status, o);
}

/* name: a non-empty string of at most CM_NAME_MAX bytes. */
static int
field_name(struct pub_call *call, char name[CM_NAME_MAX + 1])
{
    if (pub_field_string(call, "name", name, CM_NAME_MAX + 1, 0) != 0)
        return -1;
    if (name[0] == '\0') {
        pub_reply_error(call, 400, "name must not be empty");
        return -1;
    }
    return 0;
}

void
pub_admin_project_create(struct cm_httpd_req *req, void *arg)
{
    struct pub_call *call = pub_admin_guard(arg, req);
    char id[CM_PROJECT_ID_MAX + 1], name[CM_NAME_MAX + 1];

    if (call == NULL || pub_body_object(call) != 0 ||
        pub_field_string(call, "id", id, sizeof(id), 0) != 0)
        return;
    if (!chan_project_id_valid(id, strlen(id))) {
        pub_reply_error(call, 400, "id must match [a-z0-9][a-z0-9_-]{0,63}");
        return;
    }
    if (field_name(call, name) != 0)
        return;
    call->ok_status = 201;
    if (cm_store_project_create(&call->ctx->store, id, name, project_done,
                                call) != 0)
        pub_reply_unavailable(call);
}

/* The {projectId} of the path, or NULL after answering 404. */
static const char *
path_project(struct pub_call *call)
{
    const char *pid = cm_httpd_param(call->req, 0);

    if (pid == NULL || !chan_project_id_valid(pid, strlen(pid))) {
        pub_reply_error(call, 404, "project not found");
        return NULL;
    }
    return pid;
}

void
pub_admin_project_get(struct cm_httpd_req *req, void *arg)
{
    struct pub_call *call = pub_admin_guard(arg, req);
    const char *pid;

    if (call == NULL || (pid = path_project(call)) == NULL)
        return;
    call->ok_status = 200;
    if (cm_store_project_get(&call->ctx->store, pid, project_done, call) != 0)
        pub_reply_unavailable(call);
}

/* scopes: a non-empty array of known scope names. Returns the bits or 0
 * after answering 400. */
static unsigned
field_scopes(struct pub_call *call)
{
    struct proto_span v, items[PUB_SCOPES_MAX];
    size_t n = 0, i;
    unsigned bits = 0, bit;
    char name[32], msg[96];
    ssize_t len;

    if (jscan_object_get(call->body.p, call->body.len, "scopes", &v) !=
        PROTO_OK) {
        pub_reply_error(call, 400, "scopes is required");
        return 0;
    }
    if (jscan_kind(v.p, v.len) != JSCAN_ARRAY ||
        jscan_array_items(v.p, v.len, items, PUB_SCOPES_MAX, &n) != PROTO_OK ||
        n == 0) {
        pub_reply_error(call, 400,
                        "scopes must be a non-empty array of "
                        "scope names");
        return 0;
    }
    for (i = 0; i < n; i++) {
        len =
            jscan_kind(items[i].p, items[i].len) == JSCAN_STRING
                ? jscan_string_get(items[i].p, items[i].len, name, sizeof(name))
                : -1;
        bit = len > 0 ? cm_scope_parse(name, (size_t)len) : 0;
        if (bit == 0) {
            snprintf(msg, sizeof(msg), "scopes[%zu] is not a known scope", i);
            pub_reply_error(call, 400, msg);
            return 0;
        }
        bits |= bit;
    }
    return bits;
}

/* ttlSeconds: absent (0: never expires) or a positive integer, written as
 * digits. Returns 0, or -1 after answering 400. */
static int
field_ttl(struct pub_call *call, int64_t *ttl)
{
    struct proto_span v;
    size_t i;

    *ttl = 0;
    if (jscan_object_get(call->body.p, call->body.len, "ttlSeconds", &v) !=
        PROTO_OK)
        return 0;
    v = jscan_trim(v.p, v.len);
    if (jscan_kind(v.p, v.len) != JSCAN_NUMBER || v.len == 0 ||
        v.len > PUB_TTL_DIGITS_MAX || v.p[0] == '0')
        goto bad;
    for (i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            goto bad;
        *ttl = *ttl * 10 + (v.p[i] - '0');
    }
    return 0;
bad:
    pub_reply_error(call, 400, "ttlSeconds must be a positive integer");
    return -1;
}

static void
key_created(int rc, const struct cm_apikey *k, const struct cm_project *p,
            const char *plaintext, void *arg)
{
    struct pub_call *call = arg;

    (void)p;
    if (rc == CM_STORE_NOTFOUND) {
        pub_reply_error(call, 404, "project not found");
        return;
    }
    if (rc != CM_STORE_OK || k == NULL || plaintext == NULL) {
        pub_reply_store(call, rc == CM_STORE_OK ? CM_STORE_CORRUPT : rc);
        return;
    }
    cm_info("api key created", KV_S("kid", k->id),
            KV_S("project", k->project_id));
    pub_reply_tree(call, 201, pub_key_tree(k, plaintext));
}

void
pub_admin_key_create(struct cm_httpd_req *req, void *arg)
{
    struct pub_call *call = pub_admin_guard(arg, req);
    char name[CM_NAME_MAX + 1];
    const char *pid;
    unsigned scopes;
    int64_t ttl;

    if (call == NULL || pub_body_object(call) != 0 ||
        field_name(call, name) != 0 || (scopes = field_scopes(call)) == 0 ||
        field_ttl(call, &ttl) != 0 || (pid = path_project(call)) == NULL)
        return;
    if (cm_store_key_create(&call->ctx->store, pid, name, scopes, ttl,
                            (int64_t)time(NULL), key_created, call) != 0)
        pub_reply_unavailable(call);
}

static void
keys_listed(int rc, const struct cm_apikey *keys, size_t n, void *arg)
{
    struct pub_call *call = arg;
    cJSON *a;
    size_t i;

    if (rc == CM_STORE_NOTFOUND) {
        pub_reply_error(call, 404, "project not found");
        return;
    }
    if (rc != CM_STORE_OK) {
        pub_reply_store(call, rc);
        return;
    }
    a = cJSON_CreateArray();
    for (i = 0; i < n && a != NULL; i++)
        cJSON_AddItemToArray(a, pub_key_tree(&keys[i], NULL));
    pub_reply_tree(call, 200, a);
}

/* The list needs the project to exist (404 otherwise): look it up first. */
static void
list_project_found(int rc, const struct cm_project *p, void *arg)
{
    struct pub_call *call = arg;

    if (rc == CM_STORE_NOTFOUND) {
        pub_reply_error(call, 404, "project not found");
        return;
    }
    if (rc != CM_STORE_OK || p == NULL) {
        pub_reply_store(call, rc);
        return;
    }
    if (cm_store_key_list(&call->ctx->store, p->id, keys_listed, call) != 0)
        pub_reply_unavailable(call);
}

void
pub_admin_key_list(struct cm_httpd_req *req, void *arg)
{
    struct pub_call *call = pub_admin_guard(arg, req);
    const char *pid;

    if (call == NULL || (pid = path_project(call)) == NULL)
        return;
    if (cm_store_project_get(&call->ctx->store, pid, list_project_found,
                             call) != 0)
        pub_reply_unavailable(call);
}

static void
revocation_queued(int rc, const char *job_id, int created, void *arg)
{
    struct pub_call *call = arg;

    if (rc != CM_STORE_OK) {
        pub_reply_store(call, rc);
        return;
    }
    cm_info("api key deleted", KV_S("kid", call->key.id),
            KV_S("project", call->key.project_id),
            KV_S("job", job_id != NULL ? job_id : "-"),
            KV_I("new_job", created));
    cm_httpd_reply(call->req, 204, NULL, NULL, 0);
    free(call);
}

static void
key_deleted(int rc, const struct cm_apikey *k, const struct cm_project *p,
            const char *plaintext, void *arg)
{
    struct pub_call *call = arg;

    (void)p;
    (void)plaintext;
    if (rc == CM_STORE_NOTFOUND || rc == CM_STORE_INVALID) {
        pub_reply_error(call, 404, "API key not found");
        return;
    }
    if (rc != CM_STORE_OK || k == NULL) {
        pub_reply_store(call, rc == CM_STORE_OK ? CM_STORE_CORRUPT : rc);
        return;
    }
    call->key = *k;
    /* The same entry point as the worker's intake: one pipeline. */
    if (cm_queue_enqueue_revocation(call->ctx->redis, "ApiKeyDeleted", k->id,
                                    k->project_id, pub_now_ms(),
                                    revocation_queued, call) != 0)
        pub_reply_unavailable(call);
}

void
pub_admin_key_delete(struct cm_httpd_req *req, void *arg)
{
    struct pub_call *call = pub_admin_guard(arg, req);
    const char *kid;

    if (call == NULL)
        return;
    kid = cm_httpd_param(req, 0);
    if (kid == NULL || *kid == '\0') {
        pub_reply_error(call, 404, "API key not found");
        return;
    }
    if (cm_store_key_delete(&call->ctx->store, kid, key_deleted, call) != 0)
        pub_reply_unavailable(call);
}
