/*
 * gw_eio.c - Engine.IO v4 requests and packets: the /socket.io/ handler
 * (handshake over polling or WebSocket, polling GET/POST, the upgrade
 * request) with the reference server's error answers, and the dispatch of
 * packets from either transport (ping/pong, message, upgrade, close).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "http.h"
#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "gw_eio.h"
#include "gw_polling.h"
#include "gw_sio.h"
#include "gw_ws.h"
#include "ws.h"

#define GW_QUERY_KEY_MAX 256 /* longest ?apiKey= kept (keys are 73) */

static const char *const gw_eio_messages[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request",       "Forbidden",          "Unsupported protocol version",
};

void
gw_eio_error(struct cm_httpd_req *req, int status, int code)
{
    char body[96];

    snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"%s\"}", code,
             gw_eio_messages[code]);
    cm_httpd_reply_json(req, status, body);
}

/* Percent-decode a query value into a new string, or NULL (absent, bad
 * escape, too long, or a NUL inside). */
static char *
gw_query_value(struct proto_span v)
{
    char *out;
    ssize_t n;

    if (v.p == NULL || v.len == 0 || v.len > 3 * GW_QUERY_KEY_MAX)
        return NULL;
    if ((out = malloc(v.len + 1)) == NULL)
        return NULL;
    n = http_percent_decode(v.p, v.len, out, v.len + 1);
    if (n <= 0 || n > GW_QUERY_KEY_MAX || strlen(out) != (size_t)n) {
        free(out);
        return NULL;
    }
    return out;
}

static int
gw_open_packet(struct gw_session *s, int upgrades, char *out, size_t cap)
{
    struct gw_conf *conf = &s->ctx->conf;
    size_t n = eio_open_encode(
        out, cap, s->eio_sid, upgrades, (unsigned)conf->ping_interval,
        (unsigned)conf->ping_timeout, (size_t)conf->max_http_buffer);

    return n < cap ? (int)n : -1;
}

static void
gw_static(struct cm_httpd_req *req, const char *body, size_t len,
          const char *ctype)
{
    if (body == NULL) {
        cm_httpd_error(req, 404, "Not Found");
        return;
    }
    cm_httpd_add_header(req, "Cache-Control", "public, max-age=3600");
    cm_httpd_reply(req, 200, ctype, body, len);
}

static void
gw_handshake(struct gw_ctx *ctx, struct cm_httpd_req *req,
             const struct eio_query *q, int websocket)
{
    struct gw_tp *tp = gw_tp(ctx);
    struct gw_session *s;
    char open[256];
    int n;

    if (!websocket && strcmp(cm_httpd_method(req), "GET") != 0) {
        gw_eio_error(req, 400, 2);
        return;
    }
    if (websocket && gw_ws_check_request(req) != 0)
        return;
    if (ctx->draining || tp->nsessions >= (size_t)ctx->conf.max_conns) {
        cm_httpd_error(req, 503, "the gateway is not taking connections");
        return;
    }
    s = gw_session_new(ctx, websocket ? GW_T_WS : GW_T_POLLING);
    if (s == NULL) {
        cm_httpd_error(req, 503, "out of memory");
        return;
    }
    s->query_key = gw_query_value(q->api_key);
    n = gw_open_packet(s, !websocket, open, sizeof(open));
    if (!websocket) {
        cm_httpd_reply(req, 200, GW_POLL_CTYPE, open, (size_t)n);
    } else if ((s->ws = gw_ws_accept(ctx, req, s)) == NULL) {
        gw_session_end(s, GW_CR_TRANSPORT, 0);
        return;
    } else {
        gw_session_send_eio(s, open, (size_t)n);
    }
    cm_debug("open", KV_S("sid", s->app.sid),
             KV_S("transport", gw_session_transport(s)));
}

static void
gw_upgrade_request(struct gw_ctx *ctx, struct cm_httpd_req *req,
                   struct gw_session *s)
{
    if (s->transport != GW_T_POLLING || s->probe != NULL) {
        gw_eio_error(req, 400, 3);
        return;
    }
    if (gw_ws_check_request(req) != 0)
        return;
    s->probed = 0;
    s->probe = gw_ws_accept(ctx, req, s);
}

void
gw_eio_handle(struct cm_httpd_req *req, void *arg)
{
    struct gw_ctx *ctx = arg;
    struct gw_tp *tp = gw_tp(ctx);
    const char *path = cm_httpd_path(req);
    const char *query = cm_httpd_query(req);
    const char *method = cm_httpd_method(req);
    struct gw_session *s;
    struct eio_query q;
    int ws;

    if (strcmp(path, "/socket.io/socket.io.js") == 0 ||
        strcmp(path, "/socket.io/socket.io.min.js") == 0) {
        gw_static(req, tp->static_js, tp->static_js_len,
                  "application/javascript; charset=utf-8");
        return;
    }
    if (strcmp(path, "/socket.io/") != 0) {
        cm_httpd_error(req, 404, "Not Found");
        return;
    }
    if (eio_query_parse(query, strlen(query), &q) != PROTO_OK) {
        gw_eio_error(req, 400, 3);
        return;
    }
    if (q.eio.p == NULL || q.eio.len != 1 || q.eio.p[0] != '4') {
        gw_eio_error(req, 400, 5);
        return;
    }
    if (q.transport.p != NULL && q.transport.len == 9 &&
        memcmp(q.transport.p, "websocket", 9) == 0) {
        ws = 1;
    } else if (q.transport.p != NULL && q.transport.len == 7 &&
               memcmp(q.transport.p, "polling", 7) == 0) {
        ws = 0;
    } else {
        gw_eio_error(req, 400, 0);
        return;
    }
    if (q.sid.p == NULL) {
        gw_handshake(ctx, req, &q, ws);
        return;
    }
    if ((s = gw_session_by_eio(ctx, q.sid.p, q.sid.len)) == NULL) {
        gw_eio_error(req, 400, 1);
        return;
    }
    if (ws)
        gw_upgrade_request(ctx, req, s);
    else if (s->transport != GW_T_POLLING)
        gw_eio_error(req, 400, 3);
    else if (strcmp(method, "GET") == 0)
        gw_polling_get(s, req);
    else if (strcmp(method, "POST") == 0)
        gw_polling_post(s, req);
    else
        gw_eio_error(req, 400, 2);
}

/* ---- packets ---- */

static void
gw_eio_binary_b64(struct gw_session *s, const char *b64, size_t len)
{
    size_t cap = len / 4 * 3 + 3;
    uint8_t *bin = malloc(cap + 1);
    ssize_t n;

    if (bin == NULL) {
        gw_session_end(s, GW_CR_SERVER, 0);
        return;
    }
    n = b64_decode(b64, len, bin, cap);
    if (n < 0)
        gw_session_end(s, GW_CR_PARSE_ERROR, 0);
    else
        gw_sio_on_binary(s, bin, (size_t)n);
    free(bin);
}

void
gw_eio_on_packet(struct gw_session *s, const struct eio_packet *pkt)
{
    cm_counter_inc(gw_tp(s->ctx)->m.eio_packets_in);
    switch (pkt->type) {
    case EIO_PONG:
        gw_session_on_pong(s);
        break;
    case EIO_PING: { /* not sent by v4 clients; answered all the same */
        char pong[128];

        if (pkt->len + 1 > sizeof(pong))
            break;
        pong[0] = '3';
        memcpy(pong + 1, pkt->data, pkt->len);
        gw_session_send_eio(s, pong, pkt->len + 1);
        break;
    }
    case EIO_MESSAGE:
        if (pkt->binary)
            gw_eio_binary_b64(s, pkt->data, pkt->len);
        else
            gw_sio_on_message(s, pkt->data, pkt->len);
        break;
    case EIO_CLOSE:
        gw_session_end(s, GW_CR_CLIENT, 0);
        break;
    case EIO_UPGRADE:
    case EIO_NOOP:
        break; /* meaningful only on a probe */
    default:
        gw_session_end(s, GW_CR_PARSE_ERROR, 0);
        break;
    }
}

/* Packets on a probe WebSocket during the upgrade: "2probe", then "5". */
static void
gw_eio_probe(struct gw_session *s, struct gw_ws *c, int binary,
             const uint8_t *data, size_t len)
{
    if (!binary && len == 6 && memcmp(data, "2probe", 6) == 0) {
        gw_ws_send_text(c, "3probe", 6);
        /* a noop ends the held GET (or the next one, gw_polling_get) so
         * the client can pause polling; never queued in s->pq, where it
         * would reach the WebSocket after the upgrade */
        s->probed = 1;
        gw_polling_release(s, "6");
    } else if (!binary && len == 1 && data[0] == '5') {
        gw_session_upgrade(s);
    } else {
        gw_ws_close(c, WS_CLOSE_PROTOCOL); /* the upgrade fails, not s */
    }
}

void
gw_eio_on_ws_message(struct gw_session *s, struct gw_ws *c, int binary,
                     const uint8_t *data, size_t len)
{
    struct eio_packet pkt;

    if (s->probe == c) {
        gw_eio_probe(s, c, binary, data, len);
        return;
    }
    if (binary) { /* a binary Engine.IO message: no type byte */
        cm_counter_inc(gw_tp(s->ctx)->m.eio_packets_in);
        gw_sio_on_binary(s, data, len);
        return;
    }
    if (eio_packet_decode((const char *)data, len, &pkt) != PROTO_OK) {
        gw_session_end(s, GW_CR_PARSE_ERROR, 0);
        return;
    }
    gw_eio_on_packet(s, &pkt);
}
