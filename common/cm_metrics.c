/*
 * cm_metrics.c - the process's metric registry and its Prometheus text
 * rendering (version 0.0.4): families in creation order, HELP/TYPE once per
 * name, service and node labels on every series, histograms with cumulative
 * buckets, _sum and _count. Not thread-safe: one event loop owns it.
 */
#include "cm_metrics.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>

enum cm_metric_type { CM_M_COUNTER, CM_M_GAUGE, CM_M_HISTOGRAM };

static const double cm_default_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,
};

struct cm_series {
    TAILQ_ENTRY(cm_series) link;
    char *labels; /* "" or the inside of the braces */
    uint64_t count;
    double value;
    double (*fn)(void *arg);
    void *fn_arg;
    /* histograms */
    size_t nb;
    double *bounds;
    uint64_t *buckets; /* per bucket, not cumulative; [nb] is +Inf */
    double sum;
};

struct cm_family {
    TAILQ_ENTRY(cm_family) link;
    char *name, *help;
    enum cm_metric_type type;
    TAILQ_HEAD(, cm_series) series;
};

struct cm_metrics {
    char *base_labels; /* service="...",node="..." */
    TAILQ_HEAD(, cm_family) families;
};

/* The series handles are the same struct; the types only keep callers
 * from mixing them up. */
struct cm_counter {
    struct cm_series s;
};
struct cm_gauge {
    struct cm_series s;
};
struct cm_histogram {
    struct cm_series s;
};

/* Label value escaping of the exposition format: \ " and newline. */
static size_t
escape_label(const char *in, char *out)
{
    size_t o = 0;
    for (; *in; in++) {
        if (*in == '\\' || *in == '"' || *in == '\n') {
            if (out)
                out[o] = '\\';
            o++;
        }
        if (out)
            out[o] = *in == '\n' ? 'n' : *in;
        o++;
    }
    return o;
}

struct cm_metrics *
cm_metrics_new(const char *service, const char *node_id)
{
    struct cm_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    size_t n = escape_label(service, NULL) + escape_label(node_id, NULL) + 32;
    m->base_labels = malloc(n);
    if (m->base_labels == NULL) {
        free(m);
        return NULL;
    }
    char *p = m->base_labels;
    p += sprintf(p, "service=\"");
    p += escape_label(service, p);
    p += sprintf(p, "\",node=\"");
    p += escape_label(node_id, p);
    strcpy(p, "\"");
    TAILQ_INIT(&m->families);
    return m;
}

static void
series_free(struct cm_series *s)
{
    free(s->labels);
    free(s->bounds);
    free(s->buckets);
    free(s);
}

void
cm_metrics_free(struct cm_metrics *m)
{
    if (m == NULL)
        return;
    struct cm_family *f;
    while ((f = TAILQ_FIRST(&m->families)) != NULL) {
        struct cm_series *s;
        while ((s = TAILQ_FIRST(&f->series)) != NULL) {
            TAILQ_REMOVE(&f->series, s, link);
            series_free(s);
        }
        TAILQ_REMOVE(&m->families, f, link);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(m->base_labels);
    free(m);
}

static struct cm_family *
family_get(struct cm_metrics *m, const char *name, const char *help,
           enum cm_metric_type type)
{
    struct cm_family *f;
    TAILQ_FOREACH(f, &m->families, link)
    if (strcmp(f->name, name) == 0)
        return f->type == type ? f : NULL;
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : name);
    if (f->name == NULL || f->help == NULL) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    f->type = type;
    TAILQ_INIT(&f->series);
    TAILQ_INSERT_TAIL(&m->families, f, link);
    return f;
}

/* Get or create; *created says which. */
static struct cm_series *
series_get(struct cm_metrics *m, const char *name, const char *labels,
           const char *help, enum cm_metric_type type, int *created)
{
    struct cm_family *f = family_get(m, name, help, type);
    if (f == NULL)
        return NULL;
    if (labels == NULL)
        labels = "";
    struct cm_series *s;
    *created = 0;
    TAILQ_FOREACH(s, &f->series, link)
    if (strcmp(s->labels, labels) == 0)
        return s;
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->labels = strdup(labels)) == NULL) {
        free(s);
        return NULL;
    }
    TAILQ_INSERT_TAIL(&f->series, s, link);
    *created = 1;
    return s;
}

struct cm_counter *
cm_metrics_counter(struct cm_metrics *m, const char *name, const char *labels,
                   const char *help)
{
    int created;
    return (struct cm_counter *)series_get(m, name, labels, help, CM_M_COUNTER,
                                           &created);
}

struct cm_gauge *
cm_metrics_gauge(struct cm_metrics *m, const char *name, const char *labels,
                 const char *help)
{
    int created;
    return (struct cm_gauge *)series_get(m, name, labels, help, CM_M_GAUGE,
                                         &created);
}

int
cm_metrics_gauge_fn(struct cm_metrics *m, const char *name, const char *labels,
                    const char *help, double (*fn)(void *arg), void *arg)
{
    int created;
    struct cm_series *s =
        series_get(m, name, labels, help, CM_M_GAUGE, &created);
    if (s == NULL)
        return -1;
    s->fn = fn;
    s->fn_arg = arg;
    return 0;
}

struct cm_histogram *
cm_metrics_histogram(struct cm_metrics *m, const char *name, const char *labels,
                     const char *help, const double *bounds, size_t n)
{
    int created;
    struct cm_series *s =
        series_get(m, name, labels, help, CM_M_HISTOGRAM, &created);
    if (s == NULL || !created)
        return (struct cm_histogram *)s;
    if (bounds == NULL) {
        bounds = cm_default_bounds;
        n = sizeof cm_default_bounds / sizeof cm_default_bounds[0];
    }
    s->nb = n;
    s->bounds = malloc(n ? n * sizeof(double) : 1);
    s->buckets = calloc(n + 1, sizeof(uint64_t));
    if (s->bounds == NULL || s->buckets == NULL) {
        /* leave it usable as an empty histogram: observe checks nb */
        free(s->bounds);
        free(s->buckets);
        s->bounds = NULL;
        s->buckets = NULL;
        s->nb = 0;
        return NULL;
    }
    memcpy(s->bounds, bounds, n * sizeof(double));
    return (struct cm_histogram *)s;
}

void
cm_counter_add(struct cm_counter *c, uint64_t n)
{
    if (c)
        c->s.count += n;
}

void
cm_gauge_set(struct cm_gauge *g, double v)
{
    if (g)
        g->s.value = v;
}

void
cm_gauge_add(struct cm_gauge *g, double d)
{
    if (g)
        g->s.value += d;
}

void
cm_histogram_observe(struct cm_histogram *h, double seconds)
{
    if (h == NULL || h->s.buckets == NULL)
        return;
    size_t i = 0;
    while (i < h->s.nb && seconds > h->s.bounds[i])
        i++;
    h->s.buckets[i]++;
    h->s.count++;
    h->s.sum += seconds;
}

/* name{base,labels[,extra]} */
static int
put_series_name(struct evbuffer *out, const char *base, const char *name,
                const char *suffix, const char *labels, const char *extra)
{
    return evbuffer_add_printf(out, "%s%s{%s%s%s%s%s} ", name, suffix, base,
                               labels[0] ? "," : "", labels, extra ? "," : "",
                               extra ? extra : "") < 0
               ? -1
               : 0;
}

static int
render_histogram(struct evbuffer *out, const char *base, const char *name,
                 const struct cm_series *s)
{
    uint64_t cum = 0;
    char le[48];
    for (size_t i = 0; i <= s->nb; i++) {
        cum += s->buckets ? s->buckets[i] : 0;
        if (i < s->nb)
            snprintf(le, sizeof le, "le=\"%g\"", s->bounds[i]);
        else
            snprintf(le, sizeof le, "le=\"+Inf\"");
        if (put_series_name(out, base, name, "_bucket", s->labels, le) != 0 ||
            evbuffer_add_printf(out, "%llu\n", (unsigned long long)cum) < 0)
            return -1;
    }
    if (put_series_name(out, base, name, "_sum", s->labels, NULL) != 0 ||
        evbuffer_add_printf(out, "%.9g\n", s->sum) < 0 ||
        put_series_name(out, base, name, "_count", s->labels, NULL) != 0 ||
        evbuffer_add_printf(out, "%llu\n", (unsigned long long)s->count) < 0)
        return -1;
    return 0;
}

int
cm_metrics_render(struct cm_metrics *m, struct evbuffer *out)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    struct cm_family *f;
    TAILQ_FOREACH(f, &m->families, link)
    {
        if (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name,
                                f->help, f->name, types[f->type]) < 0)
            return -1;
        struct cm_series *s;
        TAILQ_FOREACH(s, &f->series, link)
        {
            int rc = 0;
            if (f->type == CM_M_HISTOGRAM) {
                rc = render_histogram(out, m->base_labels, f->name, s);
            } else if (put_series_name(out, m->base_labels, f->name, "",
                                       s->labels, NULL) != 0) {
                rc = -1;
            } else if (f->type == CM_M_COUNTER) {
                rc = evbuffer_add_printf(out, "%llu\n",
                                         (unsigned long long)s->count) < 0;
            } else {
                double v = s->fn ? s->fn(s->fn_arg) : s->value;
                rc = evbuffer_add_printf(out, "%.15g\n", v) < 0;
            }
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

double
cm_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
