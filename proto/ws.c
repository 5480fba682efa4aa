/*
 * ws.c - RFC 6455 server-side framing: a strict whole-frame parser with
 * bounded reassembly, unmasked frame encoders and the handshake accept key.
 *
 * Every rule the RFC makes a MUST for a server receiving client frames is
 * an error here, mapped to the close code the caller sends (1002, 1007 or
 * 1009). Nothing here reads a socket: the caller brings whole frames.
 */
#include "ws.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "utf8.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_CONTROL 125 /* RFC 6455 5.5 */

/* A frame header as read off the wire. */
struct ws_hdr {
    int fin;
    uint8_t opcode;
    size_t hlen; /* header bytes including the mask key */
    uint64_t plen;
    const uint8_t *mask;
};

static ssize_t
ws_fail(struct ws_parser *p, uint16_t code, int rc)
{
    p->error_close = code;
    return rc;
}

void
ws_parser_init(struct ws_parser *p, size_t max_frame, size_t max_message)
{
    memset(p, 0, sizeof *p);
    p->max_frame = max_frame;
    p->max_message = max_message;
}

void
ws_parser_reset(struct ws_parser *p)
{
    free(p->msg);
    p->msg = NULL;
    p->msg_len = p->msg_cap = 0;
    p->msg_opcode = 0;
    p->utf8_state = UTF8_ACCEPT;
}

/*
 * Read and check a header. Returns PROTO_OK, PROTO_AGAIN when buf does not
 * hold the whole header yet, or an error with p->error_close set. Rules that
 * the first bytes decide are checked as soon as those bytes are in, so a
 * hostile peer is refused before the caller buffers its payload.
 */
static int
ws_header(struct ws_parser *p, const uint8_t *buf, size_t len, struct ws_hdr *h)
{
    uint8_t b0, b1, len7;
    int control;

    if (len < 2)
        return PROTO_AGAIN;
    b0 = buf[0];
    b1 = buf[1];
    h->fin = (b0 & 0x80) != 0;
    h->opcode = b0 & 0x0F;
    control = (h->opcode & 0x08) != 0;
    len7 = b1 & 0x7F;

    /* 5.2: RSV1-3 must be 0 with no extension negotiated. */
    if (b0 & 0x70)
        return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    switch (h->opcode) {
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        break;
    default: /* 5.2: reserved opcodes */
        return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    }
    /* 5.1: a server must close on an unmasked client frame. */
    if (!(b1 & 0x80))
        return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    /* 5.5: control frames are not fragmented and carry <= 125 bytes. */
    if (control && (!h->fin || len7 > WS_MAX_CONTROL))
        return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    /* 5.4: a continuation needs an open message; a new data frame must not
     * start inside one. */
    if (h->opcode == WS_OP_CONT && p->msg_opcode == 0)
        return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    if (!control && h->opcode != WS_OP_CONT && p->msg_opcode != 0)
        return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);

    if (len7 == 126) {
        if (len < 4)
            return PROTO_AGAIN;
        h->plen = (uint64_t)buf[2] << 8 | buf[3];
        h->hlen = 4;
    } else if (len7 == 127) {
        int i;
        if (len < 10)
            return PROTO_AGAIN;
        h->plen = 0;
        for (i = 0; i < 8; i++)
            h->plen = h->plen << 8 | buf[2 + i];
        /* 5.2: the most significant bit must be 0. */
        if (h->plen >> 63)
            return (int)ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
        h->hlen = 10;
    } else {
        h->plen = len7;
        h->hlen = 2;
    }
    if (h->plen > p->max_frame)
        return (int)ws_fail(p, WS_CLOSE_TOO_BIG, PROTO_ETOOBIG);
    /* The message bound counts every fragment, checked before copying. */
    if (!control) {
        uint64_t before = h->opcode == WS_OP_CONT ? p->msg_len : 0;
        if (h->plen > p->max_message || before + h->plen > p->max_message)
            return (int)ws_fail(p, WS_CLOSE_TOO_BIG, PROTO_ETOOBIG);
    }
    if (len < h->hlen + 4)
        return PROTO_AGAIN;
    h->mask = buf + h->hlen;
    h->hlen += 4;
    return PROTO_OK;
}

/* 7.4.1/7.4.2: codes a peer may send in a close frame. 1012-1014 are
 * registered with IANA since; 1004-1006 and 1015 never go on the wire. */
static int
ws_close_code_ok(unsigned code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

static ssize_t
ws_control(struct ws_parser *p, const struct ws_hdr *h, uint8_t *pl,
           struct ws_event *ev)
{
    size_t n = (size_t)h->plen;

    ev->data = pl;
    ev->len = n;
    if (h->opcode == WS_OP_PING) {
        ev->type = WS_EV_PING;
        return 0;
    }
    if (h->opcode == WS_OP_PONG) {
        ev->type = WS_EV_PONG;
        return 0;
    }
    ev->type = WS_EV_CLOSE;
    ev->close_code = WS_CLOSE_NO_STATUS;
    if (n == 0)
        return 0;
    if (n == 1) /* 5.5.1: a body starts with a 2-byte code */
        return ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    ev->close_code = (uint16_t)(pl[0] << 8 | pl[1]);
    if (!ws_close_code_ok(ev->close_code))
        return ws_fail(p, WS_CLOSE_PROTOCOL, PROTO_EINVAL);
    if (!utf8_valid(pl + 2, n - 2)) /* 5.5.1: the reason is UTF-8 */
        return ws_fail(p, WS_CLOSE_INVALID_DATA, PROTO_EINVAL);
    return 0;
}

/* Append a fragment to the reassembly buffer (bound already checked). */
static ssize_t
ws_append(struct ws_parser *p, const uint8_t *pl, size_t n)
{
    if (p->msg_len + n > p->msg_cap) {
        size_t cap = p->msg_cap ? p->msg_cap * 2 : 256;
        uint8_t *m;

        if (cap < p->msg_len + n)
            cap = p->msg_len + n;
        if (cap > p->max_message)
            cap = p->max_message;
        m = realloc(p->msg, cap ? cap : 1);
        if (m == NULL)
            return ws_fail(p, WS_CLOSE_INTERNAL, PROTO_ENOMEM);
        p->msg = m;
        p->msg_cap = cap;
    }
    if (n > 0)
        memcpy(p->msg + p->msg_len, pl, n);
    p->msg_len += n;
    return 0;
}

static ssize_t
ws_data(struct ws_parser *p, const struct ws_hdr *h, uint8_t *pl,
        struct ws_event *ev)
{
    size_t n = (size_t)h->plen;
    uint8_t op = h->opcode == WS_OP_CONT ? p->msg_opcode : h->opcode;

    if (h->opcode != WS_OP_CONT && h->fin) { /* whole message, zero-copy */
        if (op == WS_OP_TEXT && !utf8_valid(pl, n))
            return ws_fail(p, WS_CLOSE_INVALID_DATA, PROTO_EINVAL);
        ev->type = WS_EV_MESSAGE;
        ev->opcode = op;
        ev->data = pl;
        ev->len = n;
        return 0;
    }
    if (h->opcode != WS_OP_CONT) {
        p->msg_opcode = op;
        p->msg_len = 0;
        p->utf8_state = UTF8_ACCEPT;
    }
    /* 8.1: fail fast on bad UTF-8, fragment by fragment. */
    if (op == WS_OP_TEXT) {
        p->utf8_state = utf8_feed(p->utf8_state, pl, n);
        if (p->utf8_state == UTF8_REJECT ||
            (h->fin && p->utf8_state != UTF8_ACCEPT))
            return ws_fail(p, WS_CLOSE_INVALID_DATA, PROTO_EINVAL);
    }
    if (ws_append(p, pl, n) < 0)
        return PROTO_ENOMEM;
    if (!h->fin)
        return 0; /* ev->type stays WS_EV_NONE */
    ev->type = WS_EV_MESSAGE;
    ev->opcode = op;
    ev->data = p->msg;
    ev->len = p->msg_len;
    /* The buffer lives until the next call, which frees it. */
    p->msg_opcode = 0;
    return 0;
}

ssize_t
ws_parser_feed(struct ws_parser *p, uint8_t *buf, size_t len,
               struct ws_event *ev)
{
    struct ws_hdr h;
    size_t i, n;
    ssize_t rc;
    int hrc;

    memset(ev, 0, sizeof *ev);
    if (p->error_close != 0)
        return PROTO_EINVAL; /* sticky: the connection is closing */
    if (p->msg_opcode == 0 && p->msg != NULL) {
        /* The last message was handed out; drop its buffer. */
        free(p->msg);
        p->msg = NULL;
        p->msg_len = p->msg_cap = 0;
    }
    hrc = ws_header(p, buf, len, &h);
    if (hrc != PROTO_OK)
        return hrc;
    n = (size_t)h.plen; /* <= max_frame, so it fits */
    if (len - h.hlen < n)
        return PROTO_AGAIN;
    for (i = 0; i < n; i++)
        buf[h.hlen + i] ^= h.mask[i & 3];
    if (h.opcode & 0x08)
        rc = ws_control(p, &h, buf + h.hlen, ev);
    else
        rc = ws_data(p, &h, buf + h.hlen, ev);
    if (rc < 0)
        return rc;
    return (ssize_t)(h.hlen + n);
}

size_t
ws_frame_header(uint8_t *out, int fin, uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t
ws_frame_encode(uint8_t *out, size_t cap, int fin, uint8_t opcode,
                const void *payload, size_t len, const uint8_t *mask)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hl = ws_frame_header(hdr, fin, opcode, len), total;
    const uint8_t *pl = payload;

    if (mask != NULL) {
        hdr[1] |= 0x80;
        memcpy(hdr + hl, mask, 4);
        hl += 4;
    }
    total = hl + len;
    if (total > cap || out == NULL)
        return total;
    memcpy(out, hdr, hl);
    for (size_t i = 0; i < len; i++)
        out[hl + i] = mask ? (uint8_t)(pl[i] ^ mask[i & 3]) : pl[i];
    return total;
}

size_t
ws_close_payload(uint8_t *out, uint16_t code, const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;

    if (n > WS_MAX_CONTROL - 2) {
        n = WS_MAX_CONTROL - 2;
        /* Cut on a character boundary: the reason must stay UTF-8. */
        while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80)
            n--;
    }
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    if (n > 0)
        memcpy(out + 2, reason, n);
    return n + 2;
}

int
ws_accept_key(const char *key, size_t len, char out[29])
{
    uint8_t raw[18], md[EVP_MAX_MD_SIZE];
    char buf[24 + sizeof WS_GUID];
    unsigned int mdlen = 0;

    /* 4.2.1: the key is the base64 of a 16-byte nonce. */
    if (len != 24 || b64_decode(key, len, raw, sizeof raw) != 16)
        return PROTO_EINVAL;
    memcpy(buf, key, 24);
    memcpy(buf + 24, WS_GUID, sizeof WS_GUID - 1);
    if (!EVP_Digest(buf, 24 + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(),
                    NULL) ||
        mdlen != 20)
        return PROTO_EINVAL;
    b64_encode(md, 20, out, 29);
    return PROTO_OK;
}
