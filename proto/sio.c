/*
 * sio.c - Socket.IO v5 packets: header parsing with the data part checked
 * as JSON of the right kind, event splitting, header encoding and the
 * binary-placeholder check. Follows socket.io-parser 4.2's decodeString and
 * isPayloadValid, but stricter where it is lax (ack id range, empty data).
 */
#include "sio.h"

#include <string.h>

#include "json.h"

#define SIO_DIGIT(c) ((c) >= '0' && (c) <= '9')

/* Parse "<n>-" of a binary packet at *sp. */
static int
sio_attachments(const char **sp, const char *end, unsigned *out)
{
    const char *s = *sp;
    unsigned n = 0;
    size_t digits = 0;

    while (s < end && SIO_DIGIT(*s)) {
        if (n > SIO_MAX_ATTACHMENTS) /* keep counting digits, not value */
            n = SIO_MAX_ATTACHMENTS + 1;
        else
            n = n * 10 + (unsigned)(*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || s >= end || *s != '-')
        return PROTO_EINVAL;
    if (n == 0) /* a binary packet carries at least one attachment */
        return PROTO_EINVAL;
    if (n > SIO_MAX_ATTACHMENTS)
        return PROTO_ETOOBIG;
    *out = n;
    *sp = s + 1;
    return PROTO_OK;
}

/* Digits of an ack id, non-negative and within int64. */
static int
sio_ack_id(const char **sp, const char *end, int64_t *out)
{
    const char *s = *sp;
    int64_t v = 0;

    while (s < end && SIO_DIGIT(*s)) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return PROTO_EINVAL;
        v = v * 10 + d;
        s++;
    }
    *out = v;
    *sp = s;
    return PROTO_OK;
}

/* Does data have the JSON kind this packet type requires? */
static int
sio_data_ok(enum sio_type type, const char *d, size_t len)
{
    enum jscan_kind k = jscan_kind(d, len);
    struct jscan_array_iter it;
    struct proto_span first;

    switch (type) {
    case SIO_CONNECT:
        return k == JSCAN_OBJECT;
    case SIO_DISCONNECT:
        return 0; /* carries no data */
    case SIO_CONNECT_ERROR:
        return k == JSCAN_OBJECT || k == JSCAN_STRING;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        if (k != JSCAN_ARRAY || jscan_array_iter_init(&it, d, len) != PROTO_OK)
            return 0;
        return jscan_array_iter_next(&it, &first) == 1 &&
               jscan_kind(first.p, first.len) == JSCAN_STRING;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        return k == JSCAN_ARRAY;
    }
    return 0;
}

int
sio_packet_decode(const char *buf, size_t len, unsigned max_depth,
                  struct sio_packet *pkt)
{
    const char *s = buf, *end = buf + len;
    int rc;

    if (len == 0 || buf[0] < '0' || buf[0] > '6')
        return PROTO_EINVAL;
    pkt->type = (enum sio_type)(buf[0] - '0');
    pkt->attachments = 0;
    pkt->nsp.p = "/";
    pkt->nsp.len = 1;
    pkt->ack_id = -1;
    pkt->data.p = NULL;
    pkt->data.len = 0;
    s++;
    if (pkt->type == SIO_BINARY_EVENT || pkt->type == SIO_BINARY_ACK) {
        if ((rc = sio_attachments(&s, end, &pkt->attachments)) != PROTO_OK)
            return rc;
    }
    if (s < end && *s == '/') { /* namespace: up to ',' or the end */
        const char *c = memchr(s, ',', (size_t)(end - s));
        pkt->nsp.p = s;
        pkt->nsp.len = (size_t)((c ? c : end) - s);
        s = c ? c + 1 : end;
    }
    if (s < end && SIO_DIGIT(*s)) {
        /* Only events and acks carry ids; an ack needs one (checked below). */
        if (pkt->type == SIO_CONNECT || pkt->type == SIO_DISCONNECT ||
            pkt->type == SIO_CONNECT_ERROR)
            return PROTO_EINVAL;
        if (sio_ack_id(&s, end, &pkt->ack_id) != PROTO_OK)
            return PROTO_EINVAL;
    }
    if ((pkt->type == SIO_ACK || pkt->type == SIO_BINARY_ACK) &&
        pkt->ack_id < 0)
        return PROTO_EINVAL;
    if (s == end) {
        /* Events and acks carry an array; CONNECT may omit its object. */
        if (pkt->type == SIO_EVENT || pkt->type == SIO_BINARY_EVENT ||
            pkt->type == SIO_ACK || pkt->type == SIO_BINARY_ACK)
            return PROTO_EINVAL;
        return PROTO_OK;
    }
    pkt->data.p = s;
    pkt->data.len = (size_t)(end - s);
    if (jscan_validate(s, pkt->data.len, max_depth) != PROTO_OK ||
        !sio_data_ok(pkt->type, s, pkt->data.len))
        return PROTO_EINVAL;
    return PROTO_OK;
}

int
sio_event_split(const struct sio_packet *pkt, struct proto_span *name,
                struct proto_span *args, size_t max_args, size_t *nargs)
{
    struct jscan_array_iter it;
    struct proto_span item;
    int rc;

    *nargs = 0;
    if ((pkt->type != SIO_EVENT && pkt->type != SIO_BINARY_EVENT) ||
        jscan_array_iter_init(&it, pkt->data.p, pkt->data.len) != PROTO_OK ||
        jscan_array_iter_next(&it, &item) != 1 || item.len < 2 ||
        item.p[0] != '"')
        return PROTO_EINVAL;
    /* Names with escapes are refused so the raw span is the name. */
    if (memchr(item.p, '\\', item.len) != NULL)
        return PROTO_EINVAL;
    name->p = item.p + 1;
    name->len = item.len - 2;
    while ((rc = jscan_array_iter_next(&it, &item)) == 1) {
        if (*nargs == max_args)
            return PROTO_ETOOBIG;
        args[(*nargs)++] = item;
    }
    return rc == 0 ? PROTO_OK : PROTO_EINVAL;
}

size_t
sio_header_encode(char *out, enum sio_type type, unsigned attachments,
                  const char *nsp, size_t nsp_len, int64_t ack_id)
{
    char digits[20];
    size_t o = 0, k;
    uint64_t v;

    if (attachments > SIO_MAX_ATTACHMENTS ||
        (nsp_len > SIO_MAX_NSP && !(nsp_len == 1 && nsp[0] == '/')))
        return 0;
    out[o++] = (char)('0' + type);
    if (attachments > 0) {
        if (attachments >= 10)
            out[o++] = (char)('0' + attachments / 10);
        out[o++] = (char)('0' + attachments % 10);
        out[o++] = '-';
    }
    if (nsp != NULL && nsp_len > 0 && !(nsp_len == 1 && nsp[0] == '/')) {
        memcpy(out + o, nsp, nsp_len);
        o += nsp_len;
        out[o++] = ',';
    }
    if (ack_id >= 0) {
        v = (uint64_t)ack_id;
        k = 0;
        do {
            digits[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        while (k > 0)
            out[o++] = digits[--k];
    }
    return o;
}

/* End of the container at s (validated text), by bracket count. */
static const char *
sio_container_end(const char *s, const char *end)
{
    size_t depth = 0;

    for (; s < end; s++) {
        if (*s == '"') {
            for (s++; s < end && *s != '"'; s++)
                if (*s == '\\')
                    s++;
            if (s >= end)
                return NULL;
        } else if (*s == '{' || *s == '[') {
            depth++;
        } else if ((*s == '}' || *s == ']') && --depth == 0) {
            return s + 1;
        }
    }
    return NULL;
}

/* If the object obj is a placeholder, check its num and mark it in *seen.
 * Returns 1 (a placeholder), 0 (an ordinary object) or PROTO_EINVAL. */
static int
sio_placeholder(const char *obj, size_t len, unsigned n, uint64_t *seen)
{
    struct proto_span v;
    uint64_t num = 0;

    if (jscan_object_get(obj, len, "_placeholder", &v) != PROTO_OK ||
        v.len != 4 || memcmp(v.p, "true", 4) != 0)
        return 0;
    /* socket.io-parser: num must be a number indexing the attachments. */
    if (jscan_object_get(obj, len, "num", &v) != PROTO_OK || v.len == 0 ||
        v.len > 2)
        return PROTO_EINVAL;
    for (size_t i = 0; i < v.len; i++) {
        if (!SIO_DIGIT(v.p[i]))
            return PROTO_EINVAL;
        num = num * 10 + (uint64_t)(v.p[i] - '0');
    }
    if ((v.len == 2 && v.p[0] == '0') || num >= n)
        return PROTO_EINVAL;
    *seen |= (uint64_t)1 << num;
    return 1;
}

int
sio_placeholders_check(const char *data, size_t len, unsigned n,
                       unsigned max_depth)
{
    const char *s = data, *end = data + len;
    uint64_t seen = 0, want;

    if (n > SIO_MAX_ATTACHMENTS || jscan_validate(data, len, max_depth) != 0)
        return PROTO_EINVAL;
    while (s < end) {
        if (*s == '"') { /* skip strings: braces inside are text */
            for (s++; s < end && *s != '"'; s++)
                if (*s == '\\')
                    s++;
            s++;
            continue;
        }
        if (*s == '{') {
            const char *e = sio_container_end(s, end);
            int rc;

            if (e == NULL)
                return PROTO_EINVAL;
            rc = sio_placeholder(s, (size_t)(e - s), n, &seen);
            if (rc < 0)
                return PROTO_EINVAL;
            if (rc == 1) { /* a placeholder is a leaf: skip it whole */
                s = e;
                continue;
            }
        }
        s++;
    }
    want = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    return seen == want ? PROTO_OK : PROTO_EINVAL;
}
