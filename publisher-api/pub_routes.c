/*
 * pub_routes.c - the publisher API's one route table (CONTRACT.md sections
 * 2 and 3) and the helpers every handler shares: the admin and API-key
 * guards, JSON body and field checks, and the replies. cm_httpd decides
 * 404/405 and serves /healthz, /readyz and /metrics; nothing here does.
 */
#include "pub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cm_crypto.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "json.h"

static void
route_publish(struct cm_httpd_req *req, void *arg)
{
    pub_key_guard(arg, req, CM_SCOPE_PUBLISH_EVENT, pub_publish_run);
}

static void
route_sign(struct cm_httpd_req *req, void *arg)
{
    pub_key_guard(arg, req, CM_SCOPE_SIGN_TOKEN, pub_sign_run);
}

const struct cm_httpd_route pub_routes[] = {
    {"POST", "/v1/admin/projects", pub_admin_project_create, NULL, 0},
    {"GET", "/v1/admin/projects/{}", pub_admin_project_get, NULL, 0},
    {"POST", "/v1/admin/projects/{}/api-keys", pub_admin_key_create, NULL, 0},
    {"GET", "/v1/admin/projects/{}/api-keys", pub_admin_key_list, NULL, 0},
    {"DELETE", "/v1/admin/api-keys/{}", pub_admin_key_delete, NULL, 0},
    {"POST", "/v1/publishers/events/publish", route_publish, NULL, 0},
    {"POST", "/v1/publishers/sign", route_sign, NULL, 0},
};
const size_t pub_nroutes = sizeof(pub_routes) / sizeof(pub_routes[0]);

/* ---- calls and replies ---- */

static struct pub_call *
pub_call_new(struct pub_ctx *ctx, struct cm_httpd_req *req)
{
    struct pub_call *call = calloc(1, sizeof(*call));

    if (call == NULL) {
        cm_httpd_error(req, 500, "out of memory");
        return NULL;
    }
    call->ctx = ctx;
    call->req = req;
    call->t0 = cm_now_mono();
    return call;
}

void
pub_reply_error(struct pub_call *call, int status, const char *message)
{
    cm_httpd_error(call->req, status, message);
    free(call);
}

void
pub_reply_json(struct pub_call *call, int status, const char *json)
{
    cm_httpd_reply_json(call->req, status, json);
    free(call);
}

void
pub_reply_tree(struct pub_call *call, int status, void *tree)
{
    char *json = tree != NULL ? cJSON_PrintUnformatted(tree) : NULL;

    cJSON_Delete(tree);
    if (json == NULL) {
        pub_reply_error(call, 500, "out of memory");
        return;
    }
    pub_reply_json(call, status, json);
    cJSON_free(json);
}

void
pub_reply_unavailable(struct pub_call *call)
{
    pub_reply_error(call, 503, "Redis is unavailable");
}

void
pub_reply_store(struct pub_call *call, int rc)
{
    switch (rc) {
    case CM_STORE_NOTFOUND:
        pub_reply_error(call, 404, "not found");
        break;
    case CM_STORE_EXISTS:
        pub_reply_error(call, 409, "already exists");
        break;
    case CM_STORE_UNAVAILABLE:
        pub_reply_unavailable(call);
        break;
    case CM_STORE_INVALID:
        pub_reply_error(call, 400, cm_store_strerror(rc));
        break;
    default:
        cm_error("store failed", KV_S("error", cm_store_strerror(rc)));
        pub_reply_error(call, 500, "internal error");
        break;
    }
}

/* ---- guards ---- */

struct pub_call *
pub_admin_guard(struct pub_ctx *ctx, struct cm_httpd_req *req)
{
    const char *want = ctx->common.admin_token;
    const char *got = cm_httpd_bearer(req);
    uint8_t hw[32], hg[32];
    struct pub_call *call = pub_call_new(ctx, req);

    if (call == NULL)
        return NULL;
    if (want == NULL || *want == '\0') {
        pub_reply_error(call, 403,
                        "admin API disabled (SSE_ADMIN_TOKEN unset)");
        return NULL;
    }
    if (got == NULL) {
        pub_reply_error(call, 401, "missing admin token");
        return NULL;
    }
    /* Hash both sides so the comparison time depends on neither length. */
    cm_sha256(want, strlen(want), hw);
    cm_sha256(got, strlen(got), hg);
    if (!cm_ct_equal(hw, hg, sizeof(hw))) {
        pub_reply_error(call, 401, "invalid admin token");
        return NULL;
    }
    return call;
}

static void
key_verified(int rc, const struct cm_apikey *k, const struct cm_project *p,
             const char *plaintext, void *arg)
{
    struct pub_call *call = arg;

    (void)plaintext;
    switch (rc) {
    case CM_STORE_OK:
        break;
    case CM_STORE_EXPIRED:
        pub_reply_error(call, 401, "API key expired");
        return;
    case CM_STORE_REVOKED:
        pub_reply_error(call, 401, "API key deleted");
        return;
    case CM_STORE_INVALID:
    case CM_STORE_NOTFOUND:
    case CM_STORE_MISMATCH:
        pub_reply_error(call, 401, "invalid API key");
        return;
    default:
        pub_reply_store(call, rc);
        return;
    }
    if (k == NULL || p == NULL) {
        pub_reply_error(call, 500, "internal error");
        return;
    }
    call->key = *k;
    call->project = *p;
    if ((k->scopes & call->scope) == 0) {
        char msg[96];

        snprintf(msg, sizeof(msg), "API key lacks the %s scope",
                 cm_scope_name(call->scope));
        pub_reply_error(call, 403, msg);
        return;
    }
    call->next(call);
}

void
pub_key_guard(struct pub_ctx *ctx, struct cm_httpd_req *req, unsigned scope,
              pub_step next)
{
    const char *key = cm_httpd_api_key(req);
    struct pub_call *call = pub_call_new(ctx, req);

    if (call == NULL)
        return;
    if (key == NULL || *key == '\0') {
        pub_reply_error(call, 401, "missing API key");
        return;
    }
    call->scope = scope;
    call->next = next;
    if (cm_store_key_verify(&ctx->store, key, (int64_t)time(NULL), key_verified,
                            call) != 0)
        pub_reply_unavailable(call);
}

/* ---- body and fields ---- */

int
pub_body_object(struct pub_call *call)
{
    size_t len = 0;
    const char *body = cm_httpd_body(call->req, &len);
    char msg[80];

    if (cm_httpd_body_too_large(call->req)) {
        snprintf(msg, sizeof(msg), "body over %lld bytes",
                 call->ctx->conf.max_body);
        pub_reply_error(call, 413, msg);
        return -1;
    }
    if (body == NULL ||
        jscan_validate(body, len, JSCAN_DEFAULT_DEPTH) != PROTO_OK) {
        pub_reply_error(call, 400, "body is not JSON");
        return -1;
    }
    call->body = jscan_trim(body, len);
    if (jscan_kind(call->body.p, call->body.len) != JSCAN_OBJECT) {
        pub_reply_error(call, 400, "body must be a JSON object");
        return -1;
    }
    return 0;
}

enum field_rc {
    FIELD_OK,
    FIELD_MISSING,
    FIELD_NOT_STRING,
    FIELD_TOO_LONG,
    FIELD_NUL
};

/* Member key of call->body, unescaped into out; answers nothing. */
static enum field_rc
field_string(struct pub_call *call, const char *key, char *out, size_t cap)
{
    struct proto_span v;
    ssize_t n;

    out[0] = '\0';
    if (jscan_object_get(call->body.p, call->body.len, key, &v) != PROTO_OK)
        return FIELD_MISSING;
    if (jscan_kind(v.p, v.len) != JSCAN_STRING)
        return FIELD_NOT_STRING;
    n = jscan_string_get(v.p, v.len, out, cap);
    if (n < 0)
        return FIELD_TOO_LONG;
    if (strlen(out) != (size_t)n)
        return FIELD_NUL;
    return FIELD_OK;
}

int
pub_field_string(struct pub_call *call, const char *key, char *out, size_t cap,
                 int optional)
{
    static const char *const what[] = {
        [FIELD_MISSING] = "is required",
        [FIELD_NOT_STRING] = "must be a string",
        [FIELD_TOO_LONG] = "is too long",
        [FIELD_NUL] = "must not contain NUL",
    };
    enum field_rc rc = field_string(call, key, out, cap);
    char msg[128];

    if (rc == FIELD_OK)
        return 0;
    if (rc == FIELD_MISSING && optional)
        return 1;
    snprintf(msg, sizeof(msg), "%s %s", key, what[rc]);
    pub_reply_error(call, 400, msg);
    return -1;
}

int
pub_field_channel(struct pub_call *call)
{
    enum field_rc rc =
        field_string(call, "channelName", call->channel, sizeof(call->channel));

    if (rc == FIELD_MISSING || rc == FIELD_NOT_STRING)
        return pub_field_string(call, "channelName", call->channel,
                                sizeof(call->channel), 0);
    /* Too long, NUL inside or bad characters: all an invalid name. */
    if (rc != FIELD_OK ||
        !chan_name_valid(call->channel, strlen(call->channel))) {
        pub_reply_error(call, 400, "invalid channel name");
        return -1;
    }
    return 0;
}
