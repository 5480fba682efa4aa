/*
 * gw_bus.h - the gateway's Redis pub/sub side: one subscriber for the
 * event channels of local rooms and this gateway's control channel
 * sse:gw:<tag>, the 5 s heartbeat in sse:gateways, and the PUBLISH of
 * client events. Re-subscription after a reconnect is cm_sub's job.
 */
#ifndef SSE_GW_BUS_H
#define SSE_GW_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "gw.h"

/* Heartbeat period: the worker sweeps a gateway silent for 30 s. */
#define GW_BUS_HEARTBEAT_MS 5000

/* Start the subscriber and the heartbeat. NULL on failure (logged). */
struct gw_bus *gw_bus_new(struct gw_ctx *ctx);
/* Stop the heartbeat and drop the subscriber. */
void gw_bus_free(struct gw_bus *b);

struct cm_sub *gw_bus_sub(struct gw_bus *b);

/* Called once: ok = 1 when Redis accepted the PUBLISH, else 0. */
typedef void (*gw_bus_publish_cb)(struct gw_ctx *ctx, int ok, void *arg);

/*
 * Publish a client event on (project, channel) with origin sid (so the
 * sender's gateway skips the sender). payload is validated JSON, copied
 * verbatim. Returns 0 when sent (cb called once), -1 when Redis is down
 * or on ENOMEM (cb not called).
 */
int gw_bus_publish(struct gw_ctx *ctx, const char *project, const char *channel,
                   const char *origin_sid, const char *payload,
                   size_t payload_len, gw_bus_publish_cb cb, void *arg);

/* Handle one control message (JSON, proto/REDIS.md "Gateway control
 * channel"). Exposed for tests; the subscriber calls it. */
void gw_bus_control(struct gw_ctx *ctx, const char *msg, size_t len);

#endif
