/*
 * cm_token.h - channel tokens (CONTRACT.md section 3): HS256 JWTs signed
 * with the project secret, made and checked with libjwt.
 *
 * Verification here is the pure part (signature, alg, aud, channel, pid,
 * exp); whether the kid still names a live key of the project is asked of
 * the store by the caller, asynchronously.
 */
#ifndef SSE_CM_TOKEN_H
#define SSE_CM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define CM_TOKEN_TTL 600  /* seconds, before the key's own expiry cap */
#define CM_TOKEN_MAX 2048 /* longest token accepted */

enum cm_token_rc {
    CM_TOKEN_OK = 0,
    CM_TOKEN_MALFORMED = -1,
    CM_TOKEN_BAD_ALG = -2,
    CM_TOKEN_BAD_SIGNATURE = -3,
    CM_TOKEN_BAD_AUDIENCE = -4,
    CM_TOKEN_BAD_CHANNEL = -5,
    CM_TOKEN_BAD_PROJECT = -6,
    CM_TOKEN_EXPIRED = -7,
    CM_TOKEN_NOMEM = -8,
};

/*
 * Sign a token for channel in project pid with key kid. exp is
 * min(iat + CM_TOKEN_TTL, key_expires) when key_expires > 0.
 * On success *out is a malloc'ed NUL-terminated token (caller frees) and
 * *exp_out the exp claim. Returns CM_TOKEN_OK or CM_TOKEN_NOMEM.
 */
int cm_token_sign(const uint8_t secret[32], const char *kid, const char *aud,
                  const char *channel, const char *pid, int64_t iat,
                  int64_t key_expires, char **out, int64_t *exp_out);

/*
 * Read the kid from the header without verifying (to find the key).
 * Returns CM_TOKEN_OK or CM_TOKEN_MALFORMED.
 */
int cm_token_peek_kid(const char *token, char *kid, size_t cap);

/*
 * Verify everything but the key's liveness: HS256 only (never "none" or
 * another alg), signature with secret, aud, channel, pid and exp > now.
 * On CM_TOKEN_OK, kid (cap bytes) receives the header kid.
 */
int cm_token_verify(const char *token, const uint8_t secret[32],
                    const char *aud, const char *channel, const char *pid,
                    int64_t now, char *kid, size_t cap);

/* Human text for a result ("token signature does not verify"). */
const char *cm_token_strerror(int rc);

#endif
