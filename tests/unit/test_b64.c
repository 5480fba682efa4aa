/*
 * test_b64.c - base64 and base64url: RFC 4648 section 10 vectors both
 * ways, strict rejection of bad symbols and padding, caps, guarded reads.
 */
#include "t.h"

#include "b64.h"

static const char *rfc[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void
check_std(const char *plain, const char *enc)
{
    char out[64];
    uint8_t dec[64];
    size_t pl = strlen(plain), el = strlen(enc);
    char *g;

    T_EQ_INT(b64_encode((const uint8_t *)plain, pl, out, sizeof out), el);
    T_EQ_STR(out, enc);
    T_EQ_INT(B64_ENCODED_LEN(pl), el);
    if (el > 0) { /* t_guard_free() cannot free a 0-byte guard */
        g = t_guard(enc, el);
        T_EQ_INT(b64_decode(g, el, dec, sizeof dec), pl);
        T_CHECK(memcmp(dec, plain, pl) == 0);
        t_guard_free(g);
    }
    /* A cap one short of the NUL: nothing written, length still told. */
    if (el > 0) {
        memset(out, 'x', sizeof out);
        T_EQ_INT(b64_encode((const uint8_t *)plain, pl, out, el), el);
        T_EQ_INT(out[0], 'x');
    }
    if (pl > 0)
        T_EQ_INT(b64_decode(enc, el, dec, pl - 1), PROTO_ETOOBIG);
}

static void
check_url(void)
{
    const uint8_t bin[] = {0xfb, 0xff, 0xbf, 0x01};
    char out[16];
    uint8_t dec[8];

    T_EQ_INT(b64url_encode(bin, 4, out, sizeof out), 6);
    T_EQ_STR(out, "-_-_AQ");
    T_EQ_INT(b64url_decode("-_-_AQ", 6, dec, sizeof dec), 4);
    T_CHECK(memcmp(dec, bin, 4) == 0);
    T_EQ_INT(b64_encode(bin, 4, out, sizeof out), 8);
    T_EQ_STR(out, "+/+/AQ==");
    T_EQ_INT(b64url_decode("-_-_AQ==", 8, dec, sizeof dec), PROTO_EINVAL);
    T_EQ_INT(b64url_decode("+/+/AQ", 6, dec, sizeof dec), PROTO_EINVAL);
    T_EQ_INT(b64url_decode("A", 1, dec, sizeof dec), PROTO_EINVAL);
    T_EQ_INT(b64url_decode("Zg", 2, dec, sizeof dec), 1);
    T_EQ_INT(b64url_decode("Zh", 2, dec, sizeof dec), PROTO_EINVAL);
    T_EQ_INT(b64url_decode("", 0, dec, 0), 0);
    /* the JWT header of the examples: {"alg":"HS256","typ":"JWT"} */
    const char *h = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    char txt[64];
    ssize_t n = b64url_decode(h, strlen(h), (uint8_t *)txt, sizeof txt - 1);
    T_EQ_INT(n, 27);
    txt[n > 0 ? n : 0] = '\0';
    T_EQ_STR(txt, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
}

int
main(void)
{
    static const char *bad[] = {
        "Zg=",       "Zg",    "Z===", "====", "Zm9v=", "Zm=v",     "Zg==Zg==",
        "Zm9v YmFy", "Zm9\n", "Zh==", "Zm9=", "Zm-_",  "Zm9v\0Yg",
    };
    uint8_t dec[64];
    size_t i;

    for (i = 0; i < sizeof rfc / sizeof rfc[0]; i++)
        check_std(rfc[i][0], rfc[i][1]);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t l = strlen(bad[i]);
        if (i == sizeof bad / sizeof bad[0] - 1)
            l = 8; /* with its NUL */
        T_EQ_INT(b64_decode(bad[i], l, dec, sizeof dec), PROTO_EINVAL);
    }
    T_EQ_INT(b64_decode("AQIDBA==", 8, dec, sizeof dec), 4);
    T_CHECK(dec[0] == 1 && dec[1] == 2 && dec[2] == 3 && dec[3] == 4);
    /* every byte value round-trips */
    uint8_t all[256];
    char enc[400];
    for (i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    for (i = 0; i <= 256; i++) {
        size_t el = b64_encode(all, i, enc, sizeof enc);
        uint8_t back[256];
        T_EQ_INT(b64_decode(enc, el, back, sizeof back), i);
        T_CHECK(memcmp(back, all, i) == 0);
        el = b64url_encode(all, i, enc, sizeof enc);
        T_EQ_INT(b64url_decode(enc, el, back, sizeof back), i);
        T_CHECK(memcmp(back, all, i) == 0);
    }
    check_url();
    return t_done("b64");
}
