/*
 * cm_redis.c - async Redis links on the service loop: hiredis 0.14 with its
 * libevent adapter, AUTH/SELECT before a link counts as up, a connect
 * timer, reconnect with capped exponential backoff, and a subscriber that
 * re-subscribes its whole wanted set after every reconnect; and the URL
 * parser. Host names are looked up with libevent's evdns first (hiredis
 * 0.14 would call a blocking getaddrinfo on the loop), so hiredis is only
 * ever handed an IP literal. Nothing here blocks but the tools' client.
 */
#include "cm_redis.h"
#include "cm_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/tree.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#define CM_REDIS_BACKOFF_MIN_MS 100
#define CM_REDIS_BACKOFF_MAX_MS 5000
#define CM_REDIS_CONNECT_TIMEOUT_MS 3000 /* lookup; TCP + AUTH + SELECT */
#define CM_SUB_BATCH 256                 /* channels per SUBSCRIBE */
/* Always subscribed, so the count never drops to 0: hiredis 0.14 leaves
 * subscribe mode on "unsubscribe ... 0" and then asserts on the reply of a
 * SUBSCRIBE already in flight. */
#define CM_SUB_ANCHOR "sse:internal:sub-anchor"

struct cm_redis {
    struct event_base *base;
    struct cm_redis_url url;
    char name[64];
    redisAsyncContext *ac; /* NULL while down */
    int up;
    int freeing; /* cm_redis_free called; deferred while in_cb > 0 */
    int in_cb;   /* depth of hiredis callbacks running */
    unsigned backoff_ms;
    struct event *timer; /* connect timeout, then reconnect delay */
    struct event *free_ev;
    /* host name lookups: the resolver is made at the first one */
    struct evdns_base *dns;
    struct evdns_getaddrinfo_request *dns_req; /* NULL: none, or answered */
    int dns_busy;     /* a lookup's callback is still due */
    int dns_canceled; /* that lookup was canceled */
    int free_on_dns;  /* link_free_now waits for that callback */
    cm_redis_state_cb state_cb;
    void *state_arg;
    /* subscriber links: replies of subscribe mode go to this owner */
    struct cm_sub *sub;
};

struct cm_redis_cmd {
    struct cm_redis *r;
    cm_redis_cb cb;
    void *arg;
};

static void link_connect(struct cm_redis *r);
static void link_free_now(struct cm_redis *r);

static void
link_log_down(struct cm_redis *r, const char *why, const char *detail)
{
    cm_warn(why, KV_S("link", r->name),
            KV_S("host", r->url.unix_path[0] ? r->url.unix_path : r->url.host),
            KV_S("error", detail ? detail : ""),
            KV_I("retry_ms", r->backoff_ms));
}

static void
link_schedule_retry(struct cm_redis *r)
{
    struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
    r->backoff_ms *= 2;
    if (r->backoff_ms > CM_REDIS_BACKOFF_MAX_MS)
        r->backoff_ms = CM_REDIS_BACKOFF_MAX_MS;
}

/* The link went away (any reason): tell the owner once, retry later. */
static void
link_lost(struct cm_redis *r, const char *why, const char *detail)
{
    int was_up = r->up;
    r->ac = NULL;
    r->up = 0;
    if (r->freeing)
        return;
    link_log_down(r, why, detail);
    link_schedule_retry(r);
    if (was_up && r->state_cb)
        r->state_cb(r, 0, r->state_arg);
}

static void sub_on_up(struct cm_sub *s);

static void
link_ready(struct cm_redis *r)
{
    evtimer_del(r->timer);
    r->up = 1;
    r->backoff_ms = CM_REDIS_BACKOFF_MIN_MS;
    cm_info("redis connected", KV_S("link", r->name));
    if (r->sub)
        sub_on_up(r->sub);
    if (r->state_cb && !r->freeing)
        r->state_cb(r, 1, r->state_arg);
}

/* Replies to the handshake: AUTH, SELECT, then PING; arg = 1 on the last. */
static void
link_handshake_cb(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cm_redis *r = ac->data;
    redisReply *rep = reply;
    if (r == NULL || r->ac != ac || rep == NULL)
        return;
    r->in_cb++;
    if (rep->type == REDIS_REPLY_ERROR) {
        if (!(ac->c.flags & REDIS_DISCONNECTING))
            cm_error("redis handshake refused", KV_S("link", r->name),
                     KV_S("error", rep->str));
        redisAsyncDisconnect(ac); /* legal in a callback: hiredis defers */
    } else if ((intptr_t)arg == 1 && !(ac->c.flags & REDIS_DISCONNECTING)) {
        link_ready(r);
    }
    r->in_cb--;
}

static void
link_connect_cb(const redisAsyncContext *ac, int status)
{
    struct cm_redis *r = ac->data;
    if (r == NULL || r->ac != ac)
        return;
    r->in_cb++;
    if (status != REDIS_OK) {
        /* hiredis frees ac itself after this callback */
        link_lost(r, "redis connect failed", ac->errstr);
        r->in_cb--;
        return;
    }
    redisAsyncContext *w = (redisAsyncContext *)ac;
    char db[16];
    snprintf(db, sizeof db, "%d", r->url.db);
    if (r->url.password[0] && r->url.username[0])
        redisAsyncCommand(w, link_handshake_cb, NULL, "AUTH %s %s",
                          r->url.username, r->url.password);
    else if (r->url.password[0])
        redisAsyncCommand(w, link_handshake_cb, NULL, "AUTH %s",
                          r->url.password);
    if (r->url.db != 0)
        redisAsyncCommand(w, link_handshake_cb, NULL, "SELECT %s", db);
    redisAsyncCommand(w, link_handshake_cb, (void *)(intptr_t)1, "PING");
    r->in_cb--;
}

static void
link_disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct cm_redis *r = ac->data;
    if (r == NULL || r->ac != ac)
        return;
    r->in_cb++;
    link_lost(r, "redis link lost", ac->errstr[0] ? ac->errstr : "closed");
    r->in_cb--;
}

/* Fires for a connect that took too long, or when a retry is due. */
static void
link_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cm_redis *r = arg;
    if (r->dns_busy) {
        if (r->dns_canceled) { /* the canceled lookup has not settled yet */
            link_schedule_retry(r);
            return;
        }
        r->dns_canceled = 1;
        evdns_getaddrinfo_cancel(r->dns_req); /* its callback comes later */
        link_lost(r, "redis lookup timed out", NULL);
        return;
    }
    if (r->ac == NULL) {
        link_connect(r);
        return;
    }
    /* Outside any hiredis callback, so freeing the context is allowed.
     * Detach first: its callbacks then see no owner. */
    redisAsyncContext *ac = r->ac;
    ac->data = NULL;
    r->ac = NULL;
    redisAsyncFree(ac);
    link_lost(r, "redis connect timed out", NULL);
}

/* Connect to the unix socket, or to ip (an address literal: hiredis then
 * resolves nothing). */
static void
link_connect_to(struct cm_redis *r, const char *ip)
{
    redisAsyncContext *ac;
    if (r->url.unix_path[0])
        ac = redisAsyncConnectUnix(r->url.unix_path);
    else
        ac = redisAsyncConnect(ip, r->url.port);
    if (ac == NULL || ac->err) {
        link_log_down(r, "redis connect failed",
                      ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        link_schedule_retry(r);
        return;
    }
    ac->data = r;
    r->ac = ac;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        ac->data = NULL;
        r->ac = NULL;
        redisAsyncFree(ac);
        link_schedule_retry(r);
        return;
    }
    redisAsyncSetConnectCallback(ac, link_connect_cb);
    redisAsyncSetDisconnectCallback(ac, link_disconnect_cb);
    struct timeval tv = {CM_REDIS_CONNECT_TIMEOUT_MS / 1000,
                         (CM_REDIS_CONNECT_TIMEOUT_MS % 1000) * 1000};
    evtimer_add(r->timer, &tv);
}

/* The first IPv4 address of res, else the first IPv6 one (hiredis 0.14's
 * own order), as text into ip. Returns 0, or -1 when there is none. */
static int
dns_pick(const struct evutil_addrinfo *res, char *ip, size_t iplen)
{
    const struct evutil_addrinfo *v6 = NULL;
    for (const struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *s4 = (const void *)ai->ai_addr;
            return evutil_inet_ntop(AF_INET, &s4->sin_addr, ip, iplen) ? 0 : -1;
        }
        if (ai->ai_family == AF_INET6 && v6 == NULL)
            v6 = ai;
    }
    if (v6 == NULL)
        return -1;
    const struct sockaddr_in6 *s6 = (const void *)v6->ai_addr;
    return evutil_inet_ntop(AF_INET6, &s6->sin6_addr, ip, iplen) ? 0 : -1;
}

/* evdns's answer. Also called (with EVUTIL_EAI_CANCEL) for a lookup that
 * was canceled, possibly after cm_redis_free: then r waits for it. */
static void
dns_done_cb(int result, struct evutil_addrinfo *res, void *arg)
{
    struct cm_redis *r = arg;
    int canceled = r->dns_canceled || result == EVUTIL_EAI_CANCEL;
    char ip[INET6_ADDRSTRLEN];
    int picked = result == 0 ? dns_pick(res, ip, sizeof ip) : -1;
    if (res)
        evutil_freeaddrinfo(res);
    r->dns_req = NULL;
    r->dns_busy = 0;
    r->dns_canceled = 0;
    if (r->free_on_dns) {
        link_free_now(r);
        return;
    }
    if (canceled || r->freeing)
        return;
    if (result != 0)
        link_lost(r, "redis lookup failed", evutil_gai_strerror(result));
    else if (picked != 0)
        link_lost(r, "redis lookup failed", "no IPv4 or IPv6 address");
    else
        link_connect_to(r, ip);
}

/* Look the host name up without blocking; dns_done_cb connects. */
static void
link_resolve(struct cm_redis *r)
{
    if (r->dns == NULL)
        r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (r->dns == NULL) {
        link_log_down(r, "redis lookup failed", "no resolver");
        link_schedule_retry(r);
        return;
    }
    struct evutil_addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* armed first: an answer from /etc/hosts comes inside the call and
     * re-arms it for the connect (or for the retry) */
    struct timeval tv = {CM_REDIS_CONNECT_TIMEOUT_MS / 1000,
                         (CM_REDIS_CONNECT_TIMEOUT_MS % 1000) * 1000};
    evtimer_add(r->timer, &tv);
    r->dns_canceled = 0;
    r->dns_busy = 1;
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(r->dns, r->url.host, NULL, &hints, dns_done_cb, r);
    if (!r->dns_busy) /* answered inside the call; req is NULL */
        return;
    if (req == NULL) { /* neither answered nor started */
        r->dns_busy = 0;
        link_lost(r, "redis lookup failed", "lookup not started");
        return;
    }
    r->dns_req = req;
}

/* An IP literal or a unix socket connects at once; a name is looked up. */
static void
link_connect(struct cm_redis *r)
{
    struct in6_addr a;
    if (r->url.unix_path[0] ||
        evutil_inet_pton(AF_INET, r->url.host, &a) == 1 ||
        evutil_inet_pton(AF_INET6, r->url.host, &a) == 1)
        link_connect_to(r, r->url.host);
    else
        link_resolve(r);
}

struct cm_redis *
cm_redis_new(struct event_base *base, const struct cm_redis_url *url,
             const char *name)
{
    struct cm_redis *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->base = base;
    r->url = *url;
    snprintf(r->name, sizeof r->name, "%s", name ? name : "redis");
    r->backoff_ms = CM_REDIS_BACKOFF_MIN_MS;
    r->timer = evtimer_new(base, link_timer_cb, r);
    if (r->timer == NULL) {
        free(r);
        return NULL;
    }
    if (url->password[0])
        cm_log_secret(url->password);
    link_connect(r);
    return r;
}

void
cm_redis_set_state_cb(struct cm_redis *r, cm_redis_state_cb cb, void *arg)
{
    r->state_cb = cb;
    r->state_arg = arg;
}

int
cm_redis_up(const struct cm_redis *r)
{
    return r->up && !r->freeing;
}

static void
cmd_reply_cb(redisAsyncContext *ac, void *reply, void *arg)
{
    struct cm_redis_cmd *cmd = arg;
    struct cm_redis *r = cmd->r;
    r->in_cb++;
    if (cmd->cb)
        cmd->cb(r, reply, cmd->arg);
    r->in_cb--;
    free(cmd);
}

int
cm_redis_command(struct cm_redis *r, cm_redis_cb cb, void *arg, const char *fmt,
                 ...)
{
    if (!cm_redis_up(r))
        return -1;
    struct cm_redis_cmd *cmd = malloc(sizeof *cmd);
    if (cmd == NULL)
        return -1;
    *cmd = (struct cm_redis_cmd){r, cb, arg};
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, cmd_reply_cb, cmd, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(cmd);
        return -1;
    }
    return 0;
}

int
cm_redis_commandargv(struct cm_redis *r, cm_redis_cb cb, void *arg, int argc,
                     const char **argv, const size_t *argvlen)
{
    if (!cm_redis_up(r))
        return -1;
    struct cm_redis_cmd *cmd = malloc(sizeof *cmd);
    if (cmd == NULL)
        return -1;
    *cmd = (struct cm_redis_cmd){r, cb, arg};
    if (redisAsyncCommandArgv(r->ac, cmd_reply_cb, cmd, argc, argv, argvlen) !=
        REDIS_OK) {
        free(cmd);
        return -1;
    }
    return 0;
}

/* The real free: never inside a hiredis callback (see cm_redis_free). */
static void
link_free_now(struct cm_redis *r)
{
    r->freeing = 1;
    r->up = 0;
    if (r->ac) {
        /* Pending commands get their NULL reply now, while r lives. */
        redisAsyncContext *ac = r->ac;
        redisAsyncFree(ac);
        r->ac = NULL;
    }
    if (r->dns_busy) {
        /* evdns answers a cancel later and reads its base then: r and the
         * base stay until dns_done_cb comes back here */
        if (!r->dns_canceled) {
            r->dns_canceled = 1;
            evdns_getaddrinfo_cancel(r->dns_req);
        }
        if (r->dns_busy) {
            r->free_on_dns = 1;
            evtimer_del(r->timer);
            return;
        }
    }
    if (r->dns)
        evdns_base_free(r->dns, 0);
    event_free(r->timer);
    if (r->free_ev)
        event_free(r->free_ev);
    free(r);
}

static void
link_free_later_cb(evutil_socket_t fd, short what, void *arg)
{
    link_free_now(arg);
}

void
cm_redis_free(struct cm_redis *r)
{
    if (r == NULL)
        return;
    r->freeing = 1;
    r->state_cb = NULL;
    evtimer_del(r->timer);
    if (r->in_cb == 0) {
        link_free_now(r);
        return;
    }
    /* hiredis forbids freeing its context from its own callback: defer */
    if (r->free_ev == NULL)
        r->free_ev = evtimer_new(r->base, link_free_later_cb, r);
    struct timeval zero = {0, 0};
    if (r->free_ev)
        evtimer_add(r->free_ev, &zero);
}

/* ---- subscriber ---- */

struct sub_chan {
    RB_ENTRY(sub_chan) link;
    size_t len;
    char name[]; /* len bytes and a NUL */
};

static int
sub_chan_cmp(struct sub_chan *a, struct sub_chan *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->name, b->name, n);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

RB_HEAD(cm_sub_tree, sub_chan);
RB_GENERATE(cm_sub_tree, sub_chan, link, sub_chan_cmp)

struct cm_sub {
    struct cm_redis *link;
    struct cm_sub_tree wanted;
    size_t count;
    cm_sub_msg_cb cb;
    void *arg;
    cm_redis_state_cb state_cb;
    void *state_arg;
};

/* Every subscribe-mode reply: ["message", ch, data], ["subscribe", ch, n].
 * privdata is not used: the owner is reached through ac->data, which is
 * cleared when the subscriber goes away. */
static void
sub_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cm_redis *r = ac->data;
    redisReply *rep = reply;
    if (r == NULL || r->freeing || r->sub == NULL || rep == NULL)
        return;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(rep->element[0]->str, "message") != 0)
        return;
    redisReply *ch = rep->element[1], *data = rep->element[2];
    if (ch->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING)
        return;
    if (ch->len == sizeof CM_SUB_ANCHOR - 1 &&
        memcmp(ch->str, CM_SUB_ANCHOR, ch->len) == 0)
        return;
    struct cm_sub *s = r->sub;
    r->in_cb++;
    s->cb(ch->str, ch->len, data->str, data->len, s->arg);
    r->in_cb--;
}

/* Send one (UN)SUBSCRIBE for n channels. */
static void
sub_send(struct cm_sub *s, const char *verb, const char **argv, size_t *argvlen,
         int n)
{
    argv[0] = verb;
    argvlen[0] = strlen(verb);
    redisAsyncCommandArgv(s->link->ac, sub_reply_cb, NULL, n + 1, argv,
                          argvlen);
}

/* After each (re)connect: subscribe the whole wanted set in batches. */
static void
sub_on_up(struct cm_sub *s)
{
    const char *argv[CM_SUB_BATCH + 1];
    size_t argvlen[CM_SUB_BATCH + 1];
    int n = 1;
    argv[1] = CM_SUB_ANCHOR;
    argvlen[1] = sizeof CM_SUB_ANCHOR - 1;
    struct sub_chan *c;
    RB_FOREACH(c, cm_sub_tree, &s->wanted)
    {
        argv[n + 1] = c->name;
        argvlen[n + 1] = c->len;
        if (++n == CM_SUB_BATCH) {
            sub_send(s, "SUBSCRIBE", argv, argvlen, n);
            n = 0;
        }
    }
    if (n > 0)
        sub_send(s, "SUBSCRIBE", argv, argvlen, n);
}

static void
sub_state_cb(struct cm_redis *r, int up, void *arg)
{
    struct cm_sub *s = arg;
    if (s->state_cb)
        s->state_cb(r, up, s->state_arg);
}

struct cm_sub *
cm_sub_new(struct event_base *base, const struct cm_redis_url *url,
           const char *name, cm_sub_msg_cb cb, void *arg)
{
    struct cm_sub *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    RB_INIT(&s->wanted);
    s->cb = cb;
    s->arg = arg;
    s->link = cm_redis_new(base, url, name);
    if (s->link == NULL) {
        free(s);
        return NULL;
    }
    s->link->sub = s;
    cm_redis_set_state_cb(s->link, sub_state_cb, s);
    return s;
}

void
cm_sub_set_state_cb(struct cm_sub *s, cm_redis_state_cb cb, void *arg)
{
    s->state_cb = cb;
    s->state_arg = arg;
}

static struct sub_chan *
sub_find(struct cm_sub *s, const char *channel, size_t len)
{
    /* a key on the stack for the lookup */
    struct {
        struct sub_chan c;
        char buf[512];
    } key;
    struct sub_chan *k;
    struct sub_chan *heap = NULL;
    if (len < sizeof key.buf) {
        k = &key.c;
    } else {
        heap = malloc(sizeof *heap + len + 1);
        if (heap == NULL)
            return NULL;
        k = heap;
    }
    k->len = len;
    memcpy(k->name, channel, len);
    struct sub_chan *found = RB_FIND(cm_sub_tree, &s->wanted, k);
    free(heap);
    return found;
}

int
cm_sub_add(struct cm_sub *s, const char *channel, size_t len)
{
    if (sub_find(s, channel, len) != NULL)
        return 0;
    struct sub_chan *c = malloc(sizeof *c + len + 1);
    if (c == NULL)
        return -1;
    c->len = len;
    memcpy(c->name, channel, len);
    c->name[len] = '\0';
    RB_INSERT(cm_sub_tree, &s->wanted, c);
    s->count++;
    if (cm_redis_up(s->link)) {
        const char *argv[2] = {NULL, c->name};
        size_t argvlen[2] = {0, len};
        sub_send(s, "SUBSCRIBE", argv, argvlen, 1);
    }
    return 0;
}

int
cm_sub_remove(struct cm_sub *s, const char *channel, size_t len)
{
    struct sub_chan *c = sub_find(s, channel, len);
    if (c == NULL)
        return 0;
    if (cm_redis_up(s->link)) {
        const char *argv[2] = {NULL, c->name};
        size_t argvlen[2] = {0, len};
        sub_send(s, "UNSUBSCRIBE", argv, argvlen, 1);
    }
    RB_REMOVE(cm_sub_tree, &s->wanted, c);
    free(c);
    s->count--;
    return 0;
}

size_t
cm_sub_count(const struct cm_sub *s)
{
    return s->count;
}

int
cm_sub_up(const struct cm_sub *s)
{
    return cm_redis_up(s->link);
}

void
cm_sub_free(struct cm_sub *s)
{
    if (s == NULL)
        return;
    s->link->sub = NULL; /* late replies find no owner */
    cm_redis_free(s->link);
    struct sub_chan *c, *next;
    RB_FOREACH_SAFE(c, cm_sub_tree, &s->wanted, next)
    {
        RB_REMOVE(cm_sub_tree, &s->wanted, c);
        free(c);
    }
    free(s);
}
