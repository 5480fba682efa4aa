/*
 * tw_clock.c - the worker's wall clock. Queue scores, leases and key
 * expiry are Unix times shared with other processes, so this is the real
 * time of day, not a monotonic clock (latencies use cm_now_mono).
 */
#include <sys/time.h>

#include "tw.h"

int64_t
tw_now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
