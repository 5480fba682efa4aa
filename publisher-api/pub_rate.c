/*
 * pub_rate.c - SSE_PUBLISH_RATE: a token bucket per API key id, in this
 * process's memory (so the limit is per process: N publisher processes
 * allow N times the rate). Buckets hold one second's worth of tokens; the
 * number of keys tracked is bounded, and idle (full) buckets are dropped
 * to make room.
 */
#include "pub.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/tree.h>

struct pub_bucket {
    RB_ENTRY(pub_bucket) node;
    char kid[CM_KID_LEN + 1];
    double tokens;
    double last; /* monotonic seconds of the last refill */
};

static int
pub_bucket_cmp(const struct pub_bucket *a, const struct pub_bucket *b)
{
    return strcmp(a->kid, b->kid);
}

RB_HEAD(pub_buckets, pub_bucket);
RB_PROTOTYPE(pub_buckets, pub_bucket, node, pub_bucket_cmp)
RB_GENERATE(pub_buckets, pub_bucket, node, pub_bucket_cmp)

struct pub_rate {
    struct pub_buckets tree;
    size_t n, max;
    double rate, burst;
};

struct pub_rate *
pub_rate_new(double rate, size_t max_keys)
{
    struct pub_rate *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    RB_INIT(&r->tree);
    r->rate = rate;
    r->burst = rate < 1 ? 1 : rate;
    r->max = max_keys;
    return r;
}

void
pub_rate_free(struct pub_rate *r)
{
    struct pub_bucket *b, *next;

    if (r == NULL)
        return;
    RB_FOREACH_SAFE(b, pub_buckets, &r->tree, next)
    {
        RB_REMOVE(pub_buckets, &r->tree, b);
        free(b);
    }
    free(r);
}

static void
pub_rate_refill(struct pub_rate *r, struct pub_bucket *b, double now)
{
    if (now > b->last)
        b->tokens = fmin(r->burst, b->tokens + (now - b->last) * r->rate);
    b->last = now;
}

/* Drop buckets that have refilled: they behave exactly like absent ones. */
static void
pub_rate_prune(struct pub_rate *r, double now)
{
    struct pub_bucket *b, *next;

    RB_FOREACH_SAFE(b, pub_buckets, &r->tree, next)
    {
        pub_rate_refill(r, b, now);
        if (b->tokens >= r->burst) {
            RB_REMOVE(pub_buckets, &r->tree, b);
            free(b);
            r->n--;
        }
    }
}

static struct pub_bucket *
pub_rate_bucket(struct pub_rate *r, const char *kid, double now)
{
    struct pub_bucket key, *b;

    strncpy(key.kid, kid, sizeof(key.kid) - 1);
    key.kid[sizeof(key.kid) - 1] = '\0';
    if ((b = RB_FIND(pub_buckets, &r->tree, &key)) != NULL)
        return b;
    if (r->n >= r->max)
        pub_rate_prune(r, now);
    if (r->n >= r->max || (b = calloc(1, sizeof(*b))) == NULL)
        return NULL;
    memcpy(b->kid, key.kid, sizeof(b->kid));
    b->tokens = r->burst;
    b->last = now;
    RB_INSERT(pub_buckets, &r->tree, b);
    r->n++;
    return b;
}

long
pub_rate_take(struct pub_rate *r, const char *kid, double now)
{
    struct pub_bucket *b = pub_rate_bucket(r, kid, now);
    double wait;

    /* Every tracked key is busy (or no memory): let it through rather than
     * refuse a key for others' traffic. The bound keeps memory finite. */
    if (b == NULL)
        return 0;
    pub_rate_refill(r, b, now);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 0;
    }
    wait = ceil((1 - b->tokens) / r->rate);
    return wait < 1 ? 1 : (long)wait;
}
