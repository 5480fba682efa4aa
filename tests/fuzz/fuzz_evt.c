// sources: proto/evt.c proto/chan.c proto/json.c proto/utf8.c proto/proto.c
/*
 * fuzz_evt.c - libFuzzer driver for the bus message decoder and the channel
 * name check: no input may crash or read past its end, a decoded message's
 * spans must lie inside the input, and re-encoding a decoded message whose
 * packet we built must give back the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "evt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_span(const char *buf, size_t len, struct proto_span sp)
{
    if (sp.p < buf || sp.p + sp.len > buf + len)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly size bytes, so ASan sees any over-read. */
    char *buf = malloc(size > 0 ? size : 1);
    struct evt_bus_msg m;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    if (evt_bus_decode(buf, size, &m) == PROTO_OK) {
        fuzz_check_span(buf, size, m.id);
        fuzz_check_span(buf, size, m.origin);
        fuzz_check_span(buf, size, m.packet);
        if (m.id.len == 0 || m.id.len > EVT_ID_MAX || m.origin.len == 0 ||
            m.origin.len > EVT_SID_MAX || m.packet.len < 2 ||
            m.packet.p[0] != '2')
            abort();
    }

    int valid = chan_name_valid(buf, size);
    if (valid &&
        (size == 0 || size > CHAN_NAME_MAX || memchr(buf, '|', size) != NULL ||
         memchr(buf, '"', size) != NULL))
        abort();
    if (valid)
        (void)chan_is_private(buf, size);
    (void)chan_project_id_valid(buf, size);

    /* Round trip: a valid name and the input as an opaque payload. */
    if (valid) {
        size_t need = evt_bus_encode(NULL, 0, "id", "-", buf, size, "null", 4);
        char *out = malloc(need + 1);
        if (out != NULL && evt_bus_encode(out, need + 1, "id", "-", buf, size,
                                          "null", 4) == need) {
            if (evt_bus_decode(out, need, &m) != PROTO_OK || m.id.len != 2 ||
                memcmp(m.id.p, "id", 2) != 0)
                abort();
        }
        free(out);
    }
    free(buf);
    return 0;
}
