/*
 * test_token.c - channel tokens: a signed token verifies (with libjwt as
 * an independent reader too), its header bytes are exactly the contract's,
 * and every forgery we can think of is refused with the right code:
 * tampering, "none", other algorithms, wrong claims, expiry, garbage.
 */
#include "t.h"

#include <stdlib.h>

#include <jwt.h>

#include "b64.h"
#include "cm_token.h"

static const uint8_t secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                   23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
#define KID "abcdefghij0123456789wxyz"
#define AUD "sse-channel-auth"
#define NOW 1700000000

static int
verify(const char *tok, int64_t now)
{
    char kid[64];
    return cm_token_verify(tok, secret, AUD, "private-a", "proj", now, kid,
                           sizeof kid);
}

/* base64url of a C string, malloc'ed. */
static char *
b64s(const char *s)
{
    size_t n = b64url_encode((const uint8_t *)s, strlen(s), NULL, 0);
    char *o = malloc(n + 1);
    b64url_encode((const uint8_t *)s, strlen(s), o, n + 1);
    return o;
}

/* "<b64 header>.<b64 claims>.<sig>" by hand. */
static char *
forge(const char *header, const char *claims, const char *sig)
{
    char *h = b64s(header), *c = b64s(claims);
    size_t n = strlen(h) + strlen(c) + strlen(sig) + 3;
    char *o = malloc(n);
    snprintf(o, n, "%s.%s.%s", h, c, sig);
    free(h);
    free(c);
    return o;
}

static char *
part(const char *tok, int i)
{
    static char buf[1024];
    const char *p = tok;
    while (i-- > 0)
        p = strchr(p, '.') + 1;
    const char *e = strchr(p, '.');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    ssize_t n = b64url_decode(p, len, (uint8_t *)buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void
test_roundtrip(void)
{
    char *tok = NULL, kid[64];
    int64_t exp = 0;
    jwt_t *j = NULL;

    T_EQ_INT(cm_token_sign(secret, KID, AUD, "private-a", "proj", NOW, 0, &tok,
                           &exp),
             CM_TOKEN_OK);
    T_EQ_INT(exp, NOW + CM_TOKEN_TTL);
    T_EQ_STR(part(tok, 0),
             "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}");
    T_EQ_STR(part(tok, 1), "{\"aud\":\"" AUD "\",\"channel\":\"private-a\","
                           "\"pid\":\"proj\",\"iat\":1700000000,"
                           "\"exp\":1700000600}");
    T_EQ_INT(cm_token_verify(tok, secret, AUD, "private-a", "proj", NOW, kid,
                             sizeof kid),
             CM_TOKEN_OK);
    T_EQ_STR(kid, KID);
    T_EQ_INT(cm_token_peek_kid(tok, kid, sizeof kid), CM_TOKEN_OK);
    T_EQ_STR(kid, KID);
    T_EQ_INT(cm_token_peek_kid(tok, kid, 24),
             CM_TOKEN_MALFORMED); /* no room for the NUL */
    /* An independent reader agrees. */
    T_EQ_INT(jwt_decode(&j, tok, secret, 32), 0);
    T_CHECK(j != NULL && jwt_get_alg(j) == JWT_ALG_HS256);
    T_EQ_STR(j ? jwt_get_grant(j, "channel") : NULL, "private-a");
    if (j)
        jwt_free(j);

    T_EQ_INT(verify(tok, NOW + CM_TOKEN_TTL - 1), CM_TOKEN_OK);
    T_EQ_INT(verify(tok, NOW + CM_TOKEN_TTL), CM_TOKEN_EXPIRED);
    T_EQ_INT(cm_token_verify(tok, secret, "other", "private-a", "proj", NOW,
                             kid, sizeof kid),
             CM_TOKEN_BAD_AUDIENCE);
    T_EQ_INT(cm_token_verify(tok, secret, AUD, "private-b", "proj", NOW, kid,
                             sizeof kid),
             CM_TOKEN_BAD_CHANNEL);
    T_EQ_INT(cm_token_verify(tok, secret, AUD, "private-a", "proj2", NOW, kid,
                             sizeof kid),
             CM_TOKEN_BAD_PROJECT);
    uint8_t other[32];
    memcpy(other, secret, 32);
    other[31] ^= 1;
    T_EQ_INT(cm_token_verify(tok, other, AUD, "private-a", "proj", NOW, kid,
                             sizeof kid),
             CM_TOKEN_BAD_SIGNATURE);
    free(tok);

    /* exp is capped by the key's own expiry. */
    T_EQ_INT(cm_token_sign(secret, KID, AUD, "private-a", "proj", NOW, NOW + 60,
                           &tok, &exp),
             CM_TOKEN_OK);
    T_EQ_INT(exp, NOW + 60);
    T_EQ_INT(verify(tok, NOW + 59), CM_TOKEN_OK);
    T_EQ_INT(verify(tok, NOW + 60), CM_TOKEN_EXPIRED);
    free(tok);
    T_EQ_INT(cm_token_sign(secret, KID, AUD, "private-a", "proj", NOW,
                           NOW + 6000, &tok, &exp),
             CM_TOKEN_OK);
    T_EQ_INT(exp, NOW + CM_TOKEN_TTL);
    free(tok);
}

static void
test_tampered(void)
{
    char *tok = NULL, *bad;
    const char *sig;

    cm_token_sign(secret, KID, AUD, "private-a", "proj", NOW, 0, &tok, NULL);
    sig = strrchr(tok, '.') + 1;

    /* Same signature, claims for another channel. */
    bad = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}",
                "{\"aud\":\"" AUD "\",\"channel\":\"private-a\","
                "\"pid\":\"proj\",\"iat\":1700000000,\"exp\":1800000600}",
                sig);
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_SIGNATURE);
    free(bad);

    /* One signature character changed. */
    bad = strdup(tok);
    char *s = strrchr(bad, '.') + 1;
    s[3] = s[3] == 'A' ? 'B' : 'A';
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_SIGNATURE);
    /* Truncated and empty signatures. */
    s[10] = '\0';
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_SIGNATURE);
    s[0] = '\0';
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_SIGNATURE);
    free(bad);
    free(tok);
}

static void
test_algorithms(void)
{
    const char *claims = "{\"aud\":\"" AUD "\",\"channel\":\"private-a\","
                         "\"pid\":\"proj\",\"iat\":1700000000,"
                         "\"exp\":1700000600}";
    char *bad;
    jwt_t *j;
    char *tok;

    /* alg none, with and without a signature part. */
    bad = forge("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}",
                claims, "");
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_ALG);
    free(bad);
    bad = forge("{\"alg\":\"None\",\"kid\":\"" KID "\"}", claims, "AAAA");
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_ALG);
    free(bad);
    bad = forge("{\"typ\":\"JWT\",\"kid\":\"" KID "\"}", claims, "AAAA");
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_ALG);
    free(bad);
    bad = forge("{\"alg\":\"RS256\",\"kid\":\"" KID "\"}", claims, "AAAA");
    T_EQ_INT(verify(bad, NOW), CM_TOKEN_BAD_ALG);
    free(bad);
    /* A duplicate alg member: our parser and libjwt's must both say HS256. */
    bad = forge("{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"" KID "\"}",
                claims, "AAAA");
    T_CHECK(verify(bad, NOW) != CM_TOKEN_OK);
    free(bad);

    /* A real HS512 token with the right secret is still refused. */
    jwt_new(&j);
    jwt_set_alg(j, JWT_ALG_HS512, secret, 32);
    jwt_add_header(j, "kid", KID);
    jwt_add_grant(j, "aud", AUD);
    jwt_add_grant(j, "channel", "private-a");
    jwt_add_grant(j, "pid", "proj");
    jwt_add_grant_int(j, "iat", NOW);
    jwt_add_grant_int(j, "exp", NOW + 600);
    tok = jwt_encode_str(j);
    T_EQ_INT(verify(tok, NOW), CM_TOKEN_BAD_ALG);
    free(tok);
    /* ...and the same through libjwt as HS256 passes (control). */
    jwt_set_alg(j, JWT_ALG_HS256, secret, 32);
    tok = jwt_encode_str(j);
    T_EQ_INT(verify(tok, NOW), CM_TOKEN_OK);
    free(tok);
    /* Claims of the wrong type. */
    jwt_del_grants(j, "exp");
    jwt_add_grant(j, "exp", "1700000600");
    tok = jwt_encode_str(j);
    T_EQ_INT(verify(tok, NOW), CM_TOKEN_MALFORMED);
    free(tok);
    jwt_del_grants(j, "exp");
    jwt_add_grant_int(j, "exp", NOW + 600);
    jwt_del_grants(j, "iat");
    tok = jwt_encode_str(j);
    T_EQ_INT(verify(tok, NOW), CM_TOKEN_MALFORMED);
    free(tok);
    jwt_free(j);
}

static void
test_malformed(void)
{
    static const char *bad[] = {
        "",
        "a",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "..",
        "...",
        "eyJhbGciOiJIUzI1NiJ9..",
        "!!!.eyJ9.abc",
        "eyJhbGciOiJIUzI1NiJ9.bnVsbA.AAAA", /* claims: null */
        "WzFd.e30.AAAA",                    /* header: [1] */
    };
    char kid[64], *big;
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        T_EQ_INT(verify(bad[i], NOW), CM_TOKEN_MALFORMED);
        T_EQ_INT(cm_token_peek_kid(bad[i], kid, sizeof kid),
                 CM_TOKEN_MALFORMED);
    }
    T_EQ_INT(verify(NULL, NOW), CM_TOKEN_MALFORMED);
    big = malloc(CM_TOKEN_MAX + 2);
    memset(big, 'A', CM_TOKEN_MAX + 1);
    big[10] = '.';
    big[20] = '.';
    big[CM_TOKEN_MAX + 1] = '\0';
    T_EQ_INT(verify(big, NOW), CM_TOKEN_MALFORMED);
    free(big);
    /* A kid that is no id. */
    char *f = forge("{\"alg\":\"HS256\",\"kid\":\"a|b\"}", "{}", "AAAA");
    T_EQ_INT(cm_token_peek_kid(f, kid, sizeof kid), CM_TOKEN_MALFORMED);
    free(f);
    f = forge("{\"alg\":\"HS256\",\"kid\":7}", "{}", "AAAA");
    T_EQ_INT(cm_token_peek_kid(f, kid, sizeof kid), CM_TOKEN_MALFORMED);
    free(f);
    T_CHECK(strcmp(cm_token_strerror(CM_TOKEN_BAD_SIGNATURE),
                   "token signature does not verify") == 0);
}

int
main(void)
{
    test_roundtrip();
    test_tampered();
    test_algorithms();
    test_malformed();
    return t_done("token");
}
