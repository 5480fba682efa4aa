/*
 * test_metrics.c - cm_metrics: the exact Prometheus text of counters,
 * gauges, gauge functions and histograms (cumulative buckets, _sum,
 * _count), HELP/TYPE once per name, service/node labels on every series.
 */
#include "cm_metrics.h"
#include "t.h"

#include <event2/buffer.h>
#include <stdlib.h>

static double
answer(void *arg)
{
    return *(double *)arg;
}

int
main(void)
{
    struct cm_metrics *m = cm_metrics_new("gateway", "n\"1");
    struct cm_counter *c1 =
        cm_metrics_counter(m, "sse_x_total", "route=\"/a\"", "X count");
    struct cm_counter *c2 =
        cm_metrics_counter(m, "sse_x_total", "route=\"/b\"", "ignored");
    T_CHECK(c1 != NULL && c2 != NULL && c1 != c2);
    T_CHECK(cm_metrics_counter(m, "sse_x_total", "route=\"/a\"", NULL) == c1);
    T_CHECK(cm_metrics_gauge(m, "sse_x_total", NULL, "type clash") == NULL);
    cm_counter_inc(c1);
    cm_counter_add(c1, 41);
    struct cm_gauge *g = cm_metrics_gauge(m, "sse_conns", NULL, "Conns");
    cm_gauge_set(g, 5);
    cm_gauge_add(g, -2);
    double v = 2.5;
    T_EQ_INT(cm_metrics_gauge_fn(m, "sse_fn", NULL, "Fn", answer, &v), 0);
    const double bounds[] = {0.1, 1};
    struct cm_histogram *h =
        cm_metrics_histogram(m, "sse_lat_seconds", NULL, "Lat", bounds, 2);
    cm_histogram_observe(h, 0.05);
    cm_histogram_observe(h, 0.1);
    cm_histogram_observe(h, 0.5);
    cm_histogram_observe(h, 3);
    v = 7;

    struct evbuffer *out = evbuffer_new();
    T_EQ_INT(cm_metrics_render(m, out), 0);
    size_t len = evbuffer_get_length(out);
    char *text = calloc(1, len + 1);
    evbuffer_remove(out, text, len);
    const char *want =
        "# HELP sse_x_total X count\n"
        "# TYPE sse_x_total counter\n"
        "sse_x_total{service=\"gateway\",node=\"n\\\"1\",route=\"/a\"} 42\n"
        "sse_x_total{service=\"gateway\",node=\"n\\\"1\",route=\"/b\"} 0\n"
        "# HELP sse_conns Conns\n"
        "# TYPE sse_conns gauge\n"
        "sse_conns{service=\"gateway\",node=\"n\\\"1\"} 3\n"
        "# HELP sse_fn Fn\n"
        "# TYPE sse_fn gauge\n"
        "sse_fn{service=\"gateway\",node=\"n\\\"1\"} 7\n"
        "# HELP sse_lat_seconds Lat\n"
        "# TYPE sse_lat_seconds histogram\n"
        "sse_lat_seconds_bucket{service=\"gateway\",node=\"n\\\"1\","
        "le=\"0.1\"} 2\n"
        "sse_lat_seconds_bucket{service=\"gateway\",node=\"n\\\"1\","
        "le=\"1\"} 3\n"
        "sse_lat_seconds_bucket{service=\"gateway\",node=\"n\\\"1\","
        "le=\"+Inf\"} 4\n"
        "sse_lat_seconds_sum{service=\"gateway\",node=\"n\\\"1\"} 3.65\n"
        "sse_lat_seconds_count{service=\"gateway\",node=\"n\\\"1\"} 4\n";
    T_EQ_STR(text, want);
    free(text);

    /* default buckets: 100 us .. 10 s */
    struct cm_histogram *d =
        cm_metrics_histogram(m, "sse_d_seconds", "k=\"v\"", "D", NULL, 0);
    cm_histogram_observe(d, 20);
    T_EQ_INT(cm_metrics_render(m, out), 0);
    len = evbuffer_get_length(out);
    text = calloc(1, len + 1);
    evbuffer_remove(out, text, len);
    T_CHECK(strstr(text,
                   "sse_d_seconds_bucket{service=\"gateway\",node=\"n\\\"1\","
                   "k=\"v\",le=\"0.0001\"} 0\n") != NULL);
    T_CHECK(strstr(text, ",k=\"v\",le=\"10\"} 0\n") != NULL);
    T_CHECK(strstr(text, ",k=\"v\",le=\"+Inf\"} 1\n") != NULL);
    T_CHECK(strstr(text, "# TYPE sse_d_seconds histogram\n") != NULL);
    /* HELP once per name even with two series */
    T_CHECK(strstr(strstr(text, "# HELP sse_x_total") + 1,
                   "# HELP sse_x_total") == NULL);
    free(text);
    evbuffer_free(out);

    double t0 = cm_now_mono();
    T_CHECK(t0 > 0 && cm_now_mono() >= t0);
    cm_metrics_free(m);
    return t_done("metrics");
}
