/*
 * lg_hist.c - the load generator's latency histogram: log buckets with
 * 2^(LG_HIST_SUB_BITS-1) linear sub-buckets per power of two, as in
 * HdrHistogram, so p99 of a million samples costs a few KiB and no sort.
 */
#include <string.h>

#include "lg.h"

static unsigned
hist_index(uint64_t v)
{
    unsigned msb, shift;

    if (v < 2 * LG_HIST_HALF)
        return (unsigned)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - (LG_HIST_SUB_BITS - 1);
    /* mantissa (v >> shift) lies in [HALF, 2*HALF) */
    return shift * LG_HIST_HALF + (unsigned)(v >> shift);
}

/* Largest value that lands in bucket i. */
static uint64_t
hist_upper(unsigned i)
{
    unsigned shift;
    uint64_t mant;

    if (i < 2 * LG_HIST_HALF)
        return i;
    shift = i / LG_HIST_HALF - 1;
    mant = i - (uint64_t)shift * LG_HIST_HALF;
    return (mant << shift) + ((uint64_t)1 << shift) - 1;
}

void
lg_hist_init(struct lg_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void
lg_hist_record(struct lg_hist *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
    if (v < h->min)
        h->min = v;
}

uint64_t
lg_hist_quantile(const struct lg_hist *h, double q)
{
    uint64_t want, seen = 0;
    unsigned i;

    if (h->total == 0)
        return 0;
    want = (uint64_t)(q * (double)h->total);
    if ((double)want < q * (double)h->total)
        want++; /* ceil: the smallest rank covering q */
    if (want == 0)
        want = 1;
    for (i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t up = hist_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}
