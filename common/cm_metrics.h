/*
 * cm_metrics.h - counters, gauges and histograms of one process, rendered
 * in the Prometheus text exposition format. A registry per process (no
 * global); callers look a series up once and keep the pointer.
 */
#ifndef SSE_CM_METRICS_H
#define SSE_CM_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct cm_metrics;
struct cm_counter;
struct cm_gauge;
struct cm_histogram;

/* service and node become labels on every series. */
struct cm_metrics *cm_metrics_new(const char *service, const char *node_id);
void cm_metrics_free(struct cm_metrics *m);

/*
 * Get or create a series. name: "sse_events_out_total"; labels: NULL or
 * the inside of the braces, 'route="/v1/x",status="201"'. help is used on
 * creation. Returns NULL only on allocation failure; the pointer stays
 * valid until cm_metrics_free().
 */
struct cm_counter *cm_metrics_counter(struct cm_metrics *m, const char *name,
                                      const char *labels, const char *help);
struct cm_gauge *cm_metrics_gauge(struct cm_metrics *m, const char *name,
                                  const char *labels, const char *help);
/* bounds: upper bounds in seconds, ascending; NULL for the default latency
 * buckets (100 us .. 10 s). */
struct cm_histogram *cm_metrics_histogram(struct cm_metrics *m,
                                          const char *name, const char *labels,
                                          const char *help,
                                          const double *bounds, size_t n);

/* A gauge whose value is read at render time. */
int cm_metrics_gauge_fn(struct cm_metrics *m, const char *name,
                        const char *labels, const char *help,
                        double (*fn)(void *arg), void *arg);

void cm_counter_add(struct cm_counter *c, uint64_t n);
#define cm_counter_inc(c) cm_counter_add((c), 1)
void cm_gauge_set(struct cm_gauge *g, double v);
void cm_gauge_add(struct cm_gauge *g, double d);
void cm_histogram_observe(struct cm_histogram *h, double seconds);

/* Append the exposition text. Returns 0 or -1. */
int cm_metrics_render(struct cm_metrics *m, struct evbuffer *out);

/* Monotonic clock in seconds, for latencies. */
double cm_now_mono(void);

#endif
