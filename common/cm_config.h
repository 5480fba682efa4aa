/*
 * cm_config.h - one declarative table per binary: each setting has an
 * environment variable (SSE_FOO_BAR) and a flag derived from it
 * (--foo-bar=V or --foo-bar V); flags win over the environment.
 * A bad value stops the start with a message naming the variable.
 */
#ifndef SSE_CM_CONFIG_H
#define SSE_CM_CONFIG_H

#include <stddef.h>

enum cm_conf_type {
    CM_CONF_STR,    /* char *, strdup'ed; NULL when unset with no default */
    CM_CONF_SECRET, /* like STR, but redacted in the effective-config log */
    CM_CONF_INT,    /* long long, within [min, max] */
    CM_CONF_ENUM,   /* char *, one of the '|'-separated words in choices */
};

/* Table rows for the common cases: an integer field of struct type within
 * [min, max], and a string field. */
#define CM_CONF_INT_ITEM(type, env, field, def, min, max, help)                \
    {                                                                          \
        env, CM_CONF_INT, offsetof(struct type, field), def, min, max, NULL,   \
            help                                                               \
    }
#define CM_CONF_STR_ITEM(type, env, field, def, help)                          \
    {                                                                          \
        env, CM_CONF_STR, offsetof(struct type, field), def, 0, 0, NULL, help  \
    }

struct cm_conf_item {
    const char *env; /* "SSE_GATEWAY_ADDR" */
    enum cm_conf_type type;
    size_t offset;       /* offsetof(struct x_conf, field) */
    const char *def;     /* default as text, NULL for none */
    long long min, max;  /* CM_CONF_INT */
    const char *choices; /* CM_CONF_ENUM: "text|json" */
    const char *help;
};

/* Settings every process has (CONTRACT.md section 1). */
struct cm_conf_common {
    char *redis_url;
    char *node_id;
    char *audience;
    char *admin_token;
    char *internal_token;
    char *cors_origins;
    long long max_payload;
    long long client_queue_max;
    char *log_format;
    char *log_level;
    char *master_key;          /* SSE_MASTER_KEY: 64 hex chars, or NULL */
    char *master_key_previous; /* SSE_MASTER_KEY_PREVIOUS: during rotation */
};

struct cm_conf_spec {
    const char *program;              /* "sse-gateway" */
    const char *summary;              /* one line for --help */
    const struct cm_conf_item *items; /* the service's own, NULL-env ended */
};

/*
 * Fill common and svc: defaults, then environment, then argv flags.
 * Returns 0 on success; 1 when --help or --version was printed (exit 0);
 * -1 with err filled ("SSE_MAX_PAYLOAD: not an integer") otherwise.
 * SSE_NODE_ID defaults to hostname-pid.
 */
int cm_config_load(const struct cm_conf_spec *spec, void *svc,
                   struct cm_conf_common *common, int argc, char **argv,
                   char *err, size_t errlen);

/* Log the effective configuration (secrets redacted) at info level. */
void cm_config_log(const struct cm_conf_spec *spec, const void *svc,
                   const struct cm_conf_common *common);

/* Free the strings the load allocated. */
void cm_config_free(const struct cm_conf_spec *spec, void *svc,
                    struct cm_conf_common *common);

#endif
