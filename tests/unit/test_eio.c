/*
 * test_eio.c - Engine.IO v4: packet decode, polling payload iteration (the
 * protocol doc's examples), the open packet and the handshake query, each
 * vector at the end of a guarded page.
 */
#include "t.h"

#include "eio.h"

static void
test_packets(void)
{
    static const struct {
        const char *s;
        int type;
        const char *data;
    } ok[] = {
        {"0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}", EIO_OPEN,
         "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}"},
        {"1", EIO_CLOSE, ""},
        {"2", EIO_PING, ""},
        {"2probe", EIO_PING, "probe"},
        {"3probe", EIO_PONG, "probe"},
        {"4hello", EIO_MESSAGE, "hello"},
        {"5", EIO_UPGRADE, ""},
        {"6", EIO_NOOP, ""},
        {"42[\"hello\",1]", EIO_MESSAGE, "2[\"hello\",1]"},
    };
    struct eio_packet pkt;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t len = strlen(ok[i].s);
        char *g = t_guard(ok[i].s, len);
        T_EQ_INT(eio_packet_decode(g, len, &pkt), PROTO_OK);
        T_EQ_INT(pkt.type, ok[i].type);
        T_EQ_INT(pkt.binary, 0);
        T_EQ_MEM(pkt.data, pkt.len, ok[i].data);
        t_guard_free(g);
    }
    T_EQ_INT(eio_packet_decode("", 0, &pkt), PROTO_EINVAL);
    T_EQ_INT(eio_packet_decode("7", 1, &pkt), PROTO_EINVAL);
    T_EQ_INT(eio_packet_decode("bAQID", 5, &pkt), PROTO_EINVAL);
    T_EQ_INT(eio_packet_decode("x4", 2, &pkt), PROTO_EINVAL);
    T_EQ_INT(eio_packet_decode("/", 1, &pkt), PROTO_EINVAL);
}

/* Iterate a payload; fill types/datas; return the count, or -1 on error. */
static int
iterate(const char *s, size_t len, struct eio_packet *out, int max)
{
    struct eio_payload_iter it;
    char *g = len ? t_guard(s, len) : NULL;
    int n = 0, rc;

    eio_payload_iter_init(&it, g ? g : s, len);
    while ((rc = eio_payload_next(&it, &out[n])) == 1) {
        out[n].data = s + (out[n].data - (g ? g : s)); /* rebase to s */
        if (++n == max)
            break;
    }
    T_EQ_INT(eio_payload_next(&it, &out[n < max ? n : 0]) <= 0, 1);
    if (g)
        t_guard_free(g);
    return rc < 0 ? -1 : n;
}

static void
test_payloads(void)
{
    struct eio_packet p[8];
    const char *s = "4hello\x1e"
                    "4world\x1e"
                    "bAQIDBA==";

    T_EQ_INT(iterate(s, strlen(s), p, 8), 3);
    T_EQ_INT(p[0].type, EIO_MESSAGE);
    T_EQ_MEM(p[0].data, p[0].len, "hello");
    T_EQ_MEM(p[1].data, p[1].len, "world");
    T_EQ_INT(p[2].type, EIO_MESSAGE);
    T_EQ_INT(p[2].binary, 1);
    T_EQ_MEM(p[2].data, p[2].len, "AQIDBA==");
    s = "2probe\x1e"
        "4test\x1e"
        "1";
    T_EQ_INT(iterate(s, strlen(s), p, 8), 3);
    T_EQ_INT(p[0].type, EIO_PING);
    T_EQ_INT(p[2].type, EIO_CLOSE);
    s = "4\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac";
    T_EQ_INT(iterate(s, strlen(s), p, 8), 1);
    T_EQ_INT(iterate("6", 1, p, 8), 1);
    /* malformed: empty body, empty segments, unknown types */
    T_EQ_INT(iterate("", 0, p, 8), -1);
    T_EQ_INT(iterate("4a\x1e", 3, p, 8), -1);
    T_EQ_INT(iterate("\x1e"
                     "4a",
                     3, p, 8),
             -1);
    T_EQ_INT(iterate("4a\x1e\x1e"
                     "4b",
                     6, p, 8),
             -1);
    T_EQ_INT(iterate("4a\x1e"
                     "9",
                     4, p, 8),
             -1);
    T_EQ_INT(iterate("4a\x1e"
                     "x",
                     4, p, 8),
             -1);
}

static void
test_open(void)
{
    char out[256];
    const char *want =
        "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
        "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}";
    size_t n = eio_open_encode(out, sizeof out, "lv_VI97HAXpY6yYWAAAC", 1,
                               25000, 20000, 1000000);

    T_EQ_INT(n, strlen(want));
    T_EQ_STR(out, want);
    n = eio_open_encode(out, sizeof out, "abc", 0, 1, 2, 3);
    T_EQ_STR(out, "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":1,"
                  "\"pingTimeout\":2,\"maxPayload\":3}");
    memset(out, 'x', sizeof out);
    T_EQ_INT(eio_open_encode(out, n, "abc", 0, 1, 2, 3), n);
    T_EQ_INT(out[0], 'x'); /* no room for the NUL: nothing written */
}

static void
test_query(void)
{
    struct eio_query q;
    const char *s = "EIO=4&transport=polling&t=N8hyd6w&apiKey=k%2B1&x=y";
    char *g = t_guard(s, strlen(s));

    T_EQ_INT(eio_query_parse(g, strlen(s), &q), PROTO_OK);
    T_EQ_MEM(q.eio.p, q.eio.len, "4");
    T_EQ_MEM(q.transport.p, q.transport.len, "polling");
    T_EQ_MEM(q.api_key.p, q.api_key.len, "k%2B1");
    T_CHECK(q.sid.p == NULL);
    T_EQ_INT(q.b64, 0);
    t_guard_free(g);

    s = "EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC&b64=1";
    T_EQ_INT(eio_query_parse(s, strlen(s), &q), PROTO_OK);
    T_EQ_MEM(q.sid.p, q.sid.len, "lv_VI97HAXpY6yYWAAAC");
    T_EQ_MEM(q.transport.p, q.transport.len, "websocket");
    T_EQ_INT(q.b64, 1);
    T_EQ_INT(eio_query_parse("b64=&EIO", 8, &q), PROTO_OK);
    T_EQ_INT(q.b64, 0);
    T_CHECK(q.eio.p != NULL && q.eio.len == 0);
    T_EQ_INT(eio_query_parse("", 0, &q), PROTO_OK);
    T_CHECK(q.eio.p == NULL && q.transport.p == NULL);
    T_EQ_INT(eio_query_parse("&&EIO=4&", 8, &q), PROTO_OK);
    T_EQ_MEM(q.eio.p, q.eio.len, "4");
    /* case matters; a repeated known key is ambiguous; no raw spaces */
    T_EQ_INT(eio_query_parse("eio=4", 5, &q), PROTO_OK);
    T_CHECK(q.eio.p == NULL);
    T_EQ_INT(eio_query_parse("sid=a&sid=b", 11, &q), PROTO_EINVAL);
    T_EQ_INT(eio_query_parse("EIO=4 ", 6, &q), PROTO_EINVAL);
    T_EQ_INT(eio_query_parse("EIO=4\0", 6, &q), PROTO_EINVAL);
}

int
main(void)
{
    test_packets();
    test_payloads();
    test_open();
    test_query();
    return t_done("eio");
}
