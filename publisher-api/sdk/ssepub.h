/*
 * ssepub.h - libssepub, the C publisher SDK of sse (the seed's
 * PublisherClient): a client for the publisher REST API with channel
 * handles, publish, private-channel tokens and a generic request call for
 * admin tools. Blocking sockets, one HTTP/1.1 keep-alive connection per
 * client; not thread-safe (use one client per thread).
 *
 * Errors: functions return SSEPUB_OK (0) or a negative enum ssepub_rc;
 * ssepub_error() then says why, with the server's "message" when the
 * server answered with an error.
 */
#ifndef SSEPUB_H
#define SSEPUB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SSEPUB_DEFAULT_URL "http://127.0.0.1:8081"
#define SSEPUB_EVENT_ID_MAX 64          /* longest event id returned */
#define SSEPUB_ERR_MAX 256              /* error message buffer */
#define SSEPUB_RESPONSE_MAX (16u << 20) /* largest response body accepted */
#define SSEPUB_TIMEOUT_MS 10000         /* connect, send and receive */

enum ssepub_rc {
    SSEPUB_OK = 0,
    SSEPUB_EINVAL = -1,   /* bad argument: URL, channel name, JSON text */
    SSEPUB_ECONNECT = -2, /* cannot resolve or connect to the server */
    SSEPUB_EIO = -3,      /* send or receive failed or timed out */
    SSEPUB_EPROTO = -4,   /* the answer is not the HTTP/JSON expected */
    SSEPUB_EHTTP = -5,    /* the server answered non-2xx */
    SSEPUB_ENOMEM = -6,
    SSEPUB_ETOOBIG = -7, /* response over SSEPUB_RESPONSE_MAX */
    SSEPUB_ENOKEY = -8,  /* ssepub_build: no API key configured */
};

struct ssepub;
struct ssepub_channel;

/*
 * A client for base_url ("http://host[:port]", NULL for SSEPUB_DEFAULT_URL)
 * with api_key (copied; may be NULL for admin-only use). Nothing connects
 * yet. Returns NULL for a malformed URL (only http:// is supported) or on
 * allocation failure.
 */
struct ssepub *ssepub_new(const char *base_url, const char *api_key);

/*
 * A client from the environment: the key from SSE_API_KEY, else the first
 * line of the file named by SSE_API_KEY_FILE; the URL from
 * SSE_PUBLISHER_URL (default SSEPUB_DEFAULT_URL). On failure returns NULL
 * and, when err is not NULL, says why in err (errlen bytes).
 */
struct ssepub *ssepub_build(char *err, size_t errlen);

/* Close the connection and free the client (NULL is fine). Channels of
 * the client must be freed first. */
void ssepub_free(struct ssepub *c);

/* The last error's text (never NULL; "" after success). Owned by c. */
const char *ssepub_error(const struct ssepub *c);
/* HTTP status of the last answer, 0 when none arrived. */
int ssepub_status(const struct ssepub *c);
/* A static name for rc ("server answered with an error"). */
const char *ssepub_strerror(int rc);

/*
 * Channel handles; the name is copied and checked (CONTRACT.md section 3).
 * ssepub_private_channel refuses a name not starting with "private".
 * Return NULL for an invalid name. A handle borrows c: free it with
 * ssepub_channel_free before ssepub_free(c).
 */
struct ssepub_channel *ssepub_channel(struct ssepub *c, const char *name);
struct ssepub_channel *ssepub_private_channel(struct ssepub *c,
                                              const char *name);
void ssepub_channel_free(struct ssepub_channel *ch);
const char *ssepub_channel_name(const struct ssepub_channel *ch);

/*
 * Publish payload_json (any JSON text, sent byte for byte) to the channel.
 * On success, out_event_id (if not NULL; SSEPUB_EVENT_ID_MAX + 1 bytes)
 * receives the event id. SSEPUB_EINVAL when payload_json is not JSON.
 */
int ssepub_publish(struct ssepub_channel *ch, const char *payload_json,
                   char *out_event_id);

/*
 * A channel token for a private channel (SSEPUB_EINVAL for a public one).
 * On success *out_token is a malloc'ed token (caller frees with free())
 * and *out_expires_at (if not NULL) its exp in Unix seconds.
 */
int ssepub_auth_token(struct ssepub_channel *ch, char **out_token,
                      int64_t *out_expires_at);

/*
 * Any request: method and path ("/v1/admin/projects"), body (JSON text or
 * NULL), bearer token (NULL: none). *status gets the HTTP status and
 * *response (if not NULL) a malloc'ed NUL-terminated body (caller frees
 * with free()), also for error answers. Returns SSEPUB_OK for a 2xx,
 * SSEPUB_EHTTP for any other answer (ssepub_error() holds the server's
 * message), or a transport error (then *response is NULL).
 */
int ssepub_request(struct ssepub *c, const char *method, const char *path,
                   const char *body, const char *bearer, int *status,
                   char **response);

#ifdef __cplusplus
}
#endif

#endif
