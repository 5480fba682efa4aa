/*
 * calib.c - sse-calib, the calibration server of bench/: the smallest
 * honest raw fan-out speaking just enough Socket.IO for sse-loadgen
 * (websocket upgrade, Engine.IO open, CONNECT ack, `listen` = subscribe,
 * POST /v1/publishers/events/publish). One encoded frame per event, one
 * send() per subscriber, no Redis, no pings, no auth beyond one key.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h> /* embedded read event: event_assign() */
#include <event2/listener.h>
#include <event2/util.h>

#include "evt.h"
#include "http.h"
#include "json.h"
#include "ws.h"

#define CALIB_READ_CHUNK 65536
#define CALIB_HEAD_MAX 8192
#define CALIB_BODY_MAX (1u << 20)
#define CALIB_FRAME_MAX (1u << 20)
#define CALIB_CHANNELS_MAX 1024
#define CALIB_OUT_MAX (8u << 20) /* backlog before a slow reader is cut */

struct calib_ctx;

struct calib_conn {
    struct calib_ctx *ctx;
    int fd;
    int ws;               /* 1 after the upgrade */
    int chan;             /* channel index it listens to, or -1 */
    struct event rev;     /* read event, embedded: no extra allocation */
    struct event *wev;    /* only while output is backed up */
    struct evbuffer *out; /* only while output is backed up */
    uint8_t *pend;        /* unparsed input, only when a read split it */
    size_t pend_len;
    struct ws_parser wsp;
    LIST_ENTRY(calib_conn) sub;
    LIST_ENTRY(calib_conn) all; /* every connection, freed at exit */
};

LIST_HEAD(calib_subs, calib_conn);

struct calib_chan {
    char name[201];
    struct calib_subs subs;
};

struct calib_ctx {
    struct event_base *base;
    const char *key;
    struct calib_chan chans[CALIB_CHANNELS_MAX];
    struct calib_subs conns;
    int nchans;
    unsigned long next_sid;
    unsigned long events;
    uint8_t rbuf[CALIB_READ_CHUNK];
    uint8_t frame[CALIB_FRAME_MAX + WS_MAX_HEADER + 1];
};

static void
conn_free(struct calib_conn *c)
{
    if (c->chan >= 0)
        LIST_REMOVE(c, sub);
    LIST_REMOVE(c, all);
    event_del(&c->rev);
    if (c->wev != NULL)
        event_free(c->wev);
    if (c->out != NULL)
        evbuffer_free(c->out);
    free(c->pend);
    ws_parser_reset(&c->wsp);
    close(c->fd);
    free(c);
}

static void
conn_writable(evutil_socket_t fd, short what, void *arg)
{
    struct calib_conn *c = arg;

    if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN) {
        conn_free(c);
        return;
    }
    if (evbuffer_get_length(c->out) == 0)
        event_del(c->wev);
}

/* Send now; queue only what the kernel did not take. Returns 0 or -1. */
static int
conn_send(struct calib_conn *c, const void *data, size_t len)
{
    ssize_t n = 0;

    if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
        n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN)
            return -1;
        if (n < 0)
            n = 0;
        if ((size_t)n == len)
            return 0;
    }
    if (c->out == NULL) {
        c->out = evbuffer_new();
        c->wev = event_new(c->ctx->base, c->fd, EV_WRITE | EV_PERSIST,
                           conn_writable, c);
        if (c->out == NULL || c->wev == NULL)
            return -1;
    }
    if (evbuffer_get_length(c->out) > CALIB_OUT_MAX)
        return -1;
    evbuffer_add(c->out, (const uint8_t *)data + n, len - (size_t)n);
    return event_add(c->wev, NULL);
}

static int
conn_send_text(struct calib_conn *c, const char *s, size_t len)
{
    uint8_t buf[WS_MAX_HEADER + 512];
    size_t n = ws_frame_encode(buf, sizeof(buf), 1, WS_OP_TEXT, s, len, NULL);

    return n <= sizeof(buf) ? conn_send(c, buf, n) : -1;
}

static int
chan_find(struct calib_ctx *ctx, const char *name, size_t len, int create)
{
    int i;

    for (i = 0; i < ctx->nchans; i++)
        if (strlen(ctx->chans[i].name) == len &&
            memcmp(ctx->chans[i].name, name, len) == 0)
            return i;
    if (!create || ctx->nchans == CALIB_CHANNELS_MAX ||
        len >= sizeof(ctx->chans[0].name))
        return -1;
    memcpy(ctx->chans[i].name, name, len);
    ctx->chans[i].name[len] = '\0';
    LIST_INIT(&ctx->chans[i].subs);
    return ctx->nchans++;
}

/* Publish: encode the frame once, one send() per subscriber. */
static int
calib_publish(struct calib_conn *c, const char *body, size_t len)
{
    struct calib_ctx *ctx = c->ctx;
    struct proto_span name, payload;
    struct calib_conn *s, *next;
    char reply[512], resp[640];
    size_t plen, hl;
    int ch, n, rn;

    if (jscan_validate(body, len, JSCAN_DEFAULT_DEPTH) != PROTO_OK ||
        jscan_object_get(body, len, "channelName", &name) != PROTO_OK ||
        jscan_object_get(body, len, "payload", &payload) != PROTO_OK ||
        name.len < 2 || name.p[0] != '"')
        return 400;
    name.p++;
    name.len -= 2;
    ch = chan_find(ctx, name.p, name.len, 0);
    plen = evt_packet_encode((char *)ctx->frame + WS_MAX_HEADER + 1,
                             CALIB_FRAME_MAX, name.p, name.len, payload.p,
                             payload.len);
    if (plen >= CALIB_FRAME_MAX)
        return 413;
    ctx->frame[WS_MAX_HEADER] = '4'; /* Engine.IO message */
    {
        uint8_t h[WS_MAX_HEADER];
        hl = ws_frame_header(h, 1, WS_OP_TEXT, plen + 1);
        memcpy(ctx->frame + WS_MAX_HEADER - hl, h, hl);
    }
    ctx->events++;
    if (ch >= 0)
        LIST_FOREACH_SAFE(s, &ctx->chans[ch].subs, sub, next)
    if (conn_send(s, ctx->frame + WS_MAX_HEADER - hl, hl + 1 + plen) != 0)
        conn_free(s);
    rn = snprintf(reply, sizeof(reply),
                  "{\"id\":\"%lu\",\"channelName\":\"%.*s\"}", ctx->events,
                  (int)name.len, name.p);
    n = snprintf(resp, sizeof(resp),
                 "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s",
                 rn, reply);
    return conn_send(c, resp, (size_t)n) == 0 ? 201 : -1;
}

static int
calib_upgrade(struct calib_conn *c, const struct http_request *req)
{
    const struct http_header *k =
        http_header_find(req->headers, req->nheaders, "Sec-WebSocket-Key");
    char accept[29], resp[256], open[256];
    int n;

    if (k == NULL ||
        ws_accept_key(k->value.p, k->value.len, accept) != PROTO_OK)
        return 400;
    n = snprintf(resp, sizeof(resp),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
    if (conn_send(c, resp, (size_t)n) != 0)
        return -1;
    c->ws = 1;
    ws_parser_init(&c->wsp, CALIB_FRAME_MAX, CALIB_FRAME_MAX);
    n = snprintf(open, sizeof(open),
                 "0{\"sid\":\"calib%015lu\",\"upgrades\":[],\"pingInterval\":"
                 "25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
                 ++c->ctx->next_sid);
    return conn_send_text(c, open, (size_t)n) == 0 ? 101 : -1;
}

/* One HTTP request at buf. Returns bytes consumed, 0 for more, -1 close. */
static ssize_t
calib_http(struct calib_conn *c, const char *buf, size_t len)
{
    struct http_header hdrs[32];
    struct http_request req = {.headers = hdrs, .nheaders = 32};
    const struct http_header *h;
    uint64_t blen = 0;
    char auth[300];
    ssize_t head = http_parse_request(buf, len, &req);
    int st;

    if (head == PROTO_AGAIN)
        return len > CALIB_HEAD_MAX ? -1 : 0;
    if (head < 0)
        return -1;
    if ((h = http_header_find(hdrs, req.nheaders, "Upgrade")) != NULL) {
        st = calib_upgrade(c, &req);
        return st == 101 ? head : -1;
    }
    h = http_header_find(hdrs, req.nheaders, "Content-Length");
    if (h != NULL && (http_content_length(&h->value, &blen) != PROTO_OK ||
                      blen > CALIB_BODY_MAX))
        return -1;
    if (len < (size_t)head + blen)
        return 0;
    h = http_header_find(hdrs, req.nheaders, "Authorization");
    snprintf(auth, sizeof(auth), "Bearer %s", c->ctx->key);
    if (h == NULL || h->value.len != strlen(auth) ||
        memcmp(h->value.p, auth, h->value.len) != 0)
        st = 401;
    else
        st = calib_publish(c, buf + head, (size_t)blen);
    if (st < 0)
        return -1;
    if (st != 201) {
        char r[160];
        int n = snprintf(r, sizeof(r),
                         "HTTP/1.1 %d %s\r\nContent-Length: 0"
                         "\r\n\r\n",
                         st, http_reason(st));
        if (conn_send(c, r, (size_t)n) != 0)
            return -1;
    }
    return head + (ssize_t)blen;
}

/* One Engine.IO packet from a client. Returns 0 or -1 (close). */
static int
calib_packet(struct calib_conn *c, const char *s, size_t len)
{
    struct calib_ctx *ctx = c->ctx;
    static const char ok[] = "42[\"system_message\",{\"code\":\"Success\","
                             "\"message\":\"listening\"}]";
    char kbuf[300], ack[64];
    struct proto_span name;
    const char *obj;
    int ch, n;

    if (len >= 2 && s[0] == '4' && s[1] == '0') {
        n = snprintf(kbuf, sizeof(kbuf), "\"apiKey\":\"%s\"", ctx->key);
        if (memmem(s, len, kbuf, (size_t)n) == NULL)
            return conn_send_text(c, "44{\"message\":\"invalid key\"}", 27);
        n = snprintf(ack, sizeof(ack), "40{\"sid\":\"c%019lu\"}",
                     ++ctx->next_sid);
        return conn_send_text(c, ack, (size_t)n);
    }
    if (len > 12 && memcmp(s, "42[\"listen\",", 12) == 0) {
        obj = s + 12;
        if (s[len - 1] != ']' ||
            jscan_validate(obj, len - 13, JSCAN_DEFAULT_DEPTH) != PROTO_OK ||
            jscan_object_get(obj, len - 13, "channelName", &name) != PROTO_OK ||
            name.len < 2)
            return -1;
        ch = chan_find(ctx, name.p + 1, name.len - 2, 1);
        if (ch < 0)
            return -1;
        if (c->chan >= 0)
            LIST_REMOVE(c, sub);
        c->chan = ch;
        LIST_INSERT_HEAD(&ctx->chans[ch].subs, c, sub);
        return conn_send_text(c, ok, sizeof(ok) - 1);
    }
    return 0; /* "3" pongs and anything else: nothing to do */
}

static ssize_t
calib_ws(struct calib_conn *c, uint8_t *buf, size_t len)
{
    struct ws_event ev;
    ssize_t n = ws_parser_feed(&c->wsp, buf, len, &ev);

    if (n == PROTO_AGAIN)
        return 0;
    if (n < 0)
        return -1;
    if (ev.type == WS_EV_MESSAGE && ev.len > 0)
        return calib_packet(c, (const char *)ev.data, ev.len) == 0 ? n : -1;
    if (ev.type == WS_EV_CLOSE)
        return -1;
    return n;
}

static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
    struct calib_conn *c = arg;
    struct calib_ctx *ctx = c->ctx;
    uint8_t *buf = ctx->rbuf;
    size_t len, off = 0;
    ssize_t n = recv(fd, ctx->rbuf, sizeof(ctx->rbuf), 0);

    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        conn_free(c);
        return;
    }
    len = (size_t)n;
    if (c->pend != NULL) { /* rare: a message split across reads */
        uint8_t *p = realloc(c->pend, c->pend_len + len);
        if (p == NULL) {
            conn_free(c);
            return;
        }
        memcpy(p + c->pend_len, ctx->rbuf, len);
        c->pend = buf = p;
        len += c->pend_len;
    }
    while (off < len) {
        n = c->ws ? calib_ws(c, buf + off, len - off)
                  : calib_http(c, (const char *)buf + off, len - off);
        if (n < 0) {
            conn_free(c);
            return;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    if (off == len) {
        free(c->pend);
        c->pend = NULL;
        c->pend_len = 0;
    } else if (buf == ctx->rbuf) {
        c->pend = malloc(len - off);
        if (c->pend == NULL) {
            conn_free(c);
            return;
        }
        memcpy(c->pend, buf + off, len - off);
        c->pend_len = len - off;
    } else {
        memmove(c->pend, c->pend + off, len - off);
        c->pend_len = len - off;
    }
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct calib_ctx *ctx = arg;
    struct calib_conn *c = calloc(1, sizeof(*c));
    int one = 1;

    if (c == NULL) {
        close(fd);
        return;
    }
    c->ctx = ctx;
    c->fd = fd;
    c->chan = -1;
    LIST_INSERT_HEAD(&ctx->conns, c, all);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    event_assign(&c->rev, ctx->base, fd, EV_READ | EV_PERSIST, conn_readable,
                 c);
    event_add(&c->rev, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
    static struct calib_ctx ctx;
    struct sockaddr_in sa;
    struct evconnlistener *l;
    struct event *sigint, *sigterm;
    struct rlimit rl;
    const char *addr = "127.0.0.1:8090";
    int salen = sizeof(sa), ch;

    LIST_INIT(&ctx.conns);
    ctx.key = getenv("SSE_BENCH_KEY") ? getenv("SSE_BENCH_KEY") : "calib";
    while ((ch = getopt(argc, argv, "a:k:h")) != -1) {
        if (ch == 'a')
            addr = optarg;
        else if (ch == 'k')
            ctx.key = optarg;
        else {
            fprintf(
                ch == 'h' ? stdout : stderr,
                "usage: sse-calib [-a 127.0.0.1:8090] [-k key]\n"
                "  the calibration fan-out of bench/ (see bench/README.md)\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&sa, &salen) != 0) {
        fprintf(stderr, "sse-calib: bad address %s\n", addr);
        return 2;
    }
    ctx.base = event_base_new();
    l = evconnlistener_new_bind(ctx.base, on_accept, &ctx,
                                LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 4096,
                                (struct sockaddr *)&sa, salen);
    if (l == NULL) {
        fprintf(stderr, "sse-calib: cannot listen on %s: %s\n", addr,
                strerror(errno));
        return 1;
    }
    sigint = evsignal_new(ctx.base, SIGINT, on_signal, ctx.base);
    sigterm = evsignal_new(ctx.base, SIGTERM, on_signal, ctx.base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    fprintf(stderr, "sse-calib: listening on %s\n", addr);
    event_base_dispatch(ctx.base);
    while (!LIST_EMPTY(&ctx.conns))
        conn_free(LIST_FIRST(&ctx.conns));
    evconnlistener_free(l);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(ctx.base);
    return 0;
}
