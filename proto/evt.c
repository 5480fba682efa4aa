/*
 * evt.c - the bytes of channel events, bus messages and system messages
 * (proto/REDIS.md, "Events"). Encoders measure first and write only when
 * the whole result fits, so a caller can size a buffer with cap 0. The
 * decoder splits a bus message into spans; it copies nothing.
 */
#include "evt.h"

#include <string.h>

#include "json.h"

#define EVT_BUS_MAGIC "e1 "
#define EVT_PKT_HEAD "2[\"event\",{\"channelName\":\""
#define EVT_PKT_MID "\",\"payload\":"
#define EVT_PKT_TAIL "}]"

#define LIT_LEN(s) (sizeof(s) - 1)

/* A writer that never overflows: callers check the total before writing. */
static char *
evt_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static size_t
evt_packet_len(size_t channel_len, size_t payload_len)
{
    return LIT_LEN(EVT_PKT_HEAD) + channel_len + LIT_LEN(EVT_PKT_MID) +
           payload_len + LIT_LEN(EVT_PKT_TAIL);
}

/* Write the packet; out has room for it. Returns the end. The channel is
 * a valid name (chan_name_valid), so it needs no JSON escaping. */
static char *
evt_packet_write(char *p, const char *channel, size_t channel_len,
                 const char *payload, size_t payload_len)
{
    p = evt_put(p, EVT_PKT_HEAD, LIT_LEN(EVT_PKT_HEAD));
    p = evt_put(p, channel, channel_len);
    p = evt_put(p, EVT_PKT_MID, LIT_LEN(EVT_PKT_MID));
    p = evt_put(p, payload, payload_len);
    return evt_put(p, EVT_PKT_TAIL, LIT_LEN(EVT_PKT_TAIL));
}

size_t
evt_packet_encode(char *out, size_t cap, const char *channel,
                  size_t channel_len, const char *payload, size_t payload_len)
{
    size_t need = evt_packet_len(channel_len, payload_len);

    if (need >= cap)
        return need;
    *evt_packet_write(out, channel, channel_len, payload, payload_len) = '\0';
    return need;
}

size_t
evt_bus_encode(char *out, size_t cap, const char *event_id,
               const char *origin_sid, const char *channel, size_t channel_len,
               const char *payload, size_t payload_len)
{
    size_t idlen = strlen(event_id);
    size_t olen = strlen(origin_sid);
    size_t need = LIT_LEN(EVT_BUS_MAGIC) + idlen + 1 + olen + 1 +
                  evt_packet_len(channel_len, payload_len);
    char *p;

    if (need >= cap)
        return need;
    p = evt_put(out, EVT_BUS_MAGIC, LIT_LEN(EVT_BUS_MAGIC));
    p = evt_put(p, event_id, idlen);
    *p++ = ' ';
    p = evt_put(p, origin_sid, olen);
    *p++ = '\n';
    p = evt_packet_write(p, channel, channel_len, payload, payload_len);
    *p = '\0';
    return need;
}

/*
 * Scan one header field: 1..max bytes of visible ASCII (0x21-0x7e), ended
 * by the byte stop. Returns the index of stop, or 0 when malformed.
 */
static size_t
evt_field(const char *buf, size_t len, size_t at, size_t max, char stop,
          struct proto_span *sp)
{
    size_t i;

    for (i = at; i < len && i - at <= max; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == (unsigned char)stop) {
            if (i == at)
                return 0;
            sp->p = buf + at;
            sp->len = i - at;
            return i;
        }
        if (c < 0x21 || c > 0x7e)
            return 0;
    }
    return 0;
}

int
evt_bus_decode(const char *buf, size_t len, struct evt_bus_msg *m)
{
    size_t i;

    if (buf == NULL || len < LIT_LEN(EVT_BUS_MAGIC) ||
        memcmp(buf, EVT_BUS_MAGIC, LIT_LEN(EVT_BUS_MAGIC)) != 0)
        return PROTO_EINVAL;
    i = evt_field(buf, len, LIT_LEN(EVT_BUS_MAGIC), EVT_ID_MAX, ' ', &m->id);
    if (i == 0)
        return PROTO_EINVAL;
    i = evt_field(buf, len, i + 1, EVT_SID_MAX, '\n', &m->origin);
    if (i == 0)
        return PROTO_EINVAL;
    i++;
    /* The packet must be a Socket.IO EVENT: type '2' and a body. */
    if (i + 1 >= len || buf[i] != '2')
        return PROTO_EINVAL;
    m->packet.p = buf + i;
    m->packet.len = len - i;
    return PROTO_OK;
}

/* Append s escaped as a JSON string; measures only when p is NULL. */
static size_t
evt_escaped(char *p, const char *s)
{
    size_t n = strlen(s);
    size_t need = jscan_escape(s, n, NULL, 0);

    if (p != NULL)
        jscan_escape(s, n, p, need + 1);
    return need;
}

#define EVT_SYS_CODE "{\"code\":"
#define EVT_SYS_MSG ",\"message\":"
#define EVT_SYS_DATA ",\"data\":"

size_t
evt_system_object(char *out, size_t cap, const char *code, const char *message,
                  const char *data_json)
{
    size_t clen = evt_escaped(NULL, code);
    size_t mlen = evt_escaped(NULL, message);
    size_t dlen = data_json != NULL ? strlen(data_json) : 0;
    size_t need = LIT_LEN(EVT_SYS_CODE) + clen + LIT_LEN(EVT_SYS_MSG) + mlen +
                  (data_json != NULL ? LIT_LEN(EVT_SYS_DATA) + dlen : 0) + 1;
    char *p;

    if (need >= cap)
        return need;
    p = evt_put(out, EVT_SYS_CODE, LIT_LEN(EVT_SYS_CODE));
    p += evt_escaped(p, code);
    p = evt_put(p, EVT_SYS_MSG, LIT_LEN(EVT_SYS_MSG));
    p += evt_escaped(p, message);
    if (data_json != NULL) {
        p = evt_put(p, EVT_SYS_DATA, LIT_LEN(EVT_SYS_DATA));
        p = evt_put(p, data_json, dlen);
    }
    *p++ = '}';
    *p = '\0';
    return need;
}
