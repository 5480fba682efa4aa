/*
 * test_redis_url.c - cm_redis_url_parse on good and bad URLs, then the
 * async link and the subscriber against the private redis-server of
 * SSE_TEST_REDIS_URL: commands, NULL while down, message delivery,
 * reconnect + re-subscribe after the server kills our connections, and a
 * host name (localhost, from /etc/hosts) looked up by evdns first.
 */
#include "cm_log.h"
#include "cm_redis.h"
#include "t.h"

#include <event2/event.h>
#include <stdlib.h>

static void
url_cases(void)
{
    struct cm_redis_url u;
    char err[128];

    T_EQ_INT(
        cm_redis_url_parse("redis://127.0.0.1:6379/0", &u, err, sizeof err), 0);
    T_EQ_STR(u.host, "127.0.0.1");
    T_EQ_INT(u.port, 6379);
    T_EQ_INT(u.db, 0);
    T_EQ_STR(u.password, "");
    T_EQ_STR(u.unix_path, "");

    T_EQ_INT(cm_redis_url_parse("redis://localhost", &u, err, sizeof err), 0);
    T_EQ_STR(u.host, "localhost");
    T_EQ_INT(u.port, 6379);

    T_EQ_INT(cm_redis_url_parse("redis://:s3cr%40t@redis.local:7000/5", &u, err,
                                sizeof err),
             0);
    T_EQ_STR(u.password, "s3cr@t");
    T_EQ_STR(u.host, "redis.local");
    T_EQ_INT(u.port, 7000);
    T_EQ_INT(u.db, 5);

    T_EQ_INT(cm_redis_url_parse("redis://default:p%40ss@h:6380/2", &u, err,
                                sizeof err),
             0);
    T_EQ_STR(u.username, "default");
    T_EQ_STR(u.password, "p@ss");
    T_EQ_STR(u.host, "h");

    T_EQ_INT(cm_redis_url_parse("redis://[::1]:6380/", &u, err, sizeof err), 0);
    T_EQ_STR(u.host, "::1");
    T_EQ_INT(u.port, 6380);
    T_EQ_INT(u.db, 0);

    T_EQ_INT(cm_redis_url_parse("unix:///run/redis.sock", &u, err, sizeof err),
             0);
    T_EQ_STR(u.unix_path, "/run/redis.sock");
    T_EQ_INT(u.db, 0);
    T_EQ_INT(cm_redis_url_parse("unix:///tmp/r.sock?db=3", &u, err, sizeof err),
             0);
    T_EQ_STR(u.unix_path, "/tmp/r.sock");
    T_EQ_INT(u.db, 3);

    static const struct {
        const char *url, *err;
    } bad[] = {
        {"", "SSE_REDIS_URL: empty"},
        {"http://x", "SSE_REDIS_URL: scheme must be redis:// or unix://"},
        {"redis://h:0", "SSE_REDIS_URL: bad port"},
        {"redis://h:65536", "SSE_REDIS_URL: bad port"},
        {"redis://h:12a", "SSE_REDIS_URL: bad port"},
        {"redis://h:", "SSE_REDIS_URL: bad port"},
        {"redis://h/x", "SSE_REDIS_URL: bad db"},
        {"redis://h/-1", "SSE_REDIS_URL: bad db"},
        {"redis://h/1/2", "SSE_REDIS_URL: bad db"},
        {"redis://", "SSE_REDIS_URL: bad host"},
        {"redis://:pw@", "SSE_REDIS_URL: bad host"},
        {"redis://%zz:pw@h", "SSE_REDIS_URL: bad username"},
        {"redis://pw@h", "SSE_REDIS_URL: userinfo must be [username]:password"},
        {"redis://:%zz@h", "SSE_REDIS_URL: bad password"},
        {"redis://:%4@h", "SSE_REDIS_URL: bad password"},
        {"redis://h?x=1", "SSE_REDIS_URL: query and fragment not supported"},
        {"redis://[::1/0", "SSE_REDIS_URL: bad host"},
        {"unix://relative", "SSE_REDIS_URL: unix:// needs an absolute path"},
        {"unix:///s?db=x", "SSE_REDIS_URL: bad db"},
        {"unix:///s?foo=1", "SSE_REDIS_URL: unix:// takes only ?db=N"},
        {"garbage", "SSE_REDIS_URL: scheme must be redis:// or unix://"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = cm_redis_url_parse(bad[i].url, &u, err, sizeof err);
        T_EQ_INT(rc, -1);
        T_EQ_STR(err, bad[i].err);
    }
}

/* ---- live ---- */

struct live {
    struct event_base *base;
    int ups, downs, sub_ups;
    int replies, nulls;
    char got[128];
    int msgs;
};

static void
stop_soon(struct live *l)
{
    struct timeval tv = {0, 0};
    event_base_loopexit(l->base, &tv);
}

static void
state_cb(struct cm_redis *r, int up, void *arg)
{
    struct live *l = arg;
    if (up)
        l->ups++;
    else
        l->downs++;
    stop_soon(l);
}

static void
sub_state_cb(struct cm_redis *r, int up, void *arg)
{
    struct live *l = arg;
    if (up)
        l->sub_ups++;
    stop_soon(l);
}

static void
reply_cb(struct cm_redis *r, redisReply *rep, void *arg)
{
    struct live *l = arg;
    if (rep == NULL)
        l->nulls++;
    else
        l->replies++;
    if (rep && rep->type == REDIS_REPLY_STRING)
        snprintf(l->got, sizeof l->got, "%s", rep->str);
    stop_soon(l);
}

static void
msg_cb(const char *ch, size_t chlen, const char *data, size_t len, void *arg)
{
    struct live *l = arg;
    snprintf(l->got, sizeof l->got, "%.*s=%.*s", (int)chlen, ch, (int)len,
             data);
    l->msgs++;
    stop_soon(l);
}

/* Run the loop until a callback stops it, at most 3 s. */
static void
run(struct live *l)
{
    struct timeval tv = {3, 0};
    event_base_loopexit(l->base, &tv);
    event_base_dispatch(l->base);
}

static void
publish(redisContext *c, const char *ch, const char *msg)
{
    redisReply *rep = redisCommand(c, "PUBLISH %s %s", ch, msg);
    if (rep)
        freeReplyObject(rep);
}

static void
live_cases(const char *url_text)
{
    struct cm_redis_url url;
    char err[128];
    struct live l = {0};
    T_EQ_INT(cm_redis_url_parse(url_text, &url, err, sizeof err), 0);
    l.base = event_base_new();
    redisContext *bc = cm_redis_connect_blocking(&url, 1000, err, sizeof err);
    T_CHECK(bc != NULL);
    if (bc == NULL)
        return;

    struct cm_redis *r = cm_redis_new(l.base, &url, "test");
    cm_redis_set_state_cb(r, state_cb, &l);
    T_EQ_INT(cm_redis_command(r, reply_cb, &l, "PING"), -1); /* not up yet */
    run(&l);
    T_EQ_INT(l.ups, 1);
    T_EQ_INT(cm_redis_up(r), 1);
    T_EQ_INT(cm_redis_command(r, NULL, NULL, "SET cm:test %s", "v1"), 0);
    T_EQ_INT(cm_redis_command(r, reply_cb, &l, "GET cm:test"), 0);
    run(&l);
    T_EQ_STR(l.got, "v1");

    struct cm_sub *s = cm_sub_new(l.base, &url, "test-sub", msg_cb, &l);
    cm_sub_set_state_cb(s, sub_state_cb, &l);
    T_EQ_INT(cm_sub_add(s, "cm:a", 4), 0); /* before up: sent on connect */
    run(&l);
    T_EQ_INT(l.sub_ups, 1);
    T_EQ_INT(cm_sub_add(s, "cm:b", 4), 0);
    T_EQ_INT(cm_sub_add(s, "cm:b", 4), 0);
    T_EQ_INT(cm_sub_count(s), 2);
    /* a round trip on the command link lets the SUBSCRIBEs land */
    cm_redis_command(r, reply_cb, &l, "PING");
    run(&l);
    publish(bc, "cm:b", "hello");
    run(&l);
    T_EQ_STR(l.got, "cm:b=hello");
    T_EQ_INT(cm_sub_remove(s, "cm:a", 4), 0);
    T_EQ_INT(cm_sub_remove(s, "cm:b", 4), 0);
    T_EQ_INT(cm_sub_add(s, "cm:b", 4), 0); /* the anchor keeps this legal */
    T_EQ_INT(cm_sub_count(s), 1);
    cm_redis_command(r, reply_cb, &l, "PING");
    run(&l);
    publish(bc, "cm:a", "gone");
    publish(bc, "cm:b", "back");
    run(&l);
    T_EQ_STR(l.got, "cm:b=back");

    /* the server drops every normal and pubsub client: both reconnect */
    int msgs = l.msgs;
    redisReply *k = redisCommand(bc, "CLIENT KILL TYPE pubsub");
    if (k)
        freeReplyObject(k);
    k = redisCommand(bc, "CLIENT KILL TYPE normal SKIPME yes");
    if (k)
        freeReplyObject(k);
    for (int i = 0; i < 6 && (l.ups < 2 || l.sub_ups < 2); i++)
        run(&l);
    T_EQ_INT(l.downs, 1);
    T_EQ_INT(l.ups, 2);
    T_EQ_INT(l.sub_ups, 2);
    cm_redis_command(r, reply_cb, &l, "PING");
    run(&l);
    publish(bc, "cm:b", "again");
    run(&l);
    T_EQ_INT(l.msgs, msgs + 1);
    T_EQ_STR(l.got, "cm:b=again");

    /* pending callbacks get NULL when the link is freed */
    l.nulls = 0;
    T_EQ_INT(cm_redis_command(r, reply_cb, &l, "BLPOP cm:never 5"), 0);
    cm_redis_free(r);
    T_EQ_INT(l.nulls, 1);
    cm_sub_free(s);
    redisFree(bc);
    event_base_free(l.base);

    /* a wrong password is refused and never declared up */
    struct cm_redis_url bad = url;
    snprintf(bad.password, sizeof bad.password, "wrong-password");
    T_CHECK(cm_redis_connect_blocking(&bad, 1000, err, sizeof err) == NULL);

    /* Redis 6 ACL users: AUTH <username> <password>. */
    redisContext *admin =
        cm_redis_connect_blocking(&url, 1000, err, sizeof err);
    T_CHECK(admin != NULL);
    if (admin != NULL) {
        redisReply *rep = redisCommand(admin, "ACL SETUSER cmtest on >cm-pw "
                                              "~* &* +@all");
        T_CHECK(rep != NULL && rep->type == REDIS_REPLY_STATUS);
        freeReplyObject(rep);
        struct cm_redis_url acl = url;
        snprintf(acl.username, sizeof acl.username, "cmtest");
        snprintf(acl.password, sizeof acl.password, "cm-pw");
        redisContext *c =
            cm_redis_connect_blocking(&acl, 1000, err, sizeof err);
        T_CHECK(c != NULL);
        if (c != NULL)
            redisFree(c);
        snprintf(acl.password, sizeof acl.password, "other");
        T_CHECK(cm_redis_connect_blocking(&acl, 1000, err, sizeof err) == NULL);
        rep = redisCommand(admin, "ACL DELUSER cmtest");
        freeReplyObject(rep);
        redisFree(admin);
    }
}

/* A host name goes through evdns (/etc/hosts included) before hiredis sees
 * it; a name that never resolves leaves the link down, and freeing it
 * mid-lookup is safe. */
static void
dns_cases(const char *url_text)
{
    struct cm_redis_url url;
    char err[128];
    struct live l = {0};
    T_EQ_INT(cm_redis_url_parse(url_text, &url, err, sizeof err), 0);
    snprintf(url.host, sizeof url.host, "localhost");
    l.base = event_base_new();
    struct cm_redis *r = cm_redis_new(l.base, &url, "test-dns");
    cm_redis_set_state_cb(r, state_cb, &l);
    run(&l);
    T_EQ_INT(l.ups, 1);
    T_EQ_INT(cm_redis_command(r, NULL, NULL, "SET cm:dns %s", "by-name"), 0);
    T_EQ_INT(cm_redis_command(r, reply_cb, &l, "GET cm:dns"), 0);
    run(&l);
    T_EQ_STR(l.got, "by-name");

    struct cm_sub *s = cm_sub_new(l.base, &url, "test-dns-sub", msg_cb, &l);
    cm_sub_set_state_cb(s, sub_state_cb, &l);
    T_EQ_INT(cm_sub_add(s, "cm:dns", 6), 0);
    run(&l);
    T_EQ_INT(l.sub_ups, 1);
    cm_redis_command(r, reply_cb, &l, "PING"); /* let the SUBSCRIBE land */
    run(&l);
    T_EQ_INT(cm_redis_command(r, NULL, NULL, "PUBLISH cm:dns hi"), 0);
    run(&l);
    T_EQ_STR(l.got, "cm:dns=hi");
    cm_sub_free(s);
    cm_redis_free(r);

    /* never resolves (.invalid): down, and freed while the lookup runs */
    snprintf(url.host, sizeof url.host, "no-such-host.invalid");
    int ups = l.ups;
    r = cm_redis_new(l.base, &url, "test-dns-bad");
    cm_redis_set_state_cb(r, state_cb, &l);
    struct timeval tv = {0, 300000};
    event_base_loopexit(l.base, &tv);
    event_base_dispatch(l.base);
    T_EQ_INT(cm_redis_up(r), 0);
    T_EQ_INT(l.ups, ups);
    T_EQ_INT(cm_redis_command(r, reply_cb, &l, "PING"), -1);
    cm_redis_free(r);
    /* freed at once, its lookup still out: r waits for the cancel */
    r = cm_redis_new(l.base, &url, "test-dns-bad");
    cm_redis_free(r);
    tv.tv_usec = 100000; /* a canceled lookup settles on the loop */
    event_base_loopexit(l.base, &tv);
    event_base_dispatch(l.base);
    event_base_free(l.base);
}

int
main(void)
{
    cm_log_init("test", "t", "error", "text");
    url_cases();
    const char *u = t_redis_url();
    T_CHECK(u != NULL); /* a Redis test fails, never skips */
    if (u) {
        live_cases(u);
        dns_cases(u);
    }
    return t_done("redis_url");
}
