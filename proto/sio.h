/*
 * sio.h - Socket.IO protocol v5 packets (the text after Engine.IO's "4").
 *
 *   <type>[<attachments>-][<nsp>,][<ack id>][<JSON data>]
 *
 * e.g. 0{"apiKey":"..."}  2["listen",{...}]  21["listen",{...}]  31[{...}]
 *      451-["event",{"_placeholder":true,"num":0}]   (then one binary frame)
 */
#ifndef SSE_PROTO_SIO_H
#define SSE_PROTO_SIO_H

#include "proto.h"

enum sio_type {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
};

#define SIO_MAX_ATTACHMENTS 64 /* a bound on attachments per packet */
#define SIO_MAX_NSP 24         /* longest namespace sio_header_encode writes */
#define SIO_MAX_HEADER 48      /* type, "64-", nsp ",", 19-digit ack id */

struct sio_packet {
    enum sio_type type;
    unsigned attachments;   /* BINARY_*: announced binary attachments */
    struct proto_span nsp;  /* "/" when absent */
    int64_t ack_id;         /* -1 when absent */
    struct proto_span data; /* JSON after the header; len 0 if none */
};

/*
 * Decode a packet. Checks the header and that data, when present, is one
 * valid JSON value of the kind the type requires (CONNECT: object;
 * EVENT/BINARY_EVENT: non-empty array whose first item is a string;
 * ACK/BINARY_ACK: array; CONNECT_ERROR: object or string; DISCONNECT:
 * none). EVENT, ACK and their BINARY_ forms must carry data; an ack id is
 * accepted on those four only and is required on ACK/BINARY_ACK; BINARY_*
 * need "<n>-" with 1 <= n. max_depth bounds JSON nesting.
 * Returns PROTO_OK or PROTO_EINVAL (or PROTO_ETOOBIG for >
 * SIO_MAX_ATTACHMENTS).
 */
int sio_packet_decode(const char *buf, size_t len, unsigned max_depth,
                      struct sio_packet *pkt);

/*
 * Split EVENT/BINARY_EVENT data into its name and arguments:
 * name is the unescaped event name span (the raw string without quotes;
 * names with escapes are rejected with PROTO_EINVAL), args[] the spans of
 * the following items, at most max_args (PROTO_ETOOBIG past it).
 */
int sio_event_split(const struct sio_packet *pkt, struct proto_span *name,
                    struct proto_span *args, size_t max_args, size_t *nargs);

/*
 * Write a packet header: type, "<n>-" when attachments > 0, the namespace
 * when it is not "/" (followed by ','), the ack id when >= 0.
 * out holds SIO_MAX_HEADER bytes. Returns the header length, or 0 (nothing
 * written) when nsp is longer than SIO_MAX_NSP or attachments is over
 * SIO_MAX_ATTACHMENTS.
 */
size_t sio_header_encode(char *out, enum sio_type type, unsigned attachments,
                         const char *nsp, size_t nsp_len, int64_t ack_id);

/*
 * Binary attachments: placeholders {"_placeholder":true,"num":N} in the
 * JSON stand for the N-th binary attachment. sio_placeholders_check()
 * verifies that data refers to exactly attachments 0..n-1 (each at least
 * once, none out of range). Returns PROTO_OK or PROTO_EINVAL.
 */
int sio_placeholders_check(const char *data, size_t len, unsigned n,
                           unsigned max_depth);

#endif
