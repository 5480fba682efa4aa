/*
 * gw_sio.c - Socket.IO v5 packets of one session: CONNECT to "/" goes to
 * the channels half (gw_app_on_connect), which answers with
 * gw_session_connect_accept/_reject; EVENT and BINARY_EVENT (attachments
 * collected, bounded in count and bytes) go to gw_app_on_event. Anything
 * malformed or out of order closes the session, as the reference does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_log.h"
#include "cm_metrics.h"
#include "gw_sio.h"
#include "json.h"
#include "sio.h"

void
gw_sio_binasm_free(struct gw_binasm *b)
{
    if (b == NULL)
        return;
    for (unsigned i = 0; i < b->have; i++)
        free((void *)b->parts[i].data);
    free(b->packet);
    free(b);
}

static void
gw_sio_bad(struct gw_session *s)
{
    gw_session_end(s, GW_CR_PARSE_ERROR, 0);
}

/* CONNECT_ERROR for a namespace we do not serve: 44<nsp>,{"message":..} */
static void
gw_sio_bad_namespace(struct gw_session *s, const struct sio_packet *pkt)
{
    static const char body[] = "{\"message\":\"Invalid namespace\"}";
    char out[SIO_MAX_HEADER + sizeof(body) + 1];
    size_t n;

    out[0] = '4'; /* Engine.IO MESSAGE */
    n = sio_header_encode(out + 1, SIO_CONNECT_ERROR, 0, pkt->nsp.p,
                          pkt->nsp.len, -1);
    if (n == 0) {
        gw_sio_bad(s); /* a namespace too long to echo */
        return;
    }
    memcpy(out + 1 + n, body, sizeof(body) - 1);
    gw_session_send_eio(s, out, 1 + n + sizeof(body) - 1);
}

static void
gw_sio_connect(struct gw_session *s, const struct sio_packet *pkt)
{
    if (s->sio != GW_SIO_NONE) {
        gw_sio_bad(s);
        return;
    }
    s->sio = GW_SIO_CONNECTING;
    gw_app_on_connect(s->ctx, s, pkt->data.len > 0 ? pkt->data.p : NULL,
                      pkt->data.len, s->query_key);
}

static void
gw_sio_binary_start(struct gw_session *s, const char *data, size_t len,
                    const struct sio_packet *pkt)
{
    struct gw_binasm *b = calloc(1, sizeof(*b));

    if (b == NULL || (b->packet = malloc(len)) == NULL) {
        free(b);
        gw_session_end(s, GW_CR_SERVER, 0);
        return;
    }
    memcpy(b->packet, data, len);
    b->packet_len = len;
    b->want = pkt->attachments;
    b->total = len;
    s->bin = b;
}

void
gw_sio_on_message(struct gw_session *s, const char *data, size_t len)
{
    struct sio_packet pkt;
    int root;

    if (s->bin != NULL ||
        sio_packet_decode(data, len, GW_JSON_DEPTH, &pkt) != PROTO_OK) {
        gw_sio_bad(s); /* text while attachments are due, or malformed */
        return;
    }
    root = pkt.nsp.len == 1 && pkt.nsp.p[0] == '/';
    if (!root && pkt.type == SIO_CONNECT) {
        gw_sio_bad_namespace(s, &pkt);
        return;
    }
    if (!root) {
        gw_sio_bad(s);
        return;
    }
    switch (pkt.type) {
    case SIO_CONNECT:
        gw_sio_connect(s, &pkt);
        break;
    case SIO_DISCONNECT:
        gw_session_end(s, GW_CR_CLIENT, 0);
        break;
    case SIO_EVENT:
        if (s->sio != GW_SIO_CONNECTED) {
            gw_sio_bad(s);
            break;
        }
        gw_app_on_event(s->ctx, s, pkt.data.p, pkt.data.len, pkt.ack_id, NULL,
                        0);
        break;
    case SIO_BINARY_EVENT:
    case SIO_BINARY_ACK: /* its attachments are read and dropped */
        if (s->sio != GW_SIO_CONNECTED) {
            gw_sio_bad(s);
            break;
        }
        gw_sio_binary_start(s, data, len, &pkt);
        break;
    case SIO_ACK:
        break; /* the server asks clients for no acks */
    default:
        gw_sio_bad(s); /* CONNECT_ERROR from a client */
        break;
    }
}

static void
gw_sio_binary_done(struct gw_session *s)
{
    struct gw_binasm *b = s->bin;
    struct sio_packet pkt;

    s->bin = NULL;
    /* decode again: the spans now point into our copy */
    if (sio_packet_decode(b->packet, b->packet_len, GW_JSON_DEPTH, &pkt) !=
            PROTO_OK ||
        sio_placeholders_check(pkt.data.p, pkt.data.len, b->want,
                               GW_JSON_DEPTH) != PROTO_OK) {
        gw_sio_binasm_free(b);
        gw_sio_bad(s);
        return;
    }
    if (pkt.type == SIO_BINARY_EVENT)
        gw_app_on_event(s->ctx, s, pkt.data.p, pkt.data.len, pkt.ack_id,
                        b->parts, b->have);
    gw_sio_binasm_free(b);
}

void
gw_sio_on_binary(struct gw_session *s, const uint8_t *data, size_t len)
{
    struct gw_binasm *b = s->bin;
    uint8_t *copy;

    if (b == NULL) {
        gw_sio_bad(s); /* binary data when no packet announced any */
        return;
    }
    if (b->total + len > (size_t)s->ctx->conf.max_http_buffer) {
        gw_sio_bad(s);
        return;
    }
    if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
        gw_session_end(s, GW_CR_SERVER, 0);
        return;
    }
    memcpy(copy, data, len);
    b->parts[b->have].data = copy;
    b->parts[b->have].len = len;
    b->have++;
    b->total += len;
    if (b->have == b->want)
        gw_sio_binary_done(s);
}

/* ---- answers of the channels half (gw.h) ---- */

void
gw_session_connect_accept(struct gw_session *s)
{
    char out[64];
    int n;

    if (!s->open || s->sio != GW_SIO_CONNECTING)
        return;
    s->sio = GW_SIO_CONNECTED;
    gw_session_index_sid(s);
    if (s->query_key != NULL) {
        explicit_bzero(s->query_key, strlen(s->query_key));
        free(s->query_key);
        s->query_key = NULL;
    }
    n = snprintf(out, sizeof(out), "40{\"sid\":\"%s\"}", s->app.sid);
    gw_session_send_eio(s, out, (size_t)n);
    cm_debug("connect", KV_S("sid", s->app.sid),
             KV_S("project", s->app.project),
             KV_S("transport", gw_session_transport(s)));
}

void
gw_session_connect_reject(struct gw_session *s, const char *message)
{
    size_t mlen, n;
    char *out;

    if (!s->open || s->sio != GW_SIO_CONNECTING)
        return;
    cm_counter_inc(s->ctx->errors_connect);
    s->sio = GW_SIO_NONE; /* the client may try again on this session */
    if (message == NULL)
        message = "Connection refused";
    mlen = strlen(message);
    n = jscan_escape(message, mlen, NULL, 0);
    if ((out = malloc(n + 32)) == NULL) {
        gw_session_end(s, GW_CR_SERVER, 0);
        return;
    }
    memcpy(out, "44{\"message\":", 13);
    jscan_escape(message, mlen, out + 13, n + 1);
    memcpy(out + 13 + n, "}", 2);
    gw_session_send_eio(s, out, 13 + n + 1);
    free(out);
    cm_debug("connect refused", KV_S("sid", s->app.sid), KV_S("why", message));
}

int
gw_session_send_ack(struct gw_session *s, int64_t ack_id, const char *json,
                    size_t len)
{
    char hdr[SIO_MAX_HEADER];
    size_t hl;
    char *out;
    int rc;

    if (!s->open || ack_id < 0)
        return -1;
    hl = sio_header_encode(hdr, SIO_ACK, 0, "/", 1, ack_id);
    if (hl == 0 || (out = malloc(hl + len + 2)) == NULL)
        return -1;
    memcpy(out, hdr, hl);
    out[hl] = '[';
    memcpy(out + hl + 1, json, len);
    out[hl + 1 + len] = ']';
    rc = gw_session_send_packet(s, out, hl + len + 2);
    free(out);
    return rc;
}
