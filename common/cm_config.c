/*
 * cm_config.c - loads the common settings table and a service's own table:
 * defaults, then the environment (an empty variable counts as unset), then
 * flags derived from the variable names. Also --help, --version and the
 * effective-config log line with secrets redacted.
 */
#include "cm_config.h"
#include "cm_log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CM_CONF_FLAG_MAX 64
#define CM_CONF_LOG_MAX 96 /* settings in the effective-config line */

#define CMC(f) offsetof(struct cm_conf_common, f)

static const struct cm_conf_item cm_conf_common_items[] = {
    {"SSE_REDIS_URL", CM_CONF_STR, CMC(redis_url), "redis://127.0.0.1:6379/0",
     0, 0, NULL, "redis://[:password@]host[:port][/db] or unix:///path[?db=N]"},
    {"SSE_NODE_ID", CM_CONF_STR, CMC(node_id), NULL, 0, 0, NULL,
     "unique id of this process in logs and metrics (default hostname-pid)"},
    {"SSE_CHANNEL_AUTH_AUDIENCE", CM_CONF_STR, CMC(audience),
     "sse-channel-auth", 0, 0, NULL, "aud claim of channel tokens"},
    {"SSE_ADMIN_TOKEN", CM_CONF_SECRET, CMC(admin_token), NULL, 0, 0, NULL,
     "bearer token of /v1/admin/* (unset: admin API answers 403)"},
    {"SSE_INTERNAL_TOKEN", CM_CONF_SECRET, CMC(internal_token), NULL, 0, 0,
     NULL, "bearer token of /v1/tasks/events (unset: intake answers 403)"},
    {"SSE_CORS_ORIGINS", CM_CONF_STR, CMC(cors_origins), "*", 0, 0, NULL,
     "comma-separated allowed origins, or *"},
    {"SSE_MAX_PAYLOAD", CM_CONF_INT, CMC(max_payload), "65536", 1,
     64LL * 1024 * 1024, NULL, "largest event payload in bytes"},
    {"SSE_CLIENT_QUEUE_MAX", CM_CONF_INT, CMC(client_queue_max), "1048576",
     1024, 1LL << 32, NULL,
     "bytes queued to one client before it is dropped as too slow"},
    {"SSE_LOG_FORMAT", CM_CONF_ENUM, CMC(log_format), "text", 0, 0, "text|json",
     "log line format"},
    {"SSE_LOG_LEVEL", CM_CONF_ENUM, CMC(log_level), "info", 0, 0,
     "debug|info|warn|error", "lowest level logged"},
    {"SSE_MASTER_KEY", CM_CONF_SECRET, CMC(master_key), NULL, 0, 0, NULL,
     "64 hex chars: AES-256 key sealing project secrets at rest"},
    {"SSE_MASTER_KEY_PREVIOUS", CM_CONF_SECRET, CMC(master_key_previous), NULL,
     0, 0, NULL,
     "64 hex chars: the key being rotated out; still opens old seals"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* "SSE_FOO_BAR" -> "foo-bar" */
static void
flag_name(const char *env, char *out, size_t cap)
{
    if (strncmp(env, "SSE_", 4) == 0)
        env += 4;
    size_t i = 0;
    for (; env[i] && i + 1 < cap; i++)
        out[i] = env[i] == '_' ? '-' : (char)(env[i] | 0x20);
    out[i] = '\0';
}

static char **
str_field(void *base, const struct cm_conf_item *it)
{
    return (char **)((char *)base + it->offset);
}

static int
enum_has(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        size_t w = strcspn(p, "|");
        if (w == n && strncmp(p, v, n) == 0)
            return 1;
        p += w;
        if (*p == '|')
            p++;
    }
    return 0;
}

static int
is_hex64(const char *v)
{
    if (strlen(v) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!strchr("0123456789abcdefABCDEF", v[i]))
            return 0;
    return 1;
}

/* Store one value; -1 with err naming the variable when it is bad. */
static int
set_value(void *base, const struct cm_conf_item *it, const char *v, char *err,
          size_t errlen)
{
    if (it->type == CM_CONF_INT) {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0') {
            snprintf(err, errlen, "%s: not an integer", it->env);
            return -1;
        }
        if (n < it->min || n > it->max) {
            snprintf(err, errlen, "%s: must be within %lld..%lld", it->env,
                     it->min, it->max);
            return -1;
        }
        *(long long *)((char *)base + it->offset) = n;
        return 0;
    }
    if (it->type == CM_CONF_ENUM && !enum_has(it->choices, v)) {
        snprintf(err, errlen, "%s: must be one of %s", it->env, it->choices);
        return -1;
    }
    if (strncmp(it->env, "SSE_MASTER_KEY", 14) == 0 && !is_hex64(v)) {
        snprintf(err, errlen, "%s: must be 64 hex characters", it->env);
        return -1;
    }
    char *copy = strdup(v);
    if (copy == NULL) {
        snprintf(err, errlen, "%s: out of memory", it->env);
        return -1;
    }
    char **f = str_field(base, it);
    free(*f);
    *f = copy;
    if (it->type == CM_CONF_SECRET)
        cm_log_secret(copy);
    return 0;
}

/* Defaults then environment for one table. */
static int
load_table(const struct cm_conf_item *items, void *base, char *err,
           size_t errlen)
{
    for (const struct cm_conf_item *it = items; it && it->env; it++) {
        if (it->def && set_value(base, it, it->def, err, errlen) != 0)
            return -1;
        const char *v = getenv(it->env);
        if (v && *v && set_value(base, it, v, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static const struct cm_conf_item *
find_flag(const struct cm_conf_item *items, const char *name, size_t len)
{
    char f[CM_CONF_FLAG_MAX];
    for (const struct cm_conf_item *it = items; it && it->env; it++) {
        flag_name(it->env, f, sizeof f);
        if (strlen(f) == len && strncmp(f, name, len) == 0)
            return it;
    }
    return NULL;
}

static void
print_items(const struct cm_conf_item *items)
{
    char f[CM_CONF_FLAG_MAX];
    for (const struct cm_conf_item *it = items; it && it->env; it++) {
        flag_name(it->env, f, sizeof f);
        printf("  --%s=V  %s", f, it->env);
        if (it->type == CM_CONF_ENUM)
            printf(" (%s)", it->choices);
        if (it->def)
            printf(" (default %s)", it->def);
        else
            printf(" (default unset)");
        printf("\n      %s\n", it->help ? it->help : "");
    }
}

static void
print_help(const struct cm_conf_spec *spec)
{
    printf("%s - %s\n\nUsage: %s [--flag=VALUE | --flag VALUE]...\n\n"
           "Each setting is read from its environment variable; a flag "
           "overrides it.\n\n",
           spec->program, spec->summary ? spec->summary : "", spec->program);
    print_items(spec->items);
    print_items(cm_conf_common_items);
    printf("  --help     this text\n  --version  print the version\n");
}

/* Flags: --name=V or --name V. Returns 0, 1 (help/version) or -1. */
static int
load_flags(const struct cm_conf_spec *spec, void *svc,
           struct cm_conf_common *common, int argc, char **argv, char *err,
           size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(spec);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", spec->program, SSE_VERSION);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        void *base = svc;
        const struct cm_conf_item *it = find_flag(spec->items, name, len);
        if (it == NULL) {
            base = common;
            it = find_flag(cm_conf_common_items, name, len);
        }
        if (it == NULL) {
            snprintf(err, errlen, "unknown flag --%.*s", (int)len, name);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s: flag --%.*s needs a value", it->env,
                         (int)len, name);
                return -1;
            }
            v = argv[++i];
        }
        if (set_value(base, it, v, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int
cm_config_load(const struct cm_conf_spec *spec, void *svc,
               struct cm_conf_common *common, int argc, char **argv, char *err,
               size_t errlen)
{
    /* Every string NULL first, so cm_config_free is safe after an error. */
    memset(common, 0, sizeof *common);
    for (const struct cm_conf_item *it = spec->items; it && it->env; it++)
        if (it->type != CM_CONF_INT)
            *str_field(svc, it) = NULL;
    if (load_table(cm_conf_common_items, common, err, errlen) != 0 ||
        load_table(spec->items, svc, err, errlen) != 0)
        return -1;
    int rc = load_flags(spec, svc, common, argc, argv, err, errlen);
    if (rc != 0)
        return rc;
    if (common->node_id == NULL) {
        char host[200], id[256];
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "node");
        host[sizeof host - 1] = '\0';
        snprintf(id, sizeof id, "%s-%ld", host, (long)getpid());
        common->node_id = strdup(id);
        if (common->node_id == NULL) {
            snprintf(err, errlen, "SSE_NODE_ID: out of memory");
            return -1;
        }
    }
    return 0;
}

/* The URL without its password, for the log. */
static void
redact_url(const char *url, char *out, size_t cap)
{
    const char *s = strstr(url, "://"), *at = strrchr(url, '@');
    if (s && at && at > s)
        snprintf(out, cap, "%.*s[redacted]%s", (int)(s + 3 - url), url, at);
    else
        snprintf(out, cap, "%s", url);
}

static size_t
log_items(const struct cm_conf_item *items, const void *base, struct cm_kv *kv,
          size_t n, char *url, size_t urlcap)
{
    for (const struct cm_conf_item *it = items;
         it && it->env && n < CM_CONF_LOG_MAX; it++) {
        const char *p = (const char *)base + it->offset;
        if (it->type == CM_CONF_INT) {
            kv[n] = KV_I(it->env, *(const long long *)p);
        } else {
            const char *v = *(char *const *)p;
            if (v == NULL)
                kv[n] = KV_S(it->env, "(unset)");
            else if (it->type == CM_CONF_SECRET)
                kv[n] = KV_SECRET(it->env);
            else if (strcmp(it->env, "SSE_REDIS_URL") == 0) {
                redact_url(v, url, urlcap);
                kv[n] = KV_S(it->env, url);
            } else
                kv[n] = KV_S(it->env, v);
        }
        n++;
    }
    return n;
}

void
cm_config_log(const struct cm_conf_spec *spec, const void *svc,
              const struct cm_conf_common *common)
{
    struct cm_kv kv[CM_CONF_LOG_MAX + 1];
    char url[512];
    size_t n = log_items(cm_conf_common_items, common, kv, 0, url, sizeof url);
    n = log_items(spec->items, svc, kv, n, url, sizeof url);
    kv[n] = (struct cm_kv){CM_KV_END, NULL, NULL, 0, 0};
    cm_log_kv(CM_LOG_INFO, "effective configuration", kv);
}

static void
free_table(const struct cm_conf_item *items, void *base)
{
    for (const struct cm_conf_item *it = items; it && it->env; it++) {
        if (it->type == CM_CONF_INT)
            continue;
        char **f = str_field(base, it);
        free(*f);
        *f = NULL;
    }
}

void
cm_config_free(const struct cm_conf_spec *spec, void *svc,
               struct cm_conf_common *common)
{
    free_table(cm_conf_common_items, common);
    free_table(spec->items, svc);
}
