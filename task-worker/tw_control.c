/*
 * tw_control.c - encoding the "remove" control messages a revocation sends
 * to gateways. Members arrive sorted, so grouping by gateway tag and by
 * socket is one pass; a message is closed and emitted when the next socket
 * entry would push it past the bound, so a PUBLISH stays small for Redis
 * and for the gateway's reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_control.h"
#include "chan.h"
#include "cm_keys.h"

int
tw_member_valid(const char *m, const char **ch)
{
    size_t len = strlen(m);

    if (len < CM_SID_LEN + 2 || m[CM_SID_LEN] != CM_SEP)
        return 0;
    for (size_t i = 0; i < CM_SID_LEN; i++) {
        char c = m[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    if (!chan_name_valid(m + CM_SID_LEN + 1, len - CM_SID_LEN - 1))
        return 0;
    *ch = m + CM_SID_LEN + 1;
    return 1;
}

const char *
tw_control_text(const char *reason)
{
    if (strcmp(reason, "ApiKeyExpired") == 0)
        return "API key expired: removed from private channels";
    return "API key deleted: removed from private channels";
}

struct ctl_buf {
    char *p;
    size_t len, cap;
};

static int
buf_add(struct ctl_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->p, cap)) == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

#define BUF_LIT(b, s) buf_add((b), (s), sizeof(s) - 1)

/* The state of one build: the open message and the open socket entry. */
struct ctl_build {
    struct ctl_buf msg, ent;
    size_t head_len; /* bytes of the message prefix up to "sockets":[ */
    size_t nsock;    /* socket entries in msg */
    size_t nch;      /* channels in ent */
    size_t max;
    char tag[CM_GW_TAG_LEN + 1];
    char sid[CM_SID_LEN + 1];
    tw_control_emit emit;
    void *arg;
    long emitted;
};

static int
ctl_flush(struct ctl_build *b)
{
    if (b->nsock == 0)
        return 0;
    if (BUF_LIT(&b->msg, "]}") != 0)
        return -1;
    if (b->emit(b->tag, b->msg.p, b->msg.len, b->arg) != 0)
        return -1;
    b->emitted++;
    b->msg.len = b->head_len;
    b->nsock = 0;
    return 0;
}

/* Close the open socket entry and move it into the message. */
static int
ctl_end_socket(struct ctl_build *b)
{
    if (b->nch == 0)
        return 0;
    if (BUF_LIT(&b->ent, "]}") != 0)
        return -1;
    if (b->nsock > 0 && b->msg.len + 1 + b->ent.len + 2 > b->max &&
        ctl_flush(b) != 0)
        return -1;
    if ((b->nsock > 0 && BUF_LIT(&b->msg, ",") != 0) ||
        buf_add(&b->msg, b->ent.p, b->ent.len) != 0)
        return -1;
    b->nsock++;
    b->ent.len = 0;
    b->nch = 0;
    return 0;
}

static int
ctl_add_channel(struct ctl_build *b, const char *ch)
{
    size_t n = strlen(ch);

    /* One socket's entry alone past the bound: send what it has so far,
     * the rest goes in the next message (rare: thousands of channels). */
    if (b->nch > 0 && b->head_len + b->ent.len + n + 8 > b->max) {
        if (ctl_end_socket(b) != 0 || ctl_flush(b) != 0)
            return -1;
    }
    if (b->nch == 0) {
        if (BUF_LIT(&b->ent, "{\"sid\":\"") != 0 ||
            buf_add(&b->ent, b->sid, CM_SID_LEN) != 0 ||
            BUF_LIT(&b->ent, "\",\"channels\":[") != 0)
            return -1;
    } else if (BUF_LIT(&b->ent, ",") != 0) {
        return -1;
    }
    /* Valid channel names need no escaping (chan.h's alphabet). */
    if (BUF_LIT(&b->ent, "\"") != 0 || buf_add(&b->ent, ch, n) != 0 ||
        BUF_LIT(&b->ent, "\"") != 0)
        return -1;
    b->nch++;
    return 0;
}

static int
ctl_member(struct ctl_build *b, const char *m)
{
    const char *ch;

    if (!tw_member_valid(m, &ch))
        return 0;
    if (memcmp(b->sid, m, CM_SID_LEN) != 0) {
        if (ctl_end_socket(b) != 0)
            return -1;
        if (memcmp(b->tag, m, CM_GW_TAG_LEN) != 0) {
            if (ctl_flush(b) != 0)
                return -1;
            memcpy(b->tag, m, CM_GW_TAG_LEN);
        }
        memcpy(b->sid, m, CM_SID_LEN);
    }
    return ctl_add_channel(b, ch);
}

long
tw_control_build(const char *pid, const char *reason, const char *message,
                 const char *const *members, size_t n, size_t max_bytes,
                 tw_control_emit emit, void *arg)
{
    struct ctl_build b;
    long rc = -1;

    memset(&b, 0, sizeof(b));
    b.max = max_bytes;
    b.emit = emit;
    b.arg = arg;
    if (BUF_LIT(&b.msg, "{\"op\":\"remove\",\"projectId\":\"") != 0 ||
        buf_add(&b.msg, pid, strlen(pid)) != 0 ||
        BUF_LIT(&b.msg, "\",\"reason\":\"") != 0 ||
        buf_add(&b.msg, reason, strlen(reason)) != 0 ||
        BUF_LIT(&b.msg, "\",\"message\":\"") != 0 ||
        buf_add(&b.msg, message, strlen(message)) != 0 ||
        BUF_LIT(&b.msg, "\",\"sockets\":[") != 0)
        goto out;
    b.head_len = b.msg.len;
    for (size_t i = 0; i < n; i++)
        if (ctl_member(&b, members[i]) != 0)
            goto out;
    if (ctl_end_socket(&b) != 0 || ctl_flush(&b) != 0)
        goto out;
    rc = b.emitted;
out:
    free(b.msg.p);
    free(b.ent.p);
    return rc;
}
