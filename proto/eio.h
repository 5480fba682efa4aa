/*
 * eio.h - Engine.IO protocol v4 packets and HTTP long-polling payloads.
 *
 * A packet is a type digit followed by data. Over WebSocket, a text frame is
 * one packet and a binary frame is one binary message packet (no type byte).
 * Over polling, a payload is packets joined by the record separator 0x1e,
 * and a binary packet is "b" followed by its base64.
 */
#ifndef SSE_PROTO_EIO_H
#define SSE_PROTO_EIO_H

#include "proto.h"

#define EIO_SEPARATOR 0x1e

enum eio_type {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
};

struct eio_packet {
    enum eio_type type;
    int binary;       /* 1: data is binary (ws frame) or base64 (polling) */
    const char *data; /* after the type char; points into the input */
    size_t len;
};

/* Decode one text packet (a ws text frame, or one polling segment that is
 * not binary). Returns PROTO_OK or PROTO_EINVAL (empty, unknown type). */
int eio_packet_decode(const char *buf, size_t len, struct eio_packet *pkt);

/* Iterate over the packets of a polling payload (a POST body). */
struct eio_payload_iter {
    const char *p;
    const char *end;
    int done;
};

void eio_payload_iter_init(struct eio_payload_iter *it, const char *buf,
                           size_t len);

/* Returns 1 and fills *pkt for the next packet, 0 at the end, PROTO_EINVAL
 * for an empty or malformed segment. A "b..." segment gives
 * pkt->type = EIO_MESSAGE, pkt->binary = 1, data = the base64 text. */
int eio_payload_next(struct eio_payload_iter *it, struct eio_packet *pkt);

/*
 * The open packet: 0{"sid":..,"upgrades":[..],"pingInterval":..,
 * "pingTimeout":..,"maxPayload":..}. upgrades_ws: offer "websocket".
 * Returns the length needed; writes (with a NUL) only if it fits in cap.
 */
size_t eio_open_encode(char *out, size_t cap, const char *sid, int upgrades_ws,
                       unsigned ping_interval_ms, unsigned ping_timeout_ms,
                       size_t max_payload);

/* Engine.IO handshake query of a /socket.io/ request. Spans point into the
 * query string given; absent parameters have p == NULL. */
struct eio_query {
    struct proto_span eio;       /* "4" */
    struct proto_span transport; /* "polling" or "websocket" */
    struct proto_span sid;
    struct proto_span api_key; /* our ?apiKey= (still percent-encoded) */
    int b64;                   /* b64=1: client wants base64 binary */
};

/* Parse a raw query string (without '?'). Unknown parameters are ignored
 * (socket.io-client adds t=...). Returns PROTO_OK or PROTO_EINVAL. */
int eio_query_parse(const char *query, size_t len, struct eio_query *q);

#endif
