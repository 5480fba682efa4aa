// sources: common/cm_token.c proto/b64.c proto/proto.c
// libs: -ljwt -lcjson
/*
 * fuzz_token.c - libFuzzer over channel-token verification: whatever a
 * client sends as authToken must be refused cleanly (or, for a token that
 * really verifies, accepted) without a crash, a leak or an over-read.
 * The input's first byte picks the claims it is checked against.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_token.h"

static const uint8_t secret[32] = "fuzz-secret-fuzz-secret-fuzz-se";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char kid[64];
    char *tok;

    if (size == 0 || size > CM_TOKEN_MAX)
        return 0;
    tok = malloc(size);
    if (tok == NULL)
        return 0;
    memcpy(tok, data + 1, size - 1);
    tok[size - 1] = '\0';
    (void)cm_token_peek_kid(tok, kid, sizeof kid);
    (void)cm_token_verify(tok, secret, "sse-channel-auth",
                          (data[0] & 1) ? "private-a" : "private",
                          (data[0] & 2) ? "p1" : "p2", 1700000000, kid,
                          sizeof kid);
    free(tok);
    return 0;
}
