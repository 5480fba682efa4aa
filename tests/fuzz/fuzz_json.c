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
    if (json_validate(s, size, 32) == PROTO_OK) {
        switch (json_kind(s, size)) {
        case JSON_OBJECT:
            if (json_object_get(s, size, "a", &v) == PROTO_OK &&
                json_validate(v.p, v.len, 32) != PROTO_OK)
                abort();
            break;
        case JSON_ARRAY:
            if (json_array_items(s, size, items, 8, &n) == PROTO_OK)
                for (size_t i = 0; i < n; i++)
                    if (json_validate(items[i].p, items[i].len, 32) !=
                        PROTO_OK)
                        abort();
            break;
        case JSON_STRING:
            if (json_string_get(s, size, out, sizeof out) == PROTO_EINVAL)
                abort();
            break;
        case JSON_INVALID:
            abort();
        default:
            break;
        }
    }
    el = json_escape(s, size, NULL, 0);
    e = malloc(el + 1);
    if (json_escape(s, size, e, el + 1) != el)
        abort();
    if (utf8_valid((const uint8_t *)s, size) &&
        json_validate(e, el, 1) != PROTO_OK)
        abort();
    free(e);
    free(s);
    return 0;
}
