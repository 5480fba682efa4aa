/*
 * cm_store_record.c - the records of the tenancy store: Redis hashes to
 * and from struct cm_project / cm_apikey, scope names, the plaintext key's
 * shape, and project secrets at rest (hex, or sealed with the master key).
 * Pure conversions: no Redis calls (those are in cm_store.c).
 */
#include "cm_store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "cm_crypto.h"

static const char *const st_scope_names[] = {"publish_event", "sign_token",
                                             "listen", "client_publish"};
#define ST_NSCOPES (sizeof st_scope_names / sizeof st_scope_names[0])

/* A 64-hex key into out; 0 when absent, 1 when set, -1 when bad. */
int
cm_store_master_parse(const char *hex, uint8_t out[32])
{
    if (hex == NULL || hex[0] == '\0')
        return 0;
    if (strlen(hex) != 64 || cm_hex_decode(hex, 32, out) != 0)
        return -1;
    return 1;
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

int
cm_store_kid_valid(const char *kid)
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
const redisReply *
cm_store_hget(const redisReply *h, const char *field)
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
int
cm_store_hget_str(const redisReply *h, const char *field, char *out, size_t cap)
{
    const redisReply *v = cm_store_hget(h, field);

    if (v == NULL || v->len >= cap)
        return -1;
    memcpy(out, v->str, v->len);
    out[v->len] = '\0';
    return 0;
}

int
cm_store_hget_int(const redisReply *h, const char *field, int64_t *out)
{
    char buf[CM_STORE_NUM_MAX], *end;
    long long v;

    if (cm_store_hget_str(h, field, buf, sizeof buf) != 0 || buf[0] == '\0')
        return -1;
    v = strtoll(buf, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* "a,b" -> bits. -1 on an unknown name. */
int
cm_store_scopes_parse(const char *s, unsigned *bits)
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

void
cm_store_scopes_format(unsigned bits, char *out, size_t cap)
{
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < ST_NSCOPES; i++)
        if (bits & (1u << i))
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "",
                                  st_scope_names[i]);
}

/* A key hash into k, and its stored hash (hex) into hash if not NULL. */
int
cm_store_key_read(const redisReply *h, struct cm_apikey *k, char *hash)
{
    char scopes[CM_STORE_SCOPES_MAX];
    int64_t revoked;

    memset(k, 0, sizeof *k);
    if (cm_store_hget_str(h, "id", k->id, sizeof k->id) != 0 ||
        cm_store_hget_str(h, "pid", k->project_id, sizeof k->project_id) != 0 ||
        cm_store_hget_str(h, "name", k->name, sizeof k->name) != 0 ||
        cm_store_hget_str(h, "scopes", scopes, sizeof scopes) != 0 ||
        cm_store_scopes_parse(scopes, &k->scopes) != 0 ||
        cm_store_hget_int(h, "created", &k->created) != 0 ||
        cm_store_hget_int(h, "expires", &k->expires) != 0 ||
        cm_store_hget_int(h, "revoked", &revoked) != 0)
        return CM_STORE_CORRUPT;
    k->revoked = revoked != 0;
    if (hash != NULL &&
        cm_store_hget_str(h, "hash", hash, CM_STORE_HASH_HEX + 1) != 0)
        return CM_STORE_CORRUPT;
    return CM_STORE_OK;
}

/* A project hash into p, unsealing its secret. */
int
cm_store_project_read(const struct cm_store *st, const redisReply *h,
                      struct cm_project *p)
{
    char secret[CM_SEALED_MAX + 1];

    memset(p, 0, sizeof *p);
    if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements == 0)
        return CM_STORE_NOTFOUND;
    if (cm_store_hget_str(h, "id", p->id, sizeof p->id) != 0 ||
        cm_store_hget_str(h, "name", p->name, sizeof p->name) != 0 ||
        cm_store_hget_int(h, "created", &p->created) != 0 ||
        cm_store_hget_str(h, "secret", secret, sizeof secret) != 0)
        return CM_STORE_CORRUPT;
    return cm_store_secret_open(st, secret, p->secret) == 0 ? CM_STORE_OK
                                                            : CM_STORE_CORRUPT;
}

int
cm_store_secret_open(const struct cm_store *st, const char *stored,
                     uint8_t out[32])
{
    uint8_t plain[64];
    int n = -1;

    if (strncmp(stored, "v1:", 3) != 0)
        return strlen(stored) == 64 && cm_hex_decode(stored, 32, out) == 0 ? 0
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
            ok =
                cJSON_AddItemToArray(sc, cJSON_CreateString(st_scope_names[i]));
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
