/*
 * cm_keys.h - every Redis key and pub/sub channel name of the system, in
 * one place. proto/REDIS.md describes each (type, writer, reader, lifetime).
 * Project-scoped names carry the project id in a {hash tag} so that a
 * Redis Cluster keeps one project's keys on one slot.
 *
 * Each macro is a printf format; build names with snprintf and check the
 * result against the buffer (CM_KEY_MAX always suffices for valid ids and
 * channel names).
 */
#ifndef SSE_CM_KEYS_H
#define SSE_CM_KEYS_H

#define CM_KEY_MAX 512

/* tenancy */
#define CM_K_PROJECT "sse:{p:%s}:project"      /* hash, by project id */
#define CM_K_PROJECT_KEYS "sse:{p:%s}:keys"    /* set of key record ids */
#define CM_K_APIKEY "sse:apikey:%s"            /* hash, by key record id */
#define CM_K_APIKEY_EXPIRY "sse:apikey:expiry" /* zset kid -> expiresAt */

/* events: one pub/sub channel per (project, channel) */
#define CM_C_EVENTS "sse:{p:%s}:ch:%s"

/* connection tracking (CONTRACT.md section 5) */
#define CM_K_SOCK "sse:{p:%s}:sock:%s"         /* set "<kid>|<channel>" */
#define CM_K_KEYSOCKS "sse:{p:%s}:keysocks:%s" /* set "<sid>|<channel>" */

/* gateways: control channel, liveness, and what each must clean up */
#define CM_C_GATEWAY "sse:gw:%s"        /* pub/sub, by gateway tag */
#define CM_K_GATEWAYS "sse:gateways"    /* zset tag -> last beat (ms) */
#define CM_K_GW_SOCKS "sse:gw:%s:socks" /* set "<pid>|<sid>" */

/* the job queue (Bull-like) */
#define CM_K_JOB "sse:job:%s"          /* hash, by job id */
#define CM_K_Q_WAIT "sse:q:wait:%d"    /* list of job ids, by priority */
#define CM_K_Q_ACTIVE "sse:q:active"   /* zset job id -> lease end (ms) */
#define CM_K_Q_DELAYED "sse:q:delayed" /* zset job id -> due (ms) */
#define CM_K_Q_FAILED "sse:q:failed"   /* zset job id -> failed at (ms) */
#define CM_K_Q_NOTIFY "sse:q:notify"   /* list: wake-up tokens */

/* A socket id starts with its gateway's tag: the tag names the gateway
 * that holds the socket, so the control channel needs no lookup. */
#define CM_GW_TAG_LEN 8
#define CM_SID_LEN 20 /* tag (8) + random (12), [a-z0-9] */

/* Separator inside tracking set members; never in ids or channel names. */
#define CM_SEP '|'

#endif
