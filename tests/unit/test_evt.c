/*
 * test_evt.c - event packets, bus messages and system objects: exact bytes,
 * the measure-then-write contract (nothing written when it does not fit),
 * and the bus decoder on good and hostile input, whole and truncated at
 * every offset, each copy ending at a guard page.
 */
#include "t.h"

#include "evt.h"

static void
test_packet(void)
{
    const char *want = "2[\"event\",{\"channelName\":\"news\",\"payload\":"
                       "{\"b\":1,\"a\":[1.50,\"\\u00e9\"]}}]";
    const char *payload = "{\"b\":1,\"a\":[1.50,\"\\u00e9\"]}";
    char out[256];
    size_t n;

    n = evt_packet_encode(NULL, 0, "news", 4, payload, strlen(payload));
    T_EQ_INT(n, strlen(want));
    memset(out, '#', sizeof out);
    n = evt_packet_encode(out, n, "news", 4, payload, strlen(payload));
    T_EQ_INT(n, strlen(want));
    T_CHECK(out[0] == '#'); /* no room for the NUL: nothing written */
    n = evt_packet_encode(out, n + 1, "news", 4, payload, strlen(payload));
    T_EQ_STR(out, want);
}

static void
test_bus_roundtrip(void)
{
    const char *want = "e1 ev-1 abcdefgh0123456789ab\n"
                       "2[\"event\",{\"channelName\":\"c\",\"payload\":null}]";
    char out[256];
    struct evt_bus_msg m;
    size_t n;

    n = evt_bus_encode(out, sizeof out, "ev-1", "abcdefgh0123456789ab", "c", 1,
                       "null", 4);
    T_EQ_INT(n, strlen(want));
    T_EQ_STR(out, want);
    T_EQ_INT(evt_bus_encode(out, n, "ev-1", "-", "c", 1, "null", 4),
             n - strlen("abcdefgh0123456789ab") + 1);

    void *g = t_guard(want, n);
    T_EQ_INT(evt_bus_decode(g, n, &m), PROTO_OK);
    T_EQ_MEM(m.id.p, m.id.len, "ev-1");
    T_EQ_MEM(m.origin.p, m.origin.len, "abcdefgh0123456789ab");
    T_EQ_MEM(m.packet.p, m.packet.len, strchr(want, '\n') + 1);
    /* Every truncation but the whole is malformed up to the packet's
     * second byte; no prefix may read past its end. */
    size_t cut;
    for (cut = 1; cut < n; cut++) { /* t_guard cannot free length 0 */
        void *h = t_guard(want, cut);
        int rc = evt_bus_decode(h, cut, &m);
        size_t pkt = (size_t)(strchr(want, '\n') - want) + 1;
        T_EQ_INT(rc, cut >= pkt + 2 ? PROTO_OK : PROTO_EINVAL);
        t_guard_free(h);
    }
    t_guard_free(g);
}

static void
test_bus_hostile(void)
{
    static const char *bad[] = {
        "",
        "e1",
        "e1 ",
        "e2 id - \n2[]",
        "e1  -\n2[]",     /* empty id */
        "e1 id \n2[]",    /* empty origin */
        "e1 id -\n",      /* no packet */
        "e1 id -\n2",     /* packet without body */
        "e1 id -\n4[]",   /* not an EVENT */
        "e1 id - x\n2[]", /* space inside origin */
        "e1 i\td -\n2[]", /* control byte in id */
        "e1 id\n-\n2[]",  /* newline where a space belongs */
        "E1 id -\n2[]",
        "e1 id -",
    };
    struct evt_bus_msg m;
    size_t i;
    char big[128];

    T_EQ_INT(evt_bus_decode("", 0, &m), PROTO_EINVAL);
    for (i = 1; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        void *g = t_guard(bad[i], n);
        if (evt_bus_decode(g, n, &m) != PROTO_EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        T_EQ_INT(evt_bus_decode(g, n, &m), PROTO_EINVAL);
        t_guard_free(g);
    }
    /* Over-long id and origin. */
    memset(big, 0, sizeof big);
    memcpy(big, "e1 ", 3);
    memset(big + 3, 'i', EVT_ID_MAX);
    memcpy(big + 3 + EVT_ID_MAX, " -\n2[]", 6);
    T_EQ_INT(evt_bus_decode(big, strlen(big), &m), PROTO_OK);
    memset(big + 3, 'i', EVT_ID_MAX + 1);
    memcpy(big + 3 + EVT_ID_MAX + 1, " -\n2[]", 6);
    T_EQ_INT(evt_bus_decode(big, strlen(big), &m), PROTO_EINVAL);
    memset(big, 0, sizeof big);
    memcpy(big, "e1 i ", 5);
    memset(big + 5, 's', EVT_SID_MAX + 1);
    memcpy(big + 5 + EVT_SID_MAX + 1, "\n2[]", 4);
    T_EQ_INT(evt_bus_decode(big, strlen(big), &m), PROTO_EINVAL);
    T_EQ_INT(evt_bus_decode(NULL, 0, &m), PROTO_EINVAL);
}

static void
test_system(void)
{
    char out[256];
    size_t n;

    n = evt_system_object(out, sizeof out, EVT_CODE_SUCCESS, "joined", NULL);
    T_EQ_STR(out, "{\"code\":\"Success\",\"message\":\"joined\"}");
    T_EQ_INT(n, strlen(out));

    n = evt_system_object(out, sizeof out, EVT_CODE_REMOVED, "key \"k\"\n",
                          "{\"channels\":[\"private-a\"]}");
    T_EQ_STR(out, "{\"code\":\"RemovedFromChannel\",\"message\":"
                  "\"key \\\"k\\\"\\n\",\"data\":"
                  "{\"channels\":[\"private-a\"]}}");
    T_EQ_INT(n, strlen(out));

    /* Measuring writes nothing; a buffer one short writes nothing. */
    memset(out, '#', sizeof out);
    n = evt_system_object(NULL, 0, EVT_CODE_ERROR, "bad", NULL);
    T_EQ_INT(evt_system_object(out, n, EVT_CODE_ERROR, "bad", NULL), n);
    T_CHECK(out[0] == '#');
    T_EQ_INT(evt_system_object(out, n + 1, EVT_CODE_ERROR, "bad", NULL), n);
    T_EQ_STR(out, "{\"code\":\"Error\",\"message\":\"bad\"}");
}

int
main(void)
{
    test_packet();
    test_bus_roundtrip();
    test_bus_hostile();
    test_system();
    return t_done("evt");
}
