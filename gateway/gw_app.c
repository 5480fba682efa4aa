/*
 * gw_app.c - the channels half's hooks (gw.h): CONNECT goes to gw_auth,
 * and the client requests listen / remove / event (CONTRACT.md section 4)
 * are checked and answered here. Every request gets one system_message
 * and, when asked, an ACK carrying the same object. Rooms, the bus and
 * tracking do the work; this file decides and answers.
 */
#include "gw_app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_token.h"
#include "evt.h"
#include "gw_auth.h"
#include "gw_bus.h"
#include "gw_rooms.h"
#include "gw_track.h"
#include "json.h"

/* Arguments looked at in one EVENT: the name and one object. */
#define GW_APP_MAX_ARGS 16
/* Longest event name echoed back in "unknown event <name>". */
#define GW_APP_NAME_MAX 64
#define GW_APP_ANSWER_STACK 512

#define GW_APP_DOWN "service unavailable"

int
gw_app_answer(struct gw_session *s, int64_t ack_id, const char *code,
              const char *message, const char *data_json)
{
    static const char head[] = "2[\"system_message\",";
    char stack[GW_APP_ANSWER_STACK];
    size_t n = evt_system_object(NULL, 0, code, message, data_json);
    size_t hl = sizeof head - 1;
    size_t need = hl + n + 2;
    char *buf = need <= sizeof stack ? stack : malloc(need);
    int rc;

    if (buf == NULL)
        return -1;
    memcpy(buf, head, hl);
    evt_system_object(buf + hl, n + 1, code, message, data_json);
    buf[hl + n] = ']';
    buf[hl + n + 1] = '\0';
    if (strcmp(code, EVT_CODE_ERROR) == 0)
        cm_counter_inc(gw_session_ctx(s)->errors_request);
    rc = gw_session_send_packet(s, buf, hl + n + 1);
    if (rc == 0 && ack_id >= 0)
        rc = gw_session_send_ack(s, ack_id, buf + hl, n);
    if (buf != stack)
        free(buf);
    return rc;
}

static void
gw_app_error(struct gw_session *s, int64_t ack_id, const char *message)
{
    gw_app_answer(s, ack_id, EVT_CODE_ERROR, message, NULL);
}

/* Success with data {"channelName":"<ch>"} (a valid name needs no
 * escaping, chan.h). */
static void
gw_app_success(struct gw_session *s, int64_t ack_id, const char *verb,
               const char *channel)
{
    char msg[64 + CHAN_NAME_MAX];
    char data[32 + CHAN_NAME_MAX];

    snprintf(msg, sizeof msg, "%s %s", verb, channel);
    snprintf(data, sizeof data, "{\"channelName\":\"%s\"}", channel);
    gw_app_answer(s, ack_id, EVT_CODE_SUCCESS, msg, data);
}

/* A string member of obj into out: 1 found, 0 absent or null, -1 not a
 * string or too long. */
static int
gw_app_str(const struct proto_span *obj, const char *key, char *out, size_t cap)
{
    struct proto_span v;

    out[0] = '\0';
    if (obj == NULL || jscan_object_get(obj->p, obj->len, key, &v) != PROTO_OK)
        return 0;
    if (jscan_kind(v.p, v.len) == JSCAN_NULL)
        return 0;
    if (jscan_kind(v.p, v.len) != JSCAN_STRING)
        return -1;
    return jscan_string_get(v.p, v.len, out, cap) < 0 ? -1 : 1;
}

/* channelName of a request, validated; 0 or -1 after answering Error. */
static int
gw_app_channel(struct gw_session *s, int64_t ack_id,
               const struct proto_span *obj, char *out)
{
    int rc = gw_app_str(obj, "channelName", out, CHAN_NAME_MAX + 1);

    if (rc == 0) {
        gw_app_error(s, ack_id, "channelName is required");
        return -1;
    }
    if (rc < 0 || !chan_name_valid(out, strlen(out))) {
        gw_app_error(s, ack_id, "channelName is invalid");
        return -1;
    }
    return 0;
}

/* ---- listen ---- */

struct gw_app_listen {
    LIST_ENTRY(gw_app_listen) link; /* on app->listens while checked */
    struct gw_session *s;
    int64_t ack_id;
    int cancelled; /* a remove of the channel came while it waited */
    char channel[CHAN_NAME_MAX + 1];
};

/* Off app->listens and freed (the session outlives its async calls). */
static void
gw_app_listen_free(void *arg)
{
    struct gw_app_listen *l = arg;

    LIST_REMOVE(l, link);
    free(l);
}

static void
gw_app_listen_tracked(struct gw_ctx *ctx, int ok, void *arg)
{
    struct gw_app_listen *l = arg;
    struct gw_session *s = l->s;
    struct gw_member *m;

    if (gw_session_alive(s)) {
        if (ok == 1)
            gw_app_success(s, l->ack_id, "listening to", l->channel);
        else {
            /* Untracked memberships would escape revocation: undo. */
            if ((m = gw_rooms_find(s, l->channel)) != NULL)
                gw_rooms_leave(ctx->rooms, m);
            gw_app_error(s, l->ack_id,
                         ok == GW_TRACK_KEY_GONE
                             ? "token signing key has been revoked"
                             : GW_APP_DOWN);
        }
    }
    free(l);
    gw_session_release(s);
}

/* Join now that every check passed; kid is NULL for public channels. */
static void
gw_app_join(struct gw_ctx *ctx, struct gw_app_listen *l, const char *kid)
{
    struct gw_session *s = l->s;
    struct gw_app_state *app = gw_session_app(s);
    struct gw_member *m;

    /* Re-check: other listens may have completed while this one waited. */
    if (gw_rooms_find(s, l->channel) != NULL) {
        gw_app_success(s, l->ack_id, "listening to", l->channel);
    } else if (app->nchannels >= (unsigned)ctx->conf.max_channels) {
        gw_app_error(s, l->ack_id, "too many channels on this connection");
    } else if ((m = gw_rooms_join(ctx->rooms, s, l->channel, kid)) == NULL) {
        gw_app_error(s, l->ack_id, GW_APP_DOWN);
    } else if (kid == NULL) {
        gw_app_success(s, l->ack_id, "listening to", l->channel);
    } else {
        gw_session_hold(s);
        if (gw_track_join(ctx, m, gw_app_listen_tracked, l) == 0)
            return; /* l is the callback's now */
        gw_session_release(s);
        gw_rooms_leave(ctx->rooms, m);
        gw_app_error(s, l->ack_id, GW_APP_DOWN);
    }
    free(l);
}

static void
gw_app_listen_authed(struct gw_ctx *ctx, struct gw_session *s, const char *err,
                     const char *kid, void *arg)
{
    struct gw_app_listen *l = arg;

    LIST_REMOVE(l, link);
    if (err != NULL) {
        cm_debug("listen refused", KV_S("sid", gw_session_app(s)->sid),
                 KV_S("channel", l->channel), KV_S("reason", err));
        gw_app_error(s, l->ack_id, err);
        free(l);
        return;
    }
    if (l->cancelled) {
        /* As if run in order: the listen succeeded, then the remove that
         * the client sent after it took the channel away again. */
        gw_app_success(s, l->ack_id, "listening to", l->channel);
        free(l);
        return;
    }
    gw_app_join(ctx, l, kid);
}

static void
gw_app_listen(struct gw_ctx *ctx, struct gw_session *s, int64_t ack_id,
              const struct proto_span *obj)
{
    struct gw_app_state *app = gw_session_app(s);
    char token[CM_TOKEN_MAX + 1];
    struct gw_app_listen *l;
    size_t n;

    if ((l = calloc(1, sizeof *l)) == NULL) {
        gw_app_error(s, ack_id, GW_APP_DOWN);
        return;
    }
    l->s = s;
    l->ack_id = ack_id;
    if (gw_app_channel(s, ack_id, obj, l->channel) != 0) {
        free(l);
        return;
    }
    n = strlen(l->channel);
    if (gw_rooms_find(s, l->channel) != NULL) {
        /* Already a member: listening is idempotent. */
        gw_app_success(s, ack_id, "listening to", l->channel);
        free(l);
    } else if (app->nchannels >= (unsigned)ctx->conf.max_channels) {
        gw_app_error(s, ack_id, "too many channels on this connection");
        free(l);
    } else if (!chan_is_private(l->channel, n)) {
        gw_app_join(ctx, l, NULL);
    } else if (gw_app_str(obj, "authToken", token, sizeof token) < 0) {
        gw_app_error(s, ack_id, cm_token_strerror(CM_TOKEN_MALFORMED));
        free(l);
    } else {
        LIST_INSERT_HEAD(&app->listens, l, link);
        gw_auth_channel(ctx, s, l->channel, token, gw_app_listen_authed,
                        gw_app_listen_free, l);
    }
}

/* ---- remove ---- */

/* Removing a channel the socket is not in is a Success too: like
 * Socket.IO's leave(), it is idempotent, and the client's wish (not to
 * be a member) holds; the message says which case it was. */
static void
gw_app_remove(struct gw_ctx *ctx, struct gw_session *s, int64_t ack_id,
              const struct proto_span *obj)
{
    char channel[CHAN_NAME_MAX + 1];
    struct gw_app_listen *l;
    struct gw_member *m;

    if (gw_app_channel(s, ack_id, obj, channel) != 0)
        return;
    /* Requests take effect in the order sent: a listen of this channel
     * still checking its token must not join after this remove. */
    LIST_FOREACH(l, &gw_session_app(s)->listens, link)
    if (strcmp(l->channel, channel) == 0)
        l->cancelled = 1;
    if ((m = gw_rooms_find(s, channel)) == NULL) {
        gw_app_success(s, ack_id, "not listening to", channel);
        return;
    }
    if (m->kid[0] != '\0')
        gw_track_leave(ctx, m);
    gw_rooms_leave(ctx->rooms, m);
    gw_app_success(s, ack_id, "stopped listening to", channel);
}

/* ---- event ---- */

struct gw_app_pub {
    struct gw_session *s;
    int64_t ack_id;
    char channel[CHAN_NAME_MAX + 1];
};

static void
gw_app_published(struct gw_ctx *ctx, int ok, void *arg)
{
    struct gw_app_pub *p = arg;
    struct gw_session *s = p->s;

    if (gw_session_alive(s)) {
        if (ok)
            gw_app_success(s, p->ack_id, "event sent to", p->channel);
        else
            gw_app_error(s, p->ack_id, GW_APP_DOWN);
    }
    free(p);
    gw_session_release(s);
}

static void
gw_app_event(struct gw_ctx *ctx, struct gw_session *s, int64_t ack_id,
             const struct proto_span *obj)
{
    struct gw_app_state *app = gw_session_app(s);
    struct gw_app_pub *p;
    struct proto_span v;

    if ((p = calloc(1, sizeof *p)) == NULL) {
        gw_app_error(s, ack_id, GW_APP_DOWN);
        return;
    }
    p->s = s;
    p->ack_id = ack_id;
    if (gw_app_channel(s, ack_id, obj, p->channel) != 0)
        goto done;
    if (!(app->scopes & CM_SCOPE_CLIENT_PUBLISH)) {
        gw_app_error(s, ack_id, "apiKey lacks the client_publish scope");
        goto done;
    }
    if (gw_rooms_find(s, p->channel) == NULL) {
        gw_app_error(s, ack_id, "not listening to this channel");
        goto done;
    }
    if (jscan_object_get(obj->p, obj->len, "payload", &v) != PROTO_OK) {
        gw_app_error(s, ack_id, "payload is required");
        goto done;
    }
    v = jscan_trim(v.p, v.len);
    if ((long long)v.len > ctx->common.max_payload) {
        gw_app_error(s, ack_id, "payload is too large");
        goto done;
    }
    gw_session_hold(s);
    if (gw_bus_publish(ctx, app->project, p->channel, app->sid, v.p, v.len,
                       gw_app_published, p) == 0)
        return;
    gw_session_release(s);
    gw_app_error(s, ack_id, GW_APP_DOWN);
done:
    free(p);
}

/* ---- hooks ---- */

void
gw_app_on_connect(struct gw_ctx *ctx, struct gw_session *s, const char *auth,
                  size_t auth_len, const char *query_key)
{
    gw_auth_connect(ctx, s, auth, auth_len, query_key);
}

void
gw_app_on_event(struct gw_ctx *ctx, struct gw_session *s, const char *data,
                size_t len, int64_t ack_id, const struct gw_bin *attachments,
                size_t nattach)
{
    struct proto_span items[GW_APP_MAX_ARGS], *obj = NULL;
    char name[GW_APP_NAME_MAX + 1], msg[GW_APP_NAME_MAX + 32];
    size_t n = 0;
    int rc = PROTO_EINVAL;

    if (ctx->rooms == NULL) { /* gw_app_shutdown ran */
        gw_app_error(s, ack_id, "server is shutting down");
        return;
    }
    /* Arguments past the first GW_APP_MAX_ARGS are ignored (ETOOBIG). */
    if (jscan_validate(data, len, JSCAN_DEFAULT_DEPTH) == PROTO_OK)
        rc = jscan_array_items(data, len, items, GW_APP_MAX_ARGS, &n);
    if ((rc != PROTO_OK && rc != PROTO_ETOOBIG) || n == 0 ||
        jscan_kind(items[0].p, items[0].len) != JSCAN_STRING) {
        gw_app_error(s, ack_id, "malformed event");
        return;
    }
    if (jscan_string_get(items[0].p, items[0].len, name, sizeof name) < 0)
        snprintf(name, sizeof name, "(name too long)");
    if (n > 1 && jscan_kind(items[1].p, items[1].len) == JSCAN_OBJECT)
        obj = &items[1];
    /* Binary attachments stay out of channels: the bus carries JSON text
     * and the contract's payload is JSON (documented in docs). */
    if (nattach > 0 || attachments != NULL) {
        gw_app_error(s, ack_id,
                     "binary payloads are not supported on channels");
        return;
    }
    if (strcmp(name, "listen") == 0 || strcmp(name, "remove") == 0 ||
        strcmp(name, "event") == 0) {
        if (obj == NULL) {
            gw_app_error(s, ack_id, "the argument must be an object");
            return;
        }
        if (name[0] == 'l')
            gw_app_listen(ctx, s, ack_id, obj);
        else if (name[0] == 'r')
            gw_app_remove(ctx, s, ack_id, obj);
        else
            gw_app_event(ctx, s, ack_id, obj);
        return;
    }
    snprintf(msg, sizeof msg, "unknown event %s", name);
    gw_app_error(s, ack_id, msg);
}

void
gw_app_on_disconnect(struct gw_ctx *ctx, struct gw_session *s)
{
    gw_track_forget(ctx, s);
    if (ctx->rooms != NULL) /* else gw_rooms_free emptied the list */
        gw_rooms_leave_all(ctx->rooms, s);
}

int
gw_app_init(struct gw_ctx *ctx)
{
    if ((ctx->bus = gw_bus_new(ctx)) == NULL)
        return -1;
    if ((ctx->rooms = gw_rooms_new(ctx, gw_bus_sub(ctx->bus))) == NULL) {
        gw_bus_free(ctx->bus);
        ctx->bus = NULL;
        return -1;
    }
    return 0;
}

/* Rooms first (no more fan-out, sockets' lists emptied), then the bus (no
 * heartbeat after the ZREM), then the cleanup, which turns the loop. */
void
gw_app_shutdown(struct gw_ctx *ctx)
{
    if (ctx->rooms != NULL)
        gw_rooms_free(ctx->rooms);
    ctx->rooms = NULL;
    if (ctx->bus != NULL)
        gw_bus_free(ctx->bus);
    ctx->bus = NULL;
    gw_track_shutdown(ctx);
}
