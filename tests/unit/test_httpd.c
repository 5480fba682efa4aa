/*
 * test_httpd.c - cm_httpd on a real event loop in this process, driven by
 * a raw blocking client in a second thread: 404/405 shapes, 413 ordering
 * (the handler sees too_large and authenticates first), 431, 408,
 * keep-alive and pipelining, chunked bodies, deferred replies and a peer
 * leaving before one, CORS preflight, params, /metrics, hijack, HEAD
 * (a GET route without the body), and 503 past max_conns.
 */
#include "cm_httpd.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "t.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct event_base *base;
static int port;
static int port_small; /* a second server with max_conns 1 */
static volatile int client_done;
static volatile int on_close_called, late_dropped, saw_too_large;

/* ---- handlers (loop thread) ---- */

static void
h_small(struct cm_httpd_req *req, void *arg)
{
    if (cm_httpd_api_key(req) == NULL) { /* authentication comes first */
        cm_httpd_error(req, 401, "no key");
        return;
    }
    if (cm_httpd_body_too_large(req)) {
        saw_too_large = 1;
        cm_httpd_error(req, 413, "body too large");
        return;
    }
    cm_httpd_reply(req, 201, "text/plain", "ok", 2);
}

static void
h_echo(struct cm_httpd_req *req, void *arg)
{
    size_t len;
    const char *b = cm_httpd_body(req, &len);
    cm_httpd_reply(req, 200, "text/plain", b, len);
}

static void
h_item(struct cm_httpd_req *req, void *arg)
{
    char out[256];
    const char *a = cm_httpd_param(req, 0), *b = cm_httpd_param(req, 1);
    snprintf(out, sizeof out, "%s|%s|%s", a ? a : "-", b ? b : "-",
             cm_httpd_query(req));
    cm_httpd_reply(req, 200, "text/plain", out, strlen(out));
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cm_httpd_req *req = arg;
    if (!cm_httpd_alive(req))
        late_dropped = 1;
    cm_httpd_reply(req, 200, "text/plain", "late", 4);
}

static void
closed_cb(struct cm_httpd_req *req, void *arg)
{
    on_close_called = 1;
}

static void
h_later(struct cm_httpd_req *req, void *arg)
{
    const char *q = cm_httpd_query(req);
    struct timeval tv = {0, strcmp(q, "slow") == 0 ? 300000 : 50000};
    cm_httpd_on_close(req, closed_cb, NULL);
    event_base_once(base, -1, EV_TIMEOUT, later_cb, req, &tv);
}

static void
h_ws(struct cm_httpd_req *req, void *arg)
{
    evutil_socket_t fd;
    struct evbuffer *lo;
    if (cm_httpd_hijack(req, &fd, &lo) != 0) {
        cm_httpd_error(req, 500, "hijack failed");
        return;
    }
    char buf[64] = "HIJACKED:";
    size_t n = evbuffer_get_length(lo);
    evbuffer_remove(lo, buf + 9, n < 50 ? n : 50);
    evbuffer_free(lo);
    if (write(fd, buf, strlen(buf)) < 0)
        abort();
    close(fd);
}

static void
h_prefix(struct cm_httpd_req *req, void *arg)
{
    cm_httpd_reply(req, 200, "text/plain", "prefix", 6);
}

static const struct cm_httpd_route routes[] = {
    {"POST", "/small", h_small, NULL, 10},
    {"POST", "/echo", h_echo, NULL, 0},
    {"GET", "/items/{}/sub/{}", h_item, "/items", 0},
    {"GET", "/later", h_later, NULL, 0},
    {"GET", "/ws", h_ws, NULL, 0},
};

/* ---- client (test thread) ---- */

static int
dial_port(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        abort();
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int
dial(void)
{
    return dial_port(port);
}

static void
send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    if (write(fd, s, n) != (ssize_t)n)
        abort();
}

/* Read one response (head + Content-Length body) into a static buffer. */
static const char *
recv_one(int fd)
{
    static char buf[65536];
    static size_t have; /* bytes of a next response read early */
    static int last_fd = -1;
    if (fd != last_fd)
        have = 0;
    last_fd = fd;
    size_t len = have;
    for (;;) {
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end != NULL) {
            size_t head = (size_t)(end - buf) + 4, body = 0;
            char *cl = memmem(buf, head, "Content-Length: ", 16);
            if (cl)
                body = strtoul(cl + 16, NULL, 10);
            if (len >= head + body) {
                static char one[65536];
                memcpy(one, buf, head + body);
                one[head + body] = '\0';
                have = len - head - body;
                memmove(buf, buf + head + body, have);
                return one;
            }
        }
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            buf[len] = '\0';
            have = 0;
            return len ? buf : "";
        }
        len += (size_t)n;
    }
}

/* Read exactly one response head (a HEAD answer has no body to wait for,
 * whatever its Content-Length says), byte by byte: nothing read past it. */
static const char *
recv_head(int fd)
{
    static char buf[8192];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        if (read(fd, buf + len, 1) != 1)
            break;
        len++;
        if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    buf[len] = '\0';
    return buf;
}

/* 1 when the server closed the connection (read gives EOF). */
static int
closed_by_peer(int fd)
{
    char c;
    return read(fd, &c, 1) == 0;
}

#define HAS(s, sub) T_CHECK(strstr((s), (sub)) != NULL)

/* HEAD: a GET route's head, Content-Length of the GET body, no body; the
 * connection stays in step (the next answer starts right after the head). */
static void
head_cases(void)
{
    int fd = dial();
    send_all(fd, "HEAD /healthz HTTP/1.1\r\n\r\n");
    const char *r = recv_head(fd);
    HAS(r, "HTTP/1.1 200 OK\r\n");
    HAS(r, "Content-Type: application/json\r\n");
    HAS(r, "Content-Length: 15\r\n"); /* {"status":"ok"} */
    HAS(r, "Connection: keep-alive\r\n");
    /* params and the handler run as for GET */
    send_all(fd, "HEAD /items/x/sub/y?q HTTP/1.1\r\n\r\n");
    HAS(recv_head(fd), "Content-Length: 5\r\n"); /* x|y|q */
    /* a body-less error answer: 404 and 405 (Allow names the routes) */
    send_all(fd, "HEAD /nope HTTP/1.1\r\n\r\n");
    r = recv_head(fd);
    HAS(r, "HTTP/1.1 404 Not Found\r\n");
    HAS(r, "Content-Length: ");
    send_all(fd, "HEAD /echo HTTP/1.1\r\n\r\n");
    r = recv_head(fd);
    HAS(r, "HTTP/1.1 405 Method Not Allowed\r\n");
    HAS(r, "Allow: POST\r\n");
    /* nothing of a body was sent: the next answer is whole and in place */
    send_all(fd, "GET /healthz HTTP/1.1\r\n\r\n");
    r = recv_one(fd);
    T_CHECK(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    HAS(r, "\r\n\r\n{\"status\":\"ok\"}");
    T_EQ_INT((int)strlen(strstr(r, "\r\n\r\n") + 4), 15);
    close(fd);
}

/* Past max_conns (1 on the second server) a connection gets 503 and is
 * closed; the slot is free again once the first peer leaves. */
static void
max_conns_cases(void)
{
    int first = dial_port(port_small);
    send_all(first, "GET /healthz HTTP/1.1\r\n\r\n");
    HAS(recv_one(first), "HTTP/1.1 200 OK\r\n"); /* accepted and counted */
    int fd = dial_port(port_small);
    const char *r = recv_one(fd);
    HAS(r, "HTTP/1.1 503 Service Unavailable\r\n");
    HAS(r, "Connection: close\r\n");
    HAS(r, "{\"statusCode\":503,\"error\":\"Service Unavailable\","
           "\"message\":\"too many connections\"}");
    T_CHECK(closed_by_peer(fd));
    close(fd);
    /* the first connection was not disturbed */
    send_all(first, "GET /healthz HTTP/1.1\r\n\r\n");
    HAS(recv_one(first), "HTTP/1.1 200 OK\r\n");
    close(first);
    int ok = 0;
    for (int i = 0; i < 40 && !ok; i++) { /* the server sees the close */
        usleep(25000);
        fd = dial_port(port_small);
        send_all(fd, "GET /healthz HTTP/1.1\r\n\r\n");
        ok = strncmp(recv_one(fd), "HTTP/1.1 200 OK\r\n", 17) == 0;
        close(fd);
    }
    T_CHECK(ok);
}

static void
client_cases(void)
{
    const char *r;
    int fd = dial();
    /* keep-alive: several requests on one connection */
    send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 200 OK\r\n");
    HAS(r, "Connection: keep-alive\r\n");
    HAS(r, "\r\n\r\n{\"status\":\"ok\"}");
    send_all(fd, "GET /nope HTTP/1.1\r\n\r\n");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 404 Not Found\r\n");
    HAS(r, "Content-Type: application/json\r\n");
    HAS(r, "{\"statusCode\":404,\"error\":\"Not Found\",\"message\":");
    send_all(fd, "DELETE /healthz HTTP/1.1\r\n\r\n");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 405 Method Not Allowed\r\n");
    HAS(r, "Allow: GET\r\n");
    HAS(r, "\"statusCode\":405");
    send_all(fd, "GET /echo HTTP/1.1\r\n\r\n");
    HAS(recv_one(fd), "Allow: POST\r\n");
    /* pipelined: two requests in one write, answered in order */
    send_all(fd, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nonePOST "
                 "/echo HTTP/1.1\r\nContent-Length: 3\r\n\r\ntwo");
    r = recv_one(fd);
    HAS(r, "\r\n\r\none");
    r = recv_one(fd);
    HAS(r, "\r\n\r\ntwo");
    /* chunked body */
    send_all(fd, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "4\r\nchun\r\n3;x=y\r\nked\r\n0\r\n\r\n");
    HAS(recv_one(fd), "Content-Length: 7\r\nConnection: keep-alive\r\n\r\n"
                      "chunked");
    /* params decoded, query kept */
    send_all(fd, "GET /items/a%20b/sub/c?x=1 HTTP/1.1\r\n\r\n");
    HAS(recv_one(fd), "\r\n\r\na b|c|x=1");
    /* a "%00" in a segment is no param: "a%00b" must not read as "a" */
    send_all(fd, "GET /items/a%00b/sub/c HTTP/1.1\r\n\r\n");
    r = recv_one(fd);
    T_CHECK(strstr(r, "\r\n\r\na|c|") == NULL);
    HAS(r, "\r\n\r\n-|-|");
    /* deferred reply */
    send_all(fd, "GET /later HTTP/1.1\r\n\r\n");
    HAS(recv_one(fd), "\r\n\r\nlate");
    /* prefix handler */
    send_all(fd, "GET /socket.io/?EIO=4 HTTP/1.1\r\n\r\n");
    HAS(recv_one(fd), "\r\n\r\nprefix");
    /* CORS preflight and a simple CORS answer */
    send_all(fd, "OPTIONS /echo HTTP/1.1\r\nOrigin: http://a.test\r\n"
                 "Access-Control-Request-Method: POST\r\n"
                 "Access-Control-Request-Headers: x-api-key\r\n\r\n");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 204 No Content\r\n");
    HAS(r, "Access-Control-Allow-Origin: http://a.test\r\n");
    HAS(r, "Access-Control-Allow-Credentials: true\r\n");
    HAS(r, "Vary: Origin\r\n");
    HAS(r, "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n");
    HAS(r, "Access-Control-Allow-Headers: x-api-key\r\n");
    T_CHECK(strstr(r, "Content-Length") == NULL);
    send_all(fd, "GET /healthz HTTP/1.1\r\nOrigin: http://evil.test\r\n\r\n");
    r = recv_one(fd);
    T_CHECK(strstr(r, "Access-Control-Allow-Origin") == NULL);
    /* /metrics counts by route and status */
    send_all(fd, "GET /metrics HTTP/1.1\r\n\r\n");
    r = recv_one(fd);
    HAS(r, "Content-Type: text/plain; version=0.0.4\r\n");
    HAS(r, "sse_http_requests_total{service=\"test\",node=\"n1\","
           "route=\"/healthz\",status=\"200\"} 2\n");
    HAS(r, "route=\"unmatched\",status=\"404\"} 1\n");
    HAS(r, "sse_http_request_seconds_count{service=\"test\",node=\"n1\","
           "route=\"/items\"} 2\n");
    /* HTTP/1.0 without keep-alive closes */
    send_all(fd, "GET /readyz HTTP/1.0\r\n\r\n");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 200 OK\r\n");
    HAS(r, "Connection: close\r\n");
    T_CHECK(closed_by_peer(fd));
    close(fd);

    /* 413 ordering: unauthenticated first gets 401; then 413, closed */
    fd = dial();
    send_all(fd, "POST /small HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
    HAS(recv_one(fd), "HTTP/1.1 401 Unauthorized\r\n");
    T_CHECK(closed_by_peer(fd));
    close(fd);
    fd = dial();
    send_all(fd, "POST /small HTTP/1.1\r\nX-API-Key: k\r\n"
                 "Content-Length: 100\r\n\r\n0123456789");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 413 Payload Too Large\r\n");
    HAS(r, "\"statusCode\":413,\"error\":\"Payload Too Large\"");
    HAS(r, "Connection: close\r\n");
    T_CHECK(saw_too_large);
    T_CHECK(closed_by_peer(fd));
    close(fd);
    /* a large body still streaming in: the 413 must arrive, not a reset */
    fd = dial();
    send_all(fd, "POST /small HTTP/1.1\r\nX-API-Key: k\r\n"
                 "Content-Length: 300000\r\n\r\n");
    static char junk[300000];
    memset(junk, 'x', sizeof junk);
    size_t sent = 0;
    while (sent < sizeof junk) {
        ssize_t n = send(fd, junk + sent, sizeof junk - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    HAS(recv_one(fd), "HTTP/1.1 413 ");
    close(fd);
    /* a chunked body past the limit is refused the same way */
    fd = dial();
    send_all(fd,
             "POST /small HTTP/1.1\r\nX-API-Key: k\r\n"
             "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n");
    HAS(recv_one(fd), "HTTP/1.1 413 ");
    close(fd);
    fd = dial();
    send_all(fd, "POST /small HTTP/1.1\r\nX-API-Key: k\r\n"
                 "Content-Length: 3\r\n\r\nabc");
    HAS(recv_one(fd), "HTTP/1.1 201 Created\r\n");
    close(fd);

    /* 431: a head over max_head (1024) */
    fd = dial();
    char big[2048];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
    big[sizeof big - 1] = '\0';
    send_all(fd, big);
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    HAS(r, "\"statusCode\":431");
    close(fd);
    /* 400: malformed head */
    fd = dial();
    send_all(fd, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
    HAS(recv_one(fd), "HTTP/1.1 400 Bad Request\r\n");
    close(fd);
    /* 408: a head that never completes (head timeout 300 ms) */
    fd = dial();
    send_all(fd, "GET /healthz HTTP/1.1\r\n");
    r = recv_one(fd);
    HAS(r, "HTTP/1.1 408 Request Timeout\r\n");
    close(fd);

    /* a peer leaving before a deferred reply: on_close, reply dropped */
    fd = dial();
    send_all(fd, "GET /later?slow HTTP/1.1\r\n\r\n");
    usleep(50000);
    close(fd);
    usleep(500000);
    T_CHECK(on_close_called);
    T_CHECK(late_dropped);

    /* hijack: the handler owns the socket and the bytes read past the head */
    fd = dial();
    send_all(fd, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nEXTRA");
    r = recv_one(fd);
    T_EQ_STR(r, "HIJACKED:EXTRA");
    close(fd);

    head_cases();
    max_conns_cases();
}

static void *
client_main(void *arg)
{
    client_cases();
    client_done = 1;
    return NULL;
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    if (client_done)
        event_base_loopbreak(base);
}

int
main(void)
{
    cm_log_init("test", "n1", "error", "text");
    base = event_base_new();
    struct cm_metrics *m = cm_metrics_new("test", "n1");
    struct cm_httpd_conf conf = {
        .addr = "127.0.0.1:0",
        .max_head = 1024,
        .max_body = 4096,
        .head_timeout_ms = 300,
        .idle_timeout_ms = 5000,
        .max_conns = 100,
        .cors_origins = "http://a.test, http://b.test",
        .prefix = "/socket.io/",
        .prefix_handler = h_prefix,
    };
    char err[256];
    struct cm_httpd *h =
        cm_httpd_new(base, &conf, routes, sizeof routes / sizeof routes[0],
                     NULL, m, err, sizeof err);
    T_CHECK(h != NULL);
    if (h == NULL) {
        fprintf(stderr, "cm_httpd_new: %s\n", err);
        return t_done("httpd");
    }
    port = cm_httpd_port(h);
    T_CHECK(port > 0);
    struct cm_httpd_conf small = conf;
    small.max_conns = 1;
    struct cm_httpd *hs =
        cm_httpd_new(base, &small, routes, sizeof routes / sizeof routes[0],
                     NULL, NULL, err, sizeof err);
    T_CHECK(hs != NULL);
    port_small = hs ? cm_httpd_port(hs) : -1;
    struct event *poll = event_new(base, -1, EV_PERSIST, poll_cb, NULL);
    struct timeval tv = {0, 10000};
    event_add(poll, &tv);
    pthread_t th;
    pthread_create(&th, NULL, client_main, NULL);
    event_base_dispatch(base);
    pthread_join(th, NULL);
    T_EQ_INT(cm_httpd_conn_count(h) <= 1, 1);

    /* a busy address is an error, not a crash */
    struct cm_httpd_conf c2 = conf;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    c2.addr = addr;
    T_CHECK(cm_httpd_new(base, &c2, routes, 1, NULL, NULL, err, sizeof err) ==
            NULL);
    c2.addr = "nonsense";
    T_CHECK(cm_httpd_new(base, &c2, routes, 1, NULL, NULL, err, sizeof err) ==
            NULL);

    event_free(poll);
    cm_httpd_free(hs);
    cm_httpd_free(h);
    cm_metrics_free(m);
    event_base_free(base);
    return t_done("httpd");
}
