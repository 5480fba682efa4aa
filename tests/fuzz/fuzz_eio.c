// sources: proto/eio.c proto/b64.c proto/proto.c
/*
 * fuzz_eio.c - libFuzzer driver for Engine.IO: one packet, a polling
 * payload (with base64 decoding of binary segments) and a handshake query.
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "eio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    struct eio_payload_iter it;
    struct eio_packet pkt;
    struct eio_query q;
    uint8_t bin[256];
    int rc, n = 0;

    memcpy(s, data, size);
    eio_packet_decode(s, size, &pkt);
    eio_payload_iter_init(&it, s, size);
    while ((rc = eio_payload_next(&it, &pkt)) == 1) {
        if (pkt.data < s || pkt.data + pkt.len > s + size)
            abort();
        if (pkt.binary)
            b64_decode(pkt.data, pkt.len, bin, sizeof bin);
        if (++n > (int)size + 1)
            abort(); /* the iterator must make progress and end */
    }
    if (eio_query_parse(s, size, &q) == PROTO_OK && q.sid.p != NULL &&
        (q.sid.p < s || q.sid.p + q.sid.len > s + size))
        abort();
    free(s);
    return 0;
}
