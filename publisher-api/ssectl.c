/*
 * ssectl.c - the command-line admin and publisher client (CONTRACT.md
 * section 7), on libssepub. Each command is one HTTP request: the server's
 * JSON goes to stdout; a non-2xx answer prints the server's message on
 * stderr and exits 1 (2 for a usage error, 3 when the server is
 * unreachable). It builds request bodies; the servers validate them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ssepub.h"

#define CTL_DEFAULT_WORKER_URL "http://127.0.0.1:8082"
#define CTL_MAX_POS 2
#define CTL_MAX_OPTS 4
#define CTL_PATH_MAX 1024

enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_SERVER = 1,
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_CONNECT = 3
};

static const char ctl_usage[] =
    "usage: ssectl COMMAND [ARGS]\n"
    "\n"
    "  project create ID [--name N]                      (SSE_ADMIN_TOKEN)\n"
    "  key create --project P --scopes a,b [--ttl S] [--name N]\n"
    "  key list --project P\n"
    "  key delete ID\n"
    "  publish CHANNEL JSON                              (SSE_API_KEY)\n"
    "  sign CHANNEL\n"
    "  jobs failed                                       (SSE_INTERNAL_TOKEN)\n"
    "  jobs retry ID\n"
    "\n"
    "Environment: SSE_PUBLISHER_URL (" SSEPUB_DEFAULT_URL "), SSE_WORKER_URL\n"
    "(" CTL_DEFAULT_WORKER_URL "), SSE_ADMIN_TOKEN, SSE_API_KEY,\n"
    "SSE_INTERNAL_TOKEN; each overridden by its flag, anywhere on the line:\n"
    "--publisher-url, --worker-url, --admin-token, --api-key, "
    "--internal-token\n"
    "(--flag V or --flag=V). Prints the server's JSON; exit 0 on success, 1\n"
    "with the server's message on stderr, 2 on a usage error, 3 if\n"
    "unreachable.\n"
    "  --help, --version\n";

/* The settings every command reads from the environment, and the flags
 * that override them (CONTRACT.md section 1). */
static const struct ctl_setting {
    const char *flag, *env;
} ctl_settings[] = {
    {"publisher-url", "SSE_PUBLISHER_URL"},   {"worker-url", "SSE_WORKER_URL"},
    {"admin-token", "SSE_ADMIN_TOKEN"},       {"api-key", "SSE_API_KEY"},
    {"internal-token", "SSE_INTERNAL_TOKEN"},
};
#define CTL_NSETTINGS (sizeof(ctl_settings) / sizeof(ctl_settings[0]))

/* One command's parsed arguments. */
struct ctl_args {
    const char *pos[CTL_MAX_POS];
    int npos;
    const char *const *names; /* option names the command takes */
    const char *vals[CTL_MAX_OPTS];
    /* setting flags by ctl_settings index; NULL: the environment decides */
    const char *settings[sizeof(ctl_settings) / sizeof(ctl_settings[0])];
};

/* A growing string (JSON bodies, paths). */
struct ctl_str {
    char *s;
    size_t len, cap;
};

static void
ctl_die_nomem(void)
{
    fputs("ssectl: out of memory\n", stderr);
    exit(CTL_EXIT_SERVER);
}

static void
ctl_add(struct ctl_str *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->s, cap);

        if (p == NULL)
            ctl_die_nomem();
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
ctl_adds(struct ctl_str *b, const char *s)
{
    ctl_add(b, s, strlen(s));
}

/* Append s as a JSON string literal. */
static void
ctl_add_json(struct ctl_str *b, const char *s)
{
    size_t need = jscan_escape(s, strlen(s), NULL, 0);
    char *tmp = malloc(need + 1);

    if (tmp == NULL)
        ctl_die_nomem();
    jscan_escape(s, strlen(s), tmp, need + 1);
    ctl_add(b, tmp, need);
    free(tmp);
}

/* Append s percent-encoded as one path segment. */
static void
ctl_add_segment(struct ctl_str *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3];

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
            ctl_add(b, s, 1);
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[ch >> 4];
        esc[2] = hex[ch & 15];
        ctl_add(b, esc, 3);
    }
}

static int
ctl_usage_error(const char *what)
{
    fprintf(stderr, "ssectl: %s\n%s", what, ctl_usage);
    return CTL_EXIT_USAGE;
}

/* Split argv into positionals and the command's --options (--o V or
 * --o=V). Returns 0, or -1 after printing a usage error. */
static int
ctl_parse(int argc, char **argv, struct ctl_args *a)
{
    int i, k;

    for (i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq;
        size_t nl;

        if (strncmp(arg, "--", 2) != 0) {
            if (a->npos == CTL_MAX_POS)
                return ctl_usage_error("too many arguments"), -1;
            a->pos[a->npos++] = arg;
            continue;
        }
        eq = strchr(arg, '=');
        nl = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        for (k = 0; a->names != NULL && a->names[k] != NULL; k++)
            if (strlen(a->names[k]) == nl &&
                strncmp(a->names[k], arg + 2, nl) == 0)
                break;
        if (a->names == NULL || a->names[k] == NULL) {
            fprintf(stderr, "ssectl: unknown option %s\n", arg);
            return -1;
        }
        if (eq != NULL)
            a->vals[k] = eq + 1;
        else if (i + 1 < argc)
            a->vals[k] = argv[++i];
        else
            return ctl_usage_error("option needs a value"), -1;
    }
    return 0;
}

/* One request; print the answer. Returns the exit status. */
/* A setting by its variable name: the flag's value, else the environment. */
static const char *
ctl_setting(const struct ctl_args *a, const char *env)
{
    size_t i;

    for (i = 0; i < CTL_NSETTINGS; i++)
        if (strcmp(ctl_settings[i].env, env) == 0 && a->settings[i] != NULL)
            return a->settings[i];
    return getenv(env);
}

/* Take the setting flags out of argv wherever they are (argv keeps its
 * other words in order). Returns the new argc, or -1 after a usage error. */
static int
ctl_take_settings(int argc, char **argv, struct ctl_args *a)
{
    int i, out = 1;
    size_t k, nl;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq;

        for (k = 0; k < CTL_NSETTINGS && strncmp(arg, "--", 2) == 0; k++) {
            eq = strchr(arg, '=');
            nl = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
            if (strlen(ctl_settings[k].flag) == nl &&
                strncmp(ctl_settings[k].flag, arg + 2, nl) == 0)
                break;
        }
        if (k == CTL_NSETTINGS || strncmp(arg, "--", 2) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (eq != NULL)
            a->settings[k] = eq + 1;
        else if (i + 1 < argc)
            a->settings[k] = argv[++i];
        else
            return ctl_usage_error("option needs a value"), -1;
    }
    argv[out] = NULL;
    return out;
}

static int
ctl_call(const struct ctl_args *a, const char *url_env, const char *url_def,
         const char *token_env, const char *method, const char *path,
         const char *body)
{
    const char *url = ctl_setting(a, url_env);
    const char *token = ctl_setting(a, token_env);
    struct ssepub *c = ssepub_new(url != NULL && *url ? url : url_def, NULL);
    char *resp = NULL;
    int status = 0, rc, ex;

    if (c == NULL) {
        fprintf(stderr, "ssectl: %s: not an http:// base URL\n", url_env);
        return CTL_EXIT_USAGE;
    }
    rc = ssepub_request(c, method, path, body,
                        token != NULL && *token ? token : NULL, &status, &resp);
    if (rc == SSEPUB_OK) {
        if (resp != NULL && resp[0] != '\0')
            printf("%s\n", resp);
        ex = CTL_EXIT_OK;
    } else if (rc == SSEPUB_EHTTP) {
        fprintf(stderr, "ssectl: %d: %s\n", status, ssepub_error(c));
        ex = CTL_EXIT_SERVER;
    } else {
        fprintf(stderr, "ssectl: %s\n", ssepub_error(c));
        ex = rc == SSEPUB_ECONNECT ? CTL_EXIT_CONNECT : CTL_EXIT_SERVER;
    }
    free(resp);
    ssepub_free(c);
    return ex;
}

/* Both expect the command's struct ctl_args *a in scope. */
#define CTL_PUB(method, path, body, token)                                     \
    ctl_call(a, "SSE_PUBLISHER_URL", SSEPUB_DEFAULT_URL, (token), (method),    \
             (path), (body))
#define CTL_WORKER(method, path)                                               \
    ctl_call(a, "SSE_WORKER_URL", CTL_DEFAULT_WORKER_URL,                      \
             "SSE_INTERNAL_TOKEN", (method), (path), NULL)

/* ---- commands: a->pos and a->vals filled per the command's table row ---- */

static int
cmd_project_create(struct ctl_args *a, struct ctl_str *path,
                   struct ctl_str *body)
{
    ctl_adds(path, "/v1/admin/projects");
    ctl_adds(body, "{\"id\":");
    ctl_add_json(body, a->pos[0]);
    ctl_adds(body, ",\"name\":");
    ctl_add_json(body, a->vals[0] != NULL ? a->vals[0] : a->pos[0]);
    ctl_adds(body, "}");
    return CTL_PUB("POST", path->s, body->s, "SSE_ADMIN_TOKEN");
}

/* --scopes a,b: a JSON array of the comma-separated names. */
static void
ctl_add_scopes(struct ctl_str *body, const char *list)
{
    char *copy = strdup(list), *save = NULL, *tok;
    int first = 1;

    if (copy == NULL)
        ctl_die_nomem();
    ctl_adds(body, "[");
    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (!first)
            ctl_adds(body, ",");
        ctl_add_json(body, tok);
        first = 0;
    }
    ctl_adds(body, "]");
    free(copy);
}

static int
cmd_key_create(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    const char *project = a->vals[0], *scopes = a->vals[1];
    const char *ttl = a->vals[2], *name = a->vals[3];

    if (project == NULL || scopes == NULL)
        return ctl_usage_error("key create needs --project and --scopes");
    ctl_adds(path, "/v1/admin/projects/");
    ctl_add_segment(path, project);
    ctl_adds(path, "/api-keys");
    ctl_adds(body, "{\"name\":");
    ctl_add_json(body, name != NULL ? name : "ssectl");
    ctl_adds(body, ",\"scopes\":");
    ctl_add_scopes(body, scopes);
    if (ttl != NULL) {
        ctl_adds(body, ",\"ttlSeconds\":");
        /* Digits go as a number; anything else as a string, which the
         * server refuses with its own message. */
        if (*ttl != '\0' && strspn(ttl, "0123456789") == strlen(ttl))
            ctl_adds(body, ttl);
        else
            ctl_add_json(body, ttl);
    }
    ctl_adds(body, "}");
    return CTL_PUB("POST", path->s, body->s, "SSE_ADMIN_TOKEN");
}

static int
cmd_key_list(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    (void)body;
    if (a->vals[0] == NULL)
        return ctl_usage_error("key list needs --project");
    ctl_adds(path, "/v1/admin/projects/");
    ctl_add_segment(path, a->vals[0]);
    ctl_adds(path, "/api-keys");
    return CTL_PUB("GET", path->s, NULL, "SSE_ADMIN_TOKEN");
}

static int
cmd_key_delete(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    (void)body;
    ctl_adds(path, "/v1/admin/api-keys/");
    ctl_add_segment(path, a->pos[0]);
    return CTL_PUB("DELETE", path->s, NULL, "SSE_ADMIN_TOKEN");
}

static int
cmd_publish(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    const char *json = a->pos[1];

    if (jscan_validate(json, strlen(json), JSCAN_DEFAULT_DEPTH) != PROTO_OK)
        return ctl_usage_error("publish: JSON is not valid JSON");
    ctl_adds(path, "/v1/publishers/events/publish");
    ctl_adds(body, "{\"channelName\":");
    ctl_add_json(body, a->pos[0]);
    ctl_adds(body, ",\"payload\":");
    ctl_adds(body, json);
    ctl_adds(body, "}");
    return CTL_PUB("POST", path->s, body->s, "SSE_API_KEY");
}

static int
cmd_sign(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    ctl_adds(path, "/v1/publishers/sign");
    ctl_adds(body, "{\"channelName\":");
    ctl_add_json(body, a->pos[0]);
    ctl_adds(body, "}");
    return CTL_PUB("POST", path->s, body->s, "SSE_API_KEY");
}

static int
cmd_jobs_failed(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    (void)a;
    (void)body;
    ctl_adds(path, "/v1/tasks/jobs/failed");
    return CTL_WORKER("GET", path->s);
}

static int
cmd_jobs_retry(struct ctl_args *a, struct ctl_str *path, struct ctl_str *body)
{
    (void)body;
    ctl_adds(path, "/v1/tasks/jobs/");
    ctl_add_segment(path, a->pos[0]);
    ctl_adds(path, "/retry");
    return CTL_WORKER("POST", path->s);
}

static const char *const opts_name[] = {"name", NULL};
static const char *const opts_key_create[] = {"project", "scopes", "ttl",
                                              "name", NULL};
static const char *const opts_project[] = {"project", NULL};

static const struct ctl_cmd {
    const char *group, *verb; /* verb NULL: the group is the command */
    int npos;                 /* positional arguments required */
    const char *const *opts;
    int (*run)(struct ctl_args *, struct ctl_str *, struct ctl_str *);
} ctl_cmds[] = {
    {"project", "create", 1, opts_name, cmd_project_create},
    {"key", "create", 0, opts_key_create, cmd_key_create},
    {"key", "list", 0, opts_project, cmd_key_list},
    {"key", "delete", 1, NULL, cmd_key_delete},
    {"publish", NULL, 2, NULL, cmd_publish},
    {"sign", NULL, 1, NULL, cmd_sign},
    {"jobs", "failed", 0, NULL, cmd_jobs_failed},
    {"jobs", "retry", 1, NULL, cmd_jobs_retry},
};

int
main(int argc, char **argv)
{
    struct ctl_str path = {NULL, 0, 0}, body = {NULL, 0, 0};
    struct ctl_args a;
    size_t i;
    int skip, ex;

    memset(&a, 0, sizeof(a));
    if ((argc = ctl_take_settings(argc, argv, &a)) < 0)
        return CTL_EXIT_USAGE;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(ctl_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ssectl %s\n", SSE_VERSION);
        return CTL_EXIT_OK;
    }
    for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
        const struct ctl_cmd *c = &ctl_cmds[i];

        if (strcmp(argv[1], c->group) != 0 ||
            (c->verb != NULL && (argc < 3 || strcmp(argv[2], c->verb) != 0)))
            continue;
        skip = c->verb != NULL ? 3 : 2;
        a.names = c->opts;
        if (ctl_parse(argc - skip, argv + skip, &a) != 0)
            return CTL_EXIT_USAGE;
        if (a.npos != c->npos)
            return ctl_usage_error("wrong number of arguments");
        ex = c->run(&a, &path, &body);
        free(path.s);
        free(body.s);
        return ex;
    }
    return ctl_usage_error("unknown command");
}
