/*
 * lg_client.c - the load generator's Socket.IO subscribers: a websocket
 * straight to /socket.io/?EIO=4&transport=websocket from a rotating
 * 127.0.0.x source, CONNECT with an apiKey, `listen`, pong every ping, and
 * on each `event` the latency (now - payload.t) and the sequence bitmap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "b64.h"
#include "http.h"
#include "lg.h"

static void client_readable(evutil_socket_t fd, short what, void *arg);

static void
client_kill(struct lg_client *c, const char *why)
{
    struct lg_ctx *ctx = c->ctx;

    if (c->state == LG_CS_DEAD)
        return;
    if (c->state == LG_CS_READY) {
        ctx->ready--;
        ctx->disconnects++;
    } else {
        ctx->inflight--;
        ctx->connect_errors++;
    }
    lg_note_error(ctx, why);
    if (c->state != LG_CS_IDLE) {
        event_del(&c->ev);
        close(c->fd);
    }
    c->fd = -1;
    c->state = LG_CS_DEAD;
    ctx->dead++;
    free(c->pend);
    c->pend = NULL;
    c->pend_len = 0;
    lg_clients_pump(ctx);
}

/* Small writes straight to the socket: a client only sends the upgrade,
 * three short packets and pongs, which never fill a send buffer. */
static int
client_send(struct lg_client *c, const void *data, size_t len)
{
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n == (ssize_t)len)
        return 0;
    client_kill(c, n < 0 ? "send failed" : "send buffer full");
    return -1;
}

/* A socket bound to the next source address before connect, so that N
 * clients spread their ephemeral ports over several 127.0.0.x. */
static int
client_socket(struct lg_ctx *ctx, unsigned idx)
{
    struct sockaddr_in src;
    int fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (ctx->o.nsources > 0) {
        memset(&src, 0, sizeof(src));
        src.sin_family = AF_INET;
        src.sin_addr = ctx->o.sources[idx % ctx->o.nsources];
        /* let connect() pick the port per destination */
        (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                         sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            close(fd);
            return -1;
        }
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* The TCP connect finished: send the upgrade, then wait for reads. */
static void
client_connected(evutil_socket_t fd, short what, void *arg)
{
    struct lg_client *c = arg;
    struct lg_ctx *ctx = c->ctx;
    char req[1024], key[32], msg[96];
    uint8_t nonce[16];
    int err = 0, n;
    socklen_t elen = sizeof(err);
    unsigned i;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
        snprintf(msg, sizeof(msg), "connect: %s", strerror(err ? err : errno));
        client_kill(c, msg);
        return;
    }
    for (i = 0; i < sizeof(nonce); i++)
        nonce[i] =
            (uint8_t)((ctx->rng = ctx->rng * 1103515245u + 12345u) >> 16);
    if (b64_encode(nonce, sizeof(nonce), key, sizeof(key)) == 0) {
        client_kill(c, "websocket key");
        return;
    }
    n = snprintf(req, sizeof(req),
                 "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                 "Host: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 ctx->ws_host, key);
    if (client_send(c, req, (size_t)n) != 0)
        return;
    c->state = LG_CS_UPGRADE;
    event_assign(&c->ev, ctx->base, fd, EV_READ | EV_PERSIST, client_readable,
                 c);
    event_add(&c->ev, NULL);
}

/* Returns 0, or -1 with nothing left open (state still LG_CS_IDLE). */
static int
client_start(struct lg_ctx *ctx, struct lg_client *c)
{
    c->fd = client_socket(ctx, c->idx);
    if (c->fd < 0)
        return -1;
    if ((connect(c->fd, (struct sockaddr *)&ctx->ws_addr,
                 sizeof(ctx->ws_addr)) != 0 &&
         errno != EINPROGRESS) ||
        event_assign(&c->ev, ctx->base, c->fd, EV_WRITE, client_connected, c) !=
            0 ||
        event_add(&c->ev, NULL) != 0) {
        int e = errno;
        close(c->fd);
        errno = e;
        return -1;
    }
    c->state = LG_CS_TCP;
    return 0;
}

void
lg_clients_pump(struct lg_ctx *ctx)
{
    while (ctx->inflight < ctx->o.connect_concurrency &&
           ctx->next_client < ctx->o.clients) {
        struct lg_client *c = &ctx->clients[ctx->next_client++];

        ctx->inflight++;
        if (client_start(ctx, c) != 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
            client_kill(c, msg);
        }
    }
}

int
lg_clients_arm(struct lg_ctx *ctx)
{
    unsigned i;
    size_t bytes = (size_t)(ctx->seq_cap + 7) / 8;

    for (i = 0; i < ctx->o.clients; i++) {
        struct lg_client *c = &ctx->clients[i];
        if (c->state != LG_CS_READY)
            continue;
        c->seen = calloc(1, bytes > 0 ? bytes : 1);
        if (c->seen == NULL)
            return -1;
        ctx->armed++;
    }
    return 0;
}

void
lg_clients_free(struct lg_ctx *ctx)
{
    unsigned i;

    for (i = 0; i < ctx->o.clients; i++) {
        struct lg_client *c = &ctx->clients[i];
        if (c->state != LG_CS_IDLE && c->state != LG_CS_DEAD) {
            event_del(&c->ev);
            close(c->fd);
        }
        free(c->pend);
        free(c->seen);
    }
    free(ctx->clients);
    ctx->clients = NULL;
}

/* Parse the unsigned decimal after `name` in s[0..len); -1 if absent. */
static int64_t
find_u64(const char *s, size_t len, const char *name)
{
    const char *p = memmem(s, len, name, strlen(name));
    const char *end = s + len;
    int64_t v = 0;

    if (p == NULL)
        return -1;
    p += strlen(name);
    if (p >= end || *p < '0' || *p > '9')
        return -1;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    return v;
}

static void
client_on_event(struct lg_client *c, const char *s, size_t len, uint64_t now)
{
    struct lg_ctx *ctx = c->ctx;
    int64_t seq = find_u64(s, len, "\"seq\":");
    int64_t t = find_u64(s, len, "\"t\":");

    if (seq < 0 || t < 0) {
        ctx->bad_messages++;
        return;
    }
    ctx->deliveries++;
    ctx->t_last_delivery = now;
    c->received++;
    lg_hist_record(&ctx->hist, now > (uint64_t)t ? now - (uint64_t)t : 0);
    if (c->seen == NULL || (uint64_t)seq >= ctx->seq_cap) {
        c->out_of_range++;
        return;
    }
    if (c->seen[seq >> 3] & (1u << (seq & 7)))
        c->duplicates++;
    c->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
}

static void
client_on_listen_reply(struct lg_client *c, const char *s, size_t len)
{
    if (memmem(s, len, "\"code\":\"Success\"", 16) == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "listen refused: %.*s",
                 (int)(len > 120 ? 120 : len), s);
        client_kill(c, msg);
        return;
    }
    c->state = LG_CS_READY;
    c->ctx->inflight--;
    c->ctx->ready++;
    lg_clients_pump(c->ctx);
}

/* One Engine.IO packet (one text frame). */
static void
client_on_packet(struct lg_client *c, const char *s, size_t len, uint64_t now)
{
    struct lg_ctx *ctx = c->ctx;
    char buf[1400];
    int n;

    if (len >= 2 && s[0] == '4' && s[1] == '2') {
        if (len > 11 && memcmp(s + 2, "[\"event\"", 8) == 0)
            client_on_event(c, s, len, now);
        else if (c->state == LG_CS_LISTEN &&
                 memmem(s, len, "system_message", 14) != NULL)
            client_on_listen_reply(c, s, len);
        else if (memmem(s, len, "\"RemovedFromChannel\"", 20) != NULL)
            ctx->removed++; /* revocation runs count these */
        return;
    }
    if (len == 1 && s[0] == '2') {
        lg_ws_send_text(c, "3", 1);
    } else if (s[0] == '0' && c->state == LG_CS_OPEN) {
        n = snprintf(buf, sizeof(buf), "40{\"apiKey\":\"%s\"}", ctx->o.key);
        c->state = LG_CS_CONNECT;
        lg_ws_send_text(c, buf, (size_t)n);
    } else if (len >= 2 && s[0] == '4' && s[1] == '0' &&
               c->state == LG_CS_CONNECT) {
        if (ctx->o.token[0] != '\0')
            n = snprintf(buf, sizeof(buf),
                         "42[\"listen\",{\"channelName\":\"%s\","
                         "\"authToken\":\"%s\"}]",
                         ctx->o.channel, ctx->o.token);
        else
            n = snprintf(buf, sizeof(buf),
                         "42[\"listen\",{\"channelName\":\"%s\"}]",
                         ctx->o.channel);
        c->state = LG_CS_LISTEN;
        lg_ws_send_text(c, buf, (size_t)n);
    } else if (len >= 2 && s[0] == '4' && s[1] == '4') {
        client_kill(c, "CONNECT_ERROR");
    } else if (s[0] == '1') {
        client_kill(c, "engine.io close");
    }
}

/* The 101 answer. Returns bytes consumed, 0 for more, -1 bad. */
static ssize_t
client_upgrade(struct lg_client *c, const char *buf, size_t len)
{
    struct http_header hdrs[32];
    struct http_response res = {.headers = hdrs, .nheaders = 32};
    ssize_t head = http_parse_response(buf, len, &res);
    char msg[96];

    if (head == PROTO_AGAIN)
        return len > LG_HEAD_MAX ? -1 : 0;
    if (head < 0 || res.status != 101) {
        snprintf(msg, sizeof(msg), "upgrade answered %d",
                 head < 0 ? -1 : res.status);
        lg_note_error(c->ctx, msg);
        return -1;
    }
    c->state = LG_CS_OPEN;
    return head;
}

/* One server frame at buf. Returns bytes consumed, 0 need more, -1 bad. */
static ssize_t
client_frame(struct lg_client *c, const uint8_t *buf, size_t len, uint64_t now)
{
    size_t hl = 2;
    uint64_t plen;

    if (len < 2)
        return 0;
    if (buf[1] & 0x80)
        return -1; /* RFC 6455 5.1: a server never masks */
    plen = buf[1] & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        hl = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 2; i < 10; i++)
            plen = (plen << 8) | buf[i];
        hl = 10;
    }
    if (plen > LG_FRAME_MAX)
        return -1;
    if (len < hl + plen)
        return 0;
    switch (buf[0] & 0x0f) {
    case WS_OP_TEXT:
        if (plen > 0)
            client_on_packet(c, (const char *)buf + hl, (size_t)plen, now);
        break;
    case WS_OP_PING: {
        uint8_t out[WS_MAX_HEADER + 125], mask[4] = {1, 2, 3, 4};
        size_t n = ws_frame_encode(out, sizeof(out), 1, WS_OP_PONG, buf + hl,
                                   (size_t)plen, mask);
        client_send(c, out, n);
        break;
    }
    case WS_OP_CLOSE:
        return -1;
    default:
        break;
    }
    return (ssize_t)(hl + plen);
}

/* Parse what is whole in buf; returns bytes consumed or -1 (killed). */
static ssize_t
client_parse(struct lg_client *c, const uint8_t *buf, size_t len, uint64_t now)
{
    size_t off = 0;
    ssize_t n;

    while (off < len && c->state != LG_CS_DEAD) {
        if (c->state == LG_CS_UPGRADE)
            n = client_upgrade(c, (const char *)buf + off, len - off);
        else
            n = client_frame(c, buf + off, len - off, now);
        if (n < 0) {
            client_kill(c, "bad or closing frame");
            return -1;
        }
        if (n == 0)
            break;
        off += (size_t)n;
    }
    return c->state == LG_CS_DEAD ? -1 : (ssize_t)off;
}

/* Keep the unparsed tail of a read (rare: a frame split across reads). */
static int
client_keep(struct lg_client *c, const uint8_t *tail, size_t len)
{
    uint8_t *p;

    if (len == 0) {
        free(c->pend);
        c->pend = NULL;
        c->pend_len = 0;
        return 0;
    }
    if (c->pend != NULL && tail >= c->pend && tail < c->pend + c->pend_len) {
        memmove(c->pend, tail, len);
    } else {
        p = malloc(len);
        if (p == NULL)
            return -1;
        memcpy(p, tail, len);
        free(c->pend);
        c->pend = p;
    }
    c->pend_len = len;
    return 0;
}

static void
client_readable(evutil_socket_t fd, short what, void *arg)
{
    struct lg_client *c = arg;
    struct lg_ctx *ctx = c->ctx;
    uint64_t now;
    uint8_t *buf = ctx->rbuf;
    size_t len;
    ssize_t n = recv(fd, ctx->rbuf, sizeof(ctx->rbuf), 0);
    char msg[96];

    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        snprintf(msg, sizeof(msg), "socket %s%s", n == 0 ? "eof" : "error",
                 c->state == LG_CS_READY ? " after ready" : "");
        client_kill(c, msg);
        return;
    }
    now = lg_now_ns(); /* one clock read per batch of frames */
    len = (size_t)n;
    if (c->pend != NULL) {
        uint8_t *p = realloc(c->pend, c->pend_len + len);
        if (p == NULL) {
            client_kill(c, "out of memory");
            return;
        }
        memcpy(p + c->pend_len, ctx->rbuf, len);
        c->pend = buf = p;
        len += c->pend_len;
    }
    n = client_parse(c, buf, len, now);
    if (n >= 0 && client_keep(c, buf + n, len - (size_t)n) != 0)
        client_kill(c, "out of memory");
}

int
lg_ws_send_text(struct lg_client *c, const char *s, size_t len)
{
    struct lg_ctx *ctx = c->ctx;
    uint8_t out[WS_MAX_HEADER + 2048];
    uint8_t mask[4];
    size_t n;

    ctx->rng = ctx->rng * 1664525u + 1013904223u;
    memcpy(mask, &ctx->rng, 4);
    n = ws_frame_encode(out, sizeof(out), 1, WS_OP_TEXT, s, len, mask);
    if (n > sizeof(out))
        return -1;
    return client_send(c, out, n);
}
