/*
 * test_sio.c - Socket.IO v5 packets: the protocol doc's examples and
 * malformed headers/data, every vector at the end of a guarded page,
 * event splitting, header encoding (round trip) and placeholders.
 */
#include "t.h"

#include "sio.h"

struct vec {
    const char *s;
    int rc;
    int type;
    unsigned att;
    const char *nsp;
    long long ack;
    const char *data;
};

static const struct vec vecs[] = {
    {"0", 0, SIO_CONNECT, 0, "/", -1, ""},
    {"0{\"apiKey\":\"k\"}", 0, SIO_CONNECT, 0, "/", -1, "{\"apiKey\":\"k\"}"},
    {"0/admin,", 0, SIO_CONNECT, 0, "/admin", -1, ""},
    {"0/admin,{\"token\":\"123\"}", 0, SIO_CONNECT, 0, "/admin", -1,
     "{\"token\":\"123\"}"},
    {"0/admin", 0, SIO_CONNECT, 0, "/admin", -1, ""},
    {"1", 0, SIO_DISCONNECT, 0, "/", -1, ""},
    {"1/admin,", 0, SIO_DISCONNECT, 0, "/admin", -1, ""},
    {"2[\"hello\",1]", 0, SIO_EVENT, 0, "/", -1, "[\"hello\",1]"},
    {"21[\"listen\",{}]", 0, SIO_EVENT, 0, "/", 1, "[\"listen\",{}]"},
    {"2/admin,456[\"project:delete\",123]", 0, SIO_EVENT, 0, "/admin", 456,
     "[\"project:delete\",123]"},
    {"31[{}]", 0, SIO_ACK, 0, "/", 1, "[{}]"},
    {"3/admin,456[]", 0, SIO_ACK, 0, "/admin", 456, "[]"},
    {"4{\"message\":\"Not authorized\"}", 0, SIO_CONNECT_ERROR, 0, "/", -1,
     "{\"message\":\"Not authorized\"}"},
    {"4\"bad\"", 0, SIO_CONNECT_ERROR, 0, "/", -1, "\"bad\""},
    /* the doc's 451-[...] is Engine.IO's "4" around this packet */
    {"51-[\"ev\",{\"_placeholder\":true,\"num\":0}]", 0, SIO_BINARY_EVENT, 1,
     "/", -1, "[\"ev\",{\"_placeholder\":true,\"num\":0}]"},
    {"51-/admin,456[\"e\",{\"_placeholder\":true,\"num\":0}]", 0,
     SIO_BINARY_EVENT, 1, "/admin", 456,
     "[\"e\",{\"_placeholder\":true,\"num\":0}]"},
    {"61-/admin,456[{\"_placeholder\":true,\"num\":0}]", 0, SIO_BINARY_ACK, 1,
     "/admin", 456, "[{\"_placeholder\":true,\"num\":0}]"},
    {"29223372036854775807[\"a\"]", 0, SIO_EVENT, 0, "/", 9223372036854775807LL,
     "[\"a\"]"},
    /* malformed */
    {"", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"/admin,0", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"451-[\"ev\",{\"_placeholder\":true,\"num\":0}]", PROTO_EINVAL, 0, 0, NULL,
     0, NULL},
    {"7", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"x", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"0[]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"0\"x\"", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"0{", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"0{}x", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"01{}", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"1{}", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"21", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2[]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2[1]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2{\"a\":1}", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2\"hello\"", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2[\"a\",]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2[\"a\"", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2-1[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"29223372036854775808[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"299999999999999999999[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"3[]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"31", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"31{}", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"4[]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"5[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"5-[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"50-[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"5x-[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"51[\"a\"]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"565-[\"a\"]", PROTO_ETOOBIG, 0, 0, NULL, 0, NULL},
    {"599999999999999999999-[\"a\"]", PROTO_ETOOBIG, 0, 0, NULL, 0, NULL},
    {"61-[]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
    {"2[\"a\",[[[[[[[[[[1]]]]]]]]]]]", PROTO_EINVAL, 0, 0, NULL, 0, NULL},
};

static void
test_decode(void)
{
    struct sio_packet pkt;

    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const struct vec *v = &vecs[i];
        size_t len = strlen(v->s);
        char *g = len ? t_guard(v->s, len) : NULL;
        int rc = sio_packet_decode(g ? g : v->s, len, 8, &pkt);

        if (rc != v->rc)
            fprintf(stderr, "vector: %s\n", v->s);
        T_EQ_INT(rc, v->rc);
        if (rc == PROTO_OK && v->rc == PROTO_OK) {
            T_EQ_INT(pkt.type, v->type);
            T_EQ_INT(pkt.attachments, v->att);
            T_EQ_MEM(pkt.nsp.p, pkt.nsp.len, v->nsp);
            T_EQ_INT(pkt.ack_id, v->ack);
            T_EQ_INT(pkt.data.len, strlen(v->data));
            T_CHECK(pkt.data.len == 0 ||
                    memcmp(pkt.data.p, v->data, pkt.data.len) == 0);
        }
        if (g)
            t_guard_free(g);
    }
}

static void
test_split(void)
{
    struct sio_packet pkt;
    struct proto_span name, args[2];
    size_t n;
    const char *s = "21[\"listen\", {\"channelName\":\"a\"} ,2]";

    T_EQ_INT(sio_packet_decode(s, strlen(s), 8, &pkt), PROTO_OK);
    T_EQ_INT(sio_event_split(&pkt, &name, args, 2, &n), PROTO_OK);
    T_EQ_MEM(name.p, name.len, "listen");
    T_EQ_INT(n, 2);
    T_EQ_MEM(args[0].p, args[0].len, "{\"channelName\":\"a\"}");
    T_EQ_MEM(args[1].p, args[1].len, "2");
    T_EQ_INT(sio_event_split(&pkt, &name, args, 1, &n), PROTO_ETOOBIG);
    s = "2[\"ping\"]";
    T_EQ_INT(sio_packet_decode(s, strlen(s), 8, &pkt), PROTO_OK);
    T_EQ_INT(sio_event_split(&pkt, &name, args, 0, &n), PROTO_OK);
    T_EQ_MEM(name.p, name.len, "ping");
    T_EQ_INT(n, 0);
    s = "2[\"a\\u0041\",1]";
    T_EQ_INT(sio_packet_decode(s, strlen(s), 8, &pkt), PROTO_OK);
    T_EQ_INT(sio_event_split(&pkt, &name, args, 2, &n), PROTO_EINVAL);
    s = "31[{}]";
    T_EQ_INT(sio_packet_decode(s, strlen(s), 8, &pkt), PROTO_OK);
    T_EQ_INT(sio_event_split(&pkt, &name, args, 2, &n), PROTO_EINVAL);
}

static void
test_encode(void)
{
    char outbuf[SIO_MAX_HEADER];
    char *out = outbuf; /* a pointer: T_EQ_MEM tests it for NULL */
    char nsp[SIO_MAX_NSP + 2];
    size_t n;
    struct sio_packet pkt;

    n = sio_header_encode(out, SIO_EVENT, 0, "/", 1, -1);
    T_EQ_MEM(out, n, "2");
    n = sio_header_encode(out, SIO_ACK, 0, "/", 1, 12);
    T_EQ_MEM(out, n, "312");
    n = sio_header_encode(out, SIO_CONNECT_ERROR, 0, NULL, 0, -1);
    T_EQ_MEM(out, n, "4");
    n = sio_header_encode(out, SIO_BINARY_EVENT, 2, "/admin", 6, 456);
    T_EQ_MEM(out, n, "52-/admin,456");
    /* the longest header fits SIO_MAX_HEADER and decodes back */
    memset(nsp, 'n', sizeof nsp);
    nsp[0] = '/';
    n = sio_header_encode(out, SIO_BINARY_ACK, 64, nsp, SIO_MAX_NSP, INT64_MAX);
    T_EQ_INT(n, SIO_MAX_HEADER);
    char full[SIO_MAX_HEADER + 32];
    memcpy(full, out, n);
    memcpy(full + n, "[{\"_placeholder\":true,\"num\":0}]", 31);
    T_EQ_INT(sio_packet_decode(full, n + 31, 8, &pkt), PROTO_OK);
    T_EQ_INT(pkt.attachments, 64);
    T_EQ_INT(pkt.ack_id, INT64_MAX);
    T_EQ_INT(pkt.nsp.len, SIO_MAX_NSP);
    T_EQ_INT(sio_header_encode(out, SIO_EVENT, 0, nsp, SIO_MAX_NSP + 1, -1), 0);
    T_EQ_INT(sio_header_encode(out, SIO_BINARY_EVENT, 65, "/", 1, -1), 0);
}

static void
test_placeholders(void)
{
    const char *one = "[\"ev\",{\"_placeholder\":true,\"num\":0}]";
    const char *two = "[\"ev\",{\"a\":{\"num\":1,\"_placeholder\":true}},"
                      "\"{\\\"_placeholder\\\":true}\","
                      "[{\"_placeholder\":true,\"num\":0}]]";

    T_EQ_INT(sio_placeholders_check(one, strlen(one), 1, 8), PROTO_OK);
    T_EQ_INT(sio_placeholders_check(one, strlen(one), 2, 8), PROTO_EINVAL);
    T_EQ_INT(sio_placeholders_check(one, strlen(one), 0, 8), PROTO_EINVAL);
    T_EQ_INT(sio_placeholders_check(two, strlen(two), 2, 8), PROTO_OK);
    T_EQ_INT(sio_placeholders_check("[\"e\"]", 5, 0, 8), PROTO_OK);
    static const char *bad[] = {
        "[\"e\",{\"_placeholder\":true}]",
        "[\"e\",{\"_placeholder\":true,\"num\":\"0\"}]",
        "[\"e\",{\"_placeholder\":true,\"num\":-1}]",
        "[\"e\",{\"_placeholder\":true,\"num\":0.5}]",
        "[\"e\",{\"_placeholder\":true,\"num\":00}]",
        "[\"e\",{\"_placeholder\":true,\"num\":1}]",
        "[\"e\",{\"_placeholder\":false,\"num\":0}]",
        "[\"e\",{\"_placeholder\":true,\"num\":0]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        T_EQ_INT(sio_placeholders_check(bad[i], strlen(bad[i]), 1, 8),
                 PROTO_EINVAL);
    T_EQ_INT(sio_placeholders_check(one, strlen(one), 65, 8), PROTO_EINVAL);
}

int
main(void)
{
    test_decode();
    test_split();
    test_encode();
    test_placeholders();
    return t_done("sio");
}
