/*
 * test_crypto.c - cm_crypto: SHA-256 and hex against known vectors, random
 * ids, constant-time equality, and AES-256-GCM sealing: round trip, fresh
 * nonce per seal, and refusal of any tampering or a wrong key.
 */
#include "cm_crypto.h"
#include "t.h"

int
main(void)
{
    uint8_t h[32];
    char hex[65];

    cm_sha256("abc", 3, h);
    cm_hex_encode(h, 32, hex);
    T_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
                  "b00361a396177a9cb410ff61f20015ad");
    cm_sha256("", 0, h);
    cm_hex_encode(h, 32, hex);
    T_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                  "27ae41e4649b934ca495991b7852b855");

    uint8_t raw[4];
    T_EQ_INT(cm_hex_decode("00fFa9", 3, raw), 0);
    T_EQ_INT(raw[0], 0);
    T_EQ_INT(raw[1], 255);
    T_EQ_INT(raw[2], 0xa9);
    T_EQ_INT(cm_hex_decode("0g", 1, raw), -1);
    T_EQ_INT(cm_hex_decode("x0", 1, raw), -1);

    char id[33], id2[33];
    T_EQ_INT(cm_random_id(id, 32), 0);
    T_EQ_INT(cm_random_id(id2, 32), 0);
    T_EQ_INT(strlen(id), 32);
    T_EQ_INT(strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789"), 32);
    T_CHECK(strcmp(id, id2) != 0);
    uint8_t r1[16] = {0}, r2[16] = {0};
    T_EQ_INT(cm_random_bytes(r1, 16), 0);
    T_EQ_INT(cm_random_bytes(r2, 16), 0);
    T_CHECK(memcmp(r1, r2, 16) != 0);

    T_EQ_INT(cm_ct_equal("abcd", "abcd", 4), 1);
    T_EQ_INT(cm_ct_equal("abcd", "abce", 4), 0);
    T_EQ_INT(cm_ct_equal("", "", 0), 1);

    uint8_t key[32], key2[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
        key2[i] = (uint8_t)(i + 1);
    }
    uint8_t secret[32];
    memset(secret, 0x5a, sizeof secret);
    char s1[CM_SEALED_MAX], s2[CM_SEALED_MAX];
    T_EQ_INT(cm_secret_seal(key, secret, 32, s1, sizeof s1), 0);
    T_EQ_INT(cm_secret_seal(key, secret, 32, s2, sizeof s2), 0);
    T_CHECK(strncmp(s1, "v1:", 3) == 0);
    T_EQ_INT(strlen(s1), 3 + 24 + 1 + 2 * (32 + 16));
    T_EQ_INT(s1[27], ':');
    T_CHECK(strcmp(s1, s2) != 0); /* a fresh nonce every time */

    uint8_t out[64];
    T_EQ_INT(cm_secret_open(key, s1, out, sizeof out), 32);
    T_CHECK(memcmp(out, secret, 32) == 0);
    T_EQ_INT(cm_secret_open(key, s2, out, sizeof out), 32);
    T_EQ_INT(cm_secret_open(key2, s1, out, sizeof out), -1);
    T_EQ_INT(cm_secret_open(key, s1, out, 16), -1); /* cap too small */

    /* flip every hex digit in turn: every change is detected */
    int undetected = 0;
    for (size_t i = 3; i < strlen(s1); i++) {
        if (s1[i] == ':')
            continue;
        char t[CM_SEALED_MAX];
        strcpy(t, s1);
        t[i] = t[i] == '0' ? '1' : '0';
        if (cm_secret_open(key, t, out, sizeof out) != -1)
            undetected++;
    }
    T_EQ_INT(undetected, 0);
    char t[CM_SEALED_MAX];
    strcpy(t, s1);
    t[strlen(t) - 2] = '\0'; /* truncated tag */
    T_EQ_INT(cm_secret_open(key, t, out, sizeof out), -1);
    T_EQ_INT(cm_secret_open(key, "v2:00", out, sizeof out), -1);
    T_EQ_INT(cm_secret_open(key, "", out, sizeof out), -1);

    /* empty plaintext round-trips; too large is refused */
    T_EQ_INT(cm_secret_seal(key, secret, 0, s1, sizeof s1), 0);
    T_EQ_INT(cm_secret_open(key, s1, out, sizeof out), 0);
    uint8_t big[200] = {0};
    T_EQ_INT(cm_secret_seal(key, big, 200, s1, sizeof s1), -1);
    T_EQ_INT(cm_secret_seal(key, secret, 32, s1, 50), -1);
    return t_done("crypto");
}
