/*
 * cm_log.h - one line per record to stderr, as key=value text or JSON.
 *
 * Secrets never reach the output: values of kind CM_KV_SECRET print as
 * "[redacted]", and any string registered with cm_log_secret() is masked
 * wherever it appears in a line (a key pasted into a message by mistake).
 */
#ifndef SSE_CM_LOG_H
#define SSE_CM_LOG_H

#include <stddef.h>

enum cm_log_level { CM_LOG_DEBUG, CM_LOG_INFO, CM_LOG_WARN, CM_LOG_ERROR };

enum cm_kv_type {
    CM_KV_END = 0,
    CM_KV_STR,
    CM_KV_INT,
    CM_KV_DBL,
    CM_KV_SECRET
};

struct cm_kv {
    enum cm_kv_type type;
    const char *key;
    const char *s;
    long long i;
    double d;
};

#define KV_S(k, v) ((struct cm_kv){CM_KV_STR, (k), (v), 0, 0})
#define KV_I(k, v) ((struct cm_kv){CM_KV_INT, (k), NULL, (long long)(v), 0})
#define KV_D(k, v) ((struct cm_kv){CM_KV_DBL, (k), NULL, 0, (double)(v)})
#define KV_SECRET(k) ((struct cm_kv){CM_KV_SECRET, (k), NULL, 0, 0})

/*
 * Set up the process logger. service: "gateway"...; level: "debug".."error";
 * format: "text" or "json". Returns 0, or -1 for an unknown level/format.
 * Until called, records go out as text at level info.
 */
int cm_log_init(const char *service, const char *node_id, const char *level,
                const char *format);

/* Never print s (copied; at most 64 secrets, shorter than 8 chars ignored). */
void cm_log_secret(const char *s);

int cm_log_enabled(enum cm_log_level level);

/* Write one record: msg, then the kv list ended by a CM_KV_END entry. */
void cm_log_kv(enum cm_log_level level, const char *msg,
               const struct cm_kv *kv);

#define cm_log(level, msg, ...)                                                \
    cm_log_kv((level), (msg),                                                  \
              (const struct cm_kv[]){                                          \
                  __VA_ARGS__ __VA_OPT__(, ){CM_KV_END, 0, 0, 0, 0}})
#define cm_debug(msg, ...) cm_log(CM_LOG_DEBUG, msg __VA_OPT__(, ) __VA_ARGS__)
#define cm_info(msg, ...) cm_log(CM_LOG_INFO, msg __VA_OPT__(, ) __VA_ARGS__)
#define cm_warn(msg, ...) cm_log(CM_LOG_WARN, msg __VA_OPT__(, ) __VA_ARGS__)
#define cm_error(msg, ...) cm_log(CM_LOG_ERROR, msg __VA_OPT__(, ) __VA_ARGS__)

#endif
