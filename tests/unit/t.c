/*
 * t.c - see t.h.
 */
#include "t.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int t_checks, t_failures;

struct guard_hdr {
    void *base;
    size_t maplen;
};

void *
t_guard(const void *data, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = len + sizeof(struct guard_hdr);
    size_t pages = (need + page - 1) / page + 1;
    uint8_t *base = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        abort();
    if (mprotect(base + (pages - 1) * page, page, PROT_NONE) != 0)
        abort();
    uint8_t *p = base + (pages - 1) * page - len;
    struct guard_hdr h = {base, pages * page};
    memcpy(base, &h, sizeof h);
    if (len > 0)
        memcpy(p, data, len);
    return p;
}

void
t_guard_free(void *p)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    /* The header sits at the start of the mapping: find it by walking back
     * page by page. Start from the byte before p: with an empty copy, p
     * itself is the first byte of the PROT_NONE page. */
    uint8_t *q = (uint8_t *)(((uintptr_t)p - 1) & ~(uintptr_t)(page - 1));
    for (;;) {
        struct guard_hdr h;
        memcpy(&h, q, sizeof h);
        if (h.base == q) {
            munmap(h.base, h.maplen);
            return;
        }
        q -= page;
    }
}

const char *
t_redis_url(void)
{
    const char *u = getenv("SSE_TEST_REDIS_URL");
    return (u && *u) ? u : NULL;
}

int
t_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, t_checks, t_failures);
    return t_failures == 0 && t_checks > 0 ? 0 : 1;
}

int
t_fail_placeholder(const char *name)
{
    fprintf(stderr, "%s: test not written yet\n", name);
    return 1;
}
