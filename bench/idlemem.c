/*
 * idlemem.c - what an idle WebSocket client costs the gateway. Opens N
 * Socket.IO connections (Engine.IO over WebSocket, CONNECT with
 * {"apiKey": $SSE_API_KEY}, pings answered) from 127.0.0.x source
 * addresses, lets them settle, reads the gateway's VmRSS from
 * /proc/<pid>/status and prints (RSS after - RSS before) / N.
 *
 *   SSE_API_KEY=ssek_... sse-idlemem --pid 1234 [--port 8080] [-n 10000]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "b64.h"
#include "ws.h"

#define IM_INFLIGHT 256     /* handshakes at once (accept backlog) */
#define IM_PER_SOURCE 2000  /* connections per 127.0.0.x source */
#define IM_OPEN_TIMEOUT 120 /* s to get every connection up */

struct im {
    struct event_base *base;
    struct event *tick;
    struct sockaddr_in dst;
    const char *key;
    int pid, n, settle;
    int opened, inflight, up, failed;
    time_t started, done_at;
    long rss0;
};

struct im_conn {
    struct im *im;
    int head_done;
    int up;
};

static long
im_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void
im_send(struct bufferevent *bev, uint8_t op, const char *p, size_t len)
{
    uint8_t buf[512];
    uint8_t mask[4];
    size_t n;

    arc4random_buf(mask, sizeof(mask));
    n = ws_frame_encode(buf, sizeof(buf), 1, op, p, len, mask);
    if (n <= sizeof(buf))
        bufferevent_write(bev, buf, n);
}

static void
im_fail(struct im_conn *c, struct bufferevent *bev)
{
    struct im *im = c->im;

    if (c->up)
        im->up--;
    else
        im->inflight--;
    im->failed++;
    bufferevent_free(bev);
    free(c);
}

/* One server frame (unmasked). */
static void
im_frame(struct im_conn *c, struct bufferevent *bev, int op, const char *p,
         size_t len)
{
    struct im *im = c->im;
    char connect[256];

    if (op == WS_OP_PING) {
        im_send(bev, WS_OP_PONG, p, len);
    } else if (op == WS_OP_TEXT && len > 0 && p[0] == '0') {
        int n = snprintf(connect, sizeof(connect), "40{\"apiKey\":\"%s\"}",
                         im->key);
        im_send(bev, WS_OP_TEXT, connect, (size_t)n);
    } else if (op == WS_OP_TEXT && len == 1 && p[0] == '2') {
        im_send(bev, WS_OP_TEXT, "3", 1);
    } else if (op == WS_OP_TEXT && len >= 2 && memcmp(p, "40", 2) == 0 &&
               !c->up) {
        c->up = 1;
        im->inflight--;
        im->up++;
    } else if (op == WS_OP_TEXT && len >= 2 && memcmp(p, "44", 2) == 0) {
        if (im->failed == 0)
            fprintf(stderr, "idlemem: CONNECT refused: %.*s\n", (int)len, p);
        im_fail(c, bev);
    }
}

static void
im_read(struct bufferevent *bev, void *arg)
{
    struct im_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    if (!c->head_done) {
        struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        char status[13];

        if (e.pos < 0)
            return;
        if (evbuffer_copyout(in, status, 12) != 12 ||
            memcmp(status, "HTTP/1.1 101", 12) != 0) {
            im_fail(c, bev);
            return;
        }
        evbuffer_drain(in, (size_t)e.pos + 4);
        c->head_done = 1;
    }
    for (;;) {
        size_t have = evbuffer_get_length(in), hl = 2, len;
        uint8_t *h;

        if (have < 2)
            return;
        h = evbuffer_pullup(in, have < 10 ? (ssize_t)have : 10);
        len = h[1] & 0x7f;
        if (len == 126) {
            if (have < 4)
                return;
            len = (size_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            im_fail(c, bev); /* the gateway never sends those to idlers */
            return;
        }
        if (have < hl + len)
            return;
        h = evbuffer_pullup(in, (ssize_t)(hl + len));
        if ((h[0] & 0x0f) == WS_OP_CLOSE) {
            im_fail(c, bev);
            return;
        }
        im_frame(c, bev, h[0] & 0x0f, (const char *)h + hl, len);
        evbuffer_drain(in, hl + len);
    }
}

static void
im_event(struct bufferevent *bev, short what, void *arg)
{
    struct im_conn *c = arg;
    char req[256];

    if (what & BEV_EVENT_CONNECTED) {
        uint8_t k[16];
        char key[B64_ENCODED_LEN(16) + 1];

        arc4random_buf(k, sizeof(k));
        b64_encode(k, sizeof(k), key, sizeof(key));
        snprintf(req, sizeof(req),
                 "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                 "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 key);
        bufferevent_write(bev, req, strlen(req));
        return;
    }
    im_fail(c, bev);
}

static int
im_open_one(struct im *im)
{
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct im_conn *c = calloc(1, sizeof(*c));
    struct bufferevent *bev;
    int fd, one = 1;

    if (c == NULL || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        free(c);
        return -1;
    }
    /* spread over 127.0.0.10.. so no source runs out of ports */
    src.sin_addr.s_addr =
        htonl(0x7f00000a + (uint32_t)(im->opened / IM_PER_SOURCE));
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
        close(fd);
        free(c);
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    bev = bufferevent_socket_new(im->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->im = im;
    bufferevent_setcb(bev, im_read, NULL, im_event, c);
    bufferevent_enable(bev, EV_READ);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&im->dst,
                                   sizeof(im->dst)) != 0) {
        bufferevent_free(bev);
        free(c);
        return -1;
    }
    im->opened++;
    im->inflight++;
    return 0;
}

static void
im_tick(evutil_socket_t fd, short what, void *arg)
{
    struct im *im = arg;
    time_t now = time(NULL);

    (void)fd;
    (void)what;
    while (im->opened < im->n && im->inflight < IM_INFLIGHT)
        if (im_open_one(im) != 0) {
            fprintf(stderr, "idlemem: socket: %s\n", strerror(errno));
            im->n = im->opened;
            break;
        }
    if (im->done_at == 0 && im->opened == im->n && im->inflight == 0)
        im->done_at = now;
    if (im->done_at == 0 && now - im->started > IM_OPEN_TIMEOUT)
        im->done_at = now;
    if (im->done_at != 0 && now - im->done_at >= im->settle) {
        long rss1 = im_rss_kb(im->pid);

        printf("connections=%d failed=%d rss_before_kb=%ld rss_after_kb=%ld "
               "bytes_per_connection=%.0f\n",
               im->up, im->failed, im->rss0, rss1,
               im->up > 0 ? (rss1 - im->rss0) * 1024.0 / im->up : 0.0);
        event_base_loopbreak(im->base);
    }
}

int
main(int argc, char **argv)
{
    struct im im = {.n = 10000, .settle = 3};
    const char *host = "127.0.0.1";
    struct timeval tv = {0, 10000};
    int port = 8080;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v != NULL && strcmp(argv[i], "--pid") == 0)
            im.pid = atoi(v), i++;
        else if (v != NULL && strcmp(argv[i], "--port") == 0)
            port = atoi(v), i++;
        else if (v != NULL && strcmp(argv[i], "--host") == 0)
            host = v, i++;
        else if (v != NULL && (strcmp(argv[i], "-n") == 0))
            im.n = atoi(v), i++;
        else if (v != NULL && strcmp(argv[i], "--settle") == 0)
            im.settle = atoi(v), i++;
        else {
            fprintf(stderr,
                    "usage: SSE_API_KEY=key %s --pid PID [--host H] "
                    "[--port P] [-n N] [--settle S]\n",
                    argv[0]);
            return 2;
        }
    }
    im.key = getenv("SSE_API_KEY");
    if (im.pid <= 0 || im.key == NULL || im.n <= 0 ||
        (im.rss0 = im_rss_kb(im.pid)) < 0) {
        fprintf(stderr, "idlemem: need --pid of a running gateway, "
                        "SSE_API_KEY and -n > 0\n");
        return 2;
    }
    im.dst.sin_family = AF_INET;
    im.dst.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &im.dst.sin_addr) != 1) {
        fprintf(stderr, "idlemem: --host must be an IPv4 address\n");
        return 2;
    }
    im.base = event_base_new();
    im.tick = event_new(im.base, -1, EV_PERSIST, im_tick, &im);
    im.started = time(NULL);
    event_add(im.tick, &tv);
    event_base_dispatch(im.base);
    event_free(im.tick);
    event_base_free(im.base);
    return im.up == im.n ? 0 : 1;
}
