/*
 * cm_store_internal.h - what cm_store.c (the Redis requests) and
 * cm_store_record.c (the record conversions) share. Not a public API.
 */
#ifndef SSE_CM_STORE_INTERNAL_H
#define SSE_CM_STORE_INTERNAL_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "cm_store.h"

#define CM_STORE_SECRET_B64_LEN 43 /* base64url of 32 bytes */
#define CM_STORE_HASH_HEX 64       /* hex SHA-256 */
#define CM_STORE_NUM_MAX 24        /* room for an int64 in decimal */
#define CM_STORE_SCOPES_MAX 96     /* "publish_event,sign_token,..." */

/* A 64-hex master key into out: 0 when absent, 1 when set, -1 when bad. */
int cm_store_master_parse(const char *hex, uint8_t out[32]);

/* 1 if kid is CM_KID_LEN chars of [a-z0-9] and then a NUL. */
int cm_store_kid_valid(const char *kid);

/* The value of field in an HGETALL reply, or NULL. */
const redisReply *cm_store_hget(const redisReply *h, const char *field);
/* Copy a string field of at most cap - 1 bytes: 0, or -1 missing/too long. */
int cm_store_hget_str(const redisReply *h, const char *field, char *out,
                      size_t cap);
/* A decimal field: 0, or -1 missing or not a number. */
int cm_store_hget_int(const redisReply *h, const char *field, int64_t *out);

/* "a,b" -> bits (0, or -1 on an unknown name); bits -> "a,b". */
int cm_store_scopes_parse(const char *s, unsigned *bits);
void cm_store_scopes_format(unsigned bits, char *out, size_t cap);

/* An API key hash into k, and its stored hash (hex) into hash when not
 * NULL (CM_STORE_HASH_HEX + 1 bytes). CM_STORE_OK or CM_STORE_CORRUPT. */
int cm_store_key_read(const redisReply *h, struct cm_apikey *k, char *hash);

/* A project hash into p, its secret opened. CM_STORE_OK, CM_STORE_NOTFOUND
 * (an empty reply) or CM_STORE_CORRUPT. */
int cm_store_project_read(const struct cm_store *st, const redisReply *h,
                          struct cm_project *p);

#endif
