/*
 * cm_store.c - projects and API keys in Redis (proto/REDIS.md, "Tenancy").
 * Every call is one round trip: a plain command for one key, a small Lua
 * script where several keys must change or be read together. Secrets are
 * judged here in C (hash compare, expiry, revocation); Redis only stores.
 * Not here: HTTP answers (publisher API), revocation jobs (cm_queue), and
 * the record conversions (cm_store_record.c).
 */
#include "cm_store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "chan.h"
#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_redis.h"

#define ST_TOMBSTONE_S (7 * 24 * 3600) /* a revoked record's lifetime */

/* The Lua scripts keep one line of Lua per line: */
/* clang-format off */
/* KEYS: project. ARGV: id name secret created. 1 created, 0 exists. */
static const char st_lua_project_create[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'id', ARGV[1], 'name', ARGV[2],\n"
    "  'secret', ARGV[3], 'created', ARGV[4])\n"
    "return 1\n";

/* KEYS: project apikey projkeys expiry. ARGV: kid pid name scopes created
 * expires hash. 1 created, 0 no project, -1 kid taken. */
static const char st_lua_key_create[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end\n"
    "redis.call('HSET', KEYS[2], 'id', ARGV[1], 'pid', ARGV[2],\n"
    "  'name', ARGV[3], 'scopes', ARGV[4], 'created', ARGV[5],\n"
    "  'expires', ARGV[6], 'hash', ARGV[7], 'revoked', '0')\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "if tonumber(ARGV[6]) > 0 then\n"
    "  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])\n"
    "end\n"
    "return 1\n";

/* KEYS: apikey. ARGV: project key format. {key hash, project hash}, or
 * {} when the key has no record. */
static const char st_lua_key_verify[] =
    "local k = redis.call('HGETALL', KEYS[1])\n"
    "if #k == 0 then return {} end\n"
    "local pid = redis.call('HGET', KEYS[1], 'pid') or ''\n"
    "return {k, redis.call('HGETALL', string.format(ARGV[1], pid))}\n";

/* KEYS: apikey expiry. ARGV: kid, project keys-set format, tombstone
 * seconds. The record after the change, or {} when there is none. */
static const char st_lua_key_revoke[] =
    "local pid = redis.call('HGET', KEYS[1], 'pid')\n"
    "if not pid then return {} end\n"
    "redis.call('HSET', KEYS[1], 'revoked', '1')\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "redis.call('SREM', string.format(ARGV[2], pid), ARGV[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return redis.call('HGETALL', KEYS[1])\n";

/* KEYS: project projkeys. ARGV: apikey format. 0 when no project, else
 * the list of key hashes. */
static const char st_lua_key_list[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local out = {}\n"
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  local h = redis.call('HGETALL', string.format(ARGV[1], id))\n"
    "  if #h > 0 then out[#out + 1] = h end\n"
    "end\n"
    "return out\n";

/* clang-format on */

enum st_kind { ST_PROJECT, ST_KEY, ST_KEYS, ST_DONE };

/* One request in flight; freed after its callback. */
struct st_req {
    struct cm_store *st;
    enum st_kind kind;
    union {
        cm_store_project_cb project;
        cm_store_key_cb key;
        cm_store_keys_cb keys;
        cm_store_done_cb done;
    } cb;
    void *arg;
    void (*on_reply)(struct st_req *q, const redisReply *reply);
    int fail_rc; /* answered on the loop without looking at Redis */
    int64_t now;
    char kid[CM_KID_LEN + 1];
    char pid[CM_PROJECT_ID_MAX + 1];
    char plaintext[CM_APIKEY_LEN + 1]; /* key create and verify only */
    struct cm_project project;         /* project create */
    struct cm_apikey key;              /* key create */
};

int
cm_store_init(struct cm_store *st, struct cm_redis *redis,
              const char *master_hex, const char *previous_hex)
{
    memset(st, 0, sizeof *st);
    st->redis = redis;
    st->sealed = cm_store_master_parse(master_hex, st->master_key);
    st->has_previous = cm_store_master_parse(previous_hex, st->previous_key);
    return st->sealed < 0 || st->has_previous < 0 ? -1 : 0;
}

const char *
cm_store_strerror(int rc)
{
    switch (rc) {
    case CM_STORE_OK:
        return "ok";
    case CM_STORE_NOTFOUND:
        return "not found";
    case CM_STORE_EXISTS:
        return "already exists";
    case CM_STORE_UNAVAILABLE:
        return "store unavailable";
    case CM_STORE_INVALID:
        return "invalid";
    case CM_STORE_REVOKED:
        return "API key has been revoked";
    case CM_STORE_EXPIRED:
        return "API key has expired";
    case CM_STORE_MISMATCH:
        return "API key is wrong";
    case CM_STORE_CORRUPT:
        return "stored record is unreadable";
    default:
        return "unknown store error";
    }
}

/* ---- requests ---- */

static struct st_req *
st_req_new(struct cm_store *st, enum st_kind kind, void *cb, void *arg)
{
    struct st_req *q = calloc(1, sizeof *q);

    if (q == NULL)
        return NULL;
    q->st = st;
    q->kind = kind;
    q->arg = arg;
    switch (kind) {
    case ST_PROJECT:
        q->cb.project = (cm_store_project_cb)cb;
        break;
    case ST_KEY:
        q->cb.key = (cm_store_key_cb)cb;
        break;
    case ST_KEYS:
        q->cb.keys = (cm_store_keys_cb)cb;
        break;
    case ST_DONE:
        q->cb.done = (cm_store_done_cb)cb;
        break;
    }
    return q;
}

/* Answer rc with no result. */
static void
st_answer(struct st_req *q, int rc)
{
    switch (q->kind) {
    case ST_PROJECT:
        q->cb.project(rc, NULL, q->arg);
        break;
    case ST_KEY:
        q->cb.key(rc, NULL, NULL, NULL, q->arg);
        break;
    case ST_KEYS:
        q->cb.keys(rc, NULL, 0, q->arg);
        break;
    case ST_DONE:
        q->cb.done(rc, q->arg);
        break;
    }
}

static void
st_reply_cb(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct st_req *q = arg;

    (void)r;
    if (q->fail_rc != 0)
        st_answer(q, q->fail_rc);
    else if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        st_answer(q, CM_STORE_UNAVAILABLE);
    else
        q->on_reply(q, reply);
    OPENSSL_cleanse(q->plaintext, sizeof q->plaintext);
    OPENSSL_cleanse(&q->project, sizeof q->project);
    free(q);
}

/* Send argv; q is freed here when Redis is down (-1: cb not called). */
static int
st_send(struct st_req *q, void (*on_reply)(struct st_req *, const redisReply *),
        int argc, const char **argv)
{
    size_t lens[16];
    int i;

    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    q->on_reply = on_reply;
    if (cm_redis_commandargv(q->st->redis, st_reply_cb, q, argc, argv, lens) !=
        0) {
        OPENSSL_cleanse(q, sizeof *q);
        free(q);
        return -1;
    }
    return 0;
}

/*
 * Bad arguments: the contract calls cb from the loop, so the answer rides
 * on a PING round trip instead of being called back from inside the call.
 */
static int
st_fail_later(struct st_req *q, int rc)
{
    const char *argv[] = {"PING"};

    if (q == NULL)
        return -1;
    q->fail_rc = rc;
    return st_send(q, NULL, 1, argv);
}

/* ---- projects ---- */

static void
st_project_created(struct st_req *q, const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_INTEGER)
        st_answer(q, CM_STORE_UNAVAILABLE);
    else if (reply->integer == 0)
        st_answer(q, CM_STORE_EXISTS);
    else
        q->cb.project(CM_STORE_OK, &q->project, q->arg);
}

int
cm_store_project_create(struct cm_store *st, const char *id, const char *name,
                        cm_store_project_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_PROJECT, (void *)cb, arg);
    char key[CM_KEY_MAX], secret[CM_SEALED_MAX + 1], created[CM_STORE_NUM_MAX];
    const char *argv[9];
    int rc;

    if (q == NULL)
        return -1;
    if (id == NULL || name == NULL || !chan_project_id_valid(id, strlen(id)) ||
        strlen(name) > CM_NAME_MAX)
        return st_fail_later(q, CM_STORE_INVALID);
    snprintf(q->project.id, sizeof q->project.id, "%s", id);
    snprintf(q->project.name, sizeof q->project.name, "%s", name);
    q->project.created = (int64_t)time(NULL);
    if (cm_random_bytes(q->project.secret, 32) != 0 ||
        cm_store_secret_seal(st, q->project.secret, secret, sizeof secret) != 0)
        return st_fail_later(q, CM_STORE_UNAVAILABLE);
    snprintf(key, sizeof key, CM_K_PROJECT, id);
    snprintf(created, sizeof created, "%lld", (long long)q->project.created);
    argv[0] = "EVAL";
    argv[1] = st_lua_project_create;
    argv[2] = "1";
    argv[3] = key;
    argv[4] = id;
    argv[5] = name;
    argv[6] = secret;
    argv[7] = created;
    rc = st_send(q, st_project_created, 8, argv);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

static void
st_project_got(struct st_req *q, const redisReply *reply)
{
    struct cm_project p;
    int rc = cm_store_project_read(q->st, reply, &p);

    if (rc == CM_STORE_OK)
        q->cb.project(rc, &p, q->arg);
    else
        st_answer(q, rc);
    OPENSSL_cleanse(&p, sizeof p);
}

int
cm_store_project_get(struct cm_store *st, const char *id,
                     cm_store_project_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_PROJECT, (void *)cb, arg);
    char key[CM_KEY_MAX];
    const char *argv[2];

    if (q == NULL)
        return -1;
    if (id == NULL || !chan_project_id_valid(id, strlen(id)))
        return st_fail_later(q, CM_STORE_NOTFOUND);
    snprintf(key, sizeof key, CM_K_PROJECT, id);
    argv[0] = "HGETALL";
    argv[1] = key;
    return st_send(q, st_project_got, 2, argv);
}

/* ---- keys ---- */

static void
st_key_created(struct st_req *q, const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_INTEGER)
        st_answer(q, CM_STORE_UNAVAILABLE);
    else if (reply->integer == 0)
        st_answer(q, CM_STORE_NOTFOUND);
    else if (reply->integer < 0)
        st_answer(q, CM_STORE_EXISTS); /* a kid collision: 36^24 odds */
    else
        q->cb.key(CM_STORE_OK, &q->key, NULL, q->plaintext, q->arg);
}

/* A fresh kid and plaintext key for q; the hex hash into hash. */
static int
st_key_mint(struct st_req *q, char hash[CM_STORE_HASH_HEX + 1])
{
    uint8_t secret[32], digest[32];
    char b64[CM_STORE_SECRET_B64_LEN + 1];
    int rc = 0;

    if (cm_random_id(q->key.id, CM_KID_LEN) != 0 ||
        cm_random_bytes(secret, sizeof secret) != 0 ||
        b64url_encode(secret, sizeof secret, b64, sizeof b64) !=
            CM_STORE_SECRET_B64_LEN)
        rc = -1;
    else {
        snprintf(q->plaintext, sizeof q->plaintext, "ssek_%s_%s", q->key.id,
                 b64);
        cm_sha256(q->plaintext, CM_APIKEY_LEN, digest);
        cm_hex_encode(digest, sizeof digest, hash);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(b64, sizeof b64);
    return rc;
}

int
cm_store_key_create(struct cm_store *st, const char *project_id,
                    const char *name, unsigned scopes, int64_t ttl_seconds,
                    int64_t now, cm_store_key_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_KEY, (void *)cb, arg);
    char kp[CM_KEY_MAX], ka[CM_KEY_MAX], ks[CM_KEY_MAX];
    char created[CM_STORE_NUM_MAX], expires[CM_STORE_NUM_MAX],
        sc[CM_STORE_SCOPES_MAX];
    char hash[CM_STORE_HASH_HEX + 1];
    const char *argv[14];

    if (q == NULL)
        return -1;
    if (project_id == NULL || name == NULL ||
        !chan_project_id_valid(project_id, strlen(project_id)))
        return st_fail_later(q, CM_STORE_NOTFOUND);
    if (strlen(name) > CM_NAME_MAX || (scopes & ~CM_SCOPE_ALL) != 0 ||
        ttl_seconds < 0)
        return st_fail_later(q, CM_STORE_INVALID);
    if (st_key_mint(q, hash) != 0)
        return st_fail_later(q, CM_STORE_UNAVAILABLE);
    snprintf(q->key.project_id, sizeof q->key.project_id, "%s", project_id);
    snprintf(q->key.name, sizeof q->key.name, "%s", name);
    q->key.scopes = scopes;
    q->key.created = now;
    q->key.expires = ttl_seconds > 0 ? now + ttl_seconds : 0;
    snprintf(kp, sizeof kp, CM_K_PROJECT, project_id);
    snprintf(ka, sizeof ka, CM_K_APIKEY, q->key.id);
    snprintf(ks, sizeof ks, CM_K_PROJECT_KEYS, project_id);
    snprintf(created, sizeof created, "%lld", (long long)now);
    snprintf(expires, sizeof expires, "%lld", (long long)q->key.expires);
    cm_store_scopes_format(scopes, sc, sizeof sc);
    const char *a[] = {"EVAL",
                       st_lua_key_create,
                       "4",
                       kp,
                       ka,
                       ks,
                       CM_K_APIKEY_EXPIRY,
                       q->key.id,
                       project_id,
                       name,
                       sc,
                       created,
                       expires,
                       hash};
    memcpy(argv, a, sizeof a);
    return st_send(q, st_key_created, 14, argv);
}

static int
st_cmp_keys(const void *a, const void *b)
{
    const struct cm_apikey *x = a, *y = b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void
st_key_listed(struct st_req *q, const redisReply *reply)
{
    struct cm_apikey *keys;
    size_t i;
    int rc = CM_STORE_OK;

    if (reply->type == REDIS_REPLY_INTEGER) {
        st_answer(q, CM_STORE_NOTFOUND);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        st_answer(q, CM_STORE_UNAVAILABLE);
        return;
    }
    keys = calloc(reply->elements + 1, sizeof *keys);
    if (keys == NULL) {
        st_answer(q, CM_STORE_UNAVAILABLE);
        return;
    }
    for (i = 0; i < reply->elements && rc == CM_STORE_OK; i++)
        rc = cm_store_key_read(reply->element[i], &keys[i], NULL);
    if (rc == CM_STORE_OK) {
        qsort(keys, reply->elements, sizeof *keys, st_cmp_keys);
        q->cb.keys(CM_STORE_OK, keys, reply->elements, q->arg);
    } else
        st_answer(q, rc);
    free(keys);
}

int
cm_store_key_list(struct cm_store *st, const char *project_id,
                  cm_store_keys_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_KEYS, (void *)cb, arg);
    char kp[CM_KEY_MAX], ks[CM_KEY_MAX];

    if (q == NULL)
        return -1;
    if (project_id == NULL ||
        !chan_project_id_valid(project_id, strlen(project_id)))
        return st_fail_later(q, CM_STORE_NOTFOUND);
    snprintf(kp, sizeof kp, CM_K_PROJECT, project_id);
    snprintf(ks, sizeof ks, CM_K_PROJECT_KEYS, project_id);
    const char *argv[] = {"EVAL", st_lua_key_list, "2", kp, ks, CM_K_APIKEY};
    return st_send(q, st_key_listed, 6, argv);
}

/* A key record reply (HGETALL) to the callback; empty is NOTFOUND. */
static void
st_key_got(struct st_req *q, const redisReply *reply)
{
    struct cm_apikey k;
    int rc;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        st_answer(q, reply->type == REDIS_REPLY_ARRAY ? CM_STORE_NOTFOUND
                                                      : CM_STORE_UNAVAILABLE);
        return;
    }
    rc = cm_store_key_read(reply, &k, NULL);
    if (rc == CM_STORE_OK)
        q->cb.key(rc, &k, NULL, NULL, q->arg);
    else
        st_answer(q, rc);
}

/* The HGETALL of a key record by id, answered by on_reply. */
static int
st_key_fetch(struct st_req *q, const char *kid,
             void (*on_reply)(struct st_req *, const redisReply *))
{
    char ka[CM_KEY_MAX];

    if (q == NULL)
        return -1;
    if (kid == NULL || strnlen(kid, CM_KID_LEN + 1) != CM_KID_LEN ||
        !cm_store_kid_valid(kid))
        return st_fail_later(q, CM_STORE_NOTFOUND);
    snprintf(ka, sizeof ka, CM_K_APIKEY, kid);
    const char *argv[] = {"HGETALL", ka};
    return st_send(q, on_reply, 2, argv);
}

int
cm_store_key_get(struct cm_store *st, const char *kid, cm_store_key_cb cb,
                 void *arg)
{
    return st_key_fetch(st_req_new(st, ST_KEY, (void *)cb, arg), kid,
                        st_key_got);
}

/* Liveness at now: REVOKED, EXPIRED (from expiresAt on) or OK. */
static int
st_key_live(const struct cm_apikey *k, int64_t now)
{
    if (k->revoked)
        return CM_STORE_REVOKED;
    if (k->expires > 0 && k->expires <= now)
        return CM_STORE_EXPIRED;
    return CM_STORE_OK;
}

static void
st_key_checked(struct st_req *q, const redisReply *reply)
{
    struct cm_apikey k;
    int rc;

    if (reply->type != REDIS_REPLY_ARRAY) {
        st_answer(q, CM_STORE_UNAVAILABLE);
        return;
    }
    if (reply->elements == 0) {
        st_answer(q, CM_STORE_NOTFOUND);
        return;
    }
    rc = cm_store_key_read(reply, &k, NULL);
    /* Another project's key is no key at all, for this project. */
    if (rc == CM_STORE_OK && strcmp(k.project_id, q->pid) != 0)
        rc = CM_STORE_NOTFOUND;
    if (rc == CM_STORE_OK)
        rc = st_key_live(&k, q->now);
    q->cb.done(rc, q->arg);
}

int
cm_store_key_check(struct cm_store *st, const char *kid, const char *project_id,
                   int64_t now, cm_store_done_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_DONE, (void *)cb, arg);

    if (q != NULL) {
        q->now = now;
        /* An over-long id stays empty: it matches no record. */
        if (project_id != NULL && strlen(project_id) < sizeof q->pid)
            memcpy(q->pid, project_id, strlen(project_id) + 1);
    }
    return st_key_fetch(q, kid, st_key_checked);
}

/*
 * The secret is judged first: whoever does not hold the key learns nothing
 * about its state. Then revocation, expiry, and the project.
 */
static void
st_key_verified(struct st_req *q, const redisReply *reply)
{
    struct cm_apikey k;
    struct cm_project p;
    char stored[CM_STORE_HASH_HEX + 1], hex[CM_STORE_HASH_HEX + 1];
    uint8_t digest[32];
    int rc;

    if (reply->type != REDIS_REPLY_ARRAY ||
        (reply->elements != 0 && reply->elements != 2)) {
        st_answer(q, CM_STORE_UNAVAILABLE);
        return;
    }
    if (reply->elements == 0) {
        st_answer(q, CM_STORE_NOTFOUND);
        return;
    }
    rc = cm_store_key_read(reply->element[0], &k, stored);
    if (rc == CM_STORE_OK && strlen(stored) != CM_STORE_HASH_HEX)
        rc = CM_STORE_CORRUPT;
    if (rc == CM_STORE_OK) {
        cm_sha256(q->plaintext, CM_APIKEY_LEN, digest);
        cm_hex_encode(digest, sizeof digest, hex);
        if (!cm_ct_equal(hex, stored, CM_STORE_HASH_HEX))
            rc = CM_STORE_MISMATCH;
    }
    if (rc == CM_STORE_OK)
        rc = st_key_live(&k, q->now);
    if (rc == CM_STORE_OK)
        rc = cm_store_project_read(q->st, reply->element[1], &p);
    if (rc == CM_STORE_OK)
        q->cb.key(rc, &k, &p, NULL, q->arg);
    else
        st_answer(q, rc);
    OPENSSL_cleanse(&p, sizeof p);
}

int
cm_store_key_verify(struct cm_store *st, const char *plaintext, int64_t now,
                    cm_store_key_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_KEY, (void *)cb, arg);
    char ka[CM_KEY_MAX];

    if (q == NULL)
        return -1;
    if (cm_apikey_parse(plaintext, q->kid) != 0)
        return st_fail_later(q, CM_STORE_INVALID);
    memcpy(q->plaintext, plaintext, CM_APIKEY_LEN + 1);
    q->now = now;
    snprintf(ka, sizeof ka, CM_K_APIKEY, q->kid);
    const char *argv[] = {"EVAL", st_lua_key_verify, "1", ka, CM_K_PROJECT};
    return st_send(q, st_key_verified, 5, argv);
}

static void
st_key_revoked(struct st_req *q, const redisReply *reply)
{
    struct cm_apikey k;
    int rc;

    if (reply->type != REDIS_REPLY_ARRAY) {
        st_answer(q, CM_STORE_UNAVAILABLE);
        return;
    }
    rc = reply->elements == 0 ? CM_STORE_NOTFOUND
                              : cm_store_key_read(reply, &k, NULL);
    if (q->kind == ST_DONE)
        q->cb.done(rc, q->arg);
    else if (rc == CM_STORE_OK)
        q->cb.key(rc, &k, NULL, NULL, q->arg);
    else
        st_answer(q, rc);
}

/* One script for the admin DELETE and the worker's revoke. */
static int
st_key_tombstone(struct st_req *q, const char *kid)
{
    char ka[CM_KEY_MAX], ttl[CM_STORE_NUM_MAX];

    if (q == NULL)
        return -1;
    if (kid == NULL || strnlen(kid, CM_KID_LEN + 1) != CM_KID_LEN ||
        !cm_store_kid_valid(kid))
        return st_fail_later(q, CM_STORE_NOTFOUND);
    snprintf(ka, sizeof ka, CM_K_APIKEY, kid);
    snprintf(ttl, sizeof ttl, "%d", ST_TOMBSTONE_S);
    const char *argv[] = {
        "EVAL", st_lua_key_revoke, "2", ka, CM_K_APIKEY_EXPIRY,
        kid,    CM_K_PROJECT_KEYS, ttl};
    return st_send(q, st_key_revoked, 8, argv);
}

int
cm_store_key_delete(struct cm_store *st, const char *kid, cm_store_key_cb cb,
                    void *arg)
{
    return st_key_tombstone(st_req_new(st, ST_KEY, (void *)cb, arg), kid);
}

int
cm_store_key_revoke(struct cm_store *st, const char *kid, cm_store_done_cb cb,
                    void *arg)
{
    return st_key_tombstone(st_req_new(st, ST_DONE, (void *)cb, arg), kid);
}
