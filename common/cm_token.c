/*
 * cm_token.c - channel tokens (CONTRACT.md section 3): HS256 JWTs.
 *
 * Signing builds the JWS by hand (cJSON + HMAC-SHA256) because libjwt 1.10
 * prints header members sorted (alg, kid, typ) and the contract fixes the
 * header as {"alg":"HS256","typ":"JWT","kid":...}. Verification goes
 * through libjwt, after our own check that the header names HS256 only.
 */
#include "cm_token.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "b64.h"

#define TOK_PART_MAX CM_TOKEN_MAX /* bound on one decoded JWT part */

static char *
tok_b64url(const void *in, size_t len)
{
    size_t n = b64url_encode(in, len, NULL, 0);
    char *out = malloc(n + 1);

    if (out != NULL)
        b64url_encode(in, len, out, n + 1);
    return out;
}

static char *
tok_header_json(const char *kid)
{
    cJSON *h = cJSON_CreateObject();
    char *s = NULL;

    /* Members in the contract's order; cJSON keeps insertion order. */
    if (h != NULL && cJSON_AddStringToObject(h, "alg", "HS256") != NULL &&
        cJSON_AddStringToObject(h, "typ", "JWT") != NULL &&
        cJSON_AddStringToObject(h, "kid", kid) != NULL)
        s = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    return s;
}

static char *
tok_claims_json(const char *aud, const char *channel, const char *pid,
                int64_t iat, int64_t exp)
{
    cJSON *c = cJSON_CreateObject();
    char *s = NULL;

    /* Unix seconds are exact in a double (below 2^53). */
    if (c != NULL && cJSON_AddStringToObject(c, "aud", aud) != NULL &&
        cJSON_AddStringToObject(c, "channel", channel) != NULL &&
        cJSON_AddStringToObject(c, "pid", pid) != NULL &&
        cJSON_AddNumberToObject(c, "iat", (double)iat) != NULL &&
        cJSON_AddNumberToObject(c, "exp", (double)exp) != NULL)
        s = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return s;
}

/* "<b64 header>.<b64 claims>.<b64 HMAC>" as a malloc'ed string. */
static char *
tok_assemble(const uint8_t secret[32], const char *header, const char *claims)
{
    char *h64 = tok_b64url(header, strlen(header));
    char *c64 = tok_b64url(claims, strlen(claims));
    char *out = NULL, *s64;
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    size_t hl, cl, sl;

    if (h64 == NULL || c64 == NULL)
        goto done;
    hl = strlen(h64);
    cl = strlen(c64);
    out = malloc(hl + 1 + cl + 1 + b64url_encode(NULL, 32, NULL, 0) + 1);
    if (out == NULL)
        goto done;
    memcpy(out, h64, hl);
    out[hl] = '.';
    memcpy(out + hl + 1, c64, cl);
    out[hl + 1 + cl] = '\0';
    if (HMAC(EVP_sha256(), secret, 32, (const uint8_t *)out, hl + 1 + cl, mac,
             &maclen) == NULL ||
        (s64 = tok_b64url(mac, maclen)) == NULL) {
        free(out);
        out = NULL;
        goto done;
    }
    sl = strlen(s64);
    out[hl + 1 + cl] = '.';
    memcpy(out + hl + 2 + cl, s64, sl + 1);
    free(s64);
done:
    free(h64);
    free(c64);
    return out;
}

int
cm_token_sign(const uint8_t secret[32], const char *kid, const char *aud,
              const char *channel, const char *pid, int64_t iat,
              int64_t key_expires, char **out, int64_t *exp_out)
{
    int64_t exp = iat + CM_TOKEN_TTL;
    char *header, *claims;

    /* CONTRACT.md section 3: exp = min(iat + 600, key's expiresAt). */
    if (key_expires > 0 && key_expires < exp)
        exp = key_expires;
    header = tok_header_json(kid);
    claims = tok_claims_json(aud, channel, pid, iat, exp);
    *out = NULL;
    if (header != NULL && claims != NULL)
        *out = tok_assemble(secret, header, claims);
    cJSON_free(header);
    cJSON_free(claims);
    if (*out == NULL)
        return CM_TOKEN_NOMEM;
    if (exp_out != NULL)
        *exp_out = exp;
    return CM_TOKEN_OK;
}

/* Decode one base64url part of at most TOK_PART_MAX bytes and parse it
 * as a JSON object. Returns NULL when malformed. Caller deletes. */
static cJSON *
tok_part_json(const char *p, size_t len)
{
    char buf[TOK_PART_MAX + 1];
    ssize_t n = b64url_decode(p, len, (uint8_t *)buf, TOK_PART_MAX);
    cJSON *j;

    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    if (memchr(buf, '\0', (size_t)n) != NULL)
        return NULL;
    j = cJSON_ParseWithLength(buf, (size_t)n);
    if (j != NULL && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* A kid we will look up: 1..cap-1 chars of [A-Za-z0-9_-]. */
static int
tok_copy_kid(const char *k, char *kid, size_t cap)
{
    size_t n, i;

    if (k == NULL || (n = strlen(k)) == 0 || n >= cap)
        return CM_TOKEN_MALFORMED;
    for (i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return CM_TOKEN_MALFORMED;
    }
    memcpy(kid, k, n + 1);
    return CM_TOKEN_OK;
}

/*
 * Check the token's shape without trusting it: three base64url parts,
 * header and claims JSON objects, parsed into *header and *claims (the
 * caller deletes both, whatever the result).
 */
static int
tok_split(const char *token, cJSON **header, cJSON **claims)
{
    const char *d1, *d2;
    size_t len;

    *header = NULL;
    *claims = NULL;
    if (token == NULL || (len = strnlen(token, CM_TOKEN_MAX + 1)) == 0 ||
        len > CM_TOKEN_MAX)
        return CM_TOKEN_MALFORMED;
    d1 = strchr(token, '.');
    d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
        return CM_TOKEN_MALFORMED;
    *claims = tok_part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (*claims == NULL)
        return CM_TOKEN_MALFORMED;
    *header = tok_part_json(token, (size_t)(d1 - token));
    return *header != NULL ? CM_TOKEN_OK : CM_TOKEN_MALFORMED;
}

int
cm_token_peek_kid(const char *token, char *kid, size_t cap)
{
    cJSON *h, *c;
    int rc = tok_split(token, &h, &c);

    if (rc == CM_TOKEN_OK)
        rc = tok_copy_kid(
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "kid")),
            kid, cap);
    cJSON_Delete(h);
    cJSON_Delete(c);
    return rc;
}

/* 1 when the third part is the HMAC-SHA256 of the first two. */
static int
tok_mac_ok(const char *token, const uint8_t secret[32])
{
    const char *sig = strrchr(token, '.') + 1;
    uint8_t mac[EVP_MAX_MD_SIZE], got[32];
    unsigned maclen = 0;

    if (b64url_decode(sig, strlen(sig), got, sizeof got) != 32 ||
        HMAC(EVP_sha256(), secret, 32, (const uint8_t *)token,
             (size_t)(sig - 1 - token), mac, &maclen) == NULL ||
        maclen != 32)
        return 0;
    return CRYPTO_memcmp(mac, got, 32) == 0;
}

/* A string claim equal to want, else rc_bad. */
static int
tok_claim_eq(const cJSON *claims, const char *name, const char *want,
             int rc_bad)
{
    const char *v =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, name));

    return v != NULL && strcmp(v, want) == 0 ? CM_TOKEN_OK : rc_bad;
}

/* An integer claim (NumericDate, RFC 7519 2); -1 when absent or not one. */
static int
tok_claim_int(const cJSON *claims, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    double d;

    if (!cJSON_IsNumber(v))
        return -1;
    d = v->valuedouble;
    if (d < 0 || d > 9007199254740992.0 || d != (double)(int64_t)d)
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* The claims of a token whose signature verified. libjwt 1.10 reads a
 * string "exp" as 0 without an error, so types are checked here. */
static int
tok_check_claims(const cJSON *claims, const char *aud, const char *channel,
                 const char *pid, int64_t now)
{
    int rc;
    int64_t iat, exp;

    if ((rc = tok_claim_eq(claims, "aud", aud, CM_TOKEN_BAD_AUDIENCE)) != 0 ||
        (rc = tok_claim_eq(claims, "channel", channel, CM_TOKEN_BAD_CHANNEL)) !=
            0 ||
        (rc = tok_claim_eq(claims, "pid", pid, CM_TOKEN_BAD_PROJECT)) != 0)
        return rc;
    if (tok_claim_int(claims, "iat", &iat) != 0 ||
        tok_claim_int(claims, "exp", &exp) != 0)
        return CM_TOKEN_MALFORMED;
    return exp > now ? CM_TOKEN_OK : CM_TOKEN_EXPIRED;
}

int
cm_token_verify(const char *token, const uint8_t secret[32], const char *aud,
                const char *channel, const char *pid, int64_t now, char *kid,
                size_t cap)
{
    cJSON *h, *c;
    jwt_t *jwt = NULL;
    const char *alg;
    int rc = tok_split(token, &h, &c);

    if (rc != CM_TOKEN_OK)
        goto done;
    /* RFC 8725 3.1: the algorithm is ours to choose, never the token's.
     * Anything but HS256 ("none", HS512, RS256...) stops here, before
     * any key is used or any claim read. */
    alg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "alg"));
    if (alg == NULL || strcmp(alg, "HS256") != 0) {
        rc = CM_TOKEN_BAD_ALG;
        goto done;
    }
    /* Our own constant-time check first: libjwt 1.10 compares signatures
     * with strcmp. Its decode below then parses what we verified. */
    if (tok_mac_ok(token, secret) != 1 ||
        jwt_decode(&jwt, token, secret, 32) != 0) {
        jwt = NULL;
        rc = CM_TOKEN_BAD_SIGNATURE;
        goto done;
    }
    /* libjwt's view of the header must agree (duplicate "alg" members). */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        rc = CM_TOKEN_BAD_ALG;
        goto done;
    }
    rc = tok_check_claims(c, aud, channel, pid, now);
    if (rc == CM_TOKEN_OK)
        rc = tok_copy_kid(jwt_get_header(jwt, "kid"), kid, cap);
done:
    if (jwt != NULL)
        jwt_free(jwt);
    cJSON_Delete(h);
    cJSON_Delete(c);
    return rc;
}

const char *
cm_token_strerror(int rc)
{
    switch (rc) {
    case CM_TOKEN_OK:
        return "ok";
    case CM_TOKEN_MALFORMED:
        return "token is malformed";
    case CM_TOKEN_BAD_ALG:
        return "token algorithm must be HS256";
    case CM_TOKEN_BAD_SIGNATURE:
        return "token signature does not verify";
    case CM_TOKEN_BAD_AUDIENCE:
        return "token audience does not match";
    case CM_TOKEN_BAD_CHANNEL:
        return "token is for another channel";
    case CM_TOKEN_BAD_PROJECT:
        return "token is for another project";
    case CM_TOKEN_EXPIRED:
        return "token has expired";
    case CM_TOKEN_NOMEM:
        return "out of memory";
    default:
        return "unknown token error";
    }
}
