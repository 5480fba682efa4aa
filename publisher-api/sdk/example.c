/*
 * example.c - the smallest libssepub program: build a client from the
 * environment (SSE_API_KEY or SSE_API_KEY_FILE, SSE_PUBLISHER_URL),
 * publish one event and print its id. For a private channel it also asks
 * for a channel token and prints when it expires (never the token).
 *
 *   ssepub-example CHANNEL [JSON]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssepub.h"

static int
show_token(struct ssepub *client, const char *channel)
{
    struct ssepub_channel *ch = ssepub_private_channel(client, channel);
    char *token = NULL;
    int64_t exp = 0;
    int rc;

    if (ch == NULL)
        return 1;
    rc = ssepub_auth_token(ch, &token, &exp);
    if (rc != SSEPUB_OK)
        fprintf(stderr, "token: %s\n", ssepub_error(client));
    else
        printf("token expires at %" PRId64 "\n", exp);
    free(token);
    ssepub_channel_free(ch);
    return rc != SSEPUB_OK;
}

int
main(int argc, char **argv)
{
    const char *channel = argc > 1 ? argv[1] : "news";
    const char *payload = argc > 2 ? argv[2] : "{\"hello\":\"world\"}";
    char err[256], id[SSEPUB_EVENT_ID_MAX + 1];
    struct ssepub *client = ssepub_build(err, sizeof(err));
    struct ssepub_channel *ch;
    int rc;

    if (client == NULL) {
        fprintf(stderr, "ssepub-example: %s\n", err);
        return 1;
    }
    if ((ch = ssepub_channel(client, channel)) == NULL) {
        fprintf(stderr, "ssepub-example: invalid channel name\n");
        ssepub_free(client);
        return 1;
    }
    rc = ssepub_publish(ch, payload, id);
    ssepub_channel_free(ch);
    if (rc != SSEPUB_OK) {
        fprintf(stderr, "ssepub-example: publish: %s (%s)\n",
                ssepub_error(client), ssepub_strerror(rc));
        ssepub_free(client);
        return 1;
    }
    printf("published %s\n", id);
    if (strncmp(channel, "private", 7) == 0 && show_token(client, channel))
        rc = 1;
    ssepub_free(client);
    return rc != SSEPUB_OK;
}
