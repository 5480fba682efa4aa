/*
 * test_store.c - the tenancy store against a real Redis (SSE_TEST_REDIS_URL;
 * the test fails when it is unset): projects, keys, verification outcomes,
 * tombstones, key_check across projects, listing, and sealed secrets, read
 * back raw with a blocking client to see that no secret is kept in clear.
 */
#include "t.h"
#include "t_redis.h"

#include <stdlib.h>

#include <event2/event.h>

#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_redis.h"
#include "cm_store.h"

#define NOW 1700000000
#define MASTER                                                                 \
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static struct event_base *base;
static struct cm_redis *rd;
static redisContext *raw;

/* The last callback's results. */
static struct {
    int done, rc;
    struct cm_project project;
    int has_project;
    struct cm_apikey key, keys[8];
    size_t n;
    char plaintext[CM_APIKEY_LEN + 1];
} res;

/* Run the loop until a callback (or 10 s). */
static void
wait_cb(void)
{
    if (t_loop_until(base, &res.done) != 0)
        res.rc = 999;
}

static void
reset(void)
{
    memset(&res, 0, sizeof res);
}

static void
project_cb(int rc, const struct cm_project *p, void *arg)
{
    res.done = 1;
    res.rc = rc;
    if (p != NULL) {
        res.project = *p;
        res.has_project = 1;
    }
}

static void
key_cb(int rc, const struct cm_apikey *k, const struct cm_project *p,
       const char *plaintext, void *arg)
{
    res.done = 1;
    res.rc = rc;
    if (k != NULL)
        res.key = *k;
    if (p != NULL) {
        res.project = *p;
        res.has_project = 1;
    }
    if (plaintext != NULL)
        snprintf(res.plaintext, sizeof res.plaintext, "%s", plaintext);
}

static void
keys_cb(int rc, const struct cm_apikey *keys, size_t n, void *arg)
{
    res.done = 1;
    res.rc = rc;
    res.n = n;
    if (n > 0) /* keys may be NULL when n == 0 */
        memcpy(res.keys, keys, (n < 8 ? n : 8) * sizeof *keys);
}

static void
done_cb(int rc, void *arg)
{
    res.done = 1;
    res.rc = rc;
}

/* Each helper sends, checks the send, waits, and returns the rc. */
static int
project_create(struct cm_store *st, const char *id, const char *name)
{
    reset();
    T_EQ_INT(cm_store_project_create(st, id, name, project_cb, NULL), 0);
    wait_cb();
    return res.rc;
}

static int
project_get(struct cm_store *st, const char *id)
{
    reset();
    T_EQ_INT(cm_store_project_get(st, id, project_cb, NULL), 0);
    wait_cb();
    return res.rc;
}

static int
key_create(struct cm_store *st, const char *pid, unsigned scopes, int64_t ttl,
           char out[CM_APIKEY_LEN + 1])
{
    reset();
    T_EQ_INT(cm_store_key_create(st, pid, "k", scopes, ttl, NOW, key_cb, NULL),
             0);
    wait_cb();
    if (out != NULL)
        memcpy(out, res.plaintext, CM_APIKEY_LEN + 1);
    return res.rc;
}

static int
verify(struct cm_store *st, const char *key, int64_t now)
{
    reset();
    T_EQ_INT(cm_store_key_verify(st, key, now, key_cb, NULL), 0);
    wait_cb();
    return res.rc;
}

static int
check(struct cm_store *st, const char *kid, const char *pid, int64_t now)
{
    reset();
    T_EQ_INT(cm_store_key_check(st, kid, pid, now, done_cb, NULL), 0);
    wait_cb();
    return res.rc;
}

static int
key_delete(struct cm_store *st, const char *kid)
{
    reset();
    T_EQ_INT(cm_store_key_delete(st, kid, key_cb, NULL), 0);
    wait_cb();
    return res.rc;
}

static redisReply *
rawcmd(const char *fmt, const char *a, const char *b)
{
    return redisCommand(raw, fmt, a, b);
}

static void
test_projects(struct cm_store *st)
{
    uint8_t secret[32];

    T_EQ_INT(project_create(st, "acme", "Acme Inc"), CM_STORE_OK);
    T_EQ_STR(res.project.id, "acme");
    memcpy(secret, res.project.secret, 32);
    T_EQ_INT(project_create(st, "acme", "Again"), CM_STORE_EXISTS);
    T_EQ_INT(project_create(st, "Bad Id", "x"), CM_STORE_INVALID);
    T_EQ_INT(project_get(st, "acme"), CM_STORE_OK);
    T_EQ_STR(res.project.name, "Acme Inc");
    T_CHECK(memcmp(res.project.secret, secret, 32) == 0);
    T_CHECK(res.project.created > 0);
    T_EQ_INT(project_get(st, "nope"), CM_STORE_NOTFOUND);
    T_EQ_INT(project_create(st, "other", "Other"), CM_STORE_OK);

    /* Unsealed: the stored secret is the hex of the bytes. */
    char hex[65];
    cm_hex_encode(secret, 32, hex);
    redisReply *r = rawcmd("HGET sse:{p:%s}:project %s", "acme", "secret");
    T_CHECK(r != NULL && r->type == REDIS_REPLY_STRING &&
            strcmp(r->str, hex) == 0);
    freeReplyObject(r);
}

static void
test_keys(struct cm_store *st)
{
    char key[CM_APIKEY_LEN + 1], k2[CM_APIKEY_LEN + 1], bad[CM_APIKEY_LEN + 1];
    char kid[CM_KID_LEN + 1], kid2[CM_KID_LEN + 1];

    T_EQ_INT(key_create(st, "acme", CM_SCOPE_PUBLISH_EVENT | CM_SCOPE_LISTEN, 0,
                        key),
             CM_STORE_OK);
    T_EQ_INT(strlen(key), CM_APIKEY_LEN);
    T_EQ_INT(cm_apikey_parse(key, kid), 0);
    T_EQ_STR(res.key.id, kid);
    T_EQ_INT(res.key.expires, 0);
    T_EQ_INT(key_create(st, "ghost", CM_SCOPE_LISTEN, 0, NULL),
             CM_STORE_NOTFOUND);
    T_EQ_INT(key_create(st, "acme", 0x100, 0, NULL), CM_STORE_INVALID);

    T_EQ_INT(verify(st, key, NOW), CM_STORE_OK);
    T_EQ_STR(res.key.project_id, "acme");
    T_EQ_INT(res.key.scopes, CM_SCOPE_PUBLISH_EVENT | CM_SCOPE_LISTEN);
    T_CHECK(res.has_project);
    T_EQ_STR(res.project.id, "acme");

    /* The stored hash is the SHA-256 of the whole plaintext. */
    uint8_t d[32];
    char hex[65];
    cm_sha256(key, strlen(key), d);
    cm_hex_encode(d, 32, hex);
    redisReply *r = rawcmd("HGET sse:apikey:%s %s", kid, "hash");
    T_CHECK(r != NULL && r->type == REDIS_REPLY_STRING &&
            strcmp(r->str, hex) == 0);
    freeReplyObject(r);

    memcpy(bad, key, sizeof bad);
    bad[CM_APIKEY_LEN - 1] = bad[CM_APIKEY_LEN - 1] == 'A' ? 'B' : 'A';
    T_EQ_INT(verify(st, bad, NOW), CM_STORE_MISMATCH);
    T_EQ_INT(verify(st, "ssek_short", NOW), CM_STORE_INVALID);
    T_EQ_INT(verify(st, "", NOW), CM_STORE_INVALID);
    bad[6] = '!';
    T_EQ_INT(verify(st, bad, NOW), CM_STORE_INVALID);
    memcpy(bad, key, sizeof bad);
    memcpy(bad + 5, "zzzzzzzzzzzzzzzzzzzzzzzz", CM_KID_LEN);
    T_EQ_INT(verify(st, bad, NOW), CM_STORE_NOTFOUND);

    /* Expiry: refused from expiresAt on; in the expiry zset. */
    T_EQ_INT(key_create(st, "acme", CM_SCOPE_SIGN_TOKEN, 1, k2), CM_STORE_OK);
    T_EQ_INT(res.key.expires, NOW + 1);
    cm_apikey_parse(k2, kid2);
    T_EQ_INT(verify(st, k2, NOW), CM_STORE_OK);
    T_EQ_INT(verify(st, k2, NOW + 1), CM_STORE_EXPIRED);
    T_EQ_INT(check(st, kid2, "acme", NOW + 1), CM_STORE_EXPIRED);
    r = rawcmd("ZSCORE " CM_K_APIKEY_EXPIRY " %s", kid2, NULL);
    T_CHECK(r != NULL && r->type == REDIS_REPLY_STRING &&
            atoll(r->str) == NOW + 1);
    freeReplyObject(r);

    /* key_check: live, another project's, unknown. */
    T_EQ_INT(check(st, kid, "acme", NOW), CM_STORE_OK);
    T_EQ_INT(check(st, kid, "other", NOW), CM_STORE_NOTFOUND);
    T_EQ_INT(check(st, "zzzzzzzzzzzzzzzzzzzzzzzz", "acme", NOW),
             CM_STORE_NOTFOUND);
    T_EQ_INT(check(st, "bad", "acme", NOW), CM_STORE_NOTFOUND);

    /* List: both keys, by creation then id. */
    reset();
    T_EQ_INT(cm_store_key_list(st, "acme", keys_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    T_EQ_INT(res.n, 2);
    T_CHECK(strcmp(res.keys[0].id, res.keys[1].id) < 0);
    reset();
    T_EQ_INT(cm_store_key_list(st, "ghost", keys_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_NOTFOUND);

    /* Delete: a tombstone, out of the list and the expiry zset. */
    T_EQ_INT(key_delete(st, kid2), CM_STORE_OK);
    T_EQ_STR(res.key.id, kid2);
    T_EQ_INT(res.key.revoked, 1);
    T_EQ_INT(verify(st, k2, NOW), CM_STORE_REVOKED);
    T_EQ_INT(check(st, kid2, "acme", NOW), CM_STORE_REVOKED);
    T_EQ_INT(key_delete(st, kid2), CM_STORE_OK);
    T_EQ_INT(key_delete(st, "zzzzzzzzzzzzzzzzzzzzzzzz"), CM_STORE_NOTFOUND);
    r = rawcmd("TTL sse:apikey:%s", kid2, NULL);
    T_CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER &&
            r->integer > 6 * 24 * 3600 && r->integer <= 7 * 24 * 3600);
    freeReplyObject(r);
    r = rawcmd("ZSCORE " CM_K_APIKEY_EXPIRY " %s", kid2, NULL);
    T_CHECK(r != NULL && r->type == REDIS_REPLY_NIL);
    freeReplyObject(r);
    reset();
    T_EQ_INT(cm_store_key_list(st, "acme", keys_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.n, 1);
    T_EQ_STR(res.keys[0].id, kid);

    reset();
    T_EQ_INT(cm_store_key_get(st, kid2, key_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    T_EQ_INT(res.key.revoked, 1);

    /* The worker's revoke: done callback, idempotent. */
    reset();
    T_EQ_INT(cm_store_key_revoke(st, kid, done_cb, NULL), 0);
    wait_cb();
    T_EQ_INT(res.rc, CM_STORE_OK);
    T_EQ_INT(verify(st, key, NOW), CM_STORE_REVOKED);
}

static void
test_json(void)
{
    struct cm_apikey k = {.id = "abc",
                          .project_id = "p",
                          .name = "n\"q",
                          .scopes = CM_SCOPE_LISTEN | CM_SCOPE_PUBLISH_EVENT,
                          .created = NOW,
                          .expires = 0};
    char *s = cm_apikey_json(&k);

    T_EQ_STR(s, "{\"id\":\"abc\",\"projectId\":\"p\",\"name\":\"n\\\"q\","
                "\"scopes\":[\"publish_event\",\"listen\"],"
                "\"createdAt\":1700000000,\"expiresAt\":null}");
    free(s);
    k.expires = NOW + 60;
    s = cm_apikey_json(&k);
    T_CHECK(s != NULL && strstr(s, "\"expiresAt\":1700000060}") != NULL);
    free(s);
    T_EQ_INT(cm_scope_parse("sign_token", 10), CM_SCOPE_SIGN_TOKEN);
    T_EQ_INT(cm_scope_parse("sign", 4), 0);
    T_EQ_STR(cm_scope_name(CM_SCOPE_CLIENT_PUBLISH), "client_publish");
}

static void
test_sealed(void)
{
    struct cm_store st, plain, wrong;
    char wrong_hex[65];
    uint8_t secret[32];
    char hex[65];

    T_EQ_INT(cm_store_init(&st, rd, "xyz", NULL), -1);
    T_EQ_INT(cm_store_init(&st, rd, MASTER, NULL), 0);
    T_EQ_INT(st.sealed, 1);
    T_EQ_INT(project_create(&st, "sealed", "S"), CM_STORE_OK);
    memcpy(secret, res.project.secret, 32);
    T_EQ_INT(project_get(&st, "sealed"), CM_STORE_OK);
    T_CHECK(memcmp(res.project.secret, secret, 32) == 0);

    cm_hex_encode(secret, 32, hex);
    redisReply *r = rawcmd("HGET sse:{p:%s}:project %s", "sealed", "secret");
    T_CHECK(r != NULL && r->type == REDIS_REPLY_STRING &&
            strncmp(r->str, "v1:", 3) == 0 && strstr(r->str, hex) == NULL);
    freeReplyObject(r);

    /* Without the master key, or with another, it is unreadable. */
    cm_store_init(&plain, rd, NULL, NULL);
    T_EQ_INT(project_get(&plain, "sealed"), CM_STORE_CORRUPT);
    memcpy(wrong_hex, MASTER, sizeof wrong_hex);
    wrong_hex[0] = 'f';
    cm_store_init(&wrong, rd, wrong_hex, NULL);
    T_EQ_INT(project_get(&wrong, "sealed"), CM_STORE_CORRUPT);

    /* Verification unseals the project too. */
    char key[CM_APIKEY_LEN + 1];
    T_EQ_INT(key_create(&st, "sealed", CM_SCOPE_SIGN_TOKEN, 0, key),
             CM_STORE_OK);
    T_EQ_INT(verify(&st, key, NOW), CM_STORE_OK);
    T_CHECK(memcmp(res.project.secret, secret, 32) == 0);
    T_EQ_INT(verify(&plain, key, NOW), CM_STORE_CORRUPT);

    /* Rotation: with the old key as previous, the new master opens what
     * the old one sealed, and seals new secrets with the new key only. */
    struct cm_store rot;
    char sealed[CM_SEALED_MAX + 1];
    uint8_t back[32];

    T_EQ_INT(cm_store_init(&rot, rd, wrong_hex, MASTER), 0);
    T_EQ_INT(project_get(&rot, "sealed"), CM_STORE_OK);
    T_CHECK(memcmp(res.project.secret, secret, 32) == 0);
    T_EQ_INT(cm_store_secret_seal(&rot, secret, sealed, sizeof sealed), 0);
    T_EQ_INT(cm_store_secret_open(&wrong, sealed, back), 0);
    T_CHECK(memcmp(back, secret, 32) == 0);
    T_EQ_INT(cm_store_secret_open(&st, sealed, back), -1);
    T_EQ_INT(cm_store_init(&rot, rd, wrong_hex, "nothex"), -1);
    /* Plain hex (from before any master key) still opens. */
    T_EQ_INT(cm_store_secret_open(&rot, hex, back), 0);
    T_CHECK(memcmp(back, secret, 32) == 0);
}

static void
test_down(void)
{
    struct cm_redis_url u = {.host = "127.0.0.1", .port = 1};
    struct cm_redis *dead = cm_redis_new(base, &u, "dead");
    struct cm_store st;

    cm_store_init(&st, dead, NULL, NULL);
    T_EQ_INT(cm_store_project_get(&st, "acme", project_cb, NULL), -1);
    cm_redis_free(dead);
}

int
main(void)
{
    struct t_redis tr;
    struct cm_store st;

    /* A database of its own: meson runs the unit tests in parallel
     * against one Redis, and this test flushes what it uses. */
    if (t_redis_open(&tr, 11) != 0)
        return t_done("store");
    base = tr.base;
    rd = tr.link;
    raw = tr.raw;

    cm_store_init(&st, rd, NULL, NULL);
    test_projects(&st);
    test_keys(&st);
    test_json();
    test_sealed();
    test_down();

    t_redis_close(&tr);
    return t_done("store");
}
