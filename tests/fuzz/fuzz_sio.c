// sources: proto/sio.c proto/json.c proto/utf8.c proto/proto.c
/*
 * fuzz_sio.c - libFuzzer driver for Socket.IO packets: decode, then on
 * success split events, check placeholders and round-trip the header.
 */
#include <stdlib.h>
#include <string.h>

#include "sio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    struct sio_packet pkt, back;
    struct proto_span name, args[4];
    char hdr[SIO_MAX_HEADER + 1];
    size_t nargs, h;

    memcpy(s, data, size);
    if (sio_packet_decode(s, size, 16, &pkt) == PROTO_OK) {
        sio_event_split(&pkt, &name, args, 4, &nargs);
        if (pkt.data.len > 0)
            sio_placeholders_check(pkt.data.p, pkt.data.len, pkt.attachments,
                                   16);
        h = sio_header_encode(hdr, pkt.type, pkt.attachments, pkt.nsp.p,
                              pkt.nsp.len, pkt.ack_id);
        if (h > SIO_MAX_HEADER)
            abort();
        /* a header we write decodes to the same fields */
        if (h > 0 && pkt.data.len == 0 && pkt.nsp.len > 1 &&
            sio_packet_decode(hdr, h, 16, &back) == PROTO_OK &&
            (back.type != pkt.type || back.ack_id != pkt.ack_id ||
             back.nsp.len != pkt.nsp.len))
            abort();
    }
    free(s);
    return 0;
}
