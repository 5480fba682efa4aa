/*
 * test_tw.c - unit tests of the task worker's pure parts: intake parsing
 * (every malformed shape answers 400), control-message building (grouping
 * by gateway and socket, splitting under the byte bound, skipping
 * malformed members), gateway socks members, and the failed-jobs JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "t.h"
#include "tw_bus.h"
#include "tw_control.h"
#include "tw_intake.h"
#include "tw_jobs.h"
#include "tw_sweeper.h"
#include "cm_queue.h"

static int
parse(const char *body)
{
    struct tw_event ev;
    const char *msg = NULL;
    char *g;
    int rc;

    /* t_guard_free cannot find the header of an empty copy. */
    if (body[0] == '\0')
        return tw_intake_parse(body, 0, &ev, &msg);
    g = t_guard(body, strlen(body));
    rc = tw_intake_parse(g, strlen(body), &ev, &msg);
    if (rc != 0)
        T_CHECK(msg != NULL);
    t_guard_free(g);
    return rc;
}

static void
test_intake(void)
{
    struct tw_event ev;
    const char *msg;
    const char *ok = "{\"type\":\"ApiKeyExpired\",\"apiKeyRecordId\":"
                     "\"abcdefghij0123456789wxyz\",\"projectId\":\"p-1\"}";
    static const char *bad[] = {
        "",
        "nope",
        "[]",
        "null",
        "\"x\"",
        "{}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"k1\"}",
        "{\"type\":\"ApiKeyDeleted\",\"projectId\":\"p\"}",
        "{\"apiKeyRecordId\":\"k1\",\"projectId\":\"p\"}",
        "{\"type\":\"KeyGone\",\"apiKeyRecordId\":\"k1\",\"projectId\":\"p\"}",
        "{\"type\":\"apikeydeleted\",\"apiKeyRecordId\":\"k1\",\"projectId\":"
        "\"p\"}",
        "{\"type\":1,\"apiKeyRecordId\":\"k1\",\"projectId\":\"p\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":7,\"projectId\":\"p\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"k1\",\"projectId\":[]"
        "}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"\",\"projectId\":"
        "\"p\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"a|b\",\"projectId\":"
        "\"p\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"k1\",\"projectId\":"
        "\"Bad\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"k1\",\"projectId\":"
        "\"\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":"
        "\"0123456789012345678901234567890123\",\"projectId\":\"p\"}",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"k1\",\"projectId\":"
        "\"p\"} x",
        "{\"type\":\"ApiKeyDeleted\",\"apiKeyRecordId\":\"k1\",\"projectId\":"
        "\"p\"",
    };

    T_EQ_INT(tw_intake_parse(ok, strlen(ok), &ev, &msg), 0);
    T_EQ_INT(ev.type, TW_EV_API_KEY_EXPIRED);
    T_EQ_STR(ev.kid, "abcdefghij0123456789wxyz");
    T_EQ_STR(ev.project_id, "p-1");
    T_EQ_INT(parse(ok), 0);
    T_EQ_INT(parse("{\"projectId\":\"p\",\"type\":\"ApiKeyDeleted\","
                   "\"apiKeyRecordId\":\"k1\",\"extra\":true}"),
             0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i]);
        if (rc == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        T_EQ_INT(rc, -1);
    }
    T_EQ_INT(tw_intake_parse(NULL, 0, &ev, &msg), -1);
    T_EQ_STR(tw_event_type_name(TW_EV_API_KEY_DELETED), "ApiKeyDeleted");
    T_EQ_INT(tw_event_type_parse("ApiKeyExpired"), TW_EV_API_KEY_EXPIRED);
    T_EQ_INT(tw_event_type_parse("ApiKeyExpire"), -1);
}

struct collect {
    char tags[64][9];
    char *msgs[64];
    size_t n;
    size_t max_len;
};

static int
collect_emit(const char *tag, const char *msg, size_t len, void *arg)
{
    struct collect *c = arg;

    if (c->n >= 64)
        return -1;
    memcpy(c->tags[c->n], tag, 9);
    c->msgs[c->n] = strndup(msg, len);
    if (len > c->max_len)
        c->max_len = len;
    c->n++;
    return 0;
}

static void
collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->msgs[i]);
    memset(c, 0, sizeof(*c));
}

static void
test_control_small(void)
{
    /* Sorted, as the worker sorts them; one malformed member in between. */
    const char *m[] = {
        "aaaaaaaa000000000001|private-a", "aaaaaaaa000000000001|private-b",
        "aaaaaaaa000000000002|private-a", "aaaaaaaaBAD|private-a",
        "bbbbbbbb000000000009|private-z",
    };
    struct collect c;
    long n;

    memset(&c, 0, sizeof(c));
    n = tw_control_build("p1", "ApiKeyDeleted",
                         tw_control_text("ApiKeyDeleted"), m, 5, 1 << 20,
                         collect_emit, &c);
    T_EQ_INT(n, 2);
    T_EQ_INT(c.n, 2);
    T_EQ_STR(c.tags[0], "aaaaaaaa");
    T_EQ_STR(
        c.msgs[0],
        "{\"op\":\"remove\",\"projectId\":\"p1\",\"reason\":"
        "\"ApiKeyDeleted\",\"message\":\"API key deleted: removed from "
        "private channels\",\"sockets\":[{\"sid\":\"aaaaaaaa000000000001\","
        "\"channels\":[\"private-a\",\"private-b\"]},{\"sid\":"
        "\"aaaaaaaa000000000002\",\"channels\":[\"private-a\"]}]}");
    T_EQ_STR(c.tags[1], "bbbbbbbb");
    T_EQ_STR(
        c.msgs[1],
        "{\"op\":\"remove\",\"projectId\":\"p1\",\"reason\":"
        "\"ApiKeyDeleted\",\"message\":\"API key deleted: removed from "
        "private channels\",\"sockets\":[{\"sid\":\"bbbbbbbb000000000009\","
        "\"channels\":[\"private-z\"]}]}");
    collect_free(&c);
    /* Nothing valid: nothing sent. */
    T_EQ_INT(tw_control_build("p1", "ApiKeyExpired", "x", m + 3, 1, 4096,
                              collect_emit, &c),
             0);
    T_EQ_INT(c.n, 0);
}

/* 3,000 sockets of one gateway under a 16 KiB bound: several messages,
 * each under the bound, each valid JSON, every socket exactly once. */
static void
test_control_split(void)
{
    enum { N = 3000 };
    char **m = malloc(N * sizeof(*m));
    struct collect c;
    size_t seen = 0;
    long n;

    for (int i = 0; i < N; i++) {
        m[i] = malloc(64);
        snprintf(m[i], 64, "cccccccc%012d|private-x", i);
    }
    memset(&c, 0, sizeof(c));
    n = tw_control_build("proj", "ApiKeyExpired", "t", (const char **)m, N,
                         16384, collect_emit, &c);
    T_CHECK(n > 1);
    T_EQ_INT(n, c.n);
    T_CHECK(c.max_len <= 16384);
    for (size_t i = 0; i < c.n; i++) {
        cJSON *j = cJSON_Parse(c.msgs[i]);
        cJSON *s = cJSON_GetObjectItem(j, "sockets");
        T_CHECK(cJSON_IsArray(s));
        seen += (size_t)cJSON_GetArraySize(s);
        T_EQ_STR(c.tags[i], "cccccccc");
        cJSON_Delete(j);
    }
    T_EQ_INT(seen, N);
    collect_free(&c);
    /* One socket with 2,000 channels under 4 KiB: split across messages,
     * every channel still named once. */
    for (int i = 0; i < 2000; i++)
        snprintf(m[i], 64, "dddddddd000000000001|private-%05d", i);
    n = tw_control_build("proj", "ApiKeyExpired", "t", (const char **)m, 2000,
                         4096, collect_emit, &c);
    T_CHECK(n > 1 && n <= 64);
    seen = 0;
    for (size_t i = 0; i < c.n; i++) {
        cJSON *j = cJSON_Parse(c.msgs[i]);
        cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sockets"), 0);
        seen += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(s, "channels"));
        T_CHECK(strlen(c.msgs[i]) <= 4096);
        cJSON_Delete(j);
    }
    T_EQ_INT(seen, 2000);
    collect_free(&c);
    for (int i = 0; i < N; i++)
        free(m[i]);
    free(m);
}

static void
test_members(void)
{
    const char *ch = NULL;
    char pid[65], sid[21];

    T_EQ_INT(tw_member_valid("abcdefgh0123456789ab|private-x", &ch), 1);
    T_EQ_STR(ch, "private-x");
    T_EQ_INT(tw_member_valid("abcdefgh0123456789ab|", &ch), 0);
    T_EQ_INT(tw_member_valid("abcdefgh0123456789a|private", &ch), 0);
    T_EQ_INT(tw_member_valid("ABCDEFGH0123456789ab|private", &ch), 0);
    T_EQ_INT(tw_member_valid("abcdefgh0123456789ab|bad name", &ch), 0);
    T_EQ_INT(tw_sweeper_split_gwsock("p1|abcdefgh0123456789ab", 23, pid, sid),
             1);
    T_EQ_STR(pid, "p1");
    T_EQ_STR(sid, "abcdefgh0123456789ab");
    T_EQ_INT(tw_sweeper_split_gwsock("p1abcdefgh0123456789ab", 22, pid, sid),
             0);
    T_EQ_INT(tw_sweeper_split_gwsock("P|abcdefgh0123456789ab", 22, pid, sid),
             0);
    T_EQ_INT(tw_sweeper_split_gwsock("p1|abcdefgh0123456789a", 22, pid, sid),
             0);
    T_EQ_INT(tw_kid_valid("abc_DEF-09"), 1);
    T_EQ_INT(tw_kid_valid("a b"), 0);
}

static void
test_jobs_json(void)
{
    struct cm_job j[2];
    char *s;

    memset(j, 0, sizeof(j));
    strcpy(j[0].id, "rev-d-k1");
    strcpy(j[0].type, "ApiKeyDeleted");
    strcpy(j[0].api_key_id, "k1");
    strcpy(j[0].project_id, "p");
    strcpy(j[0].state, "failed");
    j[0].attempts = 5;
    j[0].max_attempts = 5;
    j[0].created_ms = 1700000000123;
    j[0].updated_ms = 1700000001999;
    strcpy(j[0].last_error, "SMEMBERS: WRONGTYPE \"quoted\"");
    s = tw_jobs_json(j, 1);
    T_EQ_STR(s, "[{\"id\":\"rev-d-k1\",\"type\":\"ApiKeyDeleted\","
                "\"apiKeyRecordId\":\"k1\",\"projectId\":\"p\",\"state\":"
                "\"failed\",\"attempts\":5,\"maxAttempts\":5,\"lastError\":"
                "\"SMEMBERS: WRONGTYPE \\\"quoted\\\"\",\"createdAt\":"
                "1700000000,\"updatedAt\":1700000001}]");
    free(s);
    s = tw_jobs_json(j, 0);
    T_EQ_STR(s, "[]");
    free(s);
}

int
main(void)
{
    test_intake();
    test_control_small();
    test_control_split();
    test_members();
    test_jobs_json();
    return t_done("tw");
}
