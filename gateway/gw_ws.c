/*
 * gw_ws.c - the lean WebSocket connection under an Engine.IO session.
 * Idle, a connection costs this struct, one event, an empty evbuffer and
 * the parser: reads go through the loop's shared buffer and only a frame
 * left incomplete is kept on the heap. Output is written once per loop pass
 * by the flush event: shared frames queued while the socket has no backlog
 * wait in a few inline slots and go out with one sendmsg() straight from
 * their refcounted buffers (nothing allocated or freed per delivery); only
 * what the kernel does not take goes into the output evbuffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <event2/buffer.h>

#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "gw_eio.h"
#include "gw_ws.h"
#include "http.h"
#include "ws.h"

enum gw_ws_state {
    GW_WS_OPEN = 0,
    GW_WS_CLOSING, /* close frame queued: write what is left */
    GW_WS_LINGER,  /* write side shut: wait for the peer's EOF */
};

struct gw_ws {
    struct gw_ctx *ctx;
    struct gw_session *sess; /* NULL once detached */
    struct event ev;         /* read; write too while backlogged */
    struct evbuffer *out;    /* the backlog; empty while pend[] is used */
    struct gw_frame *pend[GW_WS_PEND_MAX]; /* sent at the next flush */
    uint8_t *part; /* an incomplete frame's bytes, or NULL */
    uint32_t part_len;
    uint32_t part_cap;
    struct ws_parser parser;
    TAILQ_ENTRY(gw_ws) dirty_link;
    evutil_socket_t fd;
    uint16_t close_code; /* a protocol error's code, sent at close */
    uint8_t state;
    uint8_t dirty;
    uint8_t want_write;
    uint8_t npend;      /* frames in pend[] */
    uint8_t backlogged; /* 0: out is empty (1 may be stale: then the
                         * next write finds it empty) */
};

static void gw_ws_event_cb(evutil_socket_t fd, short what, void *arg);

static void
gw_ws_set_events(struct gw_ws *c, short flags, const struct timeval *tv)
{
    event_del(&c->ev);
    event_assign(&c->ev, c->ctx->base, c->fd, flags | EV_PERSIST,
                 gw_ws_event_cb, c);
    event_add(&c->ev, tv);
}

static void
gw_ws_mark_dirty(struct gw_ws *c)
{
    struct gw_tp *tp = gw_tp(c->ctx);

    if (!c->dirty) {
        c->dirty = 1;
        TAILQ_INSERT_TAIL(&tp->ws_dirty, c, dirty_link);
    }
    gw_tp_schedule_flush(tp);
}

void
gw_ws_free(struct gw_ws *c)
{
    struct gw_tp *tp = gw_tp(c->ctx);

    if (c->sess != NULL) {
        if (c->sess->ws == c)
            c->sess->ws = NULL;
        if (c->sess->probe == c)
            c->sess->probe = NULL;
    }
    if (c->dirty)
        TAILQ_REMOVE(&tp->ws_dirty, c, dirty_link);
    event_del(&c->ev);
    evutil_closesocket(c->fd);
    evbuffer_free(c->out); /* unrefs the shared frames still queued */
    for (unsigned i = 0; i < c->npend; i++)
        gw_frame_unref(c->pend[i]);
    ws_parser_reset(&c->parser);
    free(c->part);
    tp->nws--;
    free(c);
}

/* The transport is gone under the session (EOF, error): end it, free c. */
static void
gw_ws_lost(struct gw_ws *c)
{
    struct gw_session *s = c->sess;

    if (s != NULL && s->ws == c)
        gw_session_end(s, GW_CR_TRANSPORT, 0);
    else if (s != NULL && s->probe == c)
        s->probe = NULL; /* a failed probe: the session stays on polling */
    c->sess = NULL;
    gw_ws_free(c);
}

/* RFC 6455 7.1.7: fail the connection with a close code. */
static void
gw_ws_fail(struct gw_ws *c, uint16_t code)
{
    struct gw_session *s = c->sess;

    c->close_code = code;
    if (s != NULL && s->ws == c)
        gw_session_end(s, GW_CR_PARSE_ERROR, 0); /* closes c with code */
    else
        gw_ws_close(c, code);
}

/* ---- output ---- */

size_t
gw_ws_backlog(const struct gw_ws *c)
{
    size_t n = c->backlogged ? evbuffer_get_length(c->out) : 0;

    for (unsigned i = 0; i < c->npend; i++)
        n += c->pend[i]->len;
    return n;
}

static void
gw_ws_frame_cleanup(const void *data, size_t len, void *extra)
{
    (void)data;
    (void)len;
    gw_frame_unref(extra);
}

/*
 * Move the pending frames, in order, behind whatever the evbuffer holds;
 * their references pass to it. skip: bytes of the first frame already
 * sent. Returns 0, or -1 when one could not be added (out of memory): the
 * frames from that one on are dropped, so with skip > 0 or a frame dropped
 * before others the stream is broken and the caller must close.
 */
static int
gw_ws_spill(struct gw_ws *c, size_t skip)
{
    int rc = 0;

    c->backlogged = 1;
    for (unsigned i = 0; i < c->npend; i++) {
        struct gw_frame *f = c->pend[i];

        c->pend[i] = NULL;
        if (rc == 0 &&
            evbuffer_add_reference(c->out, f->data + skip, f->len - skip,
                                   gw_ws_frame_cleanup, f) == 0) {
            skip = 0;
            continue;
        }
        gw_frame_unref(f); /* no cleanup on failure */
        rc = -1;
    }
    c->npend = 0;
    return rc;
}

int
gw_ws_send_frame(struct gw_ws *c, struct gw_frame *f)
{
    if (c->state != GW_WS_OPEN)
        return -1;
    if (!c->backlogged && c->npend < GW_WS_PEND_MAX) {
        /* the common case: no backlog, so the flush can send it directly */
        gw_frame_ref(f);
        c->pend[c->npend++] = f;
        gw_ws_mark_dirty(c);
        return 0;
    }
    /* a backlog, or more frames in one pass than slots: the evbuffer,
     * behind the pending frames (order is the stream's) */
    if (c->npend > 0 && gw_ws_spill(c, 0) != 0)
        return -1;
    gw_frame_ref(f);
    c->backlogged = 1;
    if (evbuffer_add_reference(c->out, f->data, f->len, gw_ws_frame_cleanup,
                               f) != 0) {
        gw_frame_unref(f); /* no cleanup on failure */
        return -1;
    }
    gw_ws_mark_dirty(c);
    return 0;
}

static int
gw_ws_send(struct gw_ws *c, uint8_t op, const void *p, size_t len)
{
    uint8_t hdr[WS_MAX_HEADER];
    size_t hl = ws_frame_header(hdr, 1, op, len);

    /* copies go behind the shared frames queued before them */
    if (c->npend > 0 && gw_ws_spill(c, 0) != 0)
        return -1;
    c->backlogged = 1;
    if (evbuffer_add(c->out, hdr, hl) != 0 ||
        (len > 0 && evbuffer_add(c->out, p, len) != 0))
        return -1;
    gw_ws_mark_dirty(c);
    return 0;
}

int
gw_ws_send_text(struct gw_ws *c, const char *text, size_t len)
{
    if (c->state != GW_WS_OPEN)
        return -1;
    return gw_ws_send(c, WS_OP_TEXT, text, len);
}

void
gw_ws_close(struct gw_ws *c, uint16_t code)
{
    uint8_t payload[125];
    size_t n = 0;

    if (c->sess != NULL) {
        if (c->sess->ws == c)
            c->sess->ws = NULL;
        if (c->sess->probe == c)
            c->sess->probe = NULL;
        c->sess = NULL;
    }
    if (c->state != GW_WS_OPEN)
        return;
    if (c->close_code != 0)
        code = c->close_code;
    if (code != WS_CLOSE_NO_STATUS)
        n = ws_close_payload(payload, code, "");
    gw_ws_send(c, WS_OP_CLOSE, payload, n);
    c->state = GW_WS_CLOSING;
    /* input after our close frame is read and dropped until EOF */
    ws_parser_reset(&c->parser);
    free(c->part);
    c->part = NULL;
    c->part_len = c->part_cap = 0;
}

/*
 * Send the pending frames (the evbuffer is empty) with one send() or
 * sendmsg() from their own buffers; unref what went out whole and queue the
 * rest, a partly sent frame's tail first, in the evbuffer. Returns -1 when c
 * was freed.
 */
static int
gw_ws_write_direct(struct gw_ws *c)
{
    struct iovec iov[GW_WS_PEND_MAX];
    struct msghdr msg;
    unsigned i, n = c->npend;
    ssize_t sent;

    for (i = 0; i < n; i++) {
        iov[i].iov_base = c->pend[i]->data;
        iov[i].iov_len = c->pend[i]->len;
    }
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    /* the socket calls, not writev(): no vfs_writev/fdget_pos on the way;
     * one frame (the usual case) skips sendmsg's iovec import too */
    do
        sent = n == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len,
                             MSG_DONTWAIT | MSG_NOSIGNAL)
                      : sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            gw_ws_lost(c); /* frees c, pending frames included */
            return -1;
        }
        sent = 0;
    }
    for (i = 0; i < n && (size_t)sent >= c->pend[i]->len; i++) {
        sent -= (ssize_t)c->pend[i]->len;
        gw_frame_unref(c->pend[i]);
    }
    memmove(c->pend, c->pend + i, (n - i) * sizeof(c->pend[0]));
    c->npend = (uint8_t)(n - i);
    if (c->npend > 0 && gw_ws_spill(c, (size_t)sent) != 0) {
        gw_ws_lost(c); /* a frame's tail is lost: the stream is broken */
        return -1;
    }
    return 0;
}

/* Write what is queued. Returns -1 when c was freed. */
static int
gw_ws_write(struct gw_ws *c)
{
    if (c->npend > 0) {
        if (gw_ws_write_direct(c) < 0)
            return -1;
        /* a remainder means a full socket buffer: wait for EV_WRITE */
    } else if (c->backlogged && evbuffer_write(c->out, c->fd) < 0 &&
               errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        gw_ws_lost(c);
        return -1;
    }
    if (c->backlogged && evbuffer_get_length(c->out) > 0) {
        if (!c->want_write) {
            c->want_write = 1;
            gw_ws_set_events(c, EV_READ | EV_WRITE, NULL);
        }
        return 0;
    }
    c->backlogged = 0;
    if (c->state == GW_WS_CLOSING) {
        struct timeval tv = {GW_WS_LINGER_MS / 1000,
                             (GW_WS_LINGER_MS % 1000) * 1000};

        /* RFC 6455 7.1.1: the server closes TCP first; shut our side and
         * give the client a moment to read our close frame */
        shutdown(c->fd, SHUT_WR);
        c->state = GW_WS_LINGER;
        c->want_write = 0;
        gw_ws_set_events(c, EV_READ, &tv);
    } else if (c->want_write) {
        c->want_write = 0;
        gw_ws_set_events(c, EV_READ, NULL);
    }
    return 0;
}

void
gw_ws_flush_all(struct gw_tp *tp)
{
    struct gw_ws *c;

    while ((c = TAILQ_FIRST(&tp->ws_dirty)) != NULL) {
        TAILQ_REMOVE(&tp->ws_dirty, c, dirty_link);
        c->dirty = 0;
        gw_ws_write(c);
    }
}

/* ---- input ---- */

/* Total bytes of the frame starting at p (header + payload), or 0 when the
 * header itself is incomplete. */
static uint64_t
gw_ws_frame_total(const uint8_t *p, size_t len)
{
    uint64_t pl, hl;

    if (len < 2)
        return 0;
    hl = 2 + ((p[1] & 0x80) ? 4 : 0);
    pl = p[1] & 0x7f;
    if (pl == 126) {
        if (len < 4)
            return 0;
        pl = (uint64_t)p[2] << 8 | p[3];
        hl += 2;
    } else if (pl == 127) {
        if (len < 10)
            return 0;
        pl = 0;
        for (int i = 2; i < 10; i++)
            pl = pl << 8 | p[i];
        hl += 8;
    }
    return hl + pl;
}

/* Keep an incomplete frame's bytes. Returns -1 when it may not be kept. */
static int
gw_ws_keep(struct gw_ws *c, const uint8_t *p, size_t len, int own)
{
    uint64_t total = gw_ws_frame_total(p, len);
    size_t cap = len;

    if (total > c->parser.max_frame + WS_MAX_HEADER) {
        gw_ws_fail(c, WS_CLOSE_TOO_BIG);
        return -1;
    }
    if (own) /* p is c->part and the frame is still growing in it */
        return c->part_len = (uint32_t)len, 0;
    if (total > GW_RDBUF_SIZE)
        cap = (size_t)total; /* read the rest straight into it */
    free(c->part);
    if ((c->part = malloc(cap)) == NULL) {
        c->part_len = c->part_cap = 0;
        gw_ws_fail(c, WS_CLOSE_INTERNAL);
        return -1;
    }
    memcpy(c->part, p, len);
    c->part_len = (uint32_t)len;
    c->part_cap = (uint32_t)cap;
    return 0;
}

static void
gw_ws_on_event(struct gw_ws *c, struct ws_event *ev)
{
    switch (ev->type) {
    case WS_EV_MESSAGE:
        if (c->sess != NULL)
            gw_eio_on_ws_message(c->sess, c, ev->opcode == WS_OP_BINARY,
                                 ev->data, ev->len);
        break;
    case WS_EV_PING:
        gw_ws_send(c, WS_OP_PONG, ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        /* RFC 6455 5.5.1: answer with the code received */
        c->close_code = ev->close_code;
        if (c->sess != NULL && c->sess->ws == c)
            gw_session_end(c->sess, GW_CR_CLIENT, 0);
        else
            gw_ws_close(c, ev->close_code);
        break;
    default: /* WS_EV_PONG, WS_EV_NONE (a fragment) */
        break;
    }
}

/* Parse buf[0..have) frame by frame; keep an incomplete tail. */
static void
gw_ws_parse(struct gw_ws *c, uint8_t *buf, size_t have, int own)
{
    struct gw_tp *tp = gw_tp(c->ctx);
    size_t off = 0;

    while (off < have && c->state == GW_WS_OPEN) {
        struct ws_event ev;
        ssize_t r = ws_parser_feed(&c->parser, buf + off, have - off, &ev);

        if (r == PROTO_AGAIN)
            break;
        if (r < 0) {
            gw_ws_fail(c, c->parser.error_close ? c->parser.error_close
                                                : WS_CLOSE_PROTOCOL);
            break;
        }
        off += (size_t)r;
        cm_counter_inc(tp->m.ws_frames_in);
        gw_ws_on_event(c, &ev);
    }
    if (c->state == GW_WS_OPEN && off < have) {
        gw_ws_keep(c, buf + off, have - off, own && off == 0);
    } else if (own) {
        free(c->part);
        c->part = NULL;
        c->part_len = c->part_cap = 0;
    }
}

static void
gw_ws_read(struct gw_ws *c)
{
    struct gw_tp *tp = gw_tp(c->ctx);
    uint8_t *buf = tp->rdbuf;
    size_t cap = GW_RDBUF_SIZE, have = 0;
    int own = 0;
    ssize_t n;

    if (c->part != NULL && c->part_cap > GW_RDBUF_SIZE) {
        buf = c->part; /* a large frame: read its rest in place */
        cap = c->part_cap;
        have = c->part_len;
        own = 1;
    } else if (c->part != NULL) {
        memcpy(buf, c->part, c->part_len);
        have = c->part_len;
        free(c->part);
        c->part = NULL;
        c->part_len = c->part_cap = 0;
    }
    n = recv(c->fd, buf + have, cap - have, 0);
    if (n == 0 ||
        (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        gw_ws_lost(c);
        return;
    }
    if (n > 0)
        have += (size_t)n;
    if (c->state != GW_WS_OPEN) {
        if (own) {
            free(c->part);
            c->part = NULL;
            c->part_len = c->part_cap = 0;
        }
        return; /* after our close frame: drop input until EOF */
    }
    gw_ws_parse(c, buf, have, own);
}

static void
gw_ws_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_ws *c = arg;

    (void)fd;
    if (what & EV_TIMEOUT) { /* linger over */
        c->sess = NULL;
        gw_ws_free(c);
        return;
    }
    if ((what & EV_WRITE) && gw_ws_write(c) < 0)
        return;
    if (what & EV_READ)
        gw_ws_read(c);
}

/* ---- the opening handshake (RFC 6455 4.2) ---- */

int
gw_ws_check_request(struct cm_httpd_req *req)
{
    const char *up = cm_httpd_header(req, "Upgrade");
    const char *conn = cm_httpd_header(req, "Connection");
    const char *ver = cm_httpd_header(req, "Sec-WebSocket-Version");
    const char *key = cm_httpd_header(req, "Sec-WebSocket-Key");
    char accept[29];

    struct proto_span conn_span = {conn, conn != NULL ? strlen(conn) : 0};

    /* RFC 6455 4.1: a GET of HTTP/1.1 or later with Upgrade: websocket and
     * Connection naming Upgrade. */
    if (strcmp(cm_httpd_method(req), "GET") != 0 ||
        cm_httpd_http_minor(req) < 1 || up == NULL ||
        strcasecmp(up, "websocket") != 0 || conn == NULL ||
        !http_header_has_token(&conn_span, "upgrade")) {
        gw_eio_error(req, 400, 3);
        return -1;
    }
    if (ver == NULL || strcmp(ver, "13") != 0) {
        cm_httpd_add_header(req, "Sec-WebSocket-Version", "13");
        cm_httpd_error(req, 426, "Upgrade Required");
        return -1;
    }
    if (key == NULL || ws_accept_key(key, strlen(key), accept) != PROTO_OK) {
        gw_eio_error(req, 400, 3);
        return -1;
    }
    return 0;
}

struct gw_ws *
gw_ws_accept(struct gw_ctx *ctx, struct cm_httpd_req *req, struct gw_session *s)
{
    const char *key = cm_httpd_header(req, "Sec-WebSocket-Key");
    struct evbuffer *left = NULL;
    evutil_socket_t fd;
    struct gw_ws *c;
    char accept[29];
    size_t nleft;
    int one = 1;

    if (key == NULL || ws_accept_key(key, strlen(key), accept) != PROTO_OK) {
        gw_eio_error(req, 400, 3);
        return NULL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL ||
        (c->out = evbuffer_new()) == NULL) {
        free(c);
        cm_httpd_error(req, 503, "out of memory");
        return NULL;
    }
    if (cm_httpd_hijack(req, &fd, &left) != 0) {
        evbuffer_free(c->out);
        free(c);
        gw_eio_error(req, 400, 3);
        return NULL;
    }
    c->ctx = ctx;
    c->fd = fd;
    c->sess = s;
    ws_parser_init(&c->parser, (size_t)ctx->conf.max_http_buffer,
                   (size_t)ctx->conf.max_http_buffer);
    gw_tp(ctx)->nws++;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    event_assign(&c->ev, ctx->base, fd, EV_READ | EV_PERSIST, gw_ws_event_cb,
                 c);
    event_add(&c->ev, NULL);
    c->backlogged = 1;
    evbuffer_add_printf(c->out,
                        "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n\r\n",
                        accept);
    gw_ws_mark_dirty(c);
    nleft = left != NULL ? evbuffer_get_length(left) : 0;
    if (nleft > 0) {
        /* frames sent right behind the request: parsed by the read
         * callback, after the caller has queued the open packet */
        if (nleft < GW_RDBUF_SIZE && (c->part = malloc(nleft)) != NULL) {
            evbuffer_remove(left, c->part, nleft);
            c->part_len = c->part_cap = (uint32_t)nleft;
            event_active(&c->ev, EV_READ, 1);
        } else {
            /* c is detached from s and frees itself once its close frame
             * is out: the caller must not attach it (s->ws or s->probe
             * would dangle), so it gets NULL */
            gw_ws_close(c, WS_CLOSE_TOO_BIG);
            c = NULL;
        }
    }
    if (left != NULL)
        evbuffer_free(left);
    return c;
}
