/*
 * test_ws.c - the WebSocket frame parser and encoders: RFC 6455 5.7's
 * sample frames, growing prefixes (PROTO_AGAIN until whole, each at the end
 * of a guarded page), every rejection rule with its close code, bounded
 * reassembly, and the 4.2.2 accept key.
 */
#include "t.h"

#include <stdlib.h>

#include "ws.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Feed frame f whole, then check that every shorter prefix is PROTO_AGAIN
 * (each prefix is its own guarded copy: the parser writes in place). */
static ssize_t
feed_whole(struct ws_parser *p, const uint8_t *f, size_t len,
           struct ws_event *ev, uint8_t **keep)
{
    size_t k;

    for (k = 1; k < len; k++) {
        uint8_t *g = t_guard(f, k);
        struct ws_event e;
        ssize_t rc = ws_parser_feed(p, g, k, &e);
        if (rc != PROTO_AGAIN)
            fprintf(stderr, "prefix %zu of %zu: rc %zd\n", k, len, rc);
        T_EQ_INT(rc, PROTO_AGAIN);
        t_guard_free(g);
    }
    *keep = t_guard(f, len);
    return ws_parser_feed(p, *keep, len, ev);
}

/* A client frame: masked with MASK. */
static size_t
client_frame(uint8_t *out, size_t cap, int fin, uint8_t op, const void *pl,
             size_t len)
{
    return ws_frame_encode(out, cap, fin, op, pl, len, MASK);
}

static void
test_rfc_samples(void)
{
    struct ws_parser p;
    struct ws_event ev;
    uint8_t *g;
    /* 5.7: a single-frame masked text message "Hello" */
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t unmasked[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    static const uint8_t frag1[] = {0x01, 0x03, 'H', 'e', 'l'};
    static const uint8_t frag2[] = {0x80, 0x02, 'l', 'o'};
    static const uint8_t ping[] = {0x89, 0x05, 'H', 'e', 'l', 'l', 'o'};
    uint8_t buf[80000];

    ws_parser_init(&p, 1 << 20, 1 << 20);
    T_EQ_INT(feed_whole(&p, masked, sizeof masked, &ev, &g), 11);
    T_EQ_INT(ev.type, WS_EV_MESSAGE);
    T_EQ_INT(ev.opcode, WS_OP_TEXT);
    T_EQ_MEM(ev.data, ev.len, "Hello");
    t_guard_free(g);

    /* The unmasked sample is what a server sends: our encoder writes it,
     * and our server-side parser refuses it (5.1). */
    T_EQ_INT(ws_frame_encode(buf, sizeof buf, 1, WS_OP_TEXT, "Hello", 5, NULL),
             7);
    T_CHECK(memcmp(buf, unmasked, 7) == 0);
    T_EQ_INT(client_frame(buf, sizeof buf, 1, WS_OP_TEXT, "Hello", 5), 11);
    T_CHECK(memcmp(buf, masked, 11) == 0);
    ws_parser_init(&p, 1 << 20, 1 << 20);
    memcpy(buf, unmasked, 7);
    T_EQ_INT(ws_parser_feed(&p, buf, 7, &ev), PROTO_EINVAL);
    T_EQ_INT(p.error_close, WS_CLOSE_PROTOCOL);

    /* fragmented "Hel" + "lo", masked as a client sends it */
    ws_parser_init(&p, 1 << 20, 1 << 20);
    size_t n1 = client_frame(buf, sizeof buf, 0, WS_OP_TEXT, "Hel", 3);
    T_CHECK(buf[0] == frag1[0] && (buf[1] & 0x7f) == frag1[1]);
    T_EQ_INT(feed_whole(&p, buf, n1, &ev, &g), n1);
    T_EQ_INT(ev.type, WS_EV_NONE);
    t_guard_free(g);
    size_t n2 = client_frame(buf, sizeof buf, 1, WS_OP_CONT, "lo", 2);
    T_CHECK(buf[0] == frag2[0] && (buf[1] & 0x7f) == frag2[1]);
    T_EQ_INT(feed_whole(&p, buf, n2, &ev, &g), n2);
    T_EQ_INT(ev.type, WS_EV_MESSAGE);
    T_EQ_INT(ev.opcode, WS_OP_TEXT);
    T_EQ_MEM(ev.data, ev.len, "Hello");
    t_guard_free(g);
    ws_parser_reset(&p);

    /* ping "Hello", and the unmasked pong a server answers with */
    ws_parser_init(&p, 1 << 20, 1 << 20);
    size_t n = client_frame(buf, sizeof buf, 1, WS_OP_PING, "Hello", 5);
    T_EQ_INT(feed_whole(&p, buf, n, &ev, &g), n);
    T_EQ_INT(ev.type, WS_EV_PING);
    T_EQ_MEM(ev.data, ev.len, "Hello");
    t_guard_free(g);
    T_EQ_INT(ws_frame_encode(buf, sizeof buf, 1, WS_OP_PING, "Hello", 5, NULL),
             7);
    T_CHECK(memcmp(buf, ping, 7) == 0);
    T_EQ_INT(ws_frame_encode(buf, sizeof buf, 1, WS_OP_PONG, "Hello", 5, NULL),
             7);
    T_CHECK(buf[0] == 0x8a && buf[1] == 0x05);
    (void)frag1;
    (void)frag2;
}

/* 5.7: 256 bytes -> 0x82 0x7E 0x0100; 64 KiB -> 0x82 0x7F 0x...010000 */
static void
test_lengths(void)
{
    static uint8_t pl[65536], buf[65536 + 14];
    size_t sizes[] = {0, 125, 126, 256, 65535, 65536};
    struct ws_parser p;
    struct ws_event ev;
    uint8_t h[WS_MAX_HEADER];

    T_EQ_INT(ws_frame_header(h, 1, WS_OP_BINARY, 256), 4);
    T_CHECK(h[0] == 0x82 && h[1] == 0x7e && h[2] == 0x01 && h[3] == 0x00);
    T_EQ_INT(ws_frame_header(h, 1, WS_OP_BINARY, 65536), 10);
    T_CHECK(h[0] == 0x82 && h[1] == 0x7f && h[2] == 0 && h[5] == 0 &&
            h[7] == 0x01 && h[8] == 0 && h[9] == 0);
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = client_frame(buf, sizeof buf, 1, WS_OP_BINARY, pl, sizes[s]);
        uint8_t *g = t_guard(buf, n);
        ws_parser_init(&p, 65536, 65536);
        /* prefixes at the header edges (all of 64 KiB would be slow) */
        size_t cuts[] = {1, 2, 3, 4, 9, 10, 13, n - 1};
        for (size_t c = 0; c < 8; c++) {
            if (cuts[c] == 0 || cuts[c] >= n)
                continue;
            uint8_t *gp = t_guard(buf, cuts[c]);
            T_EQ_INT(ws_parser_feed(&p, gp, cuts[c], &ev), PROTO_AGAIN);
            t_guard_free(gp);
        }
        T_EQ_INT(ws_parser_feed(&p, g, n, &ev), n);
        T_EQ_INT(ev.type, WS_EV_MESSAGE);
        T_EQ_INT(ev.opcode, WS_OP_BINARY);
        T_EQ_INT(ev.len, sizes[s]);
        T_CHECK(sizes[s] == 0 || memcmp(ev.data, pl, sizes[s]) == 0);
        t_guard_free(g);
    }
}

/* Feed one frame (a guarded copy) to a parser; return rc. The copy lives
 * until the next call, as ev->data may point into it. */
static ssize_t
feed1(struct ws_parser *p, const uint8_t *f, size_t len, struct ws_event *ev)
{
    static uint8_t *last;

    if (last != NULL)
        t_guard_free(last);
    last = t_guard(f, len);
    return ws_parser_feed(p, last, len, ev);
}

/* Expect a raw frame (given as bytes) to be refused with rc and code. */
static void
reject_raw(const uint8_t *f, size_t len, int rc, uint16_t code,
           size_t max_frame)
{
    struct ws_parser p;
    struct ws_event ev;

    ws_parser_init(&p, max_frame, max_frame);
    T_EQ_INT(feed1(&p, f, len, &ev), rc);
    T_EQ_INT(p.error_close, code);
    /* sticky: the parser stays failed */
    T_CHECK(feed1(&p, f, len, &ev) < 0);
    ws_parser_reset(&p);
}

static void
reject_frame(int fin, uint8_t op, const void *pl, size_t len, int rc,
             uint16_t code)
{
    uint8_t buf[512];
    size_t n = client_frame(buf, sizeof buf, fin, op, pl, len);
    reject_raw(buf, n, rc, code, 1024);
}

static void
test_reject(void)
{
    uint8_t buf[512], big[200];
    struct ws_parser p;
    struct ws_event ev;
    size_t n;

    memset(big, 'a', sizeof big);
    /* RSV1, RSV2, RSV3 */
    for (int bit = 0x10; bit <= 0x40; bit <<= 1) {
        n = client_frame(buf, sizeof buf, 1, WS_OP_TEXT, "x", 1);
        buf[0] |= (uint8_t)bit;
        reject_raw(buf, n, PROTO_EINVAL, WS_CLOSE_PROTOCOL, 1024);
        reject_raw(buf, 1 + 1, PROTO_EINVAL, WS_CLOSE_PROTOCOL, 1024);
    }
    /* reserved opcodes 3-7 and B-F */
    for (uint8_t op = 3; op <= 0xf; op++) {
        if (op >= 8 && op <= 0xa)
            continue;
        reject_frame(1, op, "x", 1, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    }
    /* unmasked, decided from the first 2 bytes */
    static const uint8_t unm[] = {0x81, 0x01, 'x'};
    reject_raw(unm, 3, PROTO_EINVAL, WS_CLOSE_PROTOCOL, 1024);
    reject_raw(unm, 2, PROTO_EINVAL, WS_CLOSE_PROTOCOL, 1024);
    /* fragmented control frames, control frames over 125 bytes */
    reject_frame(0, WS_OP_PING, "x", 1, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    reject_frame(0, WS_OP_CLOSE, "", 0, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    reject_frame(1, WS_OP_PING, big, 126, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    reject_frame(1, WS_OP_PONG, big, 126, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    /* continuation without a start */
    reject_frame(1, WS_OP_CONT, "x", 1, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    reject_frame(0, WS_OP_CONT, "x", 1, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    /* a new data frame inside an open fragmented message */
    ws_parser_init(&p, 1024, 1024);
    n = client_frame(buf, sizeof buf, 0, WS_OP_TEXT, "ab", 2);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    n = client_frame(buf, sizeof buf, 1, WS_OP_BINARY, "cd", 2);
    T_EQ_INT(feed1(&p, buf, n, &ev), PROTO_EINVAL);
    T_EQ_INT(p.error_close, WS_CLOSE_PROTOCOL);
    ws_parser_reset(&p);
    /* 64-bit length with the top bit set */
    static const uint8_t top[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1};
    reject_raw(top, sizeof top, PROTO_EINVAL, WS_CLOSE_PROTOCOL, 1024);
    /* frame > max_frame: 1009 from the header alone */
    static const uint8_t huge[] = {0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0};
    reject_raw(huge, sizeof huge, PROTO_ETOOBIG, WS_CLOSE_TOO_BIG, 1024);
    static const uint8_t h16[] = {0x82, 0xfe, 0x04, 0x01};
    reject_raw(h16, sizeof h16, PROTO_ETOOBIG, WS_CLOSE_TOO_BIG, 1024);
    n = client_frame(buf, sizeof buf, 1, WS_OP_TEXT, big, 101);
    reject_raw(buf, n, PROTO_ETOOBIG, WS_CLOSE_TOO_BIG, 100);
    /* invalid UTF-8 in text: single frame, and incremental across frags */
    reject_frame(1, WS_OP_TEXT, "\xc0\xaf", 2, PROTO_EINVAL,
                 WS_CLOSE_INVALID_DATA);
    reject_frame(1, WS_OP_TEXT, "ok\xe2\x82", 4, PROTO_EINVAL,
                 WS_CLOSE_INVALID_DATA);
    reject_frame(0, WS_OP_TEXT, "\xed\xa0\x80", 3, PROTO_EINVAL,
                 WS_CLOSE_INVALID_DATA); /* fails fast, before FIN */
    ws_parser_init(&p, 1024, 1024);
    n = client_frame(buf, sizeof buf, 0, WS_OP_TEXT, "\xe2\x82", 2);
    T_EQ_INT(feed1(&p, buf, n, &ev), n); /* a split char is fine so far */
    n = client_frame(buf, sizeof buf, 1, WS_OP_CONT, "", 0);
    T_EQ_INT(feed1(&p, buf, n, &ev), PROTO_EINVAL); /* ...but never ends */
    T_EQ_INT(p.error_close, WS_CLOSE_INVALID_DATA);
    ws_parser_reset(&p);
    /* binary may hold anything */
    ws_parser_init(&p, 1024, 1024);
    n = client_frame(buf, sizeof buf, 1, WS_OP_BINARY, "\xc0\xaf", 2);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    ws_parser_reset(&p);
    /* close: 1-byte payload, bad codes, bad reason */
    reject_frame(1, WS_OP_CLOSE, "\x03", 1, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    static const uint16_t bad_codes[] = {0,    999,  1004, 1005, 1006, 1015,
                                         1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        uint8_t c[2] = {(uint8_t)(bad_codes[i] >> 8), (uint8_t)bad_codes[i]};
        reject_frame(1, WS_OP_CLOSE, c, 2, PROTO_EINVAL, WS_CLOSE_PROTOCOL);
    }
    reject_frame(1, WS_OP_CLOSE, "\x03\xe8\xff", 3, PROTO_EINVAL,
                 WS_CLOSE_INVALID_DATA);
}

static void
accept_close(uint16_t code, const char *reason)
{
    uint8_t pl[125], buf[200];
    struct ws_parser p;
    struct ws_event ev;
    size_t pn = ws_close_payload(pl, code, reason);
    size_t n = client_frame(buf, sizeof buf, 1, WS_OP_CLOSE, pl, pn);

    ws_parser_init(&p, 1024, 1024);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_INT(ev.type, WS_EV_CLOSE);
    T_EQ_INT(ev.close_code, code);
    T_EQ_INT(ev.len, pn);
}

static void
test_reassembly(void)
{
    uint8_t buf[512], a[100];
    struct ws_parser p;
    struct ws_event ev;
    size_t n;

    memset(a, 'a', sizeof a);
    /* control frames between fragments; the message comes out whole */
    ws_parser_init(&p, 100, 250);
    n = client_frame(buf, sizeof buf, 0, WS_OP_BINARY, a, 100);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_INT(ev.type, WS_EV_NONE);
    n = client_frame(buf, sizeof buf, 1, WS_OP_PING, "p", 1);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_INT(ev.type, WS_EV_PING);
    n = client_frame(buf, sizeof buf, 0, WS_OP_CONT, a, 100);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    n = client_frame(buf, sizeof buf, 1, WS_OP_PONG, "", 0);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_INT(ev.type, WS_EV_PONG);
    n = client_frame(buf, sizeof buf, 1, WS_OP_CONT, a, 50);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_INT(ev.type, WS_EV_MESSAGE);
    T_EQ_INT(ev.opcode, WS_OP_BINARY);
    T_EQ_INT(ev.len, 250);
    T_CHECK(memcmp(ev.data, a, 50) == 0);
    /* the parser is ready for the next message; its buffer is gone */
    n = client_frame(buf, sizeof buf, 1, WS_OP_TEXT, "next", 4);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_MEM(ev.data, ev.len, "next");
    T_CHECK(p.msg == NULL);
    ws_parser_reset(&p);

    /* message over max_message across fragments: 1009, before copying */
    ws_parser_init(&p, 100, 150);
    n = client_frame(buf, sizeof buf, 0, WS_OP_TEXT, a, 100);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    n = client_frame(buf, sizeof buf, 0, WS_OP_CONT, a, 51);
    T_EQ_INT(feed1(&p, buf, 4, &ev), PROTO_ETOOBIG); /* header suffices */
    T_EQ_INT(p.error_close, WS_CLOSE_TOO_BIG);
    T_CHECK(p.msg_cap <= 150);
    ws_parser_reset(&p);

    /* fragmented text with a character split across three frames */
    ws_parser_init(&p, 100, 150);
    const char *parts[] = {"\xf0\x9f", "\x98", "\x80!"};
    for (int i = 0; i < 3; i++) {
        n = client_frame(buf, sizeof buf, i == 2, i ? WS_OP_CONT : WS_OP_TEXT,
                         parts[i], strlen(parts[i]));
        T_EQ_INT(feed1(&p, buf, n, &ev), n);
    }
    T_EQ_INT(ev.type, WS_EV_MESSAGE);
    T_EQ_MEM(ev.data, ev.len, "\xf0\x9f\x98\x80!");
    ws_parser_reset(&p);

    /* empty close and closes with valid codes and a reason */
    accept_close(1000, NULL);
    accept_close(1001, "going");
    accept_close(1011, "");
    accept_close(3000, "app");
    accept_close(4999, "\xc3\xa9t\xc3\xa9");
    ws_parser_init(&p, 10, 10);
    n = client_frame(buf, sizeof buf, 1, WS_OP_CLOSE, "", 0);
    T_EQ_INT(feed1(&p, buf, n, &ev), n);
    T_EQ_INT(ev.close_code, WS_CLOSE_NO_STATUS);

    /* two frames in one buffer: one per call */
    ws_parser_init(&p, 100, 100);
    n = client_frame(buf, sizeof buf, 1, WS_OP_TEXT, "one", 3);
    size_t n2 = client_frame(buf + n, sizeof buf - n, 1, WS_OP_TEXT, "two", 3);
    T_EQ_INT(ws_parser_feed(&p, buf, n + n2, &ev), n);
    T_EQ_MEM(ev.data, ev.len, "one");
    T_EQ_INT(ws_parser_feed(&p, buf + n, n2, &ev), n2);
    T_EQ_MEM(ev.data, ev.len, "two");
    T_EQ_INT(ws_parser_feed(&p, buf, 0, &ev), PROTO_AGAIN);
}

static void
test_encoders(void)
{
    char out[29];
    uint8_t pl[125], buf[16];
    char longr[300];

    /* RFC 6455 1.3 / 4.2.2 */
    T_EQ_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), PROTO_OK);
    T_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    T_EQ_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", 23, out), PROTO_EINVAL);
    T_EQ_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ!=", 24, out), PROTO_EINVAL);
    T_EQ_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZXg=", 24, out),
             PROTO_EINVAL); /* 17 bytes */

    /* close payload: reason cut to 123 bytes on a character boundary */
    T_EQ_INT(ws_close_payload(pl, 1000, NULL), 2);
    T_CHECK(pl[0] == 0x03 && pl[1] == 0xe8);
    memset(longr, 'a', sizeof longr);
    longr[122] = '\xc3';
    longr[123] = '\xa9';
    longr[299] = '\0';
    T_EQ_INT(ws_close_payload(pl, 1009, longr), 124);
    T_EQ_INT(pl[0] << 8 | pl[1], 1009);

    /* encode writes nothing past cap, tells the room needed */
    memset(buf, 0, sizeof buf);
    T_EQ_INT(ws_frame_encode(buf, 3, 1, WS_OP_TEXT, "Hello", 5, NULL), 7);
    T_EQ_INT(buf[0], 0);
    T_EQ_INT(ws_frame_header(buf, 0, WS_OP_TEXT, 125), 2);
    T_CHECK(buf[0] == 0x01 && buf[1] == 125);
}

int
main(void)
{
    test_rfc_samples();
    test_lengths();
    test_reject();
    test_reassembly();
    test_encoders();
    return t_done("ws");
}
