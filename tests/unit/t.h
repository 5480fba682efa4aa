/*
 * t.h - the unit tests' tiny kit: checks that count and report, a guarded
 * copy that puts input at the end of a page followed by a PROT_NONE page
 * (any over-read crashes, as in picohttpparser's tests), and the Redis URL
 * of the private server tests/run starts.
 */
#ifndef SSE_TEST_T_H
#define SSE_TEST_T_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

extern int t_checks, t_failures;

#define T_CHECK(cond)                                                          \
    do {                                                                       \
        t_checks++;                                                            \
        if (!(cond)) {                                                         \
            t_failures++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define T_EQ_INT(a, b)                                                         \
    do {                                                                       \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                \
        t_checks++;                                                            \
        if (t_a_ != t_b_) {                                                    \
            t_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",        \
                    __FILE__, __LINE__, #a, t_a_, #b, t_b_);                   \
        }                                                                      \
    } while (0)

#define T_EQ_STR(a, b)                                                         \
    do {                                                                       \
        const char *t_a_ = (a), *t_b_ = (b);                                   \
        t_checks++;                                                            \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {         \
            t_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",          \
                    __FILE__, __LINE__, #a, t_a_ ? t_a_ : "(null)",            \
                    t_b_ ? t_b_ : "(null)");                                   \
        }                                                                      \
    } while (0)

/* Equal bytes: a span against a C string. */
#define T_EQ_MEM(p, len, s)                                                    \
    do {                                                                       \
        const char *t_s_ = (s);                                                \
        size_t t_l_ = (size_t)(len);                                           \
        t_checks++;                                                            \
        if ((p) == NULL || t_l_ != strlen(t_s_) ||                             \
            memcmp((p), t_s_, t_l_) != 0) {                                    \
            t_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s == \"%.*s\", expected \"%s\"\n",        \
                    __FILE__, __LINE__, #p, (int)t_l_,                         \
                    (p) ? (const char *)(p) : "", t_s_);                       \
        }                                                                      \
    } while (0)

/* Copy len bytes so that they end exactly at a PROT_NONE page. The copy is
 * writable. Free with t_guard_free(). Aborts on failure. */
void *t_guard(const void *data, size_t len);
void t_guard_free(void *p);

/* SSE_TEST_REDIS_URL, or NULL (then a Redis test fails, never skips). */
const char *t_redis_url(void);

/* Print "<name>: N checks, N failed" and return the exit status. */
int t_done(const char *name);

/* A test file not written yet: fail loudly. */
int t_fail_placeholder(const char *name);

#endif
