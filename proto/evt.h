/*
 * evt.h - the messages of the system, as bytes: channel events on the Redis
 * bus, the Socket.IO packets built from them, system messages, and the
 * gateway control messages. See proto/REDIS.md for where each travels.
 *
 * Bus event (Redis pub/sub sse:{p:<pid>}:ch:<channel>):
 *
 *   "e1 " <event id> " " <origin sid or "-"> "\n" <Socket.IO EVENT packet>
 *
 * The packet is  2["event",{"channelName":"<name>","payload":<raw JSON>}]
 * built once by the publisher; a gateway prefixes the Engine.IO "4" and a
 * WebSocket header and shares those bytes among all its members.
 */
#ifndef SSE_PROTO_EVT_H
#define SSE_PROTO_EVT_H

#include "proto.h"

#define EVT_ID_MAX 40
#define EVT_SID_MAX 40

/*
 * Build the Socket.IO EVENT packet for (channel, payload). payload must be
 * validated JSON; its bytes are copied verbatim. Returns the length needed;
 * writes (with a NUL) only if it fits in cap.
 */
size_t evt_packet_encode(char *out, size_t cap, const char *channel,
                         size_t channel_len, const char *payload,
                         size_t payload_len);

/* Build a whole bus message (header line + packet). Same contract. */
size_t evt_bus_encode(char *out, size_t cap, const char *event_id,
                      const char *origin_sid, const char *channel,
                      size_t channel_len, const char *payload,
                      size_t payload_len);

struct evt_bus_msg {
    struct proto_span id;
    struct proto_span origin; /* "-" when published over REST */
    struct proto_span packet; /* the Socket.IO packet, starts with '2' */
};

/* Split a bus message. Returns PROTO_OK or PROTO_EINVAL. */
int evt_bus_decode(const char *buf, size_t len, struct evt_bus_msg *m);

/*
 * A system_message object:
 *   {"code":"<code>","message":"<message>"[,"data":<data_json>]}
 * data_json may be NULL (no data member) or validated JSON copied verbatim.
 * Returns the length needed; writes (with a NUL) only if it fits.
 */
size_t evt_system_object(char *out, size_t cap, const char *code,
                         const char *message, const char *data_json);

/* System message codes (CONTRACT.md section 4). */
#define EVT_CODE_SUCCESS "Success"
#define EVT_CODE_REMOVED "RemovedFromChannel"
#define EVT_CODE_ERROR "Error"

#endif
