/*
 * gw.h - the gateway's internal seam between its two halves:
 *
 *   transport (gw_main, gw_http, gw_session, gw_ws, gw_polling, gw_sio):
 *     HTTP, WebSocket, Engine.IO sessions, polling, upgrade, Socket.IO
 *     packets, ping/pong, output backlogs, shared frames;
 *   channels (gw_app, gw_rooms, gw_bus, gw_auth, gw_track):
 *     CONNECT authentication, listen/remove/event, rooms (project, channel),
 *     the Redis event bus, the control channel, connection tracking.
 *
 * The transport calls the gw_app_* hooks; the channels half answers through
 * the gw_session_* functions. Neither reaches into the other's structs
 * beyond what is declared here.
 */
#ifndef SSE_GW_H
#define SSE_GW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "cm_config.h"
#include "cm_store.h"

struct event_base;
struct cm_redis;
struct cm_sub;
struct cm_metrics;
struct cm_counter;
struct cm_httpd;
struct gw_rooms;
struct gw_bus;

/* ---- configuration (one table in gw_main.c) ---- */
struct gw_conf {
    char *addr;                  /* SSE_GATEWAY_ADDR 0.0.0.0:8080 */
    long long ping_interval;     /* SSE_PING_INTERVAL ms, 25000 */
    long long ping_timeout;      /* SSE_PING_TIMEOUT ms, 20000 */
    long long max_http_buffer;   /* SSE_MAX_HTTP_BUFFER_SIZE 1000000 */
    long long max_conns;         /* SSE_MAX_CONNECTIONS 100000 */
    long long max_channels;      /* SSE_MAX_CHANNELS_PER_SOCKET 100 */
    long long handshake_timeout; /* SSE_HANDSHAKE_TIMEOUT ms, 10000 */
    long long max_head;          /* SSE_HTTP_MAX_HEAD 8192 */
    long long drain_timeout;     /* SSE_DRAIN_TIMEOUT ms, 8000 */
    char *static_dir;            /* SSE_STATIC_DIR: socket.io.js, demo page */
};

/* ---- the process context: one per process, passed explicitly ---- */
struct gw_ctx {
    struct event_base *base;
    struct gw_conf conf;
    struct cm_conf_common common;
    struct cm_redis *redis; /* commands: tracking, publish, auth */
    struct cm_store store;  /* on redis */
    struct cm_metrics *metrics;
    /* sse_errors_total{kind}: a CONNECT answered CONNECT_ERROR, and a
     * request answered Error; looked up once at start (gw_main.c) */
    struct cm_counter *errors_connect;
    struct cm_counter *errors_request;
    struct cm_httpd *httpd;
    struct gw_rooms *rooms; /* channels half */
    struct gw_bus *bus;     /* channels half: event + control subscriber */
    char tag[9];            /* this process's gateway tag, [a-z0-9]{8} */
    int draining;           /* SIGTERM received */
};

/* ---- shared frames: encode once, queue by reference to many sockets ----
 * One allocation: [WebSocket header][Engine.IO '4'][Socket.IO packet].
 * WebSocket sockets queue the whole thing; polling sockets queue from the
 * '4'. Refcounted; freed at the last unref (evbuffer cleanup included). */
struct gw_frame {
    unsigned refs;
    uint32_t ws_hdr; /* length of the WebSocket header */
    size_t len;      /* total bytes in data */
    uint8_t data[];
};

/* New frame (refs = 1) for a Socket.IO packet text ("2[...]"), or NULL. */
struct gw_frame *gw_frame_new(const char *sio_packet, size_t len);
void gw_frame_ref(struct gw_frame *f);
void gw_frame_unref(struct gw_frame *f);

/* ---- sessions (transport half) ----
 * One Engine.IO session carrying the one Socket.IO socket on "/". */
struct gw_session;

/* The channels half keeps its per-socket state inside the session: */
struct gw_member; /* one (socket, room) membership, see gw_rooms.h */

struct gw_app_state {
    char sid[21];       /* Socket.IO socket id: tag + 12 [a-z0-9] */
    char project[65];   /* bound at CONNECT */
    char key_id[25];    /* the listen key's record id */
    unsigned scopes;    /* the listen key's scopes */
    uint8_t secret[32]; /* the project's secret (token checks) */
    unsigned nchannels;
    int tracked; /* 1 once it has tracked (private) joins */
    int pending; /* async requests in flight (auth, joins) */
    LIST_HEAD(, gw_member) members;
    /* private listens waiting for their signing key's check: a remove of
     * the same channel meanwhile cancels the join (gw_app.c) */
    LIST_HEAD(, gw_app_listen) listens;
};

/* The process context a session belongs to. */
struct gw_ctx *gw_session_ctx(struct gw_session *s);

/* The app state of a session (never NULL while the session lives). */
struct gw_app_state *gw_session_app(struct gw_session *s);
/* 1 while the session is open (async callbacks must check: the session
 * stays allocated while app->pending > 0, see gw_session_release()). */
int gw_session_alive(const struct gw_session *s);
const char *gw_session_transport(const struct gw_session *s); /* name */

/*
 * Queue a shared frame. Returns 0, or -1 when the socket's backlog would
 * pass SSE_CLIENT_QUEUE_MAX: the session is then closed (counted as a slow
 * consumer) and the frame not queued. Never copies the frame's bytes.
 */
int gw_session_send_frame(struct gw_session *s, struct gw_frame *f);

/* Queue one Socket.IO packet text built for this socket alone (a copy). */
int gw_session_send_packet(struct gw_session *s, const char *sio_packet,
                           size_t len);

/* Answer a CONNECT: accept (sends 0{"sid":"<app->sid>"}) or refuse with
 * CONNECT_ERROR 4{"message":"<message>"} (the session stays open, as
 * Socket.IO does, until the client gives up). */
void gw_session_connect_accept(struct gw_session *s);
void gw_session_connect_reject(struct gw_session *s, const char *message);

/* Close the session (Socket.IO DISCONNECT then Engine.IO close). Safe from
 * any callback; the free is deferred. */
void gw_session_close(struct gw_session *s, const char *reason);

/* An async request of the channels half holds the session: call
 * gw_session_hold() before it and gw_session_release() in its callback;
 * a closed session is freed at the last release. */
void gw_session_hold(struct gw_session *s);
void gw_session_release(struct gw_session *s);

/* Find a live, connected session by Socket.IO sid (control channel). */
struct gw_session *gw_session_by_sid(struct gw_ctx *ctx, const char *sid);

/* ---- hooks the transport calls (channels half, gw_app.c) ---- */

/* Set up / tear down the channels half (after Redis and httpd exist). */
int gw_app_init(struct gw_ctx *ctx);
void gw_app_shutdown(struct gw_ctx *ctx);

/* A CONNECT to "/" arrived; auth is its JSON object or NULL, query_key the
 * ?apiKey= of the handshake (decoded) or NULL. Must end in exactly one of
 * gw_session_connect_accept / _reject (possibly later). */
void gw_app_on_connect(struct gw_ctx *ctx, struct gw_session *s,
                       const char *auth, size_t auth_len,
                       const char *query_key);

/* An EVENT (or a reassembled BINARY_EVENT) from a connected socket.
 * data is the JSON array ["name", args...]; ack_id is -1 when no ack was
 * asked; for binary events attachments[] are the binary parts. */
struct gw_bin {
    const uint8_t *data;
    size_t len;
};
void gw_app_on_event(struct gw_ctx *ctx, struct gw_session *s, const char *data,
                     size_t len, int64_t ack_id,
                     const struct gw_bin *attachments, size_t nattach);

/* The socket is gone (client DISCONNECT, transport close, timeout). Called
 * once, only for sockets whose CONNECT was accepted. */
void gw_app_on_disconnect(struct gw_ctx *ctx, struct gw_session *s);

/* Send an ACK for ack_id with one argument (JSON text). */
int gw_session_send_ack(struct gw_session *s, int64_t ack_id, const char *json,
                        size_t len);

#endif
