/*
 * json.h - a strict, bounded JSON (RFC 8259) validator and span scanner.
 *
 * Why not cJSON here: events must reach clients byte for byte as published
 * (same numbers, same escapes, same member order), so we validate the text
 * and then copy the payload's own bytes; cJSON would re-print them.
 * Nothing is allocated; every result is a span into the caller's text.
 *
 * Prefix jscan_, not json_: libjwt links Jansson, which owns json_*, and a
 * json_object_get of ours would interpose on Jansson's inside libjwt.
 */
#ifndef SSE_PROTO_JSON_H
#define SSE_PROTO_JSON_H

#include "proto.h"

#define JSCAN_DEFAULT_DEPTH 64

enum jscan_kind {
    JSCAN_INVALID = 0,
    JSCAN_OBJECT,
    JSCAN_ARRAY,
    JSCAN_STRING,
    JSCAN_NUMBER,
    JSCAN_TRUE,
    JSCAN_FALSE,
    JSCAN_NULL,
};

/* Validate that s[0..len) is exactly one JSON value, optionally surrounded
 * by whitespace, nested at most max_depth deep, with valid UTF-8 in strings.
 * A scalar has depth 0, "[]" depth 1; max_depth above 4096 counts as 4096.
 * No recursion. Returns PROTO_OK or PROTO_EINVAL. */
int jscan_validate(const char *s, size_t len, unsigned max_depth);

/* Kind of a value span (leading whitespace skipped; no validation). */
enum jscan_kind jscan_kind(const char *v, size_t len);

/* Trim whitespace around a value: the returned span is the value itself. */
struct proto_span jscan_trim(const char *v, size_t len);

/*
 * In a validated object span, find the member named key (compared after
 * unescaping the member name). When a name repeats, the last one wins, as
 * in JavaScript's JSON.parse. Sets *val to the member's value span.
 * Returns PROTO_OK, PROTO_NOTFOUND, or PROTO_EINVAL if obj is no object.
 */
int jscan_object_get(const char *obj, size_t len, const char *key,
                     struct proto_span *val);

/* Spans of the items of a validated array; at most max (PROTO_ETOOBIG
 * past it); *n is the number stored. Returns PROTO_OK or PROTO_EINVAL
 * if arr is no array. */
int jscan_array_items(const char *arr, size_t len, struct proto_span *items,
                      size_t max, size_t *n);

/*
 * Walk the items of a validated array one at a time (no bound on their
 * number, nothing stored). init returns PROTO_OK or PROTO_EINVAL if arr is
 * no array; next returns 1 and sets *item (a span into arr), 0 after the
 * last item, or PROTO_EINVAL on malformed text.
 */
struct jscan_array_iter {
    const char *p;
    const char *end;
    int first;
};

int jscan_array_iter_init(struct jscan_array_iter *it, const char *arr,
                          size_t len);
int jscan_array_iter_next(struct jscan_array_iter *it, struct proto_span *item);

/*
 * Unescape a validated string value span (with its quotes) into out, with a
 * NUL. Returns the unescaped length, or PROTO_ETOOBIG if it does not fit in
 * cap - 1, or PROTO_EINVAL if v is no string.
 */
ssize_t jscan_string_get(const char *v, size_t len, char *out, size_t cap);

/*
 * Write s as a JSON string literal (with quotes), escaping ", \ and control
 * characters. Returns the length needed; writes (with a NUL) only if it fits.
 */
size_t jscan_escape(const char *s, size_t len, char *out, size_t cap);

#endif
