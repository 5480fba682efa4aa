/*
 * cm_queue.c - the revocation job queue on Redis (proto/REDIS.md, "Job
 * queue"). Each transition is one Lua script, so a job id sits in exactly
 * one of the waiting lists, the active, delayed or failed zsets. Key names
 * come from cm_keys.h: the formats are spliced into the script text as Lua
 * constants and filled with string.format inside the script.
 * Not here: running jobs (task-worker) or waiting on sse:q:notify.
 */
#include "cm_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "cm_keys.h"
#include "cm_redis.h"
#include "cm_store.h"

#define Q_PROMOTE_MAX 100      /* jobs moved back to waiting per take */
#define Q_NOTIFY_KEEP 16       /* wake-up tokens kept in sse:q:notify */
#define Q_DONE_TTL_S 86400     /* a completed job's record lives 24 h */
#define Q_FAILED_LIST_MAX 1000 /* bound on cm_queue_failed_list */
#define Q_NUM_MAX 24
#define Q_STR(x) Q_STR2(x)
#define Q_STR2(x) #x

/* Names every script shares: the cm_keys.h formats and the bounds. */
/* The Lua scripts keep one line of Lua per line: */
/* clang-format off */
#define Q_LUA_PRELUDE                                                        \
    "local K_JOB = '" CM_K_JOB "'\n"                                         \
    "local K_WAIT = '" CM_K_Q_WAIT "'\n"                                     \
    "local K_ACTIVE = '" CM_K_Q_ACTIVE "'\n"                                 \
    "local K_DELAYED = '" CM_K_Q_DELAYED "'\n"                               \
    "local K_FAILED = '" CM_K_Q_FAILED "'\n"                                 \
    "local K_NOTIFY = '" CM_K_Q_NOTIFY "'\n"                                 \
    "local function held(jk, attempt)\n"                                     \
    "  return redis.call('HGET', jk, 'state') == 'active' and\n"             \
    "    redis.call('HGET', jk, 'attempts') == attempt\n"                    \
    "end\n"                                                                  \
    "local function wake()\n"                                                \
    "  redis.call('LPUSH', K_NOTIFY, '1')\n"                                 \
    "  redis.call('LTRIM', K_NOTIFY, 0, " Q_STR(Q_NOTIFY_KEEP) " - 1)\n"     \
    "end\n"

/*
 * The one enqueue, shared by cm_queue_enqueue_revocation and the expiry
 * sweep by text concatenation. A job waiting, active or delayed under the
 * same id is left alone (0); a completed or failed one is replaced (1).
 */
#define Q_LUA_ENQUEUE                                                        \
    "local function enqueue(jid, jtype, kid, pid, prio, now)\n"              \
    "  local jk = string.format(K_JOB, jid)\n"                               \
    "  local st = redis.call('HGET', jk, 'state')\n"                         \
    "  if st == 'waiting' or st == 'active' or st == 'delayed' then\n"       \
    "    return 0\n"                                                         \
    "  end\n"                                                                \
    "  redis.call('ZREM', K_FAILED, jid)\n"                                  \
    "  redis.call('DEL', jk)\n"                                              \
    "  redis.call('HSET', jk, 'id', jid, 'type', jtype, 'kid', kid,\n"       \
    "    'pid', pid, 'state', 'waiting', 'priority', prio,\n"                \
    "    'attempts', 0, 'max_attempts', " Q_STR(CM_QUEUE_ATTEMPTS) ",\n"     \
    "    'created_ms', now, 'updated_ms', now, 'last_error', '',\n"          \
    "    'worker', '')\n"                                                    \
    "  redis.call('RPUSH', string.format(K_WAIT, prio), jid)\n"              \
    "  wake()\n"                                                             \
    "  return 1\n"                                                           \
    "end\n"

/* ARGV: jid type kid pid prio now_ms. Returns 1 created, 0 existed. */
static const char q_lua_enqueue[] =
    Q_LUA_PRELUDE Q_LUA_ENQUEUE
    "return enqueue(ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]),\n"
    "  ARGV[6])\n";

/* KEYS: expiry zset. ARGV: now_s now_ms limit apikey-format prio.
 * Returns the number of keys taken off the zset. */
static const char q_lua_sweep[] =
    Q_LUA_PRELUDE Q_LUA_ENQUEUE
    "local kids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
    "  'LIMIT', 0, tonumber(ARGV[3]))\n"
    "for _, kid in ipairs(kids) do\n"
    "  redis.call('ZREM', KEYS[1], kid)\n"
    "  local pid = redis.call('HGET', string.format(ARGV[4], kid), 'pid')\n"
    "  if pid then\n"
    "    enqueue('rev-e-' .. kid, 'ApiKeyExpired', kid, pid,\n"
    "      tonumber(ARGV[5]), ARGV[2])\n"
    "  end\n"
    "end\n"
    "return #kids\n";

/*
 * ARGV: worker now_ms lease_ms max_attempts. Due delayed jobs and jobs whose lease ran
 * out go back to waiting (a lost lease on the last attempt fails the job),
 * then the head of the highest priority list becomes active.
 * Returns the job's hash, or {} when nothing waits.
 */
static const char q_lua_take[] =
    Q_LUA_PRELUDE
    "local now = tonumber(ARGV[2])\n"
    "local function requeue(zset, jid)\n"
    "  redis.call('ZREM', zset, jid)\n"
    "  local jk = string.format(K_JOB, jid)\n"
    "  local h = redis.call('HMGET', jk, 'priority', 'attempts',\n"
    "    'max_attempts')\n"
    "  if not h[1] then return end\n"
    "  if zset == K_ACTIVE and tonumber(h[2]) >= tonumber(h[3]) then\n"
    "    redis.call('HSET', jk, 'state', 'failed', 'updated_ms', ARGV[2],\n"
    "      'last_error', 'lease expired')\n"
    "    redis.call('ZADD', K_FAILED, ARGV[2], jid)\n"
    "    return\n"
    "  end\n"
    "  redis.call('HSET', jk, 'state', 'waiting', 'updated_ms', ARGV[2])\n"
    "  redis.call('RPUSH', string.format(K_WAIT, tonumber(h[1])), jid)\n"
    "end\n"
    "for _, z in ipairs({K_DELAYED, K_ACTIVE}) do\n"
    "  local due = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0,\n"
    "    " Q_STR(Q_PROMOTE_MAX) ")\n"
    "  for _, jid in ipairs(due) do requeue(z, jid) end\n"
    "end\n"
    "for p = 0, " Q_STR(CM_QUEUE_NPRIO) " - 1 do\n"
    "  while true do\n"
    "    local jid = redis.call('LPOP', string.format(K_WAIT, p))\n"
    "    if not jid then break end\n"
    "    local jk = string.format(K_JOB, jid)\n"
    "    if redis.call('HGET', jk, 'state') == 'waiting' then\n"
    "      redis.call('HINCRBY', jk, 'attempts', 1)\n"
    "      redis.call('HSET', jk, 'state', 'active', 'worker', ARGV[1],\n"
    "        'updated_ms', ARGV[2], 'max_attempts', ARGV[4])\n"
    "      redis.call('ZADD', K_ACTIVE, now + tonumber(ARGV[3]), jid)\n"
    "      return redis.call('HGETALL', jk)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {}\n";

/* The attempt number a run was given by take fences it: a run whose lease
 * ran out while the job was taken again (attempts moved on) can no longer
 * extend, complete or fail it. */

/* ARGV: jid attempt until_ms. 1, or 0 when this attempt does not hold it. */
static const char q_lua_extend[] =
    Q_LUA_PRELUDE
    "if not held(string.format(K_JOB, ARGV[1]), ARGV[2]) then return 0 end\n"
    "redis.call('ZADD', K_ACTIVE, ARGV[3], ARGV[1])\n"
    "return 1\n";

/* ARGV: jid attempt now_ms. 1, or 0 when this attempt does not hold it. */
static const char q_lua_complete[] =
    Q_LUA_PRELUDE
    "local jk = string.format(K_JOB, ARGV[1])\n"
    "if not held(jk, ARGV[2]) then return 0 end\n"
    "redis.call('ZREM', K_ACTIVE, ARGV[1])\n"
    "redis.call('HSET', jk, 'state', 'completed', 'updated_ms', ARGV[3])\n"
    "redis.call('EXPIRE', jk, " Q_STR(Q_DONE_TTL_S) ")\n"
    "return 1\n";

/* ARGV: jid attempt error now_ms max_attempts backoff_ms. 1 delayed,
 * 2 failed, 0 when this attempt does not hold the job. */
static const char q_lua_fail[] =
    Q_LUA_PRELUDE
    "local jk = string.format(K_JOB, ARGV[1])\n"
    "if not held(jk, ARGV[2]) then return 0 end\n"
    "redis.call('ZREM', K_ACTIVE, ARGV[1])\n"
    "local now = tonumber(ARGV[4])\n"
    "local att = tonumber(ARGV[2])\n"
    "local max = tonumber(ARGV[5])\n"
    "redis.call('HSET', jk, 'last_error', ARGV[3], 'updated_ms', ARGV[4],\n"
    "  'max_attempts', ARGV[5])\n"
    "if att >= max then\n"
    "  redis.call('HSET', jk, 'state', 'failed')\n"
    "  redis.call('ZADD', K_FAILED, now, ARGV[1])\n"
    "  return 2\n"
    "end\n"
    "local delay = tonumber(ARGV[6]) * 2 ^ (att - 1)\n"
    "redis.call('HSET', jk, 'state', 'delayed')\n"
    "redis.call('ZADD', K_DELAYED, now + delay, ARGV[1])\n"
    "return 1\n";

/* ARGV: limit. The failed jobs' hashes, newest first. */
static const char q_lua_failed_list[] =
    Q_LUA_PRELUDE
    "local out = {}\n"
    "local ids = redis.call('ZREVRANGE', K_FAILED, 0,\n"
    "  tonumber(ARGV[1]) - 1)\n"
    "for _, jid in ipairs(ids) do\n"
    "  local h = redis.call('HGETALL', string.format(K_JOB, jid))\n"
    "  if #h > 0 then out[#out + 1] = h end\n"
    "end\n"
    "return out\n";

/* ARGV: jid (unused) now_ms. 1, or 0 unless the job is failed. */
static const char q_lua_retry[] =
    Q_LUA_PRELUDE
    "local jk = string.format(K_JOB, ARGV[1])\n"
    "if redis.call('HGET', jk, 'state') ~= 'failed' then return 0 end\n"
    "redis.call('ZREM', K_FAILED, ARGV[1])\n"
    "redis.call('HSET', jk, 'state', 'waiting', 'attempts', 0,\n"
    "  'last_error', '', 'worker', '', 'updated_ms', ARGV[3])\n"
    "local prio = tonumber(redis.call('HGET', jk, 'priority'))\n"
    "redis.call('RPUSH', string.format(K_WAIT, prio), ARGV[1])\n"
    "wake()\n"
    "return 1\n";

static const char q_lua_depth[] =
    Q_LUA_PRELUDE
    "local n = redis.call('ZCARD', K_DELAYED) + redis.call('ZCARD', K_ACTIVE)\n"
    "for p = 0, " Q_STR(CM_QUEUE_NPRIO) " - 1 do\n"
    "  n = n + redis.call('LLEN', string.format(K_WAIT, p))\n"
    "end\n"
    "return n\n";

/* clang-format on */

enum q_kind { Q_ENQUEUE, Q_TAKE, Q_JOBS, Q_DONE, Q_COUNT };

/* One request in flight; freed after its callback. */
struct q_req {
    enum q_kind kind;
    union {
        cm_queue_enqueue_cb enqueue;
        cm_queue_take_cb take;
        cm_queue_jobs_cb jobs;
        cm_queue_done_cb done;
        cm_queue_count_cb count;
    } cb;
    void *arg;
    int fail_rc; /* answered on the loop without looking at Redis */
    char job_id[CM_JOB_ID_MAX + 1];
};

static struct q_req *
q_req_new(enum q_kind kind, void *cb, void *arg)
{
    struct q_req *q = calloc(1, sizeof *q);

    if (q == NULL)
        return NULL;
    q->kind = kind;
    q->arg = arg;
    switch (kind) {
    case Q_ENQUEUE:
        q->cb.enqueue = (cm_queue_enqueue_cb)cb;
        break;
    case Q_TAKE:
        q->cb.take = (cm_queue_take_cb)cb;
        break;
    case Q_JOBS:
        q->cb.jobs = (cm_queue_jobs_cb)cb;
        break;
    case Q_DONE:
        q->cb.done = (cm_queue_done_cb)cb;
        break;
    case Q_COUNT:
        q->cb.count = (cm_queue_count_cb)cb;
        break;
    }
    return q;
}

static void
q_answer(struct q_req *q, int rc)
{
    switch (q->kind) {
    case Q_ENQUEUE:
        q->cb.enqueue(rc, NULL, 0, q->arg);
        break;
    case Q_TAKE:
        q->cb.take(rc, NULL, q->arg);
        break;
    case Q_JOBS:
        q->cb.jobs(rc, NULL, 0, q->arg);
        break;
    case Q_DONE:
        q->cb.done(rc, q->arg);
        break;
    case Q_COUNT:
        q->cb.count(rc, 0, q->arg);
        break;
    }
}

/* A job hash (HGETALL reply) into j. -1 when a field is missing. */
static int
q_job_read(const redisReply *h, struct cm_job *j)
{
    static const struct {
        const char *name;
        size_t off, cap; /* cap 0: an integer field */
        int wide;        /* int64_t, else int; for a string: may be cut */
    } f[] = {
        {"id", offsetof(struct cm_job, id), sizeof j->id, 0},
        {"type", offsetof(struct cm_job, type), sizeof j->type, 0},
        {"kid", offsetof(struct cm_job, api_key_id), sizeof j->api_key_id, 0},
        {"pid", offsetof(struct cm_job, project_id), sizeof j->project_id, 0},
        {"state", offsetof(struct cm_job, state), sizeof j->state, 0},
        /* An error text is only shown: a long one is cut, not refused. */
        {"last_error", offsetof(struct cm_job, last_error),
         sizeof j->last_error, 1},
        {"priority", offsetof(struct cm_job, priority), 0, 0},
        {"attempts", offsetof(struct cm_job, attempts), 0, 0},
        {"max_attempts", offsetof(struct cm_job, max_attempts), 0, 0},
        {"created_ms", offsetof(struct cm_job, created_ms), 0, 1},
        {"updated_ms", offsetof(struct cm_job, updated_ms), 0, 1},
    };
    size_t i, k, seen = 0;

    memset(j, 0, sizeof *j);
    if (h == NULL || h->type != REDIS_REPLY_ARRAY)
        return -1;
    for (i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *n = h->element[i], *v = h->element[i + 1];
        if (n->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return -1;
        for (k = 0; k < sizeof f / sizeof f[0]; k++) {
            char *dst = (char *)j + f[k].off;
            if (strcmp(n->str, f[k].name) != 0)
                continue;
            if (f[k].cap > 0) {
                size_t len = v->len < f[k].cap ? v->len : f[k].cap - 1;
                if (len != v->len && !f[k].wide)
                    return -1;
                memcpy(dst, v->str, len);
                dst[len] = '\0';
            } else if (f[k].wide) {
                *(int64_t *)(void *)dst = strtoll(v->str, NULL, 10);
            } else {
                *(int *)(void *)dst = (int)strtol(v->str, NULL, 10);
            }
            seen++;
        }
    }
    return seen == sizeof f / sizeof f[0] ? 0 : -1;
}

static void
q_reply_cb(struct cm_redis *r, redisReply *reply, void *arg)
{
    struct q_req *q = arg;
    struct cm_job job, *jobs;
    size_t i, n = 0;

    (void)r;
    if (q->fail_rc != 0 || reply == NULL || reply->type == REDIS_REPLY_ERROR)
        q_answer(q, q->fail_rc != 0 ? q->fail_rc : CM_STORE_UNAVAILABLE);
    else if (q->kind == Q_TAKE) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
            q_answer(q, reply->type == REDIS_REPLY_ARRAY
                            ? CM_STORE_NOTFOUND
                            : CM_STORE_UNAVAILABLE);
        else if (q_job_read(reply, &job) != 0)
            q_answer(q, CM_STORE_CORRUPT);
        else
            q->cb.take(CM_STORE_OK, &job, q->arg);
    } else if (q->kind == Q_JOBS) {
        jobs = reply->type == REDIS_REPLY_ARRAY
                   ? calloc(reply->elements + 1, sizeof *jobs)
                   : NULL;
        for (i = 0; jobs != NULL && i < reply->elements; i++)
            if (q_job_read(reply->element[i], &jobs[n]) == 0)
                n++;
        if (jobs == NULL)
            q_answer(q, CM_STORE_UNAVAILABLE);
        else
            q->cb.jobs(CM_STORE_OK, jobs, n, q->arg);
        free(jobs);
    } else if (reply->type != REDIS_REPLY_INTEGER)
        q_answer(q, CM_STORE_UNAVAILABLE);
    else if (q->kind == Q_ENQUEUE)
        q->cb.enqueue(CM_STORE_OK, q->job_id, reply->integer == 1, q->arg);
    else if (q->kind == Q_COUNT)
        q->cb.count(CM_STORE_OK, reply->integer, q->arg);
    else
        q->cb.done(reply->integer > 0 ? CM_STORE_OK : CM_STORE_NOTFOUND,
                   q->arg);
    free(q);
}

/* EVAL script with nkeys keys then args; q is freed here on -1. */
static int
q_eval(struct cm_redis *r, struct q_req *q, const char *script, int nkeys,
       int argc, const char **args)
{
    const char *argv[12];
    size_t lens[12];
    char nk[8];
    int i;

    if (q == NULL)
        return -1;
    snprintf(nk, sizeof nk, "%d", nkeys);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = nk;
    for (i = 0; i < argc; i++)
        argv[3 + i] = args[i];
    for (i = 0; i < argc + 3; i++)
        lens[i] = strlen(argv[i]);
    if (cm_redis_commandargv(r, q_reply_cb, q, argc + 3, argv, lens) != 0) {
        free(q);
        return -1;
    }
    return 0;
}

/* Bad arguments: answer on the loop (a PING round trip), as promised. */
static int
q_fail_later(struct cm_redis *r, struct q_req *q, int rc)
{
    if (q == NULL)
        return -1;
    q->fail_rc = rc;
    if (cm_redis_command(r, q_reply_cb, q, "PING") != 0) {
        free(q);
        return -1;
    }
    return 0;
}

static int
q_id_valid(const char *s, size_t max)
{
    size_t i, n;

    if (s == NULL || (n = strlen(s)) == 0 || n > max)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int
cm_queue_enqueue_revocation(struct cm_redis *r, const char *type,
                            const char *kid, const char *project_id,
                            int64_t now_ms, cm_queue_enqueue_cb cb, void *arg)
{
    struct q_req *q = q_req_new(Q_ENQUEUE, (void *)cb, arg);
    char now[Q_NUM_MAX], prio[4];
    int deleted;

    if (q == NULL)
        return -1;
    deleted = type != NULL && strcmp(type, "ApiKeyDeleted") == 0;
    if ((!deleted && (type == NULL || strcmp(type, "ApiKeyExpired") != 0)) ||
        !q_id_valid(kid, sizeof(((struct cm_job *)0)->api_key_id) - 1) ||
        project_id == NULL ||
        !chan_project_id_valid(project_id, strlen(project_id)))
        return q_fail_later(r, q, CM_STORE_INVALID);
    /* A deletion is an operator's act: it goes before expiries. */
    snprintf(prio, sizeof prio, "%d",
             deleted ? CM_QUEUE_PRIO_HIGH : CM_QUEUE_PRIO_NORMAL);
    snprintf(q->job_id, sizeof q->job_id, "rev-%c-%s", deleted ? 'd' : 'e',
             kid);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    const char *args[] = {q->job_id, type, kid, project_id, prio, now};
    return q_eval(r, q, q_lua_enqueue, 0, 6, args);
}

int
cm_queue_take(struct cm_redis *r, const char *worker_id, int64_t now_ms,
              const struct cm_queue_policy *policy, cm_queue_take_cb cb,
              void *arg)
{
    struct q_req *q = q_req_new(Q_TAKE, (void *)cb, arg);
    char now[Q_NUM_MAX], lease[Q_NUM_MAX], max[Q_NUM_MAX];

    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(lease, sizeof lease, "%lld", (long long)policy->lease_ms);
    snprintf(max, sizeof max, "%d", policy->max_attempts);
    const char *args[] = {worker_id != NULL ? worker_id : "", now, lease, max};
    return q_eval(r, q, q_lua_take, 0, 4, args);
}

/* The scripts that take (job id, attempt, one number) and answer done. */
static int
q_job_op(struct cm_redis *r, const char *script, const char *job_id,
         int attempt, int64_t num, cm_queue_done_cb cb, void *arg)
{
    struct q_req *q = q_req_new(Q_DONE, (void *)cb, arg);
    char n[Q_NUM_MAX], a[Q_NUM_MAX];

    if (q == NULL)
        return -1;
    if (!q_id_valid(job_id, CM_JOB_ID_MAX))
        return q_fail_later(r, q, CM_STORE_NOTFOUND);
    snprintf(a, sizeof a, "%d", attempt);
    snprintf(n, sizeof n, "%lld", (long long)num);
    const char *args[] = {job_id, a, n};
    return q_eval(r, q, script, 0, 3, args);
}

int
cm_queue_extend(struct cm_redis *r, const char *job_id, int attempt,
                int64_t until_ms, cm_queue_done_cb cb, void *arg)
{
    return q_job_op(r, q_lua_extend, job_id, attempt, until_ms, cb, arg);
}

int
cm_queue_complete(struct cm_redis *r, const char *job_id, int attempt,
                  int64_t now_ms, cm_queue_done_cb cb, void *arg)
{
    return q_job_op(r, q_lua_complete, job_id, attempt, now_ms, cb, arg);
}

int
cm_queue_retry(struct cm_redis *r, const char *job_id, int64_t now_ms,
               cm_queue_done_cb cb, void *arg)
{
    return q_job_op(r, q_lua_retry, job_id, 0, now_ms, cb, arg);
}

int
cm_queue_fail(struct cm_redis *r, const char *job_id, int attempt,
              const char *error, int64_t now_ms,
              const struct cm_queue_policy *policy, cm_queue_done_cb cb,
              void *arg)
{
    struct q_req *q = q_req_new(Q_DONE, (void *)cb, arg);
    char now[Q_NUM_MAX], err[CM_JOB_ERR_MAX], max[Q_NUM_MAX],
        backoff[Q_NUM_MAX], att[Q_NUM_MAX];

    if (q == NULL)
        return -1;
    if (!q_id_valid(job_id, CM_JOB_ID_MAX))
        return q_fail_later(r, q, CM_STORE_NOTFOUND);
    /* Bounded like the field it lands in. */
    snprintf(err, sizeof err, "%s", error != NULL ? error : "");
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(max, sizeof max, "%d", policy->max_attempts);
    snprintf(backoff, sizeof backoff, "%lld", (long long)policy->backoff_ms);
    snprintf(att, sizeof att, "%d", attempt);
    const char *args[] = {job_id, att, err, now, max, backoff};
    return q_eval(r, q, q_lua_fail, 0, 6, args);
}

int
cm_queue_failed_list(struct cm_redis *r, size_t limit, cm_queue_jobs_cb cb,
                     void *arg)
{
    struct q_req *q = q_req_new(Q_JOBS, (void *)cb, arg);
    char n[Q_NUM_MAX];

    if (limit > Q_FAILED_LIST_MAX)
        limit = Q_FAILED_LIST_MAX;
    snprintf(n, sizeof n, "%zu", limit);
    const char *args[] = {n};
    return q_eval(r, q, q_lua_failed_list, 0, 1, args);
}

int
cm_queue_depth(struct cm_redis *r, cm_queue_count_cb cb, void *arg)
{
    return q_eval(r, q_req_new(Q_COUNT, (void *)cb, arg), q_lua_depth, 0, 0,
                  NULL);
}

int
cm_queue_sweep_expired(struct cm_redis *r, int64_t now_s, int64_t now_ms,
                       size_t limit, cm_queue_count_cb cb, void *arg)
{
    struct q_req *q = q_req_new(Q_COUNT, (void *)cb, arg);
    char s[Q_NUM_MAX], ms[Q_NUM_MAX], lim[Q_NUM_MAX], prio[4];

    snprintf(s, sizeof s, "%lld", (long long)now_s);
    snprintf(ms, sizeof ms, "%lld", (long long)now_ms);
    snprintf(lim, sizeof lim, "%zu", limit);
    snprintf(prio, sizeof prio, "%d", CM_QUEUE_PRIO_NORMAL);
    const char *args[] = {CM_K_APIKEY_EXPIRY, s, ms, lim, CM_K_APIKEY, prio};
    return q_eval(r, q, q_lua_sweep, 1, 6, args);
}
