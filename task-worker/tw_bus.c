/*
 * tw_bus.c - the event bus: one table from event type to saga. Adding an
 * event kind is one row here and one saga; the intake and the sweeper
 * never call a saga directly.
 */
#include <string.h>

#include "tw.h"
#include "tw_bus.h"
#include "tw_saga.h"

typedef int (*tw_saga_fn)(struct tw_ctx *ctx, const struct tw_event *ev,
                          tw_job_cb cb, void *arg);

static const struct {
    const char *name;
    tw_saga_fn saga;
} tw_routes[TW_EV_NTYPES] = {
    [TW_EV_API_KEY_DELETED] = {"ApiKeyDeleted", tw_saga_reject_api_key},
    [TW_EV_API_KEY_EXPIRED] = {"ApiKeyExpired", tw_saga_reject_api_key},
};

int
tw_event_type_parse(const char *name)
{
    for (int i = 0; i < TW_EV_NTYPES; i++)
        if (strcmp(tw_routes[i].name, name) == 0)
            return i;
    return -1;
}

const char *
tw_event_type_name(enum tw_event_type type)
{
    if ((unsigned)type >= TW_EV_NTYPES)
        return "unknown";
    return tw_routes[type].name;
}

int
tw_kid_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TW_KID_MAX)
        return 0;
    /* These ids end up inside Redis key names and '|'-separated members. */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int
tw_bus_dispatch(struct tw_ctx *ctx, const struct tw_event *ev, tw_job_cb cb,
                void *arg)
{
    if ((unsigned)ev->type >= TW_EV_NTYPES || tw_routes[ev->type].saga == NULL)
        return -1;
    return tw_routes[ev->type].saga(ctx, ev, cb, arg);
}
