/*
 * gw_auth.c - CONNECT authentication by api key and private-channel token
 * checks (CONTRACT.md section 4). Each ends in one answer; the store is
 * asked asynchronously and the session is held across the round trip.
 * Keys and tokens are never logged, only key record ids.
 */
#include "gw_auth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_token.h"
#include "json.h"

/* Longest key text we look at: anything longer cannot be a key. */
#define GW_AUTH_KEY_MAX (CM_APIKEY_LEN + 16)

#define GW_AUTH_MISSING "apiKey is missing"
#define GW_AUTH_INVALID "apiKey is invalid"
#define GW_AUTH_EXPIRED "apiKey has expired"
#define GW_AUTH_NOSCOPE "apiKey lacks the listen scope"
#define GW_AUTH_DOWN "service unavailable"

struct gw_auth_conn {
    struct gw_ctx *ctx;
    struct gw_session *s;
};

/* The key from {"apiKey": "..."}: 1 found (copied), 0 absent, -1 bad. */
static int
gw_auth_key_from_json(const char *auth, size_t len, char *out, size_t cap)
{
    struct proto_span v;

    if (auth == NULL || len == 0)
        return 0;
    if (jscan_validate(auth, len, JSCAN_DEFAULT_DEPTH) != PROTO_OK ||
        jscan_kind(auth, len) != JSCAN_OBJECT)
        return 0; /* not an object: as if no auth was given */
    if (jscan_object_get(auth, len, "apiKey", &v) != PROTO_OK)
        return 0;
    if (jscan_kind(v.p, v.len) == JSCAN_NULL)
        return 0;
    if (jscan_kind(v.p, v.len) != JSCAN_STRING)
        return -1;
    if (jscan_string_get(v.p, v.len, out, cap) < 0)
        return -1;
    return out[0] != '\0' ? 1 : 0;
}

static const char *
gw_auth_key_error(int rc)
{
    switch (rc) {
    case CM_STORE_EXPIRED:
        return GW_AUTH_EXPIRED;
    case CM_STORE_UNAVAILABLE:
    case CM_STORE_CORRUPT:
        return GW_AUTH_DOWN;
    default: /* NOTFOUND, MISMATCH, INVALID, REVOKED */
        return GW_AUTH_INVALID;
    }
}

/* Fill the app state from a verified key; -1 if no sid could be made. */
static int
gw_auth_fill(struct gw_ctx *ctx, struct gw_app_state *app,
             const struct cm_apikey *k, const struct cm_project *p)
{
    char rnd[CM_SID_LEN - CM_GW_TAG_LEN + 1];

    if (cm_random_id(rnd, sizeof rnd - 1) != 0)
        return -1;
    memcpy(app->sid, ctx->tag, CM_GW_TAG_LEN);
    memcpy(app->sid + CM_GW_TAG_LEN, rnd, sizeof rnd);
    snprintf(app->project, sizeof app->project, "%s", p->id);
    snprintf(app->key_id, sizeof app->key_id, "%s", k->id);
    app->scopes = k->scopes;
    memcpy(app->secret, p->secret, sizeof app->secret);
    return 0;
}

static void
gw_auth_verified(int rc, const struct cm_apikey *k, const struct cm_project *p,
                 const char *plaintext, void *arg)
{
    struct gw_auth_conn *c = arg;
    struct gw_session *s = c->s;
    struct gw_ctx *ctx = c->ctx;
    const char *err = NULL;

    free(c);
    if (!gw_session_alive(s)) {
        gw_session_release(s);
        return;
    }
    if (rc != CM_STORE_OK || k == NULL || p == NULL)
        err = gw_auth_key_error(rc);
    else if (!(k->scopes & CM_SCOPE_LISTEN))
        err = GW_AUTH_NOSCOPE;
    else if (gw_auth_fill(ctx, gw_session_app(s), k, p) != 0)
        err = GW_AUTH_DOWN;
    /* The transport logs the outcome with the sid; add only the kid. */
    if (err != NULL) {
        gw_session_connect_reject(s, err);
    } else {
        cm_debug("connect key", KV_S("sid", gw_session_app(s)->sid),
                 KV_S("kid", k->id));
        gw_session_connect_accept(s);
    }
    gw_session_release(s);
}

void
gw_auth_connect(struct gw_ctx *ctx, struct gw_session *s, const char *auth,
                size_t auth_len, const char *query_key)
{
    char key[GW_AUTH_KEY_MAX + 1];
    struct gw_auth_conn *c;
    int found = gw_auth_key_from_json(auth, auth_len, key, sizeof key);

    if (found == 0 && query_key != NULL && query_key[0] != '\0') {
        if (strlen(query_key) > GW_AUTH_KEY_MAX)
            found = -1;
        else {
            snprintf(key, sizeof key, "%s", query_key);
            found = 1;
        }
    }
    if (found == 0) {
        gw_session_connect_reject(s, GW_AUTH_MISSING);
        return;
    }
    if (found < 0 || strlen(key) != CM_APIKEY_LEN) {
        gw_session_connect_reject(s, GW_AUTH_INVALID);
        return;
    }
    if ((c = malloc(sizeof *c)) == NULL) {
        gw_session_connect_reject(s, GW_AUTH_DOWN);
        return;
    }
    c->ctx = ctx;
    c->s = s;
    gw_session_hold(s);
    if (cm_store_key_verify(&ctx->store, key, (int64_t)time(NULL),
                            gw_auth_verified, c) != 0) {
        free(c);
        gw_session_connect_reject(s, GW_AUTH_DOWN);
        gw_session_release(s);
    }
    explicit_bzero(key, sizeof key);
}

/* ---- private channels ---- */

struct gw_auth_chan {
    struct gw_ctx *ctx;
    struct gw_session *s;
    gw_auth_channel_cb cb;
    void (*free_arg)(void *);
    void *arg;
    char kid[CM_KID_LEN + 1];
};

static const char *
gw_auth_kid_error(int rc)
{
    switch (rc) {
    case CM_STORE_OK:
        return NULL;
    case CM_STORE_EXPIRED:
        return "token signing key has expired";
    case CM_STORE_REVOKED:
        return "token signing key has been revoked";
    case CM_STORE_UNAVAILABLE:
    case CM_STORE_CORRUPT:
        return GW_AUTH_DOWN;
    default: /* NOTFOUND: deleted long ago, or another project's key */
        return "token signing key is unknown";
    }
}

static void
gw_auth_kid_checked(int rc, void *arg)
{
    struct gw_auth_chan *a = arg;
    struct gw_session *s = a->s;

    if (gw_session_alive(s))
        a->cb(a->ctx, s, gw_auth_kid_error(rc), a->kid, a->arg);
    else if (a->free_arg != NULL)
        a->free_arg(a->arg);
    free(a);
    gw_session_release(s);
}

int
gw_auth_channel(struct gw_ctx *ctx, struct gw_session *s, const char *channel,
                const char *token, gw_auth_channel_cb cb,
                void (*free_arg)(void *), void *arg)
{
    struct gw_app_state *app = gw_session_app(s);
    struct gw_auth_chan *a;
    int rc;

    if (token == NULL || token[0] == '\0') {
        cb(ctx, s, "authToken is required for a private channel", NULL, arg);
        return 0;
    }
    if (strlen(token) > CM_TOKEN_MAX) {
        cb(ctx, s, cm_token_strerror(CM_TOKEN_MALFORMED), NULL, arg);
        return 0;
    }
    if ((a = calloc(1, sizeof *a)) == NULL) {
        cb(ctx, s, GW_AUTH_DOWN, NULL, arg);
        return 0;
    }
    rc = cm_token_verify(token, app->secret, ctx->common.audience, channel,
                         app->project, (int64_t)time(NULL), a->kid,
                         sizeof a->kid);
    if (rc != CM_TOKEN_OK) {
        free(a);
        cb(ctx, s, cm_token_strerror(rc), NULL, arg);
        return 0;
    }
    a->ctx = ctx;
    a->s = s;
    a->cb = cb;
    a->free_arg = free_arg;
    a->arg = arg;
    gw_session_hold(s);
    if (cm_store_key_check(&ctx->store, a->kid, app->project,
                           (int64_t)time(NULL), gw_auth_kid_checked, a) != 0) {
        gw_session_release(s);
        free(a);
        cb(ctx, s, GW_AUTH_DOWN, NULL, arg);
    }
    return 0;
}
