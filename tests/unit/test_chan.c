/*
 * test_chan.c - channel names and project ids (CONTRACT.md sections 2, 3):
 * every allowed character, every byte value outside the set, the length
 * bounds, the private prefix. Each input is guarded against over-reads.
 */
#include "t.h"

#include "chan.h"

/* t_guard_free cannot free a zero-length guard (it walks back from the
 * PROT_NONE page), so empty inputs are checked unguarded. */
static int
valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return chan_name_valid(s, 0);
    void *g = t_guard(s, n);
    int r = chan_name_valid(g, n);
    t_guard_free(g);
    return r;
}

static int
pid_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return chan_project_id_valid(s, 0);
    void *g = t_guard(s, n);
    int r = chan_project_id_valid(g, n);
    t_guard_free(g);
    return r;
}

static void
test_names(void)
{
    char buf[CHAN_NAME_MAX + 2];
    int c;

    T_CHECK(valid("a"));
    T_CHECK(valid("private-orders.42"));
    T_CHECK(valid("AZaz09_-=@,.;:"));
    T_CHECK(!valid(""));
    T_CHECK(!chan_name_valid(NULL, 0));
    T_CHECK(!valid("a b"));
    T_CHECK(!valid("a|b"));
    T_CHECK(!valid("a\"b"));
    T_CHECK(!valid("a/b"));
    T_CHECK(!valid("caf\xc3\xa9"));
    T_CHECK(!chan_name_valid("a\0b", 3));

    /* Every byte: exactly the 70 allowed characters pass. */
    int ok = 0;
    for (c = 0; c < 256; c++) {
        char s = (char)c;
        ok += chan_name_valid(&s, 1);
    }
    T_EQ_INT(ok, 26 + 26 + 10 + 8);

    memset(buf, 'x', sizeof buf);
    T_CHECK(chan_name_valid(buf, CHAN_NAME_MAX));
    T_CHECK(!chan_name_valid(buf, CHAN_NAME_MAX + 1));
}

static void
test_private(void)
{
    T_CHECK(chan_is_private("private", 7));
    T_CHECK(chan_is_private("private-x", 9));
    T_CHECK(chan_is_private("privateer", 9));
    T_CHECK(!chan_is_private("Private-x", 9));
    T_CHECK(!chan_is_private("privat", 6));
    T_CHECK(!chan_is_private("public", 6));
    T_CHECK(!chan_is_private("xprivate", 8));
}

static void
test_project_ids(void)
{
    char buf[CHAN_PROJECT_MAX + 1];

    T_CHECK(pid_valid("a"));
    T_CHECK(pid_valid("0"));
    T_CHECK(pid_valid("acme_prod-2"));
    T_CHECK(!pid_valid(""));
    T_CHECK(!pid_valid("_a"));
    T_CHECK(!pid_valid("-a"));
    T_CHECK(!pid_valid("Acme"));
    T_CHECK(!pid_valid("a.b"));
    T_CHECK(!pid_valid("a|b"));
    T_CHECK(!pid_valid("a{b}"));
    memset(buf, 'p', sizeof buf);
    T_CHECK(chan_project_id_valid(buf, CHAN_PROJECT_MAX));
    T_CHECK(!chan_project_id_valid(buf, CHAN_PROJECT_MAX + 1));
}

int
main(void)
{
    test_names();
    test_private();
    test_project_ids();
    return t_done("chan");
}
