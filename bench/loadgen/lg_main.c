/*
 * lg_main.c - sse-loadgen's options, phases and report. Phases: connect
 * every subscriber (bounded handshakes in flight), then publish at --rate
 * for --seconds (or, with --rate 0, hold the idle connections), drain, and
 * print one JSON line on stdout. "READY <n>" goes to stderr once all
 * clients are in (bench/run reads server memory at that moment).
 */
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <event2/util.h>

#include "lg.h"

#define LG_TICK_US 1000

uint64_t
lg_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
lg_note_error(struct lg_ctx *ctx, const char *what)
{
    size_t i;

    if (ctx->first_error[0] != '\0')
        return;
    snprintf(ctx->first_error, sizeof(ctx->first_error), "%s", what);
    for (i = 0; ctx->first_error[i] != '\0'; i++) /* keep the JSON plain */
        if (ctx->first_error[i] == '"' || ctx->first_error[i] == '\\' ||
            (unsigned char)ctx->first_error[i] < 0x20)
            ctx->first_error[i] = '\'';
}

static double
cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
usage(FILE *f)
{
    fprintf(
        f, "usage: sse-loadgen [options]\n"
           "  --url URL              gateway base (http://127.0.0.1:8080)\n"
           "  --publish-url URL      REST publish endpoint\n"
           "                         "
           "(http://127.0.0.1:8081/v1/publishers/events/publish)\n"
           "  --key KEY              listen key (env SSE_BENCH_KEY)\n"
           "  --publish-key KEY      publish key (env SSE_BENCH_PUBLISH_KEY)\n"
           "  --clients N            subscribers (1000)\n"
           "  --rate R               events/s; 0 holds idle connections (100)\n"
           "  --seconds S            publishing or holding time (10)\n"
           "  --sources A-B          source range, e.g. 127.0.0.2-127.0.0.9\n"
           "  --channel NAME         channel (bench)\n"
           "  --token JWT            channel token (private channels)\n"
           "  --drain S              wait for late deliveries (3)\n"
           "  --connect-timeout S    all clients ready within (60)\n"
           "  --connect-concurrency N handshakes in flight (200)\n"
           "  --pub-conns N          publisher keep-alive connections (8)\n"
           "Prints one JSON line of results on stdout.\n");
}

/* "http://host:port[/path]" -> address, "host:port", path. */
static int
parse_url(const char *url, struct sockaddr_in *sa, char *host, size_t hcap,
          char *path, size_t pcap)
{
    const char *p = url, *slash;
    int len = (int)sizeof(*sa);

    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    slash = strchr(p, '/');
    snprintf(host, hcap, "%.*s", (int)(slash ? slash - p : (long)strlen(p)), p);
    if (path != NULL)
        snprintf(path, pcap, "%s", slash ? slash : "/");
    memset(sa, 0, sizeof(*sa));
    if (evutil_parse_sockaddr_port(host, (struct sockaddr *)sa, &len) != 0 ||
        sa->sin_family != AF_INET)
        return -1;
    if (sa->sin_port == 0)
        sa->sin_port = htons(80);
    return 0;
}

/* "127.0.0.2-127.0.0.9" or a single address. */
static int
parse_sources(struct lg_opts *o, const char *s)
{
    char a[32], b[32];
    const char *dash = strchr(s, '-');
    struct in_addr lo, hi;
    uint32_t i;

    snprintf(a, sizeof(a), "%.*s", (int)(dash ? dash - s : (long)strlen(s)), s);
    snprintf(b, sizeof(b), "%s", dash ? dash + 1 : a);
    if (inet_pton(AF_INET, a, &lo) != 1 || inet_pton(AF_INET, b, &hi) != 1)
        return -1;
    if (ntohl(hi.s_addr) < ntohl(lo.s_addr) ||
        ntohl(hi.s_addr) - ntohl(lo.s_addr) >= LG_MAX_SOURCES)
        return -1;
    o->nsources = 0;
    for (i = ntohl(lo.s_addr); i <= ntohl(hi.s_addr); i++)
        o->sources[o->nsources++].s_addr = htonl(i);
    return 0;
}

static void
opts_defaults(struct lg_opts *o)
{
    const char *env;

    snprintf(o->url, sizeof(o->url), "http://127.0.0.1:8080");
    snprintf(o->publish_url, sizeof(o->publish_url),
             "http://127.0.0.1:8081/v1/publishers/events/publish");
    snprintf(o->key, sizeof(o->key), "%s",
             (env = getenv("SSE_BENCH_KEY")) ? env : "");
    snprintf(o->publish_key, sizeof(o->publish_key), "%s",
             (env = getenv("SSE_BENCH_PUBLISH_KEY")) ? env : "");
    snprintf(o->channel, sizeof(o->channel), "bench");
    o->clients = 1000;
    o->rate = 100;
    o->seconds = 10;
    o->drain = 3;
    o->connect_timeout = 60;
    o->connect_concurrency = 200;
    o->pub_conns = 8;
}

static int
parse_opts(struct lg_ctx *ctx, int argc, char **argv)
{
    static const struct option lo[] = {{"url", 1, 0, 'u'},
                                       {"publish-url", 1, 0, 'P'},
                                       {"key", 1, 0, 'k'},
                                       {"publish-key", 1, 0, 'K'},
                                       {"clients", 1, 0, 'c'},
                                       {"rate", 1, 0, 'r'},
                                       {"seconds", 1, 0, 's'},
                                       {"sources", 1, 0, 'S'},
                                       {"channel", 1, 0, 'C'},
                                       {"token", 1, 0, 'T'},
                                       {"drain", 1, 0, 'd'},
                                       {"connect-timeout", 1, 0, 't'},
                                       {"connect-concurrency", 1, 0, 'n'},
                                       {"pub-conns", 1, 0, 'p'},
                                       {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    struct lg_opts *o = &ctx->o;
    int ch;

    opts_defaults(o);
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'u':
            snprintf(o->url, sizeof(o->url), "%s", optarg);
            break;
        case 'P':
            snprintf(o->publish_url, sizeof(o->publish_url), "%s", optarg);
            break;
        case 'k':
            snprintf(o->key, sizeof(o->key), "%s", optarg);
            break;
        case 'K':
            snprintf(o->publish_key, sizeof(o->publish_key), "%s", optarg);
            break;
        case 'c':
            o->clients = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            o->rate = strtod(optarg, NULL);
            break;
        case 's':
            o->seconds = strtod(optarg, NULL);
            break;
        case 'S':
            if (parse_sources(o, optarg) != 0) {
                fprintf(stderr, "sse-loadgen: bad --sources %s\n", optarg);
                return -1;
            }
            break;
        case 'C':
            snprintf(o->channel, sizeof(o->channel), "%s", optarg);
            break;
        case 'T':
            snprintf(o->token, sizeof(o->token), "%s", optarg);
            break;
        case 'd':
            o->drain = strtod(optarg, NULL);
            break;
        case 't':
            o->connect_timeout = strtod(optarg, NULL);
            break;
        case 'n':
            o->connect_concurrency = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o->pub_conns = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (o->clients == 0 || o->rate < 0 || o->seconds <= 0 ||
        o->connect_concurrency == 0 || o->pub_conns == 0) {
        fprintf(stderr, "sse-loadgen: bad numeric option\n");
        return -1;
    }
    if (parse_url(o->url, &ctx->ws_addr, ctx->ws_host, sizeof(ctx->ws_host),
                  NULL, 0) != 0 ||
        parse_url(o->publish_url, &ctx->pub_addr, ctx->pub_host,
                  sizeof(ctx->pub_host), ctx->pub_path,
                  sizeof(ctx->pub_path)) != 0) {
        fprintf(stderr,
                "sse-loadgen: --url/--publish-url want http://IPv4:port\n");
        return -1;
    }
    return 0;
}

/* Loss and duplicates over every client that joined: an event answered
 * 2xx and not seen by a member is lost for that member. */
static void
tally(struct lg_ctx *ctx, uint64_t *lost, unsigned *lossy, uint64_t *maxlost,
      uint64_t *dups)
{
    unsigned i;
    uint64_t b, nbytes = (ctx->seq_cap + 7) / 8;

    *lost = *dups = *maxlost = 0;
    *lossy = 0;
    for (i = 0; i < ctx->o.clients; i++) {
        struct lg_client *c = &ctx->clients[i];
        uint64_t l = 0;
        if (c->seen == NULL)
            continue;
        for (b = 0; b < nbytes; b++)
            l += (uint64_t)__builtin_popcount(ctx->pub_ok[b] & ~c->seen[b]);
        *lost += l;
        *lossy += l > 0;
        if (l > *maxlost)
            *maxlost = l;
        *dups += c->duplicates;
    }
}

static void
report(struct lg_ctx *ctx, double connect_s, double cpu_s, double wall_s)
{
    uint64_t lost = 0, maxlost = 0, dups = 0;
    unsigned lossy = 0;
    double span = ctx->t_last_delivery > ctx->t_pub_start
                      ? (double)(ctx->t_last_delivery - ctx->t_pub_start) / 1e9
                      : 0;

    if (ctx->o.rate > 0)
        tally(ctx, &lost, &lossy, &maxlost, &dups);
    printf("{\"tool\":\"sse-loadgen\",\"clients\":%u,\"ready\":%u,"
           "\"connect_errors\":%u,\"disconnects\":%u,\"connect_s\":%.3f,"
           "\"rate\":%.1f,\"seconds\":%.1f,\"published\":%" PRIu64
           ",\"publish_ok\":%" PRIu64 ",\"publish_errors\":%" PRIu64
           ",\"publish_lag_max\":%" PRIu64
           ",\"publish_reconnects\":%u,\"deliveries\":%" PRIu64
           ",\"expected\":%" PRIu64 ",\"deliveries_per_s\":%.1f,"
           "\"lost\":%" PRIu64 ",\"clients_with_loss\":%u,"
           "\"max_lost_per_client\":%" PRIu64 ",\"duplicates\":%" PRIu64
           ",\"bad_messages\":%" PRIu64 ",\"removed\":%" PRIu64
           ",\"latency_us\":{\"p50\":%.1f,"
           "\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
           "\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_pct\":%.1f,"
           "\"first_error\":\"%s\"}\n",
           ctx->o.clients, ctx->ready, ctx->connect_errors, ctx->disconnects,
           connect_s, ctx->o.rate, ctx->o.seconds, ctx->pub_sent,
           ctx->pub_ok_count, ctx->pub_errors, ctx->pub_lag_max,
           ctx->pub_reconnects, ctx->deliveries,
           ctx->pub_ok_count * (uint64_t)ctx->armed,
           span > 0 ? (double)ctx->deliveries / span : 0, lost, lossy, maxlost,
           dups, ctx->bad_messages, ctx->removed,
           lg_hist_quantile(&ctx->hist, 0.50) / 1e3,
           lg_hist_quantile(&ctx->hist, 0.90) / 1e3,
           lg_hist_quantile(&ctx->hist, 0.99) / 1e3, ctx->hist.max / 1e3, cpu_s,
           wall_s > 0 ? 100.0 * cpu_s / wall_s : 0, ctx->first_error);
    fflush(stdout);
}

/* Phase state of the tick, kept in one struct next to the context. */
struct lg_run {
    struct lg_ctx *ctx;
    int phase; /* 0 connect, 1 publish/hold, 2 drain, 3 done */
    uint64_t t0, t_phase;
    double connect_s, cpu0;
};

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct lg_run *r = arg;
    struct lg_ctx *ctx = r->ctx;
    uint64_t now = lg_now_ns();
    double since = (double)(now - r->t_phase) / 1e9;

    if (r->phase == 0) {
        if (ctx->ready + ctx->dead < ctx->o.clients &&
            since < ctx->o.connect_timeout)
            return;
        r->connect_s = since;
        fprintf(stderr, "READY %u\n", ctx->ready);
        if (lg_clients_arm(ctx) != 0) {
            lg_note_error(ctx, "out of memory for bitmaps");
            r->phase = 3;
            event_base_loopbreak(ctx->base);
            return;
        }
        /* publisher connections open now, not before the (long) connect
         * phase: a server may close keep-alives idle that long */
        if (ctx->o.rate > 0 && lg_pub_start(ctx) != 0) {
            lg_note_error(ctx, "cannot open publisher connections");
            r->phase = 3;
            event_base_loopbreak(ctx->base);
            return;
        }
        r->phase = 1;
        r->t_phase = now;
        r->cpu0 = cpu_seconds();
        ctx->t_pub_start = now;
        ctx->publishing = ctx->o.rate > 0;
    } else if (r->phase == 1) {
        lg_pub_tick(ctx);
        /* bounded in time even when the publisher cannot get its events
         * out (a dead server): the report says how many were sent */
        if (ctx->o.rate > 0 ? ctx->pub_sent < ctx->pub_total &&
                                  since < ctx->o.seconds + ctx->o.drain
                            : since < ctx->o.seconds)
            return;
        if (ctx->pub_sent < ctx->pub_total)
            lg_note_error(ctx, "publisher fell behind the schedule");
        r->phase = 2;
        r->t_phase = now;
    } else if (r->phase == 2) {
        uint64_t want = ctx->pub_ok_count * (uint64_t)ctx->ready;
        if ((lg_pub_inflight(ctx) > 0 || ctx->deliveries < want) &&
            since < ctx->o.drain && ctx->o.rate > 0)
            return;
        r->phase = 3;
        event_base_loopbreak(ctx->base);
    }
}

/* SIGINT/SIGTERM: stop and still print what was measured. */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct lg_ctx *ctx = arg;

    lg_note_error(ctx, "interrupted");
    event_base_loopbreak(ctx->base);
}

int
main(int argc, char **argv)
{
    struct event *sigs[2];
    static struct lg_ctx ctx; /* big (histogram): not on the stack */
    struct lg_run run = {.ctx = &ctx};
    struct rlimit rl;
    struct timeval tv = {0, LG_TICK_US};
    uint64_t t_start;

    lg_hist_init(&ctx.hist);
    if (parse_opts(&ctx, argc, argv) != 0)
        return 2;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* one fd per client */
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    ctx.rng = (uint32_t)lg_now_ns() | 1u;
    ctx.pub_total = (uint64_t)ceil(ctx.o.rate * ctx.o.seconds);
    ctx.seq_cap = ctx.pub_total + 1;
    {
        /* timerfd: a 1 ms tick that is 1 ms, not the next epoll ms */
        struct event_config *cfg = event_config_new();
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        ctx.base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    ctx.clients = calloc(ctx.o.clients, sizeof(*ctx.clients));
    if (ctx.base == NULL || ctx.clients == NULL)
        return 1;
    for (unsigned i = 0; i < ctx.o.clients; i++) {
        ctx.clients[i].ctx = &ctx;
        ctx.clients[i].idx = i;
    }
    t_start = lg_now_ns();
    run.t0 = run.t_phase = t_start;
    ctx.tick = event_new(ctx.base, -1, EV_PERSIST, on_tick, &run);
    event_add(ctx.tick, &tv);
    sigs[0] = evsignal_new(ctx.base, SIGINT, on_signal, &ctx);
    sigs[1] = evsignal_new(ctx.base, SIGTERM, on_signal, &ctx);
    event_add(sigs[0], NULL);
    event_add(sigs[1], NULL);
    lg_clients_pump(&ctx);
    event_base_dispatch(ctx.base);
    report(&ctx, run.connect_s, cpu_seconds() - run.cpu0,
           (double)(lg_now_ns() - ctx.t_pub_start) / 1e9);
    event_free(ctx.tick);
    event_free(sigs[0]);
    event_free(sigs[1]);
    lg_pub_free(&ctx);
    lg_clients_free(&ctx);
    event_base_free(ctx.base);
    return ctx.ready > 0 ? 0 : 1;
}
