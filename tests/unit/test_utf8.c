/*
 * test_utf8.c - the incremental UTF-8 validator: valid and invalid
 * sequences (overlongs, surrogates, > U+10FFFF, truncation), each whole,
 * byte by byte and split at every offset, and read at a page's end.
 */
#include "t.h"

#include "utf8.h"

struct vec {
    const char *s;
    int valid;
};

static const struct vec vecs[] = {
    {"", 1},
    {"hello", 1},
    {"\xc2\xa9", 1},                                     /* U+00A9 */
    {"\xe2\x82\xac", 1},                                 /* U+20AC */
    {"\xf0\x9f\x98\x80", 1},                             /* U+1F600 */
    {"\xf4\x8f\xbf\xbf", 1},                             /* U+10FFFF */
    {"\xed\x9f\xbf", 1},                                 /* U+D7FF */
    {"\xee\x80\x80", 1},                                 /* U+E000 */
    {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1}, /* kosme */
    {"\x80", 0},     /* stray continuation */
    {"\xc0\xaf", 0}, /* overlong '/' */
    {"\xc1\xbf", 0},
    {"\xe0\x80\xaf", 0}, /* overlong 3-byte */
    {"\xe0\x9f\xbf", 0},
    {"\xf0\x80\x80\xaf", 0}, /* overlong 4-byte */
    {"\xf0\x8f\xbf\xbf", 0},
    {"\xed\xa0\x80", 0},     /* U+D800 surrogate */
    {"\xed\xbf\xbf", 0},     /* U+DFFF */
    {"\xf4\x90\x80\x80", 0}, /* U+110000 */
    {"\xf5\x80\x80\x80", 0},
    {"\xff", 0},
    {"\xfe", 0},
    {"\xc2", 0}, /* truncated */
    {"\xe2\x82", 0},
    {"\xf0\x9f\x98", 0},
    {"\xc2\x41", 0}, /* continuation missing */
    {"a\xe2\x82\xac\xe2", 0},
};

static void
check_vec(const struct vec *v)
{
    size_t len = strlen(v->s), i, cut;
    const uint8_t *s = (const uint8_t *)v->s;
    /* t_guard_free() cannot free a 0-byte guard (t.c), so skip "" there. */
    if (len > 0) {
        uint8_t *g = t_guard(s, len);
        T_EQ_INT(utf8_valid(g, len), v->valid);
        t_guard_free(g);
    }

    uint32_t st = UTF8_ACCEPT;
    for (i = 0; i < len; i++)
        st = utf8_feed(st, s + i, 1);
    T_EQ_INT(st == UTF8_ACCEPT, v->valid);

    for (cut = 0; cut <= len; cut++) {
        st = utf8_feed(UTF8_ACCEPT, s, cut);
        st = utf8_feed(st, s + cut, len - cut);
        T_EQ_INT(st == UTF8_ACCEPT, v->valid);
    }
}

int
main(void)
{
    size_t i;

    for (i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
        check_vec(&vecs[i]);
    /* REJECT is final, whatever follows. */
    T_EQ_INT(utf8_feed(UTF8_REJECT, (const uint8_t *)"a", 1), UTF8_REJECT);
    /* A prefix that ends mid-character is pending, not accepted or rejected */
    uint32_t st = utf8_feed(UTF8_ACCEPT, (const uint8_t *)"\xe2\x82", 2);
    T_CHECK(st != UTF8_ACCEPT && st != UTF8_REJECT);
    /* every single byte: ASCII valid, 80..FF alone invalid */
    for (i = 0; i < 256; i++) {
        uint8_t b = (uint8_t)i;
        T_EQ_INT(utf8_valid(&b, 1), i < 0x80);
    }
    return t_done("utf8");
}
