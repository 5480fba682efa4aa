/*
 * gw_session.h - the transport half's internals: one Engine.IO session per
 * client (carrying the one Socket.IO socket on "/"), the process-wide
 * transport state (session trees, dirty lists, the shared read buffer,
 * metrics), ping timers and output backlogs. The channels half sees none of
 * this: it uses only what gw.h declares.
 */
#ifndef SSE_GW_SESSION_H
#define SSE_GW_SESSION_H

#include <sys/queue.h>
#include <sys/tree.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "cm_service.h"
#include "gw.h"
#include "sio.h"

struct evbuffer;
struct cm_httpd_req;
struct cm_counter;
struct cm_gauge;
struct gw_ws;

#define GW_EIO_SID_LEN 20   /* 15 random bytes in base64url */
#define GW_RDBUF_SIZE 65536 /* the per-loop shared WebSocket read buffer */
#define GW_JSON_DEPTH 32    /* nesting bound on client JSON */

enum gw_transport { GW_T_POLLING = 0, GW_T_WS = 1 };
enum gw_sio_state { GW_SIO_NONE = 0, GW_SIO_CONNECTING, GW_SIO_CONNECTED };
enum gw_phase { GW_PH_INTERVAL = 0, GW_PH_PONG };

/* Why a session ended: the label of sse_sessions_closed_total. */
enum gw_close_reason {
    GW_CR_CLIENT = 0, /* Socket.IO DISCONNECT or Engine.IO close */
    GW_CR_TRANSPORT,  /* socket closed / error / ws close frame */
    GW_CR_PING_TIMEOUT,
    GW_CR_CONNECT_TIMEOUT, /* no CONNECT within handshake_timeout */
    GW_CR_PARSE_ERROR,     /* malformed Engine.IO or Socket.IO packet */
    GW_CR_SLOW_CONSUMER,
    GW_CR_SERVER,   /* gw_session_close() by the channels half */
    GW_CR_SHUTDOWN, /* SIGTERM drain */
    GW_CR_MAX
};

/* Binary attachments being collected after a BINARY_EVENT header. */
struct gw_binasm {
    char *packet; /* the header packet's text (copy) */
    size_t packet_len;
    unsigned want; /* attachments announced */
    unsigned have;
    size_t total; /* bytes so far, bounded by max_http_buffer */
    struct gw_bin parts[SIO_MAX_ATTACHMENTS];
};

struct gw_session {
    struct gw_ctx *ctx;
    RB_ENTRY(gw_session) by_eio;
    RB_ENTRY(gw_session) by_sio;
    TAILQ_ENTRY(gw_session) link; /* poll dirty list, or the dead list */
    struct event timer;           /* ping interval / pong wait / connect */
    int64_t phase_due;            /* ms (monotonic) the ping phase ends */
    int64_t connect_due;          /* ms by which CONNECT must be accepted */
    struct gw_ws *ws;             /* the WebSocket transport, or NULL */
    struct gw_ws *probe;          /* a WebSocket being upgraded to */
    struct cm_httpd_req *get;     /* polling: the held GET, or NULL */
    struct evbuffer *pq;          /* polling: queued packets (0x1e-joined) */
    char *query_key;              /* ?apiKey= until CONNECT, or NULL */
    struct gw_binasm *bin;        /* open BINARY_EVENT, or NULL */
    unsigned holds;
    uint8_t transport; /* enum gw_transport */
    uint8_t open;      /* 1 until closed */
    uint8_t sio;       /* enum gw_sio_state */
    uint8_t phase;     /* enum gw_phase */
    uint8_t queued;    /* on a dirty list or the dead list */
    uint8_t probed;    /* the probe answered "3probe" */
    uint8_t in_sio_tree;
    uint8_t why; /* enum gw_close_reason, once closed */
    char eio_sid[GW_EIO_SID_LEN + 1];
    struct gw_app_state app;
};

RB_HEAD(gw_eio_tree, gw_session);
RB_HEAD(gw_sio_tree, gw_session);
TAILQ_HEAD(gw_sess_list, gw_session);
TAILQ_HEAD(gw_ws_list, gw_ws);

struct gw_tp_metrics {
    struct cm_gauge *conns[2]; /* by enum gw_transport */
    struct cm_counter *ws_frames_in;
    struct cm_counter *eio_packets_in;
    struct cm_counter *slow;
    struct cm_counter *closed[GW_CR_MAX];
};

/* The transport half's process state (beside gw_ctx in struct gw_proc). */
struct gw_tp {
    struct gw_eio_tree by_eio;
    struct gw_sio_tree by_sio;
    struct gw_sess_list poll_dirty; /* polling sessions with new output */
    struct gw_ws_list ws_dirty;     /* WebSocket conns with new output */
    struct gw_sess_list dead;       /* closed; freed by the flush pass */
    struct event flush_ev;          /* low priority: one write pass */
    int flush_armed;
    const struct timeval *tv_interval; /* common timeouts for pings */
    const struct timeval *tv_pong;
    uint8_t *rdbuf; /* GW_RDBUF_SIZE, shared by all */
    size_t nsessions;
    size_t nws;      /* WebSocket conns alive (any state) */
    char *static_js; /* SSE_STATIC_DIR/socket.io.js, or NULL */
    size_t static_js_len;
    char *static_index; /* SSE_STATIC_DIR/index.html, or NULL */
    size_t static_index_len;
    struct gw_tp_metrics m;
};

/* The process: the context gw.h shows both halves, and the transport's own
 * state beside it (gw.h leaves no slot for it; gw_tp() finds it). */
struct gw_proc {
    struct gw_ctx ctx;
    struct gw_tp tp;
    struct cm_signals signals; /* SIGTERM/SIGINT: drain */
    struct event *drain_ev;    /* drain progress check */
    int64_t drain_due;         /* ms: give up waiting and exit */
};

static inline struct gw_tp *
gw_tp(struct gw_ctx *ctx)
{
    return &((struct gw_proc *)(void *)ctx)->tp;
}

/* Set up / tear down the transport state (after ctx->base and metrics). */
int gw_tp_init(struct gw_ctx *ctx);
void gw_tp_free(struct gw_ctx *ctx);

/* A new open session on transport t, in the tree, timers running. NULL on
 * allocation failure. */
struct gw_session *gw_session_new(struct gw_ctx *ctx, enum gw_transport t);
struct gw_session *gw_session_by_eio(struct gw_ctx *ctx, const char *sid,
                                     size_t len);

/* Index an accepted socket by its Socket.IO sid (gw_session_by_sid). */
void gw_session_index_sid(struct gw_session *s);

/* Close with a reason; sio_disconnect: send Socket.IO DISCONNECT first.
 * Safe from any callback; the free is deferred to the flush pass. */
void gw_session_end(struct gw_session *s, enum gw_close_reason why,
                    int sio_disconnect);

/* Queue an Engine.IO packet text ("2", "3probe", "6", "40{...}" ...) as a
 * copy. Returns 0 or -1 (closed, or over the backlog bound: closed). */
int gw_session_send_eio(struct gw_session *s, const char *pkt, size_t len);

/* The client answered a ping, or spoke: restart the ping cycle. */
void gw_session_on_pong(struct gw_session *s);

/* Switch a polling session to its probe WebSocket (Engine.IO "5"). */
void gw_session_upgrade(struct gw_session *s);

/* Ask for a write pass (dirty lists, deferred frees). */
void gw_tp_schedule_flush(struct gw_tp *tp);

/* Close every session (drain). */
void gw_tp_close_all(struct gw_ctx *ctx);

/* Monotonic milliseconds. */
int64_t gw_now_ms(void);

/* n random characters of [a-z0-9] (tags, socket ids). */
void gw_rand_alnum(char *out, size_t n);

/* Values of gw_session.queued. */
#define GW_Q_NONE 0
#define GW_Q_DIRTY 1 /* on tp->poll_dirty */
#define GW_Q_DEAD 2  /* on tp->dead */

#endif
