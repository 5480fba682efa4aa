// sources: proto/json.c proto/utf8.c proto/proto.c
/*
 * fuzz_json.c - libFuzzer driver for the JSON validator and scanners: on
 * valid input, walk it with every scanner; always, escaping valid UTF-8
 * must give valid JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1), *e, out[64];
    struct proto_span v, items[8];
    size_t n, el;

    memcpy(s, data, size);
    if (jscan_validate(s, size, 32) == PROTO_OK) {
        switch (jscan_kind(s, size)) {
        case JSCAN_OBJECT:
            if (jscan_object_get(s, size, "a", &v) == PROTO_OK &&
                jscan_validate(v.p, v.len, 32) != PROTO_OK)
                abort();
            break;
        case JSCAN_ARRAY:
            if (jscan_array_items(s, size, items, 8, &n) == PROTO_OK)
                for (size_t i = 0; i < n; i++)
                    if (jscan_validate(items[i].p, items[i].len, 32) !=
                        PROTO_OK)
                        abort();
            break;
        case JSCAN_STRING:
            if (jscan_string_get(s, size, out, sizeof out) == PROTO_EINVAL)
                abort();
            break;
        case JSCAN_INVALID:
            abort();
        default:
            break;
        }
    }
    el = jscan_escape(s, size, NULL, 0);
    e = malloc(el + 1);
    if (jscan_escape(s, size, e, el + 1) != el)
        abort();
    if (utf8_valid((const uint8_t *)s, size) &&
        jscan_validate(e, el, 1) != PROTO_OK)
        abort();
    free(e);
    free(s);
    return 0;
}
