/*
 * sse_reseal.c - sse-reseal, the last step of rotating SSE_MASTER_KEY:
 * every project secret in Redis is opened (with SSE_MASTER_KEY, or with
 * SSE_MASTER_KEY_PREVIOUS, or read as plain hex from before any master key)
 * and sealed again with SSE_MASTER_KEY. A tool, so it uses the blocking
 * client; each write is a compare-and-set, so it is safe while the services
 * run and may be run again.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "cm_config.h"
#include "cm_crypto.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_redis.h"
#include "cm_service.h"
#include "cm_store.h"

/* Replace the secret only if nobody changed it since we read it. */
static const char reseal_lua[] =
    "if redis.call('HGET', KEYS[1], 'secret') == ARGV[1] then\n"
    "  redis.call('HSET', KEYS[1], 'secret', ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

struct reseal_conf {
    long long dry_run; /* SSE_RESEAL_DRY_RUN */
};

struct reseal_counts {
    long long scanned, resealed, current, unreadable, raced;
};

static const struct cm_conf_item reseal_items[] = {
    {"SSE_RESEAL_DRY_RUN", CM_CONF_INT, offsetof(struct reseal_conf, dry_run),
     "0", 0, 1, NULL, "1: count what would change, write nothing"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct cm_conf_spec reseal_spec = {
    "sse-reseal",
    "re-seal every project secret with SSE_MASTER_KEY (key rotation)",
    reseal_items,
};

/* One project hash: decide and, unless dry, write. */
static void
reseal_one(redisContext *c, const struct cm_store *cur,
           const struct cm_store *any, const char *key, int dry,
           struct reseal_counts *n)
{
    uint8_t secret[32];
    char sealed[CM_SEALED_MAX + 1];
    redisReply *r = redisCommand(c, "HGET %s secret", key);

    n->scanned++;
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        n->unreadable++;
        cm_warn("no secret field", KV_S("key", key));
    } else if (cm_store_secret_open(cur, r->str, secret) == 0 &&
               strncmp(r->str, "v1:", 3) == 0) {
        n->current++;
    } else if (cm_store_secret_open(any, r->str, secret) != 0) {
        n->unreadable++;
        cm_warn("secret opens with neither key", KV_S("key", key));
    } else if (cm_store_secret_seal(cur, secret, sealed, sizeof sealed) != 0) {
        n->unreadable++;
    } else if (dry) {
        n->resealed++;
    } else {
        redisReply *w = redisCommand(c, "EVAL %s 1 %s %s %s", reseal_lua, key,
                                     r->str, sealed);
        if (w != NULL && w->type == REDIS_REPLY_INTEGER && w->integer == 1)
            n->resealed++;
        else
            n->raced++;
        freeReplyObject(w);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    freeReplyObject(r);
}

/* SCAN every project hash. Returns 0, or -1 when Redis failed. */
static int
reseal_all(redisContext *c, const struct cm_store *cur,
           const struct cm_store *any, int dry, struct reseal_counts *n)
{
    char cursor[32] = "0";

    do {
        redisReply *r = redisCommand(c,
                                     "SCAN %s MATCH sse:{p:*}:project "
                                     "COUNT 500",
                                     cursor);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            reseal_one(c, cur, any, r->element[1]->element[i]->str, dry, n);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

int
main(int argc, char **argv)
{
    struct cm_conf_common common;
    struct reseal_conf conf;
    struct cm_redis_url url;
    struct cm_store cur, any;
    struct reseal_counts n = {0};
    char err[256];
    int rc;

    rc = cm_service_start(&reseal_spec, &conf, &common, argc, argv, "reseal",
                          NULL);
    if (rc != 0)
        return rc < 0 ? 2 : 0;
    err[0] = '\0';
    if (common.master_key == NULL) {
        fprintf(stderr, "sse-reseal: SSE_MASTER_KEY is not set: nothing to "
                        "seal with\n");
        return 2;
    }
    /* cur: the new key alone; any: new, previous, or plain hex. */
    if (cm_store_init(&cur, NULL, common.master_key, NULL) != 0 ||
        cm_store_init(&any, NULL, common.master_key,
                      common.master_key_previous) != 0 ||
        cm_redis_url_parse(common.redis_url, &url, err, sizeof err) != 0) {
        fprintf(stderr, "sse-reseal: %s\n",
                err[0] ? err : "bad SSE_MASTER_KEY(_PREVIOUS)");
        return 2;
    }
    redisContext *c = cm_redis_connect_blocking(&url, 5000, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "sse-reseal: %s\n", err);
        return 1;
    }
    rc = reseal_all(c, &cur, &any, (int)conf.dry_run, &n);
    redisFree(c);
    printf("{\"scanned\":%lld,\"resealed\":%lld,\"current\":%lld,"
           "\"unreadable\":%lld,\"changedMeanwhile\":%lld,\"dryRun\":%s}\n",
           n.scanned, n.resealed, n.current, n.unreadable, n.raced,
           conf.dry_run ? "true" : "false");
    OPENSSL_cleanse(&cur, sizeof cur);
    OPENSSL_cleanse(&any, sizeof any);
    cm_config_free(&reseal_spec, &conf, &common);
    if (rc != 0) {
        fprintf(stderr, "sse-reseal: Redis failed during the scan\n");
        return 1;
    }
    return n.unreadable > 0 || n.raced > 0 ? 1 : 0;
}
