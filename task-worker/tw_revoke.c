/*
 * tw_revoke.c - the RejectApiKey consumer's work for one job (the seed's
 * RejectApiKeyConsumer): revoke the key first, so no new join or token
 * uses it while we clean up; SMEMBERS the key's socket set; one PUBLISH
 * per gateway (split under SSE_CONTROL_MSG_MAX); then, in one MULTI, SREM
 * each socket's members and DEL the key's set. Everything after SMEMBERS
 * goes out as one pipeline: 10,000 memberships cost one round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "tw.h"
#include "tw_control.h"
#include "tw_revoke.h"
#include "cm_keys.h"
#include "cm_log.h"
#include "cm_metrics.h"
#include "cm_queue.h"

struct tw_run {
    struct tw_ctx *ctx;
    struct cm_job job;
    double t0;
    struct event *lease_timer;
    tw_run_done_cb done;
    void *done_arg;
    int pending;              /* pipeline replies still to come */
    char err[CM_JOB_ERR_MAX]; /* first error of the attempt */
    char **members;           /* sorted copies of the SMEMBERS reply */
    size_t n;
    size_t valid; /* well-formed memberships */
};

static void run_step_members(struct tw_run *run);

static void
run_free(struct tw_run *run)
{
    if (run->lease_timer != NULL)
        event_free(run->lease_timer);
    free(run->members);
    free(run);
}

static void
run_finish(struct tw_run *run, enum tw_outcome outcome)
{
    struct tw_ctx *ctx = run->ctx;
    static const char *names[] = {"completed", "retried", "failed",
                                  "abandoned"};

    cm_histogram_observe(ctx->m.job_seconds, cm_now_mono() - run->t0);
    if (outcome == TW_OUTCOME_COMPLETED)
        cm_counter_inc(ctx->m.jobs_completed);
    else if (outcome == TW_OUTCOME_RETRIED)
        cm_counter_inc(ctx->m.jobs_retried);
    else if (outcome == TW_OUTCOME_FAILED)
        cm_counter_inc(ctx->m.jobs_failed);
    cm_log(outcome == TW_OUTCOME_COMPLETED ? CM_LOG_INFO : CM_LOG_WARN,
           "job finished", KV_S("job", run->job.id),
           KV_S("outcome", names[outcome]), KV_I("attempt", run->job.attempts),
           KV_I("memberships", (long long)run->valid),
           KV_D("seconds", cm_now_mono() - run->t0),
           KV_S("error", run->err[0] ? run->err : "-"));
    run->done(run, outcome, run->done_arg);
    run_free(run);
}

static void
run_completed(int rc, void *arg)
{
    struct tw_run *run = arg;

    run_finish(run,
               rc == CM_STORE_OK ? TW_OUTCOME_COMPLETED : TW_OUTCOME_ABANDONED);
}

static void
run_failed(int rc, void *arg)
{
    struct tw_run *run = arg;

    if (rc != CM_STORE_OK)
        run_finish(run, TW_OUTCOME_ABANDONED);
    else if (run->job.attempts >= run->job.max_attempts)
        run_finish(run, TW_OUTCOME_FAILED);
    else
        run_finish(run, TW_OUTCOME_RETRIED);
}

/* The attempt is over: report it to the queue (unless shutting down). */
static void
run_end(struct tw_run *run)
{
    struct tw_ctx *ctx = run->ctx;
    int rc;

    if (ctx->closing) {
        run_finish(run, TW_OUTCOME_ABANDONED);
        return;
    }
    if (run->err[0] == '\0')
        rc = cm_queue_complete(ctx->redis, run->job.id, run->job.attempts,
                               tw_now_ms(), run_completed, run);
    else
        rc = cm_queue_fail(ctx->redis, run->job.id, run->job.attempts, run->err,
                           tw_now_ms(), &ctx->policy, run_failed, run);
    if (rc != 0)
        run_finish(run, TW_OUTCOME_ABANDONED);
}

static void
run_set_error(struct tw_run *run, const char *what, const char *detail)
{
    if (run->err[0] != '\0')
        return;
    cm_counter_inc(run->ctx->m.redis_errors);
    snprintf(run->err, sizeof(run->err), "%s: %s", what,
             detail ? detail : "Redis link down");
}

static void
run_extend_done(int rc, void *arg)
{
    if (rc != CM_STORE_OK)
        cm_warn("lease extension refused", KV_S("rc", cm_store_strerror(rc)));
    (void)arg;
}

/* Long runs keep their lease, so no other worker starts the same job. */
static void
run_lease_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tw_run *run = arg;
    struct tw_ctx *ctx = run->ctx;

    (void)fd;
    (void)what;
    if (ctx->closing)
        return;
    cm_queue_extend(ctx->redis, run->job.id, run->job.attempts,
                    tw_now_ms() + ctx->conf.job_lease_ms, run_extend_done, ctx);
}

static void
run_key_revoked(int rc, void *arg)
{
    struct tw_run *run = arg;

    if (run->ctx->closing) {
        run_finish(run, TW_OUTCOME_ABANDONED);
        return;
    }
    if (rc != CM_STORE_OK && rc != CM_STORE_NOTFOUND) {
        run_set_error(run, "revoke key", cm_store_strerror(rc));
        run_end(run);
        return;
    }
    run_step_members(run);
}

static void
run_key_got(int rc, const struct cm_apikey *k, const struct cm_project *project,
            const char *plaintext, void *arg)
{
    struct tw_run *run = arg;
    struct tw_ctx *ctx = run->ctx;

    (void)project;
    (void)plaintext;
    if (ctx->closing) {
        run_finish(run, TW_OUTCOME_ABANDONED);
        return;
    }
    if (rc == CM_STORE_NOTFOUND ||
        (rc == CM_STORE_OK && strcmp(k->project_id, run->job.project_id))) {
        /* No such key in this project: nothing to revoke, but memberships
         * recorded under the pair may still exist; clean them. */
        if (rc == CM_STORE_OK)
            cm_warn("job names another project's key: not revoking it",
                    KV_S("job", run->job.id));
        run_step_members(run);
        return;
    }
    if (rc != CM_STORE_OK && rc != CM_STORE_REVOKED && rc != CM_STORE_EXPIRED) {
        run_set_error(run, "read key", cm_store_strerror(rc));
        run_end(run);
        return;
    }
    if (cm_store_key_revoke(&ctx->store, run->job.api_key_id, run_key_revoked,
                            run) != 0) {
        run_set_error(run, "revoke key", NULL);
        run_end(run);
    }
}

/* ---- the pipeline after SMEMBERS: PUBLISHes, then MULTI/SREM/DEL/EXEC */

static void
run_pipe_release(struct tw_run *run)
{
    if (--run->pending > 0)
        return;
    if (run->ctx->closing) {
        run_finish(run, TW_OUTCOME_ABANDONED);
        return;
    }
    if (run->err[0] == '\0')
        cm_counter_add(run->ctx->m.memberships, run->valid);
    run_end(run);
}

static void
run_pipe_reply(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct tw_run *run = arg;

    (void)r;
    if (reply == NULL) {
        run_set_error(run, "pipeline", NULL);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        run_set_error(run, "pipeline", reply->str);
    } else if (reply->type == REDIS_REPLY_ARRAY) {
        /* EXEC: a queued command's own error is inside the array. */
        for (size_t i = 0; i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_ERROR)
                run_set_error(run, "pipeline", reply->element[i]->str);
    }
    run_pipe_release(run);
}

static int
run_send(struct tw_run *run, int argc, const char **argv, const size_t *lens)
{
    run->pending++;
    if (cm_redis_commandargv(run->ctx->redis, run_pipe_reply, run, argc, argv,
                             lens) != 0) {
        run->pending--;
        run_set_error(run, "pipeline", NULL);
        return -1;
    }
    return 0;
}

static int
run_emit(const char *tag, const char *msg, size_t len, void *arg)
{
    struct tw_run *run = arg;
    char chan[CM_KEY_MAX];
    const char *argv[3] = {"PUBLISH", chan, msg};
    size_t lens[3] = {7, 0, len};

    lens[1] = (size_t)snprintf(chan, sizeof(chan), CM_C_GATEWAY, tag);
    cm_counter_inc(run->ctx->m.control_msgs);
    return run_send(run, 3, argv, lens);
}

/* SREM sse:{p:<pid>}:sock:<sid> "<kid>|<ch>"... for members[from..to),
 * all valid and of one sid. */
static int
run_send_srem(struct tw_run *run, size_t from, size_t to)
{
    size_t kidlen = strlen(run->job.api_key_id), argc = 2, off = 0;
    size_t total = 0, cap = 2 + (to - from);
    const char **argv = malloc(cap * sizeof(*argv));
    size_t *lens = malloc(cap * sizeof(*lens));
    char key[CM_KEY_MAX], sid[CM_SID_LEN + 1], *block = NULL;
    int rc = -1;

    for (size_t i = from; i < to; i++)
        total += kidlen + 1 + strlen(run->members[i]) - CM_SID_LEN;
    if (argv == NULL || lens == NULL || (block = malloc(total)) == NULL) {
        run_set_error(run, "pipeline", "out of memory");
        goto out;
    }
    memcpy(sid, run->members[from], CM_SID_LEN);
    sid[CM_SID_LEN] = '\0';
    argv[0] = "SREM";
    lens[0] = 4;
    argv[1] = key;
    lens[1] =
        (size_t)snprintf(key, sizeof(key), CM_K_SOCK, run->job.project_id, sid);
    for (size_t i = from; i < to; i++) {
        const char *ch = run->members[i] + CM_SID_LEN + 1;
        size_t chlen = strlen(ch);
        argv[argc] = block + off;
        memcpy(block + off, run->job.api_key_id, kidlen);
        block[off + kidlen] = CM_SEP;
        memcpy(block + off + kidlen + 1, ch, chlen);
        lens[argc++] = kidlen + 1 + chlen;
        off += kidlen + 1 + chlen;
    }
    rc = run_send(run, (int)argc, argv, lens);
out:
    free(argv);
    free(lens);
    free(block);
    return rc;
}

/* Inside the MULTI: SREM each socket's members, then DEL the key's set. */
static int
run_send_cleanup_body(struct tw_run *run)
{
    char key[CM_KEY_MAX];
    const char *ch;
    size_t i = 0, j;
    const char *del[2] = {"DEL", key};
    size_t dlens[2] = {3, 0};

    while (i < run->n) {
        if (!tw_member_valid(run->members[i], &ch)) {
            i++;
            continue;
        }
        for (j = i + 1;
             j < run->n && tw_member_valid(run->members[j], &ch) &&
             memcmp(run->members[j], run->members[i], CM_SID_LEN) == 0;
             j++)
            ;
        if (run_send_srem(run, i, j) != 0)
            return -1;
        i = j;
    }
    dlens[1] = (size_t)snprintf(key, sizeof(key), CM_K_KEYSOCKS,
                                run->job.project_id, run->job.api_key_id);
    return run_send(run, 2, del, dlens);
}

static int
run_send_cleanup(struct tw_run *run)
{
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    size_t l5[1] = {5}, l4[1] = {4};

    if (run_send(run, 1, multi, l5) != 0)
        return -1;
    if (run_send_cleanup_body(run) != 0 || run_send(run, 1, exec, l4) != 0) {
        /* The link is shared: a MULTI left open (a failed allocation
         * while the link is up) would queue every later command of every
         * job, and the next EXEC would run them as one. Close it. */
        cm_redis_command(run->ctx->redis, NULL, NULL, "DISCARD");
        return -1;
    }
    return 0;
}

static int
run_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy the members (the reply dies with the callback) and sort them so
 * that a tag's and a socket's members are adjacent. */
static int
run_copy_members(struct tw_run *run, const redisReply *reply)
{
    size_t total = 0;
    char *block;
    const char *ch;

    for (size_t i = 0; i < reply->elements; i++)
        total += reply->element[i]->len + 1;
    run->members = malloc(reply->elements * sizeof(char *) + total);
    if (run->members == NULL)
        return -1;
    block = (char *)(run->members + reply->elements);
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        run->members[i] = block;
        memcpy(block, e->str ? e->str : "", e->len);
        block[e->len] = '\0';
        block += e->len + 1;
        if (tw_member_valid(run->members[i], &ch))
            run->valid++;
    }
    run->n = reply->elements;
    qsort(run->members, run->n, sizeof(char *), run_cmp);
    return 0;
}

static void
run_members_got(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct tw_run *run = arg;
    long sent;

    (void)r;
    if (run->ctx->closing) {
        run_finish(run, TW_OUTCOME_ABANDONED);
        return;
    }
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        run_set_error(run, "SMEMBERS",
                      reply && reply->type == REDIS_REPLY_ERROR
                          ? reply->str
                          : (reply ? "unexpected reply" : NULL));
        run_end(run);
        return;
    }
    if (reply->elements == 0) {
        run_end(run);
        return;
    }
    if (run_copy_members(run, reply) != 0) {
        run_set_error(run, "SMEMBERS", "out of memory");
        run_end(run);
        return;
    }
    /* Hold the pipeline open while sending, so it cannot end early. */
    run->pending = 1;
    sent = tw_control_build(run->job.project_id, run->job.type,
                            tw_control_text(run->job.type),
                            (const char *const *)run->members, run->n,
                            (size_t)run->ctx->conf.control_max, run_emit, run);
    /* Clean the indexes only once every gateway has been told. */
    if (sent >= 0)
        run_send_cleanup(run);
    else
        run_set_error(run, "control messages", "could not build or send");
    run_pipe_release(run);
}

static void
run_step_members(struct tw_run *run)
{
    char key[CM_KEY_MAX];

    snprintf(key, sizeof(key), CM_K_KEYSOCKS, run->job.project_id,
             run->job.api_key_id);
    if (cm_redis_command(run->ctx->redis, run_members_got, run, "SMEMBERS %s",
                         key) != 0) {
        run_set_error(run, "SMEMBERS", NULL);
        run_end(run);
    }
}

struct tw_run *
tw_run_start(struct tw_ctx *ctx, const struct cm_job *job, tw_run_done_cb done,
             void *arg)
{
    struct tw_run *run = calloc(1, sizeof(*run));
    long long every = ctx->conf.job_lease_ms / 3;
    struct timeval tv;

    if (run == NULL)
        return NULL;
    run->ctx = ctx;
    run->job = *job;
    run->t0 = cm_now_mono();
    run->done = done;
    run->done_arg = arg;
    run->lease_timer =
        event_new(ctx->base, -1, EV_PERSIST, run_lease_tick, run);
    if (run->lease_timer == NULL) {
        free(run);
        return NULL;
    }
    if (every < 50)
        every = 50;
    tv.tv_sec = every / 1000;
    tv.tv_usec = (every % 1000) * 1000;
    event_add(run->lease_timer, &tv);
    cm_info("job started", KV_S("job", job->id), KV_S("type", job->type),
            KV_S("kid", job->api_key_id), KV_S("project", job->project_id),
            KV_I("attempt", job->attempts));
    if (cm_store_key_get(&ctx->store, job->api_key_id, run_key_got, run) != 0) {
        /* Redis is down: leave the job to its lease. */
        run_free(run);
        return NULL;
    }
    return run;
}
