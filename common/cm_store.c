/*
 * cm_store.c - projects and API keys in Redis (proto/REDIS.md, "Tenancy").
 * Every call is one round trip: a plain command for one key, a small Lua
 * script where several keys must change or be read together. Secrets are
 * judged here in C (hash compare, expiry, revocation); Redis only stores.
 * Not here: HTTP answers (publisher API) and revocation jobs (cm_queue).
 */
#include "cm_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "b64.h"
#include "chan.h"
#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_redis.h"

#define ST_TOMBSTONE_S (7 * 24 * 3600) /* a revoked record's lifetime */
#define ST_SECRET_B64_LEN 43            /* base64url of 32 bytes */
#define ST_HASH_HEX 64                  /* hex SHA-256 */
#define ST_NUM_MAX 24                   /* room for an int64 in decimal */
#define ST_SCOPES_MAX 96                /* "publish_event,sign_token,..." */

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

static const char *const st_scope_names[] = {
    "publish_event", "sign_token", "listen", "client_publish"};
#define ST_NSCOPES (sizeof st_scope_names / sizeof st_scope_names[0])

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
    int fail_rc;   /* answered on the loop without looking at Redis */
    int64_t now;
    char kid[CM_KID_LEN + 1];
    char pid[CM_PROJECT_ID_MAX + 1];
    char plaintext[CM_APIKEY_LEN + 1]; /* key create and verify only */
    struct cm_project project;         /* project create */
    struct cm_apikey key;              /* key create */
};

/* A 64-hex key into out; 0 when absent, 1 when set, -1 when bad. */
static int
st_key_parse(const char *hex, uint8_t out[32])
{
    if (hex == NULL || hex[0] == '\0')
        return 0;
    if (strlen(hex) != 64 || cm_hex_decode(hex, 32, out) != 0)
        return -1;
    return 1;
}

int
cm_store_init(struct cm_store *st, struct cm_redis *redis,
              const char *master_hex, const char *previous_hex)
{
    memset(st, 0, sizeof *st);
    st->redis = redis;
    st->sealed = st_key_parse(master_hex, st->master_key);
    st->has_previous = st_key_parse(previous_hex, st->previous_key);
    return st->sealed < 0 || st->has_previous < 0 ? -1 : 0;
}

unsigned
cm_scope_parse(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < ST_NSCOPES; i++)
        if (strlen(st_scope_names[i]) == len &&
            memcmp(st_scope_names[i], name, len) == 0)
            return 1u << i;
    return 0;
}

const char *
cm_scope_name(unsigned bit)
{
    size_t i;

    for (i = 0; i < ST_NSCOPES; i++)
        if (bit == 1u << i)
            return st_scope_names[i];
    return NULL;
}

const char *
cm_store_strerror(int rc)
{
    switch (rc) {
    case CM_STORE_OK: return "ok";
    case CM_STORE_NOTFOUND: return "not found";
    case CM_STORE_EXISTS: return "already exists";
    case CM_STORE_UNAVAILABLE: return "store unavailable";
    case CM_STORE_INVALID: return "invalid";
    case CM_STORE_REVOKED: return "API key has been revoked";
    case CM_STORE_EXPIRED: return "API key has expired";
    case CM_STORE_MISMATCH: return "API key is wrong";
    case CM_STORE_CORRUPT: return "stored record is unreadable";
    default: return "unknown store error";
    }
}

static int
st_is_kid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
st_is_b64url_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
st_kid_valid(const char *kid)
{
    size_t i;

    for (i = 0; i < CM_KID_LEN; i++)
        if (!st_is_kid_char(kid[i]))
            return 0;
    return kid[CM_KID_LEN] == '\0';
}

int
cm_apikey_parse(const char *plaintext, char kid[CM_KID_LEN + 1])
{
    size_t i;

    if (plaintext == NULL ||
        strnlen(plaintext, CM_APIKEY_LEN + 1) != CM_APIKEY_LEN ||
        memcmp(plaintext, "ssek_", 5) != 0 || plaintext[5 + CM_KID_LEN] != '_')
        return -1;
    for (i = 0; i < CM_KID_LEN; i++)
        if (!st_is_kid_char(plaintext[5 + i]))
            return -1;
    for (i = 6 + CM_KID_LEN; i < CM_APIKEY_LEN; i++)
        if (!st_is_b64url_char(plaintext[i]))
            return -1;
    memcpy(kid, plaintext + 5, CM_KID_LEN);
    kid[CM_KID_LEN] = '\0';
    return 0;
}

/* ---- reading replies ---- */

/* The value of field in an HGETALL reply, or NULL. */
static const redisReply *
st_hget(const redisReply *h, const char *field)
{
    size_t i;

    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(h->element[i]->str, field) == 0 &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1];
    return NULL;
}

/* Copy a string field of at most cap - 1 bytes. -1 missing or too long. */
static int
st_hget_str(const redisReply *h, const char *field, char *out, size_t cap)
{
    const redisReply *v = st_hget(h, field);

    if (v == NULL || v->len >= cap)
        return -1;
    memcpy(out, v->str, v->len);
    out[v->len] = '\0';
    return 0;
}

static int
st_hget_int(const redisReply *h, const char *field, int64_t *out)
{
    char buf[ST_NUM_MAX], *end;
    long long v;

    if (st_hget_str(h, field, buf, sizeof buf) != 0 || buf[0] == '\0')
        return -1;
    v = strtoll(buf, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* "a,b" -> bits. -1 on an unknown name. */
static int
st_scopes_parse(const char *s, unsigned *bits)
{
    *bits = 0;
    while (*s != '\0') {
        size_t n = strcspn(s, ",");
        unsigned b = cm_scope_parse(s, n);
        if (b == 0)
            return -1;
        *bits |= b;
        s += n + (s[n] == ',');
    }
    return 0;
}

static void
st_scopes_format(unsigned bits, char *out, size_t cap)
{
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < ST_NSCOPES; i++)
        if (bits & (1u << i))
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "",
                                  st_scope_names[i]);
}

/* A key hash into k, and its stored hash (hex) into hash if not NULL. */
static int
st_key_read(const redisReply *h, struct cm_apikey *k, char *hash)
{
    char scopes[ST_SCOPES_MAX];
    int64_t revoked;

    memset(k, 0, sizeof *k);
    if (st_hget_str(h, "id", k->id, sizeof k->id) != 0 ||
        st_hget_str(h, "pid", k->project_id, sizeof k->project_id) != 0 ||
        st_hget_str(h, "name", k->name, sizeof k->name) != 0 ||
        st_hget_str(h, "scopes", scopes, sizeof scopes) != 0 ||
        st_scopes_parse(scopes, &k->scopes) != 0 ||
        st_hget_int(h, "created", &k->created) != 0 ||
        st_hget_int(h, "expires", &k->expires) != 0 ||
        st_hget_int(h, "revoked", &revoked) != 0)
        return CM_STORE_CORRUPT;
    k->revoked = revoked != 0;
    if (hash != NULL &&
        st_hget_str(h, "hash", hash, ST_HASH_HEX + 1) != 0)
        return CM_STORE_CORRUPT;
    return CM_STORE_OK;
}

/* A project hash into p, unsealing its secret. */
static int
st_project_read(const struct cm_store *st, const redisReply *h,
                struct cm_project *p)
{
    char secret[CM_SEALED_MAX + 1];

    memset(p, 0, sizeof *p);
    if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements == 0)
        return CM_STORE_NOTFOUND;
    if (st_hget_str(h, "id", p->id, sizeof p->id) != 0 ||
        st_hget_str(h, "name", p->name, sizeof p->name) != 0 ||
        st_hget_int(h, "created", &p->created) != 0 ||
        st_hget_str(h, "secret", secret, sizeof secret) != 0)
        return CM_STORE_CORRUPT;
    return cm_store_secret_open(st, secret, p->secret) == 0
               ? CM_STORE_OK
               : CM_STORE_CORRUPT;
}

int
cm_store_secret_open(const struct cm_store *st, const char *stored,
                     uint8_t out[32])
{
    uint8_t plain[64];
    int n = -1;

    if (strncmp(stored, "v1:", 3) != 0)
        return strlen(stored) == 64 && cm_hex_decode(stored, 32, out) == 0
                   ? 0
                   : -1;
    /* Sealed: without the right master key it is unreadable. During a
     * rotation the previous key still opens what it sealed. */
    if (st->sealed)
        n = cm_secret_open(st->master_key, stored, plain, sizeof plain);
    if (n != 32 && st->has_previous)
        n = cm_secret_open(st->previous_key, stored, plain, sizeof plain);
    if (n == 32)
        memcpy(out, plain, 32);
    OPENSSL_cleanse(plain, sizeof plain);
    return n == 32 ? 0 : -1;
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
    case ST_PROJECT: q->cb.project = (cm_store_project_cb)cb; break;
    case ST_KEY: q->cb.key = (cm_store_key_cb)cb; break;
    case ST_KEYS: q->cb.keys = (cm_store_keys_cb)cb; break;
    case ST_DONE: q->cb.done = (cm_store_done_cb)cb; break;
    }
    return q;
}

/* Answer rc with no result. */
static void
st_answer(struct st_req *q, int rc)
{
    switch (q->kind) {
    case ST_PROJECT: q->cb.project(rc, NULL, q->arg); break;
    case ST_KEY: q->cb.key(rc, NULL, NULL, NULL, q->arg); break;
    case ST_KEYS: q->cb.keys(rc, NULL, 0, q->arg); break;
    case ST_DONE: q->cb.done(rc, q->arg); break;
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
    if (cm_redis_commandargv(q->st->redis, st_reply_cb, q, argc, argv,
                             lens) != 0) {
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
cm_store_secret_seal(const struct cm_store *st, const uint8_t secret[32],
                     char *out, size_t cap)
{
    if (st->sealed)
        return cm_secret_seal(st->master_key, secret, 32, out, cap) < 0 ? -1
                                                                         : 0;
    if (cap < 65)
        return -1;
    cm_hex_encode(secret, 32, out);
    return 0;
}

int
cm_store_project_create(struct cm_store *st, const char *id,
                        const char *name, cm_store_project_cb cb, void *arg)
{
    struct st_req *q = st_req_new(st, ST_PROJECT, (void *)cb, arg);
    char key[CM_KEY_MAX], secret[CM_SEALED_MAX + 1], created[ST_NUM_MAX];
    const char *argv[9];
    int rc;

    if (q == NULL)
        return -1;
    if (id == NULL || name == NULL ||
        !chan_project_id_valid(id, strlen(id)) || strlen(name) > CM_NAME_MAX)
        return st_fail_later(q, CM_STORE_INVALID);
    snprintf(q->project.id, sizeof q->project.id, "%s", id);
    snprintf(q->project.name, sizeof q->project.name, "%s", name);
    q->project.created = (int64_t)time(NULL);
    if (cm_random_bytes(q->project.secret, 32) != 0 ||
        cm_store_secret_seal(st, q->project.secret, secret,
                             sizeof secret) != 0)
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
    int rc = st_project_read(q->st, reply, &p);

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
st_key_mint(struct st_req *q, char hash[ST_HASH_HEX + 1])
{
    uint8_t secret[32], digest[32];
    char b64[ST_SECRET_B64_LEN + 1];
    int rc = 0;

    if (cm_random_id(q->key.id, CM_KID_LEN) != 0 ||
        cm_random_bytes(secret, sizeof secret) != 0 ||
        b64url_encode(secret, sizeof secret, b64, sizeof b64) !=
            ST_SECRET_B64_LEN)
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
    char created[ST_NUM_MAX], expires[ST_NUM_MAX], sc[ST_SCOPES_MAX];
    char hash[ST_HASH_HEX + 1];
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
    st_scopes_format(scopes, sc, sizeof sc);
    const char *a[] = {"EVAL", st_lua_key_create, "4", kp, ka, ks,
                       CM_K_APIKEY_EXPIRY, q->key.id, project_id, name, sc,
                       created, expires, hash};
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
        rc = st_key_read(reply->element[i], &keys[i], NULL);
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
    rc = st_key_read(reply, &k, NULL);
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
        !st_kid_valid(kid))
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
    rc = st_key_read(reply, &k, NULL);
    /* Another project's key is no key at all, for this project. */
    if (rc == CM_STORE_OK && strcmp(k.project_id, q->pid) != 0)
        rc = CM_STORE_NOTFOUND;
    if (rc == CM_STORE_OK)
        rc = st_key_live(&k, q->now);
    q->cb.done(rc, q->arg);
}

int
cm_store_key_check(struct cm_store *st, const char *kid,
                   const char *project_id, int64_t now, cm_store_done_cb cb,
                   void *arg)
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
    char stored[ST_HASH_HEX + 1], hex[ST_HASH_HEX + 1];
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
    rc = st_key_read(reply->element[0], &k, stored);
    if (rc == CM_STORE_OK && strlen(stored) != ST_HASH_HEX)
        rc = CM_STORE_CORRUPT;
    if (rc == CM_STORE_OK) {
        cm_sha256(q->plaintext, CM_APIKEY_LEN, digest);
        cm_hex_encode(digest, sizeof digest, hex);
        if (!cm_ct_equal(hex, stored, ST_HASH_HEX))
            rc = CM_STORE_MISMATCH;
    }
    if (rc == CM_STORE_OK)
        rc = st_key_live(&k, q->now);
    if (rc == CM_STORE_OK)
        rc = st_project_read(q->st, reply->element[1], &p);
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
                              : st_key_read(reply, &k, NULL);
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
    char ka[CM_KEY_MAX], ttl[ST_NUM_MAX];

    if (q == NULL)
        return -1;
    if (kid == NULL || strnlen(kid, CM_KID_LEN + 1) != CM_KID_LEN ||
        !st_kid_valid(kid))
        return st_fail_later(q, CM_STORE_NOTFOUND);
    snprintf(ka, sizeof ka, CM_K_APIKEY, kid);
    snprintf(ttl, sizeof ttl, "%d", ST_TOMBSTONE_S);
    const char *argv[] = {"EVAL", st_lua_key_revoke, "2", ka,
                          CM_K_APIKEY_EXPIRY, kid, CM_K_PROJECT_KEYS, ttl};
    return st_send(q, st_key_revoked, 8, argv);
}

int
cm_store_key_delete(struct cm_store *st, const char *kid, cm_store_key_cb cb,
                    void *arg)
{
    return st_key_tombstone(st_req_new(st, ST_KEY, (void *)cb, arg), kid);
}

int
cm_store_key_revoke(struct cm_store *st, const char *kid,
                    cm_store_done_cb cb, void *arg)
{
    return st_key_tombstone(st_req_new(st, ST_DONE, (void *)cb, arg), kid);
}

char *
cm_apikey_json(const struct cm_apikey *k)
{
    cJSON *o = cJSON_CreateObject(), *sc;
    char *s = NULL;
    size_t i;
    int ok;

    if (o == NULL)
        return NULL;
    ok = cJSON_AddStringToObject(o, "id", k->id) != NULL &&
         cJSON_AddStringToObject(o, "projectId", k->project_id) != NULL &&
         cJSON_AddStringToObject(o, "name", k->name) != NULL &&
         (sc = cJSON_AddArrayToObject(o, "scopes")) != NULL;
    for (i = 0; ok && i < ST_NSCOPES; i++)
        if (k->scopes & (1u << i))
            ok = cJSON_AddItemToArray(
                sc, cJSON_CreateString(st_scope_names[i]));
    ok = ok &&
         cJSON_AddNumberToObject(o, "createdAt", (double)k->created) != NULL &&
         (k->expires > 0
              ? cJSON_AddNumberToObject(o, "expiresAt", (double)k->expires)
              : cJSON_AddNullToObject(o, "expiresAt")) != NULL;
    if (ok)
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
