/*
 * lg_pub.c - the load generator's publisher: keep-alive HTTP/1.1
 * connections to the REST publish endpoint, one request in flight on each,
 * fed by a 1 ms tick at a fixed rate. Each payload carries its sequence
 * number and its send time; an event that waited for a free connection
 * carries its scheduled time instead, so a server that makes the publisher
 * wait is charged for it (no coordinated omission).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "http.h"
#include "lg.h"

static void pub_read(struct bufferevent *bev, void *arg);
static void pub_event(struct bufferevent *bev, short what, void *arg);

static int
pub_open(struct lg_ctx *ctx, struct lg_pubconn *p)
{
    int one = 1;

    p->ctx = ctx;
    p->busy = 0;
    p->bev = bufferevent_socket_new(ctx->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (p->bev == NULL)
        return -1;
    bufferevent_setcb(p->bev, pub_read, NULL, pub_event, p);
    bufferevent_enable(p->bev, EV_READ);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&ctx->pub_addr,
                                   sizeof(ctx->pub_addr)) != 0)
        return -1;
    (void)setsockopt(bufferevent_getfd(p->bev), IPPROTO_TCP, TCP_NODELAY, &one,
                     sizeof(one));
    return 0;
}

int
lg_pub_start(struct lg_ctx *ctx)
{
    unsigned i;

    ctx->pubs = calloc(ctx->o.pub_conns, sizeof(*ctx->pubs));
    ctx->pub_ok = calloc(1, (size_t)(ctx->seq_cap + 7) / 8 + 1);
    if (ctx->pubs == NULL || ctx->pub_ok == NULL)
        return -1;
    for (i = 0; i < ctx->o.pub_conns; i++)
        if (pub_open(ctx, &ctx->pubs[i]) != 0)
            return -1;
    return 0;
}

void
lg_pub_free(struct lg_ctx *ctx)
{
    unsigned i;

    for (i = 0; ctx->pubs != NULL && i < ctx->o.pub_conns; i++)
        if (ctx->pubs[i].bev != NULL)
            bufferevent_free(ctx->pubs[i].bev);
    free(ctx->pubs);
    free(ctx->pub_ok);
    ctx->pubs = NULL;
    ctx->pub_ok = NULL;
}

unsigned
lg_pub_inflight(const struct lg_ctx *ctx)
{
    unsigned i, n = 0;

    for (i = 0; ctx->pubs != NULL && i < ctx->o.pub_conns; i++)
        n += ctx->pubs[i].busy != 0;
    return n;
}

/* t: the send time, or the scheduled time for an event that waited for a
 * free connection (the server's slowness is charged, the tick's is not). */
static void
pub_send(struct lg_ctx *ctx, struct lg_pubconn *p, uint64_t seq, uint64_t now)
{
    char body[512], head[1024];
    uint64_t t =
        seq < ctx->pub_due_prev
            ? ctx->t_pub_start + (uint64_t)((double)seq * 1e9 / ctx->o.rate)
            : now;
    int bl, hl;

    bl = snprintf(body, sizeof(body),
                  "{\"channelName\":\"%s\",\"payload\":{\"seq\":%" PRIu64
                  ",\"t\":%" PRIu64 "}}",
                  ctx->o.channel, seq, t);
    hl = snprintf(head, sizeof(head),
                  "POST %s HTTP/1.1\r\nHost: %s\r\n"
                  "Authorization: Bearer %s\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: %d\r\n\r\n",
                  ctx->pub_path, ctx->pub_host, ctx->o.publish_key, bl);
    p->busy = 1;
    p->seq = seq;
    evbuffer_add(bufferevent_get_output(p->bev), head, (size_t)hl);
    evbuffer_add(bufferevent_get_output(p->bev), body, (size_t)bl);
}

void
lg_pub_tick(struct lg_ctx *ctx)
{
    uint64_t now = lg_now_ns(), due;
    unsigned i;

    if (!ctx->publishing)
        return;
    due = (uint64_t)((double)(now - ctx->t_pub_start) * ctx->o.rate / 1e9) + 1;
    if (due > ctx->pub_total)
        due = ctx->pub_total;
    for (i = 0; i < ctx->o.pub_conns && ctx->pub_sent < due; i++) {
        struct lg_pubconn *p = &ctx->pubs[i];
        if (p->busy || p->bev == NULL)
            continue;
        pub_send(ctx, p, ctx->pub_sent++, now);
    }
    ctx->pub_due_prev = due;
    if (due - ctx->pub_sent > ctx->pub_lag_max)
        ctx->pub_lag_max = due - ctx->pub_sent;
    if (ctx->pub_sent >= ctx->pub_total && ctx->t_pub_end == 0)
        ctx->t_pub_end = now;
}

/* One whole response off `in`. Returns 1 consumed, 0 more, -1 bad. */
static int
pub_response(struct lg_pubconn *p, struct evbuffer *in)
{
    struct lg_ctx *ctx = p->ctx;
    struct http_header hdrs[32];
    const struct http_header *cl;
    struct http_response res;
    struct evbuffer_ptr end;
    uint64_t blen = 0;
    ssize_t head;
    char *s;

    end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0)
        return evbuffer_get_length(in) > LG_HEAD_MAX ? -1 : 0;
    s = (char *)evbuffer_pullup(in, end.pos + 4);
    res.headers = hdrs;
    res.nheaders = 32;
    head = http_parse_response(s, (size_t)end.pos + 4, &res);
    if (head < 0)
        return -1;
    cl = http_header_find(hdrs, res.nheaders, "Content-Length");
    if (cl != NULL && http_content_length(&cl->value, &blen) != PROTO_OK)
        return -1;
    if (evbuffer_get_length(in) < (size_t)head + blen)
        return 0;
    if (res.status >= 200 && res.status < 300 && p->seq < ctx->seq_cap) {
        ctx->pub_ok[p->seq >> 3] |= (uint8_t)(1u << (p->seq & 7));
        ctx->pub_ok_count++;
        ctx->pub_fail_streak = 0;
    } else {
        char msg[96];
        snprintf(msg, sizeof(msg), "publish answered %d", res.status);
        lg_note_error(ctx, msg);
        ctx->pub_errors++;
    }
    evbuffer_drain(in, (size_t)head + blen);
    p->busy = 0;
    return 1;
}

static void
pub_read(struct bufferevent *bev, void *arg)
{
    struct lg_pubconn *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    int rc;

    while ((rc = pub_response(p, in)) > 0)
        ;
    if (rc < 0) {
        lg_note_error(p->ctx, "bad publish response");
        pub_event(bev, BEV_EVENT_ERROR, p);
        return;
    }
    lg_pub_tick(p->ctx); /* an idle connection may take a due event now */
}

static void
pub_event(struct bufferevent *bev, short what, void *arg)
{
    struct lg_pubconn *p = arg;

    if (what & BEV_EVENT_CONNECTED)
        return;
    lg_note_error(p->ctx, "publisher connection lost");
    if (p->busy)
        p->ctx->pub_errors++;
    p->busy = 0;
    bufferevent_free(p->bev);
    p->bev = NULL;
    /* reconnect: a server closing keep-alive must not stop the run */
    p->ctx->pub_reconnects++;
    if (p->ctx->pub_fail_streak++ >= LG_PUB_RECONNECT_MAX)
        return; /* the server is gone, not just closing keep-alives */
    if (pub_open(p->ctx, p) != 0) {
        if (p->bev != NULL)
            bufferevent_free(p->bev);
        p->bev = NULL;
    }
}
