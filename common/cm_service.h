/*
 * cm_service.h - the start and stop every sse process shares: settings,
 * logger and secret registration in one call, and SIGTERM/SIGINT handling
 * (the first signal starts the process's own drain, a second one ends the
 * loop at once). What each process does to drain stays its own.
 */
#ifndef SSE_CM_SERVICE_H
#define SSE_CM_SERVICE_H

#include "cm_config.h"

struct event_base;
struct event;

/*
 * Load spec's settings (cm_config_load), set up the logger for service
 * ("gateway"), register the tokens and master keys as secrets the logger
 * never prints, let resolve (may be NULL) derive settings from others,
 * log the effective configuration, and ignore SIGPIPE (a peer gone
 * mid-write is an error return, not a death).
 * Returns 0 to go on; 1 when --help or --version was printed (exit 0);
 * -1 after printing the error to stderr (exit 2). On a non-zero return the
 * settings are already freed.
 */
int cm_service_start(const struct cm_conf_spec *spec, void *svc,
                     struct cm_conf_common *common, int argc, char **argv,
                     const char *service,
                     void (*resolve)(void *svc,
                                     const struct cm_conf_common *common));

struct cm_signals {
    struct event *term;
    struct event *intr;
    void (*drain)(int sig, void *arg);
    void *arg;
    int seen;
};

/*
 * Watch SIGTERM and SIGINT on base: the first calls drain(sig, arg), a
 * second breaks the loop. s is the caller's storage. Returns 0 or -1.
 */
int cm_signals_init(struct cm_signals *s, struct event_base *base,
                    void (*drain)(int sig, void *arg), void *arg);
void cm_signals_free(struct cm_signals *s);

#endif
