/*
 * lg.h - sse-loadgen: the Socket.IO load generator of bench/ (issue 8).
 *
 * One process, one libevent loop: N websocket subscribers (lg_client.c),
 * a rate-driven REST publisher (lg_pub.c), a log-bucket latency histogram
 * (lg_hist.c), and lg_main.c that parses options, runs the phases and
 * prints one JSON line of results. Loopback benchmarking only.
 */
#ifndef SSE_BENCH_LG_H
#define SSE_BENCH_LG_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>

#include "ws.h"

/* Histogram: HDR-like, 2^LG_HIST_SUB_BITS sub-buckets per power of two,
 * so a recorded value is off by at most 1/64 of itself. Values are ns. */
#define LG_HIST_SUB_BITS 7
#define LG_HIST_HALF (1u << (LG_HIST_SUB_BITS - 1))
#define LG_HIST_BUCKETS ((64 - LG_HIST_SUB_BITS + 2) * LG_HIST_HALF)

struct lg_hist {
    uint64_t counts[LG_HIST_BUCKETS];
    uint64_t total;
    uint64_t max;
    uint64_t min;
};

/* Reset h to empty. */
void lg_hist_init(struct lg_hist *h);
/* Record one value (ns). */
void lg_hist_record(struct lg_hist *h, uint64_t v);
/* Value at quantile q in [0,1] (the bucket's upper bound, never below the
 * true value by more than the bucket width); 0 for an empty histogram. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

/* Bounds: every one a named, configurable limit. */
#define LG_MAX_SOURCES 64
#define LG_URL_MAX 512
#define LG_KEY_MAX 256
#define LG_FRAME_MAX (1u << 20)  /* largest server frame accepted */
#define LG_HEAD_MAX 8192         /* largest HTTP response head */
#define LG_READ_CHUNK 65536      /* one recv() at most */
#define LG_PUB_RECONNECT_MAX 100 /* reconnects in a row, no answer between */

enum lg_cstate {
    LG_CS_IDLE = 0, /* not started */
    LG_CS_TCP,      /* TCP connect under way */
    LG_CS_UPGRADE,  /* GET sent, waiting for 101 */
    LG_CS_OPEN,     /* waiting for Engine.IO open "0{...}" */
    LG_CS_CONNECT,  /* "40{apiKey}" sent, waiting for "40{sid}" */
    LG_CS_LISTEN,   /* listen sent, waiting for its system_message */
    LG_CS_READY,    /* member of the channel */
    LG_CS_DEAD,
};

struct lg_ctx;

struct lg_client {
    struct lg_ctx *ctx;
    int fd;
    struct event ev; /* embedded: one allocation per client */
    enum lg_cstate state;
    unsigned idx;
    uint8_t *pend; /* unparsed input, only when a read split it */
    size_t pend_len;
    uint8_t *seen; /* bitmap of sequence numbers received */
    uint64_t received;
    uint64_t duplicates;
    uint64_t out_of_range;
};

struct lg_pubconn {
    struct lg_ctx *ctx;
    struct bufferevent *bev;
    int busy;     /* a request is in flight */
    uint64_t seq; /* its sequence number */
};

struct lg_opts {
    char url[LG_URL_MAX];         /* ws base: http://127.0.0.1:8080 */
    char publish_url[LG_URL_MAX]; /* http://127.0.0.1:8081/v1/... */
    char key[LG_KEY_MAX];         /* listen key */
    char publish_key[LG_KEY_MAX];
    char channel[256];
    char token[1024]; /* channel token for a private channel */
    unsigned clients;
    double rate;    /* events/s; 0 = idle (memory runs) */
    double seconds; /* publishing (or idle holding) time */
    double drain;   /* max wait for stragglers after it */
    double connect_timeout;
    unsigned connect_concurrency; /* handshakes in flight at once */
    unsigned pub_conns;           /* keep-alive publisher connections */
    struct in_addr sources[LG_MAX_SOURCES];
    unsigned nsources;
};

struct lg_ctx {
    struct lg_opts o;
    struct event_base *base;
    struct sockaddr_in ws_addr;
    char ws_host[LG_URL_MAX];
    struct sockaddr_in pub_addr;
    char pub_host[LG_URL_MAX];
    char pub_path[LG_URL_MAX];

    struct lg_client *clients;
    unsigned next_client; /* next to start */
    unsigned inflight;    /* handshakes under way */
    unsigned ready;
    unsigned armed; /* clients ready when publishing began */
    unsigned dead;
    unsigned connect_errors;
    unsigned disconnects; /* ready clients lost during the run */
    char first_error[160];
    uint64_t seq_cap; /* bitmap size in sequence numbers */
    uint32_t rng;

    struct lg_pubconn *pubs;
    uint8_t *pub_ok; /* bitmap of sequence numbers answered 2xx */
    uint64_t pub_sent;
    uint64_t pub_ok_count;
    uint64_t pub_errors;
    unsigned pub_reconnects;  /* connections the server closed, in all */
    unsigned pub_fail_streak; /* reconnects since the last 2xx */
    uint64_t pub_lag_max;     /* most events behind schedule at once */
    uint64_t pub_total;       /* events to send in all */
    uint64_t pub_due_prev;    /* events due at the previous tick */
    uint64_t t_pub_start;     /* ns, CLOCK_MONOTONIC */
    uint64_t t_pub_end;
    uint64_t t_last_delivery;
    int publishing;
    struct event *tick;

    struct lg_hist hist;
    uint8_t rbuf[LG_READ_CHUNK]; /* every client reads into this */
    uint64_t deliveries;
    uint64_t bad_messages;
    uint64_t removed; /* RemovedFromChannel system messages */
};

/* CLOCK_MONOTONIC in ns: the clock of every "t" in a payload. */
uint64_t lg_now_ns(void);

/* Start handshakes until connect_concurrency are in flight or all clients
 * have started. Callable from callbacks. */
void lg_clients_pump(struct lg_ctx *ctx);
/* Allocate each ready client's seen bitmap (ctx->seq_cap bits).
 * Returns 0 or -1 (out of memory). */
int lg_clients_arm(struct lg_ctx *ctx);
/* Close every client. */
void lg_clients_free(struct lg_ctx *ctx);

/* Open the publisher connections. Returns 0 or -1. */
int lg_pub_start(struct lg_ctx *ctx);
/* Send every event now due (rate x elapsed), one per idle connection. */
void lg_pub_tick(struct lg_ctx *ctx);
/* Number of requests in flight. */
unsigned lg_pub_inflight(const struct lg_ctx *ctx);
void lg_pub_free(struct lg_ctx *ctx);

/* Send one masked text frame to c's socket. Returns 0, or -1 when the
 * client was killed (it must not be touched after). */
int lg_ws_send_text(struct lg_client *c, const char *s, size_t len);

/* Record the first error message for the report (kept short). */
void lg_note_error(struct lg_ctx *ctx, const char *what);

#endif
