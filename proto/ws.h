/*
 * ws.h - RFC 6455 WebSocket framing: a strict server-side frame parser,
 * frame encoders, and the opening-handshake accept key.
 *
 * Framing only: no sockets, no timers. The parser is strict where libevent's
 * ws.c is lax: unmasked client frames, reserved bits and opcodes, fragmented
 * or long control frames, bad UTF-8 in text and bad close codes are errors,
 * and a message is bounded across its fragments (close 1009).
 */
#ifndef SSE_PROTO_WS_H
#define SSE_PROTO_WS_H

#include "proto.h"

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xA

#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_NO_STATUS 1005 /* never on the wire */
#define WS_CLOSE_INVALID_DATA 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011

#define WS_MAX_HEADER 14 /* 2 + 8 (length) + 4 (mask) */

enum ws_event_type {
    WS_EV_NONE = 0, /* bytes consumed, nothing complete yet (a fragment) */
    WS_EV_MESSAGE,  /* a whole text or binary message */
    WS_EV_PING,
    WS_EV_PONG,
    WS_EV_CLOSE,
};

struct ws_event {
    enum ws_event_type type;
    uint8_t opcode;      /* WS_OP_TEXT or WS_OP_BINARY for WS_EV_MESSAGE */
    const uint8_t *data; /* payload, unmasked; see ws_parser_feed() */
    size_t len;
    uint16_t close_code; /* WS_EV_CLOSE: code sent by peer, 1005 if none */
};

/*
 * Parser state, owned by the caller (embed it in the connection).
 * Kept small: an idle connection pays only for this struct; the
 * reassembly buffer exists only while a fragmented message is open.
 */
struct ws_parser {
    size_t max_frame;   /* largest single frame payload accepted */
    size_t max_message; /* largest message after reassembly */
    uint8_t *msg;       /* reassembly buffer (heap, owned) or NULL */
    size_t msg_len;
    size_t msg_cap;
    uint32_t utf8_state;  /* incremental UTF-8 check across text fragments */
    uint8_t msg_opcode;   /* opcode of the open fragmented message, or 0 */
    uint16_t error_close; /* after an error: the close code to send */
};

/* Initialise p with its limits. Never fails; allocates nothing. */
void ws_parser_init(struct ws_parser *p, size_t max_frame, size_t max_message);

/* Free the reassembly buffer; p may be reused after ws_parser_init(). */
void ws_parser_reset(struct ws_parser *p);

/*
 * Parse at most one frame from buf[0..len). The frame must be whole in buf:
 * when it is not, PROTO_AGAIN is returned and nothing is consumed (the caller
 * keeps the bytes and calls again with more; at most WS_MAX_HEADER +
 * max_frame bytes need be kept).
 *
 * buf is written to: payloads are unmasked in place.
 *
 * Returns bytes consumed (> 0) and fills *ev; ev->data points into buf or
 * into p->msg and stays valid until the next call. Returns PROTO_AGAIN,
 * PROTO_EINVAL or PROTO_ETOOBIG on error, with p->error_close set to the
 * close code to send (1002, 1007 or 1009).
 */
ssize_t ws_parser_feed(struct ws_parser *p, uint8_t *buf, size_t len,
                       struct ws_event *ev);

/*
 * Write an unmasked (server) frame header for a payload of len bytes.
 * out must hold WS_MAX_HEADER bytes. Returns the header length (2, 4 or 10).
 */
size_t ws_frame_header(uint8_t *out, int fin, uint8_t opcode, uint64_t len);

/*
 * Encode a whole frame. With mask == NULL the frame is unmasked (server);
 * otherwise the 4 mask bytes are used (client: tests and bench/).
 * Returns the frame length; writes only when it is <= cap.
 */
size_t ws_frame_encode(uint8_t *out, size_t cap, int fin, uint8_t opcode,
                       const void *payload, size_t len, const uint8_t *mask);

/* Build a close payload (code + reason, reason cut to fit 125 bytes).
 * out holds 125 bytes. Returns its length. */
size_t ws_close_payload(uint8_t *out, uint16_t code, const char *reason);

/*
 * Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2).
 * key must be the base64 of 16 bytes (24 chars). Writes 28 chars and a NUL
 * to out. Returns PROTO_OK or PROTO_EINVAL for a bad key.
 */
int ws_accept_key(const char *key, size_t len, char out[29]);

#endif
