/*
 * cm_store.h - the tenancy store in Redis: projects and API keys
 * (CONTRACT.md section 2). Asynchronous, on a cm_redis link; each call
 * makes one round trip (a Lua script where several keys are involved).
 *
 * A plaintext API key is "ssek_" <kid: 24 [a-z0-9]> "_" <43 base64url>.
 * It embeds its record id, so a lookup is one read; only its SHA-256 is
 * stored, compared in constant time. Project secrets are stored sealed with
 * SSE_MASTER_KEY (AES-256-GCM) when one is configured.
 */
#ifndef SSE_CM_STORE_H
#define SSE_CM_STORE_H

#include <stddef.h>
#include <stdint.h>

struct cm_redis;

#define CM_PROJECT_ID_MAX 64
#define CM_NAME_MAX 128
#define CM_KID_LEN 24
#define CM_APIKEY_LEN (5 + CM_KID_LEN + 1 + 43) /* ssek_<kid>_<secret> */

enum cm_scope {
    CM_SCOPE_PUBLISH_EVENT = 1 << 0,  /* "publish_event" */
    CM_SCOPE_SIGN_TOKEN = 1 << 1,     /* "sign_token" */
    CM_SCOPE_LISTEN = 1 << 2,         /* "listen" */
    CM_SCOPE_CLIENT_PUBLISH = 1 << 3, /* "client_publish" */
};

enum cm_store_rc {
    CM_STORE_OK = 0,
    CM_STORE_NOTFOUND = -1,    /* no such project or key */
    CM_STORE_EXISTS = -2,      /* project id taken */
    CM_STORE_UNAVAILABLE = -3, /* Redis unreachable: answer 503 */
    CM_STORE_INVALID = -4,     /* malformed key text or arguments */
    CM_STORE_REVOKED = -5,     /* deleted or revoked key */
    CM_STORE_EXPIRED = -6,     /* key past its expiresAt */
    CM_STORE_MISMATCH = -7,    /* the key's secret part is wrong */
    CM_STORE_CORRUPT = -8,     /* a record we cannot read (or unseal) */
};

struct cm_project {
    char id[CM_PROJECT_ID_MAX + 1];
    char name[CM_NAME_MAX + 1];
    uint8_t secret[32];
    int64_t created;
};

struct cm_apikey {
    char id[CM_KID_LEN + 1];
    char project_id[CM_PROJECT_ID_MAX + 1];
    char name[CM_NAME_MAX + 1];
    unsigned scopes; /* enum cm_scope bits */
    int64_t created; /* Unix seconds */
    int64_t expires; /* Unix seconds; 0 = never */
    int revoked;
};

/* Store context: the Redis link and the optional master keys. */
struct cm_store {
    struct cm_redis *redis;
    int sealed; /* 1 when master_key is set */
    uint8_t master_key[32];
    int has_previous; /* 1 while a rotation is under way */
    uint8_t previous_key[32];
};

/*
 * master_hex (SSE_MASTER_KEY) and previous_hex (SSE_MASTER_KEY_PREVIOUS):
 * NULL, "" or 64 hex chars. New secrets are sealed with the master key;
 * during a rotation, secrets sealed with the previous key still open
 * (the README's "Rotating SSE_MASTER_KEY" gives the procedure).
 * Returns 0 or -1 (a bad key).
 */
int cm_store_init(struct cm_store *st, struct cm_redis *redis,
                  const char *master_hex, const char *previous_hex);

/* Open a stored secret field (hex, or "v1:" sealed with the current or the
 * previous key) into out. Returns 0, or -1 when it cannot be read. */
int cm_store_secret_open(const struct cm_store *st, const char *stored,
                         uint8_t out[32]);

/* The stored form of secret under the current key ("v1:..." when a master
 * key is set, else hex). out holds CM_SEALED_MAX bytes. 0 or -1. */
int cm_store_secret_seal(const struct cm_store *st, const uint8_t secret[32],
                         char *out, size_t cap);

/* "publish_event" -> bit; 0 for an unknown name. */
unsigned cm_scope_parse(const char *name, size_t len);
/* Names of the bits, in contract order, for JSON output. */
const char *cm_scope_name(unsigned bit);
#define CM_SCOPE_ALL 0xfu

const char *cm_store_strerror(int rc);

/* Split a plaintext key; copies the kid. Returns 0 or -1 (malformed). */
int cm_apikey_parse(const char *plaintext, char kid[CM_KID_LEN + 1]);

typedef void (*cm_store_project_cb)(int rc, const struct cm_project *p,
                                    void *arg);
/* plaintext: only from cm_store_key_create (caller shows it once);
 * project: filled by cm_store_key_verify, else NULL. */
typedef void (*cm_store_key_cb)(int rc, const struct cm_apikey *k,
                                const struct cm_project *project,
                                const char *plaintext, void *arg);
typedef void (*cm_store_keys_cb)(int rc, const struct cm_apikey *keys, size_t n,
                                 void *arg);
typedef void (*cm_store_done_cb)(int rc, void *arg);

/*
 * Each call returns 0 when the request went out (cb is then called exactly
 * once, from the loop), or -1 when Redis is down (cb is NOT called: answer
 * CM_STORE_UNAVAILABLE yourself). Results pointed to in callbacks are valid
 * only during the callback.
 */
int cm_store_project_create(struct cm_store *st, const char *id,
                            const char *name, cm_store_project_cb cb,
                            void *arg);
int cm_store_project_get(struct cm_store *st, const char *id,
                         cm_store_project_cb cb, void *arg);

/* ttl_seconds 0 = never expires. The new key is added to the expiry zset
 * when it expires. */
int cm_store_key_create(struct cm_store *st, const char *project_id,
                        const char *name, unsigned scopes, int64_t ttl_seconds,
                        int64_t now, cm_store_key_cb cb, void *arg);
int cm_store_key_list(struct cm_store *st, const char *project_id,
                      cm_store_keys_cb cb, void *arg);

/* The record by id (revoked and expired ones too: check the fields). */
int cm_store_key_get(struct cm_store *st, const char *kid, cm_store_key_cb cb,
                     void *arg);

/*
 * Verify a plaintext key at time now, in one round trip: the record and its
 * project. rc is CM_STORE_OK only for a live key whose hash matches;
 * otherwise INVALID, NOTFOUND, MISMATCH, REVOKED or EXPIRED.
 */
int cm_store_key_verify(struct cm_store *st, const char *plaintext, int64_t now,
                        cm_store_key_cb cb, void *arg);

/*
 * Check that kid is a live key of project_id at now (for channel tokens):
 * OK, NOTFOUND (also: another project's key), REVOKED or EXPIRED.
 */
int cm_store_key_check(struct cm_store *st, const char *kid,
                       const char *project_id, int64_t now, cm_store_done_cb cb,
                       void *arg);

/*
 * Revoke: mark the record revoked (it stays as a tombstone for 7 days so
 * late tokens still find it refused), drop it from the project's list and
 * the expiry zset. cm_store_key_delete is the admin DELETE: NOTFOUND if the
 * key never existed; revoking twice is OK. The caller then enqueues the
 * revocation job (cm_queue_enqueue_revocation).
 */
int cm_store_key_delete(struct cm_store *st, const char *kid,
                        cm_store_key_cb cb, void *arg);
int cm_store_key_revoke(struct cm_store *st, const char *kid,
                        cm_store_done_cb cb, void *arg);

/* JSON of a key for the admin API (no plaintext, no hash):
 * {"id","projectId","name","scopes":[..],"createdAt","expiresAt"}.
 * Returns a malloc'ed string (caller frees) or NULL. */
char *cm_apikey_json(const struct cm_apikey *k);

#endif
