/*
 * utf8.c - incremental UTF-8 validation (RFC 3629 section 4 grammar).
 *
 * The state is the number of continuation bytes still expected and which
 * range the next one must fall in (the narrowed second-byte ranges are what
 * exclude overlongs, surrogates and code points above U+10FFFF).
 */
#include "utf8.h"

/* Range of the next continuation byte, RFC 3629 section 4. */
enum utf8_range {
    R_80_BF = 0,
    R_A0_BF = 1, /* after E0: no overlong 3-byte forms */
    R_80_9F = 2, /* after ED: no surrogates */
    R_90_BF = 3, /* after F0: no overlong 4-byte forms */
    R_80_8F = 4, /* after F4: nothing above U+10FFFF */
};

static const uint8_t utf8_lo[] = {0x80, 0xA0, 0x80, 0x90, 0x80};
static const uint8_t utf8_hi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};

/* A pending state: need continuation bytes, the next one in range r.
 * Always >= 16, so it never collides with UTF8_ACCEPT or UTF8_REJECT. */
#define UTF8_PENDING(need, r) (((uint32_t)(need) << 4) | (uint32_t)(r))

static uint32_t
utf8_lead(uint8_t c)
{
    if (c >= 0xC2 && c <= 0xDF)
        return UTF8_PENDING(1, R_80_BF);
    if (c == 0xE0)
        return UTF8_PENDING(2, R_A0_BF);
    if (c == 0xED)
        return UTF8_PENDING(2, R_80_9F);
    if (c >= 0xE1 && c <= 0xEF)
        return UTF8_PENDING(2, R_80_BF);
    if (c == 0xF0)
        return UTF8_PENDING(3, R_90_BF);
    if (c >= 0xF1 && c <= 0xF3)
        return UTF8_PENDING(3, R_80_BF);
    if (c == 0xF4)
        return UTF8_PENDING(3, R_80_8F);
    return UTF8_REJECT; /* 80..C1 (stray or overlong lead), F5..FF */
}

uint32_t
utf8_feed(uint32_t state, const uint8_t *s, size_t len)
{
    size_t i;

    if (state == UTF8_REJECT)
        return UTF8_REJECT;
    for (i = 0; i < len; i++) {
        uint8_t c = s[i];

        if (state == UTF8_ACCEPT) {
            if (c < 0x80)
                continue;
            state = utf8_lead(c);
            if (state == UTF8_REJECT)
                return UTF8_REJECT;
            continue;
        }
        uint32_t r = state & 15u, need = state >> 4;
        if (c < utf8_lo[r] || c > utf8_hi[r])
            return UTF8_REJECT;
        need--;
        state = need ? UTF8_PENDING(need, R_80_BF) : UTF8_ACCEPT;
    }
    return state;
}

int
utf8_valid(const uint8_t *s, size_t len)
{
    return utf8_feed(UTF8_ACCEPT, s, len) == UTF8_ACCEPT;
}
