/*
 * cm_redis_url.c - SSE_REDIS_URL: parsing redis://[[user]:password@]host
 * [:port][/db] and unix:///path[?db=N] into struct cm_redis_url, and the
 * blocking client that tools (sse-reseal) and tests connect with. The
 * services' own async links are in cm_redis.c.
 */
#include "cm_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* ---- blocking client ---- */

redisContext *
cm_redis_connect_blocking(const struct cm_redis_url *url, int timeout_ms,
                          char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c;
    if (url->unix_path[0])
        c = redisConnectUnixWithTimeout(url->unix_path, tv);
    else
        c = redisConnectWithTimeout(url->host, url->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, errlen, "redis connect: %s",
                 c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    const char *what[2] = {url->password[0] ? "AUTH" : NULL,
                           url->db ? "SELECT" : NULL};
    for (int i = 0; i < 2; i++) {
        if (what[i] == NULL)
            continue;
        redisReply *rep =
            i == 1 ? redisCommand(c, "SELECT %d", url->db)
            : url->username[0]
                ? redisCommand(c, "AUTH %s %s", url->username, url->password)
                : redisCommand(c, "AUTH %s", url->password);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "redis %s: %s", what[i],
                     rep ? rep->str : c->errstr);
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(rep);
    }
    return c;
}

/* ---- URL ---- */

static int
url_fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "SSE_REDIS_URL: %s", why);
    return -1;
}

/* Decimal in [lo, hi] from exactly s[0..n); -1 when not. */
static long
url_number(const char *s, size_t n, long lo, long hi)
{
    long v = 0;
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Password: percent-decoded (a password may hold '@' or ':'). */
static int
url_password(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (o + 1 >= cap || c == '\0')
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int
url_parse_unix(const char *p, struct cm_redis_url *out, char *err,
               size_t errlen)
{
    const char *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    if (plen == 0 || p[0] != '/')
        return url_fail(err, errlen, "unix:// needs an absolute path");
    if (plen >= sizeof out->unix_path)
        return url_fail(err, errlen, "socket path too long");
    memcpy(out->unix_path, p, plen);
    out->unix_path[plen] = '\0';
    if (q != NULL) {
        if (strncmp(q + 1, "db=", 3) != 0)
            return url_fail(err, errlen, "unix:// takes only ?db=N");
        long db = url_number(q + 4, strlen(q + 4), 0, 1000000);
        if (db < 0)
            return url_fail(err, errlen, "bad db");
        out->db = (int)db;
    }
    return 0;
}

int
cm_redis_url_parse(const char *s, struct cm_redis_url *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (s == NULL || *s == '\0')
        return url_fail(err, errlen, "empty");
    if (strncmp(s, "unix://", 7) == 0)
        return url_parse_unix(s + 7, out, err, errlen);
    if (strncmp(s, "redis://", 8) != 0)
        return url_fail(err, errlen, "scheme must be redis:// or unix://");
    const char *p = s + 8;
    const char *end = p + strcspn(p, "/?#");
    if (*end == '?' || *end == '#')
        return url_fail(err, errlen, "query and fragment not supported");
    const char *at = memrchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL)
            return url_fail(err, errlen,
                            "userinfo must be [username]:password");
        /* Redis 6 ACL: AUTH <username> <password>; "default" is the user
         * a bare password authenticates as. */
        if (url_password(p, (size_t)(colon - p), out->username,
                         sizeof out->username) != 0)
            return url_fail(err, errlen, "bad username");
        if (url_password(colon + 1, (size_t)(at - colon - 1), out->password,
                         sizeof out->password) != 0)
            return url_fail(err, errlen, "bad password");
        p = at + 1;
    }
    const char *hend;
    if (*p == '[') { /* [IPv6] */
        hend = memchr(p, ']', (size_t)(end - p));
        if (hend == NULL)
            return url_fail(err, errlen, "bad host");
        p++;
    } else {
        hend = memchr(p, ':', (size_t)(end - p));
        if (hend == NULL)
            hend = end;
    }
    size_t hl = (size_t)(hend - p);
    if (hl == 0 || hl >= sizeof out->host)
        return url_fail(err, errlen, "bad host");
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)p[i] <= ' ' || p[i] == '@' || p[i] == '[')
            return url_fail(err, errlen, "bad host");
    memcpy(out->host, p, hl);
    out->host[hl] = '\0';
    if (*hend == ']')
        hend++;
    if (hend < end) {
        if (*hend != ':')
            return url_fail(err, errlen, "bad host");
        long port = url_number(hend + 1, (size_t)(end - hend - 1), 1, 65535);
        if (port < 0)
            return url_fail(err, errlen, "bad port");
        out->port = (int)port;
    }
    if (*end == '/' && end[1] != '\0') {
        long db = url_number(end + 1, strlen(end + 1), 0, 1000000);
        if (db < 0)
            return url_fail(err, errlen, "bad db");
        out->db = (int)db;
    }
    return 0;
}
