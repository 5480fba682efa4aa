/*
 * gw_frame.c - shared outgoing frames: one allocation holding
 * [WebSocket header]['4'][Socket.IO packet], refcounted, queued by
 * reference into every socket's output (never copied per socket).
 * WebSocket sockets send all of it; polling sockets send from the '4'.
 */
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "ws.h"

struct gw_frame *
gw_frame_new(const char *sio_packet, size_t len)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hlen = ws_frame_header(hdr, 1, WS_OP_TEXT, (uint64_t)len + 1);
    struct gw_frame *f = malloc(sizeof(*f) + hlen + 1 + len);

    if (f == NULL)
        return NULL;
    f->refs = 1;
    f->ws_hdr = (uint32_t)hlen;
    f->len = hlen + 1 + len;
    memcpy(f->data, hdr, hlen);
    f->data[hlen] = '4'; /* Engine.IO MESSAGE */
    memcpy(f->data + hlen + 1, sio_packet, len);
    return f;
}

void
gw_frame_ref(struct gw_frame *f)
{
    f->refs++;
}

void
gw_frame_unref(struct gw_frame *f)
{
    if (f != NULL && --f->refs == 0)
        free(f);
}
