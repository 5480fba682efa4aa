/*
 * cm_log.c - the process logger: one record per line on stderr, key=value
 * text or one JSON object, written with a single write(2) so lines of
 * concurrent processes sharing a pipe do not interleave. Registered secrets
 * are masked in the finished line, whatever field they slipped into.
 */
#include "cm_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CM_LOG_MAX_SECRETS 64
#define CM_LOG_MIN_SECRET 8
#define CM_LOG_MAX_LINE 16384 /* longer records are cut, still masked */
#define CM_LOG_REDACTED "[redacted]"

/* The one logger of the process (the API has no handle by design). */
static struct cm_log_ctx {
    char service[64];
    char node[128];
    enum cm_log_level level;
    int json;
    char *secrets[CM_LOG_MAX_SECRETS];
    size_t nsecrets;
} cm_log_ctx = {"", "", CM_LOG_INFO, 0, {NULL}, 0};

static const char *cm_log_names[] = {"debug", "info", "warn", "error"};

/* A growable line; on allocation failure it stops growing (fails soft). */
struct cm_log_buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void
buf_put(struct cm_log_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_puts(struct cm_log_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void
buf_printf(struct cm_log_buf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int
cm_log_init(const char *service, const char *node_id, const char *level,
            const char *format)
{
    int lv = -1;
    for (int i = 0; i < 4; i++)
        if (level && strcasecmp(level, cm_log_names[i]) == 0)
            lv = i;
    if (level == NULL)
        lv = CM_LOG_INFO;
    if (lv < 0)
        return -1;
    int json;
    if (format == NULL || strcmp(format, "text") == 0)
        json = 0;
    else if (strcmp(format, "json") == 0)
        json = 1;
    else
        return -1;
    snprintf(cm_log_ctx.service, sizeof cm_log_ctx.service, "%s",
             service ? service : "");
    snprintf(cm_log_ctx.node, sizeof cm_log_ctx.node, "%s",
             node_id ? node_id : "");
    cm_log_ctx.level = (enum cm_log_level)lv;
    cm_log_ctx.json = json;
    return 0;
}

void
cm_log_secret(const char *s)
{
    if (s == NULL || strlen(s) < CM_LOG_MIN_SECRET ||
        cm_log_ctx.nsecrets == CM_LOG_MAX_SECRETS)
        return;
    for (size_t i = 0; i < cm_log_ctx.nsecrets; i++)
        if (strcmp(cm_log_ctx.secrets[i], s) == 0)
            return;
    char *copy = strdup(s);
    if (copy != NULL)
        cm_log_ctx.secrets[cm_log_ctx.nsecrets++] = copy;
}

int
cm_log_enabled(enum cm_log_level level)
{
    return level >= cm_log_ctx.level;
}

/* Text values are bare when they are simple, else quoted with escapes. */
static int
text_needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' ||
            (unsigned char)*s == 0x7f)
            return 1;
    return 0;
}

static void
put_escaped(struct cm_log_buf *b, const char *s, int json)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                buf_printf(b, json ? "\\u%04x" : "\\x%02x", c);
            else
                buf_put(b, (const char *)&c, 1);
        }
    }
}

static void
put_field(struct cm_log_buf *b, const char *key, const char *val, int json)
{
    if (json) {
        buf_puts(b, ",\"");
        put_escaped(b, key, 1);
        buf_puts(b, "\":\"");
        put_escaped(b, val, 1);
        buf_puts(b, "\"");
        return;
    }
    if (b->len > 0)
        buf_puts(b, " ");
    buf_puts(b, key);
    buf_puts(b, "=");
    if (text_needs_quotes(val)) {
        buf_puts(b, "\"");
        put_escaped(b, val, 0);
        buf_puts(b, "\"");
    } else {
        buf_puts(b, val);
    }
}

/* A number is bare in both formats. */
static void
put_number(struct cm_log_buf *b, const char *key, const char *num, int json)
{
    if (json) {
        buf_puts(b, ",\"");
        put_escaped(b, key, 1);
        buf_puts(b, "\":");
        buf_puts(b, num);
    } else {
        put_field(b, key, num, 0);
    }
}

static void
put_timestamp(struct cm_log_buf *b, int json)
{
    struct timeval tv;
    struct tm tm;
    char ts[40];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    if (json) {
        buf_puts(b, "{\"ts\":\"");
        buf_puts(b, ts);
        buf_puts(b, "\"");
    } else {
        put_field(b, "ts", ts, 0);
    }
}

/* Replace every occurrence of every registered secret, in place. */
static void
mask_secrets(struct cm_log_buf *b)
{
    for (size_t i = 0; i < cm_log_ctx.nsecrets && !b->oom; i++) {
        const char *sec = cm_log_ctx.secrets[i];
        size_t sl = strlen(sec), rl = strlen(CM_LOG_REDACTED);
        char *hit;
        size_t from = 0;
        while (from < b->len && (hit = strstr(b->p + from, sec)) != NULL) {
            size_t at = (size_t)(hit - b->p);
            size_t tail = b->len - at - sl;
            /* rl < CM_LOG_MIN_SECRET would shrink; rl > sl never happens
             * since sl >= 8 and rl == 10 could grow by 2: make room. */
            if (rl > sl) {
                buf_put(b, "  ", rl - sl);
                if (b->oom)
                    return;
                b->len -= rl - sl;
            }
            memmove(b->p + at + rl, b->p + at + sl, tail + 1);
            memcpy(b->p + at, CM_LOG_REDACTED, rl);
            b->len = at + rl + tail;
            from = at + rl;
        }
    }
}

void
cm_log_kv(enum cm_log_level level, const char *msg, const struct cm_kv *kv)
{
    if (!cm_log_enabled(level))
        return;
    int json = cm_log_ctx.json;
    int saved_errno = errno;
    struct cm_log_buf b = {NULL, 0, 0, 0};
    char num[48];

    put_timestamp(&b, json);
    put_field(&b, "level", cm_log_names[level], json);
    put_field(&b, "service", cm_log_ctx.service, json);
    put_field(&b, "node", cm_log_ctx.node, json);
    put_field(&b, "msg", msg ? msg : "", json);
    for (; kv != NULL && kv->type != CM_KV_END; kv++) {
        switch (kv->type) {
        case CM_KV_STR:
            put_field(&b, kv->key, kv->s ? kv->s : "", json);
            break;
        case CM_KV_INT:
            snprintf(num, sizeof num, "%lld", kv->i);
            put_number(&b, kv->key, num, json);
            break;
        case CM_KV_DBL:
            snprintf(num, sizeof num, "%.6g", kv->d);
            put_number(&b, kv->key, num, json);
            break;
        case CM_KV_SECRET:
            put_field(&b, kv->key, CM_LOG_REDACTED, json);
            break;
        case CM_KV_END:
            break;
        }
    }
    if (json)
        buf_puts(&b, "}");
    mask_secrets(&b);
    if (b.oom || b.p == NULL) {
        static const char oom[] = "level=error msg=\"log: out of memory\"\n";
        (void)!write(STDERR_FILENO, oom, sizeof oom - 1);
        free(b.p);
        errno = saved_errno;
        return;
    }
    if (b.len > CM_LOG_MAX_LINE - 1)
        b.len = CM_LOG_MAX_LINE - 1;
    b.p[b.len++] = '\n'; /* room: buf_put always keeps one spare byte */
    size_t off = 0;
    while (off < b.len) {
        ssize_t n = write(STDERR_FILENO, b.p + off, b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    free(b.p);
    errno = saved_errno;
}
