// sources: proto/ws.c proto/utf8.c proto/b64.c proto/proto.c
/*
 * fuzz_ws.c - libFuzzer driver for the WebSocket frame parser: feeds the
 * input as a stream of frames (small limits from the first byte so the
 * 1009 paths are reached), and the accept-key builder.
 */
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_parser p;
    struct ws_event ev;
    uint8_t *buf;
    size_t off = 0, lim;
    char acc[29];

    if (size < 1)
        return 0;
    lim = (size_t)(data[0] & 0x3f) * 8; /* 0..504 */
    ws_parser_init(&p, lim, lim * 2);
    buf = malloc(size - 1 ? size - 1 : 1); /* exact size: over-reads trap */
    memcpy(buf, data + 1, size - 1);
    while (off < size - 1) {
        ssize_t rc = ws_parser_feed(&p, buf + off, size - 1 - off, &ev);
        if (rc <= 0)
            break;
        if ((size_t)rc > size - 1 - off)
            abort();
        if (ev.type == WS_EV_MESSAGE && ev.len > p.max_message)
            abort();
        if (ev.len > 0) { /* read both ends so ASan checks the span */
            volatile uint8_t sink = ev.data[0] ^ ev.data[ev.len - 1];
            (void)sink;
        }
        off += (size_t)rc;
    }
    ws_parser_reset(&p);
    free(buf);
    if (size >= 24)
        ws_accept_key((const char *)data, 24, acc);
    return 0;
}
