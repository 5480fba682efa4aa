/*
 * eio.c - Engine.IO v4 packets, polling payloads, the open packet and the
 * handshake query. Text in, spans out: nothing is copied or allocated;
 * base64 segments are handed back undecoded (see b64.h).
 */
#include "eio.h"

#include <stdio.h>
#include <string.h>

int
eio_packet_decode(const char *buf, size_t len, struct eio_packet *pkt)
{
    if (len == 0 || buf[0] < '0' || buf[0] > '6')
        return PROTO_EINVAL;
    pkt->type = (enum eio_type)(buf[0] - '0');
    pkt->binary = 0;
    pkt->data = buf + 1;
    pkt->len = len - 1;
    return PROTO_OK;
}

void
eio_payload_iter_init(struct eio_payload_iter *it, const char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->done = 0;
}

int
eio_payload_next(struct eio_payload_iter *it, struct eio_packet *pkt)
{
    const char *seg = it->p, *sep;
    size_t n;

    if (it->done)
        return 0;
    sep = memchr(seg, EIO_SEPARATOR, (size_t)(it->end - seg));
    if (sep != NULL) {
        n = (size_t)(sep - seg);
        it->p = sep + 1;
    } else {
        n = (size_t)(it->end - seg);
        it->p = it->end;
        it->done = 1;
    }
    /* An empty segment (empty body, "\x1e\x1e", trailing separator) is no
     * packet: engine.io-parser decodes it as an error packet too. */
    if (n == 0) {
        it->done = 1;
        return PROTO_EINVAL;
    }
    if (seg[0] == 'b') {
        pkt->type = EIO_MESSAGE;
        pkt->binary = 1;
        pkt->data = seg + 1;
        pkt->len = n - 1;
        return 1;
    }
    if (eio_packet_decode(seg, n, pkt) != PROTO_OK) {
        it->done = 1;
        return PROTO_EINVAL;
    }
    return 1;
}

size_t
eio_open_encode(char *out, size_t cap, const char *sid, int upgrades_ws,
                unsigned ping_interval_ms, unsigned ping_timeout_ms,
                size_t max_payload)
{
    /* sid needs no JSON escaping: sids are [A-Za-z0-9_-] by construction. */
#define EIO_OPEN_FMT                                                           \
    "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%u,"                  \
    "\"pingTimeout\":%u,\"maxPayload\":%zu}"
    const char *up = upgrades_ws ? "\"websocket\"" : "";
    int n = snprintf(NULL, 0, EIO_OPEN_FMT, sid, up, ping_interval_ms,
                     ping_timeout_ms, max_payload);

    if (n < 0)
        return 0;
    if (out != NULL && (size_t)n < cap)
        snprintf(out, cap, EIO_OPEN_FMT, sid, up, ping_interval_ms,
                 ping_timeout_ms, max_payload);
    return (size_t)n;
#undef EIO_OPEN_FMT
}

/* Store a known parameter; a repeated one is ambiguous, so refused. */
static int
eio_query_set(struct proto_span *dst, const char *v, size_t vlen)
{
    if (dst->p != NULL)
        return PROTO_EINVAL;
    dst->p = v;
    dst->len = vlen;
    return PROTO_OK;
}

#define EIO_KEY(k, klen, lit)                                                  \
    ((klen) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

int
eio_query_parse(const char *query, size_t len, struct eio_query *q)
{
    const char *s = query, *end = query + len;
    struct proto_span b64 = {NULL, 0};

    memset(q, 0, sizeof *q);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)query[i];
        if (c <= 0x20 || c == 0x7f || c == '#') /* never in a raw query */
            return PROTO_EINVAL;
    }
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(pe - s));
        const char *v = eq ? eq + 1 : pe;
        size_t klen = (size_t)((eq ? eq : pe) - s), vlen = (size_t)(pe - v);
        int rc = PROTO_OK;

        if (EIO_KEY(s, klen, "EIO"))
            rc = eio_query_set(&q->eio, v, vlen);
        else if (EIO_KEY(s, klen, "transport"))
            rc = eio_query_set(&q->transport, v, vlen);
        else if (EIO_KEY(s, klen, "sid"))
            rc = eio_query_set(&q->sid, v, vlen);
        else if (EIO_KEY(s, klen, "apiKey"))
            rc = eio_query_set(&q->api_key, v, vlen);
        else if (EIO_KEY(s, klen, "b64"))
            rc = eio_query_set(&b64, v, vlen);
        if (rc != PROTO_OK)
            return rc;
        s = amp ? amp + 1 : end;
    }
    /* engine.io tests the parameter for truth: any non-empty value. */
    q->b64 = b64.p != NULL && b64.len > 0;
    return PROTO_OK;
}
