/*
 * test_config.c - cm_config: defaults, environment (empty = unset), both
 * flag forms winning over the environment, range and enum errors naming
 * the variable, unknown flags, --help/--version, and the effective-config
 * line keeping secrets out.
 */
#include "cm_config.h"
#include "cm_log.h"
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

struct svc_conf {
    char *addr;
    long long workers;
    char *mode;
    char *secret;
};

static const struct cm_conf_item svc_items[] = {
    {"SSE_TEST_ADDR", CM_CONF_STR, offsetof(struct svc_conf, addr),
     "0.0.0.0:8080", 0, 0, NULL, "listen address"},
    {"SSE_TEST_WORKERS", CM_CONF_INT, offsetof(struct svc_conf, workers), "4",
     1, 64, NULL, "worker count"},
    {"SSE_TEST_MODE", CM_CONF_ENUM, offsetof(struct svc_conf, mode), "fast", 0,
     0, "fast|safe", "mode"},
    {"SSE_TEST_SECRET", CM_CONF_SECRET, offsetof(struct svc_conf, secret), NULL,
     0, 0, NULL, "a secret"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const struct cm_conf_spec spec = {"sse-test", "a test program",
                                         svc_items};

static int
load(struct svc_conf *s, struct cm_conf_common *c, char *err, int argc,
     char **argv)
{
    err[0] = '\0';
    return cm_config_load(&spec, s, c, argc, argv, err, 256);
}

/* Run a load with stdout captured to a file; return what was printed. */
static int
load_capture(char **argv, int argc, char *out, size_t cap)
{
    struct svc_conf s;
    struct cm_conf_common c;
    char err[256];
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    int rc = load(&s, &c, err, argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    cm_config_free(&spec, &s, &c);
    return rc;
}

int
main(void)
{
    struct svc_conf s;
    struct cm_conf_common c;
    char err[256];
    char *noargs[] = {"prog", NULL};

    cm_log_init("test", "t", "error", "text");
    T_EQ_INT(load(&s, &c, err, 1, noargs), 0);
    T_EQ_STR(c.redis_url, "redis://127.0.0.1:6379/0");
    T_EQ_STR(c.audience, "sse-channel-auth");
    T_EQ_STR(c.cors_origins, "*");
    T_EQ_INT(c.max_payload, 65536);
    T_EQ_INT(c.client_queue_max, 1048576);
    T_EQ_STR(c.log_format, "text");
    T_EQ_STR(c.log_level, "info");
    T_CHECK(c.admin_token == NULL);
    T_CHECK(c.internal_token == NULL);
    T_CHECK(c.master_key == NULL);
    T_CHECK(c.node_id != NULL && strchr(c.node_id, '-') != NULL);
    T_EQ_STR(s.addr, "0.0.0.0:8080");
    T_EQ_INT(s.workers, 4);
    T_EQ_STR(s.mode, "fast");
    T_CHECK(s.secret == NULL);
    cm_config_free(&spec, &s, &c);

    /* environment, then flags win; an empty variable is unset */
    setenv("SSE_MAX_PAYLOAD", "1000", 1);
    setenv("SSE_TEST_WORKERS", "8", 1);
    setenv("SSE_CORS_ORIGINS", "", 1);
    setenv("SSE_ADMIN_TOKEN", "admin-token-123456", 1);
    setenv("SSE_NODE_ID", "n1", 1);
    char *a1[] = {"prog", "--test-workers=9", "--log-format",
                  "json", "--test-addr",      "127.0.0.1:1",
                  NULL};
    T_EQ_INT(load(&s, &c, err, 6, a1), 0);
    T_EQ_INT(c.max_payload, 1000);
    T_EQ_INT(s.workers, 9);
    T_EQ_STR(c.log_format, "json");
    T_EQ_STR(s.addr, "127.0.0.1:1");
    T_EQ_STR(c.cors_origins, "*");
    T_EQ_STR(c.admin_token, "admin-token-123456");
    T_EQ_STR(c.node_id, "n1");
    cm_config_free(&spec, &s, &c);
    T_CHECK(c.admin_token == NULL && s.addr == NULL);

    /* errors name the variable */
    setenv("SSE_MAX_PAYLOAD", "12x", 1);
    T_EQ_INT(load(&s, &c, err, 1, noargs), -1);
    T_EQ_STR(err, "SSE_MAX_PAYLOAD: not an integer");
    cm_config_free(&spec, &s, &c);
    setenv("SSE_MAX_PAYLOAD", "0", 1);
    T_EQ_INT(load(&s, &c, err, 1, noargs), -1);
    T_EQ_STR(err, "SSE_MAX_PAYLOAD: must be within 1..67108864");
    cm_config_free(&spec, &s, &c);
    setenv("SSE_MAX_PAYLOAD", "67108865", 1);
    T_EQ_INT(load(&s, &c, err, 1, noargs), -1);
    cm_config_free(&spec, &s, &c);
    unsetenv("SSE_MAX_PAYLOAD");
    char *a2[] = {"prog", "--log-level=loud", NULL};
    T_EQ_INT(load(&s, &c, err, 2, a2), -1);
    T_EQ_STR(err, "SSE_LOG_LEVEL: must be one of debug|info|warn|error");
    cm_config_free(&spec, &s, &c);
    char *a3[] = {"prog", "--no-such-flag=1", NULL};
    T_EQ_INT(load(&s, &c, err, 2, a3), -1);
    T_EQ_STR(err, "unknown flag --no-such-flag");
    cm_config_free(&spec, &s, &c);
    char *a4[] = {"prog", "--test-workers", NULL};
    T_EQ_INT(load(&s, &c, err, 2, a4), -1);
    T_EQ_STR(err, "SSE_TEST_WORKERS: flag --test-workers needs a value");
    cm_config_free(&spec, &s, &c);
    char *a5[] = {"prog", "--master-key=abc", NULL};
    T_EQ_INT(load(&s, &c, err, 2, a5), -1);
    T_EQ_STR(err, "SSE_MASTER_KEY: must be 64 hex characters");
    cm_config_free(&spec, &s, &c);
    char *a6[] = {"prog", "stray", NULL};
    T_EQ_INT(load(&s, &c, err, 2, a6), -1);
    cm_config_free(&spec, &s, &c);

    /* --help lists every variable with its default; --version */
    static char out[16384];
    char *h[] = {"prog", "--help", NULL};
    T_EQ_INT(load_capture(h, 2, out, sizeof out), 1);
    T_CHECK(strstr(out, "sse-test - a test program") != NULL);
    T_CHECK(strstr(out, "--redis-url=V  SSE_REDIS_URL (default "
                        "redis://127.0.0.1:6379/0)") != NULL);
    T_CHECK(strstr(out, "--test-workers=V  SSE_TEST_WORKERS (default 4)") !=
            NULL);
    T_CHECK(strstr(out, "SSE_MASTER_KEY (default unset)") != NULL);
    T_CHECK(strstr(out, "SSE_LOG_LEVEL (debug|info|warn|error) (default "
                        "info)") != NULL);
    char *v[] = {"prog", "--version", NULL};
    T_EQ_INT(load_capture(v, 2, out, sizeof out), 1);
    T_EQ_STR(out, "sse-test " SSE_VERSION "\n");

    /* the effective configuration hides secrets and the URL password */
    setenv("SSE_REDIS_URL", "redis://:hunter2hunter2@h:1/0", 1);
    setenv("SSE_TEST_SECRET", "very-secret-value", 1);
    T_EQ_INT(load(&s, &c, err, 1, noargs), 0);
    cm_log_init("test", "t", "info", "text");
    int fds[2];
    T_EQ_INT(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    cm_config_log(&spec, &s, &c);
    dup2(saved, STDERR_FILENO);
    close(fds[1]);
    ssize_t n = read(fds[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    close(saved);
    T_CHECK(strstr(out, "SSE_ADMIN_TOKEN=[redacted]") != NULL);
    T_CHECK(strstr(out, "SSE_TEST_SECRET=[redacted]") != NULL);
    T_CHECK(strstr(out, "SSE_REDIS_URL=redis://[redacted]@h:1/0") != NULL);
    T_CHECK(strstr(out, "SSE_TEST_WORKERS=8") != NULL);
    T_CHECK(strstr(out, "hunter2") == NULL);
    T_CHECK(strstr(out, "admin-token-123456") == NULL);
    T_CHECK(strstr(out, "very-secret") == NULL);
    cm_config_free(&spec, &s, &c);
    return t_done("config");
}
