/*
 * cm_httpd_reply.c - answers: the status line and headers (Content-Length,
 * keep-alive or close, CORS, the handler's extra headers), bodies copied or
 * moved from an evbuffer, HEAD answered without its body, the error shape
 * of CONTRACT.md section 3, and the per-route request metrics.
 */
#include "cm_httpd_internal.h"
#include "cm_log.h"
#include "cm_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

/* JSON string body of s (quotes not included) into out. */
static void
json_escape(struct evbuffer *out, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            evbuffer_add_printf(out, "\\%c", ch);
        else if (ch < 0x20)
            evbuffer_add_printf(out, "\\u%04x", ch);
        else
            evbuffer_add(out, s, 1);
    }
}

void
cm_httpd_count_request(struct cm_httpd *h, const char *route, int status,
                       double t0)
{
    if (h->metrics == NULL)
        return;
    char labels[300];
    snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", route,
             status);
    cm_counter_inc(cm_metrics_counter(h->metrics, "sse_http_requests_total",
                                      labels, "HTTP requests answered"));
    snprintf(labels, sizeof labels, "route=\"%s\"", route);
    cm_histogram_observe(
        cm_metrics_histogram(h->metrics, "sse_http_request_seconds", labels,
                             "HTTP request latency", NULL, 0),
        cm_now_mono() - t0);
}

/* An answer with no request behind it (400, 408, 431, 503), then close. */
void
cm_httpd_conn_fail(struct cm_httpd_conn *c, int status, const char *message)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct evbuffer *body = evbuffer_new();
    if (body != NULL) {
        evbuffer_add_printf(body,
                            "{\"statusCode\":%d,\"error\":\"%s\","
                            "\"message\":\"",
                            status, http_reason(status));
        json_escape(body, message);
        evbuffer_add(body, "\"}", 2);
        evbuffer_add_printf(out,
                            "HTTP/1.1 %d %s\r\nContent-Type: "
                            "application/json\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n\r\n",
                            status, http_reason(status),
                            evbuffer_get_length(body));
        evbuffer_add_buffer(out, body);
        evbuffer_free(body);
    }
    cm_httpd_count_request(c->h, "-", status, cm_now_mono());
    cm_httpd_conn_closing(c);
}

/* ---- replies ---- */

/* Head and body out, then the next request or the close. body_buf wins
 * over body/len when not NULL. Frees req. */
static void
req_send(struct cm_httpd_req *req, int status, const char *ctype,
         const void *body, size_t len, struct evbuffer *body_buf)
{
    struct cm_httpd_conn *c = req->conn;
    struct cm_httpd *h = req->h;
    if (c == NULL) { /* the peer left: drop the answer (h may be gone) */
        cm_httpd_req_free(req);
        return;
    }
    cm_httpd_count_request(h, req->route_name ? req->route_name : "unmatched",
                           status, req->t0);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int keep = req->keep_alive && !req->too_large && !h->draining;
    if (body_buf)
        len = evbuffer_get_length(body_buf);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    if (ctype)
        evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
    if (status != 204 && status != 304 && status >= 200)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
    evbuffer_add_printf(out, "Connection: %s\r\n",
                        keep ? "keep-alive" : "close");
    /* The CORS answer depends on Origin, allowed or not: say so to caches. */
    const char *origin = cm_httpd_header(req, "Origin");
    if (cm_httpd_origin_allowed(h, origin))
        evbuffer_add_printf(out,
                            "Access-Control-Allow-Origin: %s\r\n"
                            "Access-Control-Allow-Credentials: true\r\n",
                            origin);
    if (origin != NULL)
        evbuffer_add(out, "Vary: Origin\r\n", 14);
    if (req->extra)
        evbuffer_add_buffer(out, req->extra);
    evbuffer_add(out, "\r\n", 2);
    if (strcmp(req->method, "HEAD") == 0) { /* the length, not the bytes */
        if (body_buf)
            evbuffer_drain(body_buf, len);
    } else if (status != 204 && status != 304) {
        if (body_buf)
            evbuffer_add_buffer(out, body_buf);
        else if (len)
            evbuffer_add(out, body, len);
    }
    c->req = NULL;
    cm_httpd_req_free(req);
    if (!keep) {
        cm_httpd_conn_closing(c); /* conn_write_cb shuts down once it is out */
        return;
    }
    c->state = CM_HTTPD_ST_IDLE;
    cm_httpd_timer_set(c, h->conf.idle_timeout_ms);
    /* a pipelined request may be waiting (a no-op when inside) */
    cm_httpd_conn_process(c);
}

void
cm_httpd_reply(struct cm_httpd_req *req, int status, const char *content_type,
               const void *body, size_t len)
{
    req_send(req, status, content_type, body, len, NULL);
}

void
cm_httpd_reply_buffer(struct cm_httpd_req *req, int status,
                      const char *content_type, struct evbuffer *buf)
{
    req_send(req, status, content_type, NULL, 0, buf);
}

void
cm_httpd_reply_json(struct cm_httpd_req *req, int status, const char *json)
{
    req_send(req, status, "application/json", json, strlen(json), NULL);
}

void
cm_httpd_error(struct cm_httpd_req *req, int status, const char *message)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        req_send(req, status, NULL, NULL, 0, NULL);
        return;
    }
    evbuffer_add_printf(b, "{\"statusCode\":%d,\"error\":\"%s\",\"message\":\"",
                        status, http_reason(status));
    json_escape(b, message ? message : "");
    evbuffer_add(b, "\"}", 2);
    req_send(req, status, "application/json", NULL, 0, b);
    evbuffer_free(b);
}

void
cm_httpd_add_header(struct cm_httpd_req *req, const char *name,
                    const char *value)
{
    if (req->extra == NULL && (req->extra = evbuffer_new()) == NULL)
        return;
    /* a CR or LF would split the response: refuse it */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    evbuffer_add_printf(req->extra, "%s: %s\r\n", name, value);
}
