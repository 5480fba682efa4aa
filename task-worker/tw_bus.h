/*
 * tw_bus.h - the event bus of the revocation pipeline (after NestJS CQRS's
 * EventBus): an event in, dispatched to the sagas registered for its type.
 * It decides nothing itself; the saga turns the event into a command.
 */
#ifndef SSE_TW_BUS_H
#define SSE_TW_BUS_H

#include "cm_store.h"

struct tw_ctx;

/* Longest API key record id accepted from outside (cm_job's field). */
#define TW_KID_MAX 31

enum tw_event_type {
    TW_EV_API_KEY_DELETED = 0, /* "ApiKeyDeleted" */
    TW_EV_API_KEY_EXPIRED = 1, /* "ApiKeyExpired" */
    TW_EV_NTYPES
};

/* A domain event: the key kid of project_id is gone. */
struct tw_event {
    enum tw_event_type type;
    char kid[TW_KID_MAX + 1];
    char project_id[CM_PROJECT_ID_MAX + 1];
};

/* rc is a cm_store_rc; job_id is valid during the call only (NULL unless
 * rc is CM_STORE_OK); created = 0 when that job was already queued. */
typedef void (*tw_job_cb)(int rc, const char *job_id, int created, void *arg);

/* "ApiKeyDeleted" -> TW_EV_API_KEY_DELETED; -1 for an unknown name. */
int tw_event_type_parse(const char *name);
/* The wire name of a type; never NULL for a valid type. */
const char *tw_event_type_name(enum tw_event_type type);

/* 1 if s is an acceptable record id: 1..TW_KID_MAX of [A-Za-z0-9_-]. */
int tw_kid_valid(const char *s);

/*
 * Dispatch ev to its saga. Returns 0 when the pipeline took it (cb is
 * called exactly once, from the loop), or -1 when Redis is down or the
 * type has no saga (cb not called). ev is copied as needed.
 */
int tw_bus_dispatch(struct tw_ctx *ctx, const struct tw_event *ev, tw_job_cb cb,
                    void *arg);

#endif
