/*
 * cm_service.c - see cm_service.h.
 */
#include "cm_service.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "cm_log.h"

int
cm_service_start(const struct cm_conf_spec *spec, void *svc,
                 struct cm_conf_common *common, int argc, char **argv,
                 const char *service,
                 void (*resolve)(void *svc,
                                 const struct cm_conf_common *common))
{
    char err[256] = "";
    int rc = cm_config_load(spec, svc, common, argc, argv, err, sizeof err);

    if (rc == 0 && cm_log_init(service, common->node_id, common->log_level,
                               common->log_format) != 0) {
        snprintf(err, sizeof err, "SSE_LOG_LEVEL/SSE_LOG_FORMAT: unknown");
        rc = -1;
    }
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "%s: %s\n", spec->program, err);
        cm_config_free(spec, svc, common);
        return rc;
    }
    const char *secrets[] = {common->admin_token, common->internal_token,
                             common->master_key, common->master_key_previous};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (secrets[i] != NULL)
            cm_log_secret(secrets[i]);
    if (resolve != NULL)
        resolve(svc, common);
    cm_config_log(spec, svc, common);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void
cm_signals_cb(evutil_socket_t sig, short what, void *arg)
{
    struct cm_signals *s = arg;

    (void)what;
    if (s->seen++ > 0) {
        cm_warn("second signal: stopping now", KV_I("signal", sig));
        event_base_loopbreak(event_get_base(s->term));
        return;
    }
    s->drain((int)sig, s->arg);
}

int
cm_signals_init(struct cm_signals *s, struct event_base *base,
                void (*drain)(int sig, void *arg), void *arg)
{
    memset(s, 0, sizeof *s);
    s->drain = drain;
    s->arg = arg;
    s->term = evsignal_new(base, SIGTERM, cm_signals_cb, s);
    s->intr = evsignal_new(base, SIGINT, cm_signals_cb, s);
    if (s->term == NULL || s->intr == NULL || evsignal_add(s->term, NULL) ||
        evsignal_add(s->intr, NULL)) {
        cm_signals_free(s);
        return -1;
    }
    return 0;
}

void
cm_signals_free(struct cm_signals *s)
{
    if (s->term != NULL)
        event_free(s->term);
    if (s->intr != NULL)
        event_free(s->intr);
    s->term = s->intr = NULL;
}
