/*
 * json.c - strict RFC 8259 validation and span scanning, without
 * allocation or recursion: the validator keeps its nesting in a bit stack,
 * the scanners skip values by counting brackets outside strings.
 * The scanners (object_get, array_items, ...) expect validated text but
 * stay in bounds and fail cleanly on anything else.
 */
#include "json.h"

#include <string.h>

#include "utf8.h"

#define JSON_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define JSON_DIGIT(c) ((c) >= '0' && (c) <= '9')

static const char *
json_skip_ws(const char *s, const char *end)
{
    while (s < end && JSON_WS(*s))
        s++;
    return s;
}

static int
json_hex(const char *s, const char *end, unsigned *out)
{
    unsigned v = 0;

    if (end - s < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/*
 * Decode one character of a string body at *sp (not at the closing quote):
 * an escape (with surrogate pairs joined) or one raw byte. Sets *cp to the
 * code point, or for a raw byte to the byte itself with *raw = 1.
 * Returns 0, or -1 on a bad escape or an unpaired surrogate.
 */
static int
json_char(const char **sp, const char *end, unsigned *cp, int *raw)
{
    const char *s = *sp;
    unsigned u, lo;

    *raw = 0;
    if (*s != '\\') {
        *cp = (unsigned char)*s;
        *raw = 1;
        *sp = s + 1;
        return 0;
    }
    if (++s >= end)
        return -1;
    switch (*s) {
    case '"':
    case '\\':
    case '/':
        *cp = (unsigned char)*s;
        break;
    case 'b':
        *cp = '\b';
        break;
    case 'f':
        *cp = '\f';
        break;
    case 'n':
        *cp = '\n';
        break;
    case 'r':
        *cp = '\r';
        break;
    case 't':
        *cp = '\t';
        break;
    case 'u':
        if (json_hex(s + 1, end, &u) < 0)
            return -1;
        s += 4;
        if (u >= 0xDC00 && u <= 0xDFFF)
            return -1; /* a low surrogate with no high one before it */
        if (u >= 0xD800 && u <= 0xDBFF) {
            /* RFC 8259 7: a high surrogate must be followed by a low one */
            if (end - s < 3 || s[1] != '\\' || s[2] != 'u' ||
                json_hex(s + 3, end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            s += 6;
        }
        *cp = u;
        break;
    default:
        return -1;
    }
    *sp = s + 1;
    return 0;
}

/* Scan a string at s (on its opening quote), strictly. Returns the pointer
 * past the closing quote, or NULL. */
static const char *
json_scan_string(const char *s, const char *end)
{
    uint32_t st = UTF8_ACCEPT;

    s++;
    while (s < end) {
        unsigned char c = (unsigned char)*s;
        unsigned cp;
        int raw;

        if (st != UTF8_ACCEPT || c >= 0x80) {
            st = utf8_feed(st, &c, 1);
            if (st == UTF8_REJECT)
                return NULL;
            s++;
            continue;
        }
        if (c == '"')
            return s + 1;
        if (c < 0x20) /* RFC 8259 7: control characters must be escaped */
            return NULL;
        if (json_char(&s, end, &cp, &raw) < 0)
            return NULL;
    }
    return NULL;
}

/* RFC 8259 6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static const char *
json_scan_number(const char *s, const char *end)
{
    if (s < end && *s == '-')
        s++;
    if (s >= end || !JSON_DIGIT(*s))
        return NULL;
    if (*s == '0')
        s++;
    else
        while (s < end && JSON_DIGIT(*s))
            s++;
    if (s < end && *s == '.') {
        if (++s >= end || !JSON_DIGIT(*s))
            return NULL;
        while (s < end && JSON_DIGIT(*s))
            s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            s++;
        if (s >= end || !JSON_DIGIT(*s))
            return NULL;
        while (s < end && JSON_DIGIT(*s))
            s++;
    }
    return s;
}

static const char *
json_scan_literal(const char *s, const char *end, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(end - s) < n || memcmp(s, lit, n) != 0)
        return NULL;
    return s + n;
}

/* Scan one scalar (string, number, literal) strictly; NULL if bad. */
static const char *
json_scan_scalar(const char *s, const char *end)
{
    switch (*s) {
    case '"':
        return json_scan_string(s, end);
    case 't':
        return json_scan_literal(s, end, "true");
    case 'f':
        return json_scan_literal(s, end, "false");
    case 'n':
        return json_scan_literal(s, end, "null");
    default:
        return json_scan_number(s, end);
    }
}

/* Depth the bit stack can hold; a larger max_depth is clamped to it. */
#define JSON_STACK_DEPTH 4096

int
jscan_validate(const char *text, size_t len, unsigned max_depth)
{
    uint8_t stack[JSON_STACK_DEPTH / 8]; /* bit set: object, else array */
    const char *s = text, *end = text + len;
    unsigned depth = 0;

    if (max_depth > JSON_STACK_DEPTH)
        max_depth = JSON_STACK_DEPTH;
value:
    s = json_skip_ws(s, end);
    if (s >= end)
        return PROTO_EINVAL;
    if (*s == '{' || *s == '[') {
        int obj = *s == '{';
        if (depth >= max_depth)
            return PROTO_EINVAL;
        if (obj)
            stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
        else
            stack[depth / 8] &= (uint8_t) ~(1u << (depth % 8));
        depth++;
        s = json_skip_ws(s + 1, end);
        if (s < end && *s == (obj ? '}' : ']')) {
            depth--;
            s++;
            goto after;
        }
        if (obj)
            goto member;
        goto value;
    }
    s = json_scan_scalar(s, end);
    if (s == NULL)
        return PROTO_EINVAL;
after:
    s = json_skip_ws(s, end);
    if (depth == 0)
        return s == end ? PROTO_OK : PROTO_EINVAL;
    if (s >= end)
        return PROTO_EINVAL;
    {
        int obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        if (*s == (obj ? '}' : ']')) {
            depth--;
            s++;
            goto after;
        }
        if (*s != ',')
            return PROTO_EINVAL;
        s = json_skip_ws(s + 1, end);
        if (!obj)
            goto value;
    }
member: /* at a member name: "name" ws : value */
    if (s >= end || *s != '"' || (s = json_scan_string(s, end)) == NULL)
        return PROTO_EINVAL;
    s = json_skip_ws(s, end);
    if (s >= end || *s != ':')
        return PROTO_EINVAL;
    s++;
    goto value;
}

enum jscan_kind
jscan_kind(const char *v, size_t len)
{
    const char *s = json_skip_ws(v, v + len);

    if (s >= v + len)
        return JSCAN_INVALID;
    switch (*s) {
    case '{':
        return JSCAN_OBJECT;
    case '[':
        return JSCAN_ARRAY;
    case '"':
        return JSCAN_STRING;
    case 't':
        return JSCAN_TRUE;
    case 'f':
        return JSCAN_FALSE;
    case 'n':
        return JSCAN_NULL;
    default:
        return (*s == '-' || JSON_DIGIT(*s)) ? JSCAN_NUMBER : JSCAN_INVALID;
    }
}

struct proto_span
jscan_trim(const char *v, size_t len)
{
    const char *s = json_skip_ws(v, v + len), *e = v + len;
    struct proto_span sp;

    while (e > s && JSON_WS(e[-1]))
        e--;
    sp.p = s;
    sp.len = (size_t)(e - s);
    return sp;
}

/* Skip a string without checking it: past the closing quote, or NULL. */
static const char *
json_skip_string(const char *s, const char *end)
{
    for (s++; s < end; s++) {
        if (*s == '\\') {
            if (++s >= end)
                return NULL;
        } else if (*s == '"') {
            return s + 1;
        }
    }
    return NULL;
}

/* Skip one value of validated text at s (no leading whitespace). Returns
 * the end of the value or NULL. Containers are skipped by bracket count. */
static const char *
json_skip_value(const char *s, const char *end)
{
    size_t depth = 0;

    if (s >= end)
        return NULL;
    if (*s == '"')
        return json_skip_string(s, end);
    if (*s != '{' && *s != '[') {
        while (s < end && !JSON_WS(*s) && *s != ',' && *s != '}' && *s != ']' &&
               *s != ':')
            s++;
        return s;
    }
    while (s < end) {
        if (*s == '"') {
            if ((s = json_skip_string(s, end)) == NULL)
                return NULL;
            continue;
        }
        if (*s == '{' || *s == '[')
            depth++;
        else if ((*s == '}' || *s == ']') && --depth == 0)
            return s + 1;
        s++;
    }
    return NULL;
}

int
jscan_array_iter_init(struct jscan_array_iter *it, const char *arr, size_t len)
{
    struct proto_span t = jscan_trim(arr, len);

    if (t.len < 2 || t.p[0] != '[' || t.p[t.len - 1] != ']')
        return PROTO_EINVAL;
    it->p = t.p + 1;
    it->end = t.p + t.len - 1; /* at the closing bracket */
    it->first = 1;
    return PROTO_OK;
}

int
jscan_array_iter_next(struct jscan_array_iter *it, struct proto_span *item)
{
    const char *s = json_skip_ws(it->p, it->end), *e;

    if (s >= it->end)
        return 0;
    if (!it->first) {
        if (*s != ',')
            return PROTO_EINVAL;
        s = json_skip_ws(s + 1, it->end);
    }
    e = json_skip_value(s, it->end);
    if (e == NULL || e == s)
        return PROTO_EINVAL;
    item->p = s;
    item->len = (size_t)(e - s);
    it->p = e;
    it->first = 0;
    return 1;
}

int
jscan_array_items(const char *arr, size_t len, struct proto_span *items,
                  size_t max, size_t *n)
{
    struct jscan_array_iter it;
    struct proto_span item;
    int rc;

    *n = 0;
    if (jscan_array_iter_init(&it, arr, len) != PROTO_OK)
        return PROTO_EINVAL;
    while ((rc = jscan_array_iter_next(&it, &item)) == 1) {
        if (*n == max)
            return PROTO_ETOOBIG;
        items[(*n)++] = item;
    }
    return rc == 0 ? PROTO_OK : PROTO_EINVAL;
}

/* Append code point cp as UTF-8 (raw bytes pass through as they are). */
static size_t
json_put_utf8(char *o, unsigned cp, int raw)
{
    if (raw || cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Unescape the string at s (on its opening quote) up to end. With out ==
 * NULL only measures. Returns the unescaped length, or -1 when malformed;
 * sets *past to the byte after the closing quote.
 */
static ssize_t
json_unescape(const char *s, const char *end, char *out, size_t cap,
              const char **past)
{
    size_t n = 0;
    char tmp[4];

    if (s >= end || *s != '"')
        return -1;
    s++;
    while (s < end && *s != '"') {
        unsigned cp;
        int raw;
        size_t k;

        if (json_char(&s, end, &cp, &raw) < 0)
            return -1;
        k = json_put_utf8(tmp, cp, raw);
        if (out != NULL && n + k <= cap)
            memcpy(out + n, tmp, k);
        n += k;
    }
    if (s >= end)
        return -1;
    *past = s + 1;
    return (ssize_t)n;
}

ssize_t
jscan_string_get(const char *v, size_t len, char *out, size_t cap)
{
    struct proto_span t = jscan_trim(v, len);
    const char *past;
    ssize_t n;

    if (t.len < 2 || t.p[0] != '"')
        return PROTO_EINVAL;
    n = json_unescape(t.p, t.p + t.len, NULL, 0, &past);
    if (n < 0 || past != t.p + t.len)
        return PROTO_EINVAL;
    if (cap == 0 || (size_t)n > cap - 1)
        return PROTO_ETOOBIG;
    json_unescape(t.p, t.p + t.len, out, cap - 1, &past);
    out[n] = '\0';
    return n;
}

/* 1 if the member name at s (on its quote) unescapes to key. Sets *past. */
static int
json_name_eq(const char *s, const char *end, const char *key, const char **past)
{
    size_t klen = strlen(key), n = 0;
    char tmp[4];

    if (s >= end || *s != '"')
        return -1;
    s++;
    int eq = 1;
    while (s < end && *s != '"') {
        unsigned cp;
        int raw;
        size_t k;

        if (json_char(&s, end, &cp, &raw) < 0)
            return -1;
        k = json_put_utf8(tmp, cp, raw);
        if (n + k > klen || memcmp(key + n, tmp, k) != 0)
            eq = 0;
        n += k;
    }
    if (s >= end)
        return -1;
    *past = s + 1;
    return eq && n == klen;
}

int
jscan_object_get(const char *obj, size_t len, const char *key,
                 struct proto_span *val)
{
    struct proto_span t = jscan_trim(obj, len);
    const char *s, *end, *v;
    int found = 0;

    if (t.len < 2 || t.p[0] != '{' || t.p[t.len - 1] != '}')
        return PROTO_EINVAL;
    s = t.p + 1;
    end = t.p + t.len - 1;
    for (;;) {
        int eq;

        s = json_skip_ws(s, end);
        if (s >= end)
            break;
        if ((eq = json_name_eq(s, end, key, &s)) < 0)
            return PROTO_EINVAL;
        s = json_skip_ws(s, end);
        if (s >= end || *s != ':')
            return PROTO_EINVAL;
        s = json_skip_ws(s + 1, end);
        v = json_skip_value(s, end);
        if (v == NULL || v == s)
            return PROTO_EINVAL;
        if (eq) { /* keep going: the last duplicate wins */
            val->p = s;
            val->len = (size_t)(v - s);
            found = 1;
        }
        s = json_skip_ws(v, end);
        if (s < end && *s++ != ',')
            return PROTO_EINVAL;
    }
    return found ? PROTO_OK : PROTO_NOTFOUND;
}

size_t
jscan_escape(const char *s, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 2, i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' ||
            c == '\r' || c == '\t')
            n += 2;
        else if (c < 0x20)
            n += 6;
        else
            n += 1;
    }
    if (out == NULL || cap < n + 1)
        return n;
    out[o++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = 0;

        switch (c) {
        case '"':
            e = '"';
            break;
        case '\\':
            e = '\\';
            break;
        case '\b':
            e = 'b';
            break;
        case '\f':
            e = 'f';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        case '\t':
            e = 't';
            break;
        }
        if (e) {
            out[o++] = '\\';
            out[o++] = e;
        } else if (c < 0x20) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}
