/*
 * test_json.c - the strict JSON validator (RFC 8259 grammar, depth bound,
 * UTF-8, escapes and surrogate pairs) on valid and invalid texts, each
 * whole, as every prefix, and at the end of a guarded page; then the span
 * scanners: kind, trim, object_get, array items/iterator, string_get,
 * escape.
 */
#include "t.h"

#include "json.h"

static const char *valid[] = {
    "0",
    "-0",
    "1",
    "-1.5",
    "1e5",
    "1E+5",
    "1.25e-10",
    "12345678901234567890",
    "true",
    "false",
    "null",
    "\"\"",
    "\"a\"",
    " \t\r\n1 \n",
    "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
    "\"\\u0041\\u00e9\\u20AC\"",
    "\"\\ud83d\\ude00\"",
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
    "[]",
    "{}",
    "[ ]",
    "{ }",
    "[1,2,3]",
    "[[[]]]",
    "{\"a\":1}",
    "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"e\"}",
    "[\"x\",{},[],0,true]",
    "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
    "{\"a\":1,\"a\":2}",
};

static const char *invalid[] = {
    "",
    " ",
    "01",
    "-",
    "1.",
    ".5",
    "1e",
    "1e+",
    "+1",
    "0x10",
    "-01",
    "NaN",
    "Infinity",
    "tru",
    "truex",
    "nul",
    "True",
    "1 2",
    "[1,]",
    "[,1]",
    "{\"a\":1,}",
    "{,}",
    "{\"a\"}",
    "{\"a\":}",
    "{a:1}",
    "{'a':1}",
    "[1 2]",
    "{\"a\" 1}",
    "[",
    "]",
    "{",
    "}",
    "[}",
    "{]",
    "[1]]",
    "\"abc",
    "\"a\nb\"",
    "\"\x01\"",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\u12G4\"",
    "\"\\ud83d\"",
    "\"\\ude00\"",
    "\"\\ud83d\\u0041\"",
    "\"\\ud83dx\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"\xe2\x82\"",
    "\"\xff\"",
    "[1]x",
    "{}{}",
    "/*c*/1",
    "[\"a\"\"b\"]",
    "\"\\'\"",
};

static void
check(const char *s, int ok)
{
    size_t len = strlen(s), k;
    int rc;

    if (len > 0) { /* t_guard_free() cannot free a 0-byte guard */
        char *g = t_guard(s, len);
        rc = jscan_validate(g, len, 16);
        t_guard_free(g);
    } else {
        rc = jscan_validate(s, len, 16);
    }
    if (rc != (ok ? PROTO_OK : PROTO_EINVAL))
        fprintf(stderr, "vector: %s\n", s);
    T_EQ_INT(rc, ok ? PROTO_OK : PROTO_EINVAL);
    /* every proper prefix of a valid text ending in a container, string
     * or literal is invalid; numbers may have valid prefixes ("12") */
    if (!ok || len == 0)
        return;
    for (k = 1; k < len; k++) {
        char *g = t_guard(s, k);
        int r = jscan_validate(g, k, 16);
        t_guard_free(g);
        T_CHECK(r == PROTO_OK || r == PROTO_EINVAL);
        if (strchr("]}\"el", s[len - 1]) != NULL && s[len - 1] != ' ' &&
            strspn(s + k, " \t\r\n") != len - k)
            T_EQ_INT(r, PROTO_EINVAL);
    }
}

static void
test_depth(void)
{
    char buf[10000];
    size_t i;

    for (i = 0; i < 64; i++)
        buf[i] = '[';
    for (i = 0; i < 64; i++)
        buf[64 + i] = ']';
    T_EQ_INT(jscan_validate(buf, 128, 64), PROTO_OK);
    T_EQ_INT(jscan_validate(buf, 128, 63), PROTO_EINVAL);
    T_EQ_INT(jscan_validate("1", 1, 0), PROTO_OK);
    T_EQ_INT(jscan_validate("[]", 2, 0), PROTO_EINVAL);
    T_EQ_INT(jscan_validate("{\"a\":[{}]}", 10, 3), PROTO_OK);
    T_EQ_INT(jscan_validate("{\"a\":[{}]}", 10, 2), PROTO_EINVAL);
    /* deep nesting is refused without recursion, even with a huge bound */
    for (i = 0; i < 5000; i++)
        buf[i] = i % 2 ? '[' : '[';
    for (i = 0; i < 5000; i++)
        buf[5000 + i] = ']';
    T_EQ_INT(jscan_validate(buf, 10000, 100000), PROTO_EINVAL);
    T_EQ_INT(jscan_validate(buf + 1000, 8000, 100000), PROTO_OK);
}

static void
test_scan(void)
{
    const char *o = " {\"a\":1, \"b\" : [1,{\"x\":\"}\"}] ,\"c\\u0041\":\"v\","
                    "\"a\":{\"z\":2}} ";
    struct proto_span v, items[4];
    size_t n;
    char out[32];

    T_EQ_INT(jscan_validate(o, strlen(o), 8), PROTO_OK);
    T_EQ_INT(jscan_kind(o, strlen(o)), JSCAN_OBJECT);
    T_EQ_INT(jscan_object_get(o, strlen(o), "a", &v), PROTO_OK);
    T_EQ_MEM(v.p, v.len, "{\"z\":2}"); /* the last duplicate wins */
    T_EQ_INT(jscan_object_get(o, strlen(o), "b", &v), PROTO_OK);
    T_EQ_MEM(v.p, v.len, "[1,{\"x\":\"}\"}]");
    T_EQ_INT(jscan_object_get(o, strlen(o), "cA", &v), PROTO_OK);
    T_EQ_MEM(v.p, v.len, "\"v\"");
    T_EQ_INT(jscan_object_get(o, strlen(o), "c", &v), PROTO_NOTFOUND);
    T_EQ_INT(jscan_object_get(o, strlen(o), "x", &v), PROTO_NOTFOUND);
    T_EQ_INT(jscan_object_get("{}", 2, "x", &v), PROTO_NOTFOUND);
    T_EQ_INT(jscan_object_get("[1]", 3, "x", &v), PROTO_EINVAL);

    T_EQ_INT(
        jscan_array_items(" [ 1 , \"a,]\" , {\"k\":[2]} ] ", 27, items, 4, &n),
        PROTO_OK);
    T_EQ_INT(n, 3);
    T_EQ_MEM(items[0].p, items[0].len, "1");
    T_EQ_MEM(items[1].p, items[1].len, "\"a,]\"");
    T_EQ_MEM(items[2].p, items[2].len, "{\"k\":[2]}");
    T_EQ_INT(jscan_array_items("[1,2,3]", 7, items, 2, &n), PROTO_ETOOBIG);
    T_EQ_INT(jscan_array_items("[]", 2, items, 0, &n), PROTO_OK);
    T_EQ_INT(n, 0);
    T_EQ_INT(jscan_array_items("{}", 2, items, 4, &n), PROTO_EINVAL);

    struct jscan_array_iter it;
    T_EQ_INT(jscan_array_iter_init(&it, "[true,null]", 11), PROTO_OK);
    T_EQ_INT(jscan_array_iter_next(&it, &v), 1);
    T_EQ_INT(jscan_kind(v.p, v.len), JSCAN_TRUE);
    T_EQ_INT(jscan_array_iter_next(&it, &v), 1);
    T_EQ_INT(jscan_kind(v.p, v.len), JSCAN_NULL);
    T_EQ_INT(jscan_array_iter_next(&it, &v), 0);

    T_EQ_INT(jscan_kind(" -1", 3), JSCAN_NUMBER);
    T_EQ_INT(jscan_kind("\"", 1), JSCAN_STRING);
    T_EQ_INT(jscan_kind("false", 5), JSCAN_FALSE);
    T_EQ_INT(jscan_kind("  ", 2), JSCAN_INVALID);
    T_EQ_INT(jscan_kind("x", 1), JSCAN_INVALID);
    v = jscan_trim(" \n[1] \t", 7);
    T_EQ_MEM(v.p, v.len, "[1]");

    const char *sv = "\"a\\\"\\u00e9\\ud83d\\ude00\\n\"";
    T_EQ_INT(jscan_string_get(sv, strlen(sv), out, sizeof out), 9);
    T_EQ_STR(out, "a\"\xc3\xa9\xf0\x9f\x98\x80\n");
    T_EQ_INT(jscan_string_get("\"abc\"", 5, out, 4), 3);
    T_EQ_INT(jscan_string_get("\"abc\"", 5, out, 3), PROTO_ETOOBIG);
    T_EQ_INT(jscan_string_get("1", 1, out, 4), PROTO_EINVAL);
    T_EQ_INT(jscan_string_get("\"ab", 3, out, 4), PROTO_EINVAL);

    char e[64];
    T_EQ_INT(jscan_escape("a\"b\\c\n\x01\xc3\xa9<", 10, e, sizeof e), 20);
    T_EQ_STR(e, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9<\"");
    T_EQ_INT(jscan_validate(e, 20, 1), PROTO_OK);
    memset(e, 'x', sizeof e);
    T_EQ_INT(jscan_escape("abc", 3, e, 5), 5); /* no room for the NUL */
    T_EQ_INT(e[0], 'x');
    T_EQ_INT(jscan_escape("", 0, e, 3), 2);
    T_EQ_STR(e, "\"\"");
}

int
main(void)
{
    size_t i;

    for (i = 0; i < sizeof valid / sizeof valid[0]; i++)
        check(valid[i], 1);
    for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        check(invalid[i], 0);
    test_depth();
    test_scan();
    return t_done("json");
}
