/*
 * test_log.c - cm_log: text and JSON line shapes, levels, quoting, and the
 * promise that a secret never reaches stderr (as a KV_SECRET, registered and
 * pasted into a message or a value). stderr is captured through a pipe.
 */
#include "cm_log.h"
#include "t.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int saved_fd = -1;
static int pipe_rd = -1;
static char captured[65536];

static void
capture_start(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    fflush(stderr);
    saved_fd = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    pipe_rd = fds[0];
}

/* Restore stderr and return what was written meanwhile. */
static const char *
capture_end(void)
{
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    size_t off = 0;
    ssize_t n;
    while (off < sizeof captured - 1 &&
           (n = read(pipe_rd, captured + off, sizeof captured - 1 - off)) > 0)
        off += (size_t)n;
    captured[off] = '\0';
    close(pipe_rd);
    return captured;
}

int
main(void)
{
    const char *key = "sk_live_ab12cd34ef56gh78";
    const char *out;

    T_EQ_INT(cm_log_init("gateway", "node-1", "verbose", "text"), -1);
    T_EQ_INT(cm_log_init("gateway", "node-1", "info", "yaml"), -1);
    T_EQ_INT(cm_log_init("gateway", "node-1", "info", "text"), 0);

    capture_start();
    cm_info("started", KV_S("addr", "0.0.0.0:8080"), KV_I("conns", 3),
            KV_S("note", "two words"), KV_S("empty", ""));
    cm_debug("hidden at info");
    out = capture_end();
    T_CHECK(strncmp(out, "ts=", 3) == 0);
    T_CHECK(strstr(out, " level=info service=gateway node=node-1 "
                        "msg=started addr=0.0.0.0:8080 conns=3 "
                        "note=\"two words\" empty=\"\"\n") != NULL);
    T_CHECK(strstr(out, "hidden") == NULL);
    /* ts=2026-11-30T06:00:00.123Z */
    T_EQ_INT(strchr(out, ' ') - out, 3 + 24);
    T_EQ_INT(out[3 + 23], 'Z');

    /* quoting of a message with quotes and a newline stays on one line */
    capture_start();
    cm_warn("say \"hi\"\nthere");
    out = capture_end();
    T_CHECK(strstr(out, "level=warn") != NULL);
    T_CHECK(strstr(out, "msg=\"say \\\"hi\\\"\\nthere\"\n") != NULL);
    T_EQ_INT(strchr(out, '\n') - out + 1, (long long)strlen(out));

    /* secrets: a KV_SECRET value, and a registered key in msg and value */
    cm_log_secret(key);
    cm_log_secret("short"); /* too short to mask: ignored */
    capture_start();
    cm_info("auth", KV_SECRET("apiKey"));
    cm_error("bad key sk_live_ab12cd34ef56gh78 from client",
             KV_S("header", "Bearer sk_live_ab12cd34ef56gh78"),
             KV_S("twice", "sk_live_ab12cd34ef56gh78sk_live_ab12cd34ef56gh78"));
    cm_info("short word stays");
    out = capture_end();
    T_CHECK(strstr(out, "ab12cd34") == NULL);
    T_CHECK(strstr(out, "apiKey=[redacted]") != NULL);
    T_CHECK(strstr(out, "msg=\"bad key [redacted] from client\"") != NULL);
    T_CHECK(strstr(out, "header=\"Bearer [redacted]\"") != NULL);
    T_CHECK(strstr(out, "twice=[redacted][redacted]") != NULL);
    T_CHECK(strstr(out, "short word stays") != NULL);

    /* JSON: one object per line with the same fields, numbers bare */
    T_EQ_INT(cm_log_init("publisher", "n2", "debug", "json"), 0);
    capture_start();
    cm_debug("hello \"x\"", KV_I("n", -5), KV_D("s", 0.25),
             KV_S("k", "sk_live_ab12cd34ef56gh78"), KV_S("c", "a\x01"));
    out = capture_end();
    T_CHECK(strncmp(out, "{\"ts\":\"", 7) == 0);
    T_CHECK(strstr(out, "\",\"level\":\"debug\",\"service\":\"publisher\","
                        "\"node\":\"n2\",\"msg\":\"hello \\\"x\\\"\","
                        "\"n\":-5,\"s\":0.25,\"k\":\"[redacted]\","
                        "\"c\":\"a\\u0001\"}\n") != NULL);
    T_CHECK(strstr(out, "ab12cd34") == NULL);

    /* level filter */
    T_EQ_INT(cm_log_init("x", "y", "error", "text"), 0);
    T_EQ_INT(cm_log_enabled(CM_LOG_WARN), 0);
    T_EQ_INT(cm_log_enabled(CM_LOG_ERROR), 1);
    return t_done("log");
}
