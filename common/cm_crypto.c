/*
 * cm_crypto.c - thin, checked wrappers over libcrypto: randomness, ids,
 * SHA-256, hex, constant-time comparison and AES-256-GCM sealing of
 * secrets at rest ("v1:" nonce ":" ciphertext||tag, both hex).
 */
#include "cm_crypto.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define CM_GCM_NONCE 12
#define CM_GCM_TAG 16
#define CM_SEAL_PREFIX "v1:"

int
cm_random_bytes(void *buf, size_t n)
{
    if (n == 0)
        return 0;
    if (n > 0x7fffffff)
        return -1;
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int
cm_random_id(char *out, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t i = 0;
    while (i < n) {
        uint8_t rnd[64];
        if (cm_random_bytes(rnd, sizeof rnd) != 0)
            return -1;
        /* Rejection sampling: 252 = 7 * 36 keeps the letters uniform. */
        for (size_t j = 0; j < sizeof rnd && i < n; j++)
            if (rnd[j] < 252)
                out[i++] = alphabet[rnd[j] % 36];
    }
    out[n] = '\0';
    return 0;
}

void
cm_sha256(const void *data, size_t len, uint8_t out[32])
{
    SHA256(data, len, out);
}

void
cm_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
cm_hex_decode(const char *in, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int h = hex_nibble(in[2 * i]);
        if (h < 0)
            return -1;
        int l = hex_nibble(in[2 * i + 1]);
        if (l < 0)
            return -1;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

int
cm_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* One AES-256-GCM pass; enc 1 seals (writes tag), 0 opens (checks it). */
static int
gcm_run(int enc, const uint8_t key[32], const uint8_t nonce[CM_GCM_NONCE],
        const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[CM_GCM_TAG])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, n = 0, fin = 0;
    if (ctx == NULL || len > 0x7fffffff)
        goto done;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CM_GCM_NONCE, NULL) !=
            1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
        goto done;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        goto done;
    if (!enc &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CM_GCM_TAG, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) /* tag mismatch */
        goto done;
    if (enc &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CM_GCM_TAG, tag) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int
cm_secret_seal(const uint8_t key[32], const uint8_t *plain, size_t len,
               char *out, size_t cap)
{
    uint8_t nonce[CM_GCM_NONCE], buf[CM_SEALED_MAX];
    size_t need = strlen(CM_SEAL_PREFIX) + 2 * CM_GCM_NONCE + 1 +
                  2 * (len + CM_GCM_TAG) + 1;
    if (need > cap || need > CM_SEALED_MAX)
        return -1;
    if (cm_random_bytes(nonce, sizeof nonce) != 0)
        return -1;
    if (gcm_run(1, key, nonce, plain, len, buf, buf + len) != 0)
        return -1;
    char *p = out;
    memcpy(p, CM_SEAL_PREFIX, strlen(CM_SEAL_PREFIX));
    p += strlen(CM_SEAL_PREFIX);
    cm_hex_encode(nonce, sizeof nonce, p);
    p += 2 * sizeof nonce;
    *p++ = ':';
    cm_hex_encode(buf, len + CM_GCM_TAG, p);
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

int
cm_secret_open(const uint8_t key[32], const char *sealed, uint8_t *out,
               size_t cap)
{
    uint8_t nonce[CM_GCM_NONCE], buf[CM_SEALED_MAX], plain[CM_SEALED_MAX];
    size_t pl = strlen(CM_SEAL_PREFIX);
    size_t total = strlen(sealed);
    if (total < pl + 2 * CM_GCM_NONCE + 1 + 2 * CM_GCM_TAG ||
        total >= CM_SEALED_MAX || strncmp(sealed, CM_SEAL_PREFIX, pl) != 0 ||
        sealed[pl + 2 * CM_GCM_NONCE] != ':')
        return -1;
    const char *ct = sealed + pl + 2 * CM_GCM_NONCE + 1;
    size_t ctl = strlen(ct);
    if (ctl % 2 != 0)
        return -1;
    size_t n = ctl / 2 - CM_GCM_TAG; /* plaintext length */
    if (n > cap || cm_hex_decode(sealed + pl, CM_GCM_NONCE, nonce) != 0 ||
        cm_hex_decode(ct, ctl / 2, buf) != 0)
        return -1;
    if (gcm_run(0, key, nonce, buf, n, plain, buf + n) != 0)
        return -1;
    memcpy(out, plain, n);
    OPENSSL_cleanse(plain, sizeof plain);
    return (int)n;
}
