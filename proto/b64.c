/*
 * b64.c - base64 (RFC 4648 section 4, padded) and base64url (section 5,
 * unpadded). Decoders are strict: no whitespace, no stray padding, and the
 * unused low bits of the last symbol must be zero (canonical encoding).
 */
#include "b64.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of c in the alphabet (url selects base64url), or -1. */
static int
b64_val(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

static size_t
b64_enc(const uint8_t *in, size_t len, char *out, size_t cap, const char *alpha,
        int pad)
{
    size_t n = (len / 3) * 4, i, o = 0;

    if (len % 3)
        n += pad ? 4 : (len % 3) + 1;
    if (out == NULL || cap < n + 1)
        return n;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* Decode len symbols (padding already stripped) of one alphabet. */
static ssize_t
b64_dec(const char *in, size_t len, uint8_t *out, size_t cap, int url)
{
    size_t full = len / 4, rest = len % 4, need, i, o = 0;

    if (rest == 1)
        return PROTO_EINVAL;
    need = full * 3 + (rest ? rest - 1 : 0);
    if (need > cap)
        return PROTO_ETOOBIG;
    for (i = 0; i < len; i += 4) {
        size_t k = len - i < 4 ? len - i : 4, j;
        uint32_t v = 0;

        for (j = 0; j < 4; j++) {
            int d = j < k ? b64_val((unsigned char)in[i + j], url) : 0;
            if (d < 0)
                return PROTO_EINVAL;
            v = v << 6 | (uint32_t)d;
        }
        /* Canonical form: bits not carried by an output byte are zero. */
        if ((k == 2 && (v & 0xFFFF)) || (k == 3 && (v & 0xFF)))
            return PROTO_EINVAL;
        out[o++] = (uint8_t)(v >> 16);
        if (k > 2)
            out[o++] = (uint8_t)(v >> 8);
        if (k > 3)
            out[o++] = (uint8_t)v;
    }
    return (ssize_t)o;
}

size_t
b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    return b64_enc(in, len, out, cap, b64_std, 1);
}

ssize_t
b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t pad = 0;

    if (len % 4)
        return PROTO_EINVAL;
    if (len > 0 && in[len - 1] == '=')
        pad++;
    if (len > 1 && in[len - 2] == '=')
        pad++;
    /* b64_dec rejects any '=' left inside the remaining symbols. */
    return b64_dec(in, len - pad, out, cap, 0);
}

size_t
b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    return b64_enc(in, len, out, cap, b64_url, 0);
}

ssize_t
b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    return b64_dec(in, len, out, cap, 1);
}
