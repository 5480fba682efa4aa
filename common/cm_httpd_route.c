/*
 * cm_httpd_route.c - where a request goes: the route table matched segment
 * by segment ("{}" captures a percent-decoded segment), 404 and 405 (with
 * Allow), a GET route also answering HEAD, the CORS preflight and origin
 * list, and the built-in /healthz, /readyz and /metrics.
 */
#include "cm_httpd_internal.h"
#include "cm_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

int
cm_httpd_origin_allowed(const struct cm_httpd *h, const char *origin)
{
    const char *list = h->conf.cors_origins;
    if (origin == NULL || list == NULL)
        return 0;
    size_t ol = strlen(origin);
    while (*list) {
        while (*list == ' ' || *list == ',')
            list++;
        size_t n = strcspn(list, ",");
        size_t e = n;
        while (e > 0 && list[e - 1] == ' ')
            e--;
        if ((e == 1 && list[0] == '*') ||
            (e == ol && strncmp(list, origin, ol) == 0))
            return 1;
        list += n;
    }
    return 0;
}

/* ---- routing ---- */

/* Match path against pat segment by segment; "{}" takes one non-empty
 * segment, captured (percent-decoded) into req when req is not NULL. */
static int
path_match(const char *pat, const char *path, struct cm_httpd_req *req)
{
    while (*pat && *path) {
        if (pat[0] == '{' && pat[1] == '}') {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return 0;
            if (req != NULL) {
                char *v = malloc(n + 1);
                ssize_t vl = v != NULL && req->nparams < CM_HTTPD_MAX_PARAMS
                                 ? http_percent_decode(path, n, v, n + 1)
                                 : -1;
                /* '+' stays literal in a path: refuse it; so is a "%00",
                 * which would cut the C string the handler reads short
                 * ("p1%00x" would name project "p1") */
                if (vl <= 0 || strlen(v) != (size_t)vl ||
                    memchr(path, '+', n)) {
                    free(v);
                    return 0;
                }
                req->params[req->nparams++] = v;
            }
            pat += 2;
            path += n;
            continue;
        }
        if (*pat++ != *path++)
            return 0;
    }
    return *pat == '\0' && *path == '\0';
}

static void bi_healthz(struct cm_httpd_req *req, void *arg);
static void bi_readyz(struct cm_httpd_req *req, void *arg);
static void bi_metrics(struct cm_httpd_req *req, void *arg);

static const struct cm_httpd_route cm_httpd_builtins[] = {
    {"GET", "/healthz", bi_healthz, "/healthz", 0},
    {"GET", "/readyz", bi_readyz, "/readyz", 0},
    {"GET", "/metrics", bi_metrics, "/metrics", 0},
};
#define NBUILTINS (sizeof cm_httpd_builtins / sizeof cm_httpd_builtins[0])

static const struct cm_httpd_route *
route_at(const struct cm_httpd *h, size_t i)
{
    return i < h->nroutes ? &h->routes[i] : &cm_httpd_builtins[i - h->nroutes];
}

const struct cm_httpd_route *
cm_httpd_route_find(struct cm_httpd *h, struct cm_httpd_req *req,
                    int *path_matched)
{
    const struct cm_httpd_route *found = NULL;
    int head = strcmp(req->method, "HEAD") == 0;
    *path_matched = 0;
    for (size_t i = 0; i < h->nroutes + NBUILTINS; i++) {
        const struct cm_httpd_route *rt = route_at(h, i);
        if (!path_match(rt->path, req->path, NULL))
            continue;
        *path_matched = 1;
        if (strcmp(rt->method, req->method) == 0) {
            found = rt;
            break;
        }
        /* HEAD is GET without the body (RFC 9110 9.3.2); a HEAD route of
         * its own, later in the table, still wins */
        if (head && found == NULL && strcmp(rt->method, "GET") == 0)
            found = rt;
    }
    if (found == NULL)
        return NULL;
    path_match(found->path, req->path, req); /* capture the params */
    req->route = found;
    req->route_name = found->name ? found->name : found->path;
    return found;
}

static void
answer_preflight(struct cm_httpd_req *req)
{
    const char *hdrs = cm_httpd_header(req, "Access-Control-Request-Headers");
    cm_httpd_add_header(req, "Access-Control-Allow-Methods",
                        "GET, POST, DELETE, OPTIONS");
    cm_httpd_add_header(req, "Access-Control-Allow-Headers",
                        hdrs && *hdrs ? hdrs
                                      : "authorization, content-type, "
                                        "x-api-key");
    cm_httpd_add_header(req, "Access-Control-Max-Age", "600");
    cm_httpd_reply(req, 204, NULL, NULL, 0);
}

static void
answer_405(struct cm_httpd_req *req)
{
    struct cm_httpd *h = req->h;
    char allow[128] = "";
    for (size_t i = 0; i < h->nroutes + NBUILTINS; i++) {
        const struct cm_httpd_route *rt = route_at(h, i);
        if (!path_match(rt->path, req->path, NULL))
            continue;
        /* the metrics label is the route's pattern, never the raw path: a
         * path is unbounded and may hold '"' or '\' */
        if (req->route_name == NULL)
            req->route_name = rt->name ? rt->name : rt->path;
        if (strstr(allow, rt->method))
            continue;
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "",
                 rt->method);
    }
    cm_httpd_add_header(req, "Allow", allow);
    cm_httpd_error(req, 405, "method not allowed");
}

void
cm_httpd_route_dispatch(struct cm_httpd_req *req)
{
    struct cm_httpd *h = req->h;
    const struct cm_httpd_conf *conf = &h->conf;
    if (strcmp(req->method, "OPTIONS") == 0 &&
        cm_httpd_header(req, "Access-Control-Request-Method") != NULL) {
        req->route_name = "preflight";
        answer_preflight(req);
        return;
    }
    if (req->route != NULL) {
        req->route->handler(req, h->arg);
        return;
    }
    int path_matched;
    cm_httpd_route_find(h, req, &path_matched);
    if (path_matched) {
        req->route_name = NULL; /* answer_405 names it by its pattern */
        answer_405(req);
    } else if (conf->prefix && conf->prefix_handler &&
               strncmp(req->path, conf->prefix, strlen(conf->prefix)) == 0) {
        req->route_name = conf->prefix;
        conf->prefix_handler(req, h->arg);
    } else {
        req->route_name = "unmatched";
        cm_httpd_error(req, 404, "no such route");
    }
}

static void
bi_healthz(struct cm_httpd_req *req, void *arg)
{
    cm_httpd_reply_json(req, 200, "{\"status\":\"ok\"}");
}

static void
bi_readyz(struct cm_httpd_req *req, void *arg)
{
    const struct cm_httpd_conf *conf = &req->h->conf;
    if (conf->ready == NULL || conf->ready(arg))
        cm_httpd_reply_json(req, 200, "{\"status\":\"ready\"}");
    else
        cm_httpd_reply_json(req, 503, "{\"status\":\"unavailable\"}");
}

static void
bi_metrics(struct cm_httpd_req *req, void *arg)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL || req->h->metrics == NULL ||
        cm_metrics_render(req->h->metrics, b) != 0) {
        if (b)
            evbuffer_free(b);
        cm_httpd_error(req, 503, "metrics unavailable");
        return;
    }
    cm_httpd_reply_buffer(req, 200, "text/plain; version=0.0.4", b);
    evbuffer_free(b);
}
