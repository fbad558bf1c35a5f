/* Unit tests for json.c: the strict parser (grammar, strings, UTF-8, limits,
 * duplicate keys, raw number text) and the string writer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wire/json.h"
#include "base/utf8.h"
#include "testutil.h"

static execrec_arena_t *arena;

static void setup(void) {
    arena = execrec_arena_new();
}

static void teardown(void) {
    execrec_arena_destroy(arena);
    arena = NULL;
}

/* Parses s (n bytes), expecting success. */
static execrec_json_t *ok_n(const char *s, size_t n) {
    execrec_json_t *root = NULL;
    execrec_reject_t rej;
    memset(&rej, 0, sizeof(rej));
    execrec_err_t err = execrec_json_parse(s, n, arena, &root, &rej);
    ck_assert_msg(err == EXECREC_OK, "'%.*s': %s %s", (int)n, s, rej.code ? rej.code : "?",
                  rej.message);
    ck_assert_ptr_nonnull(root);
    return root;
}

static execrec_json_t *ok(const char *s) {
    return ok_n(s, strlen(s));
}

/* Parses s (n bytes), expecting a reject with code; returns the message. */
static const char *bad_n(const char *s, size_t n, const char *code) {
    static execrec_reject_t rej;
    execrec_json_t *root = NULL;
    memset(&rej, 0, sizeof(rej));
    execrec_err_t err = execrec_json_parse(s, n, arena, &root, &rej);
    ck_assert_msg(err == EXECREC_ERR_REJECT, "'%.*s': accepted", (int)n, s);
    ck_assert_msg(!strcmp(rej.code, code), "'%.*s': got %s (%s), want %s", (int)n, s, rej.code,
                  rej.message, code);
    return rej.message;
}

static const char *bad(const char *s, const char *code) {
    return bad_n(s, strlen(s), code);
}

START_TEST(test_values) {
    execrec_json_t *v = ok(" {\"a\":[1,true,false,null,\"x\",{},[]],\"b\":{\"c\":-0.5e+3}} ");
    ck_assert_int_eq(v->type, EXECREC_JSON_OBJECT);
    ck_assert_uint_eq(v->count, 2);
    const execrec_json_t *a = execrec_json_get(v, "a");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->type, EXECREC_JSON_ARRAY);
    ck_assert_uint_eq(a->count, 7);
    const execrec_json_t *e = a->child;
    ck_assert_int_eq(e->type, EXECREC_JSON_NUMBER);
    ck_assert_str_eq(e->str, "1");
    ck_assert_int_eq((e = e->next)->type, EXECREC_JSON_TRUE);
    ck_assert_int_eq((e = e->next)->type, EXECREC_JSON_FALSE);
    ck_assert_int_eq((e = e->next)->type, EXECREC_JSON_NULL);
    ck_assert_int_eq((e = e->next)->type, EXECREC_JSON_STRING);
    ck_assert_str_eq(e->str, "x");
    ck_assert_int_eq((e = e->next)->type, EXECREC_JSON_OBJECT);
    ck_assert_uint_eq(e->count, 0);
    ck_assert_int_eq((e = e->next)->type, EXECREC_JSON_ARRAY);
    ck_assert_ptr_null(e->next);
    const execrec_json_t *c = execrec_json_get(execrec_json_get(v, "b"), "c");
    ck_assert_str_eq(c->str, "-0.5e+3");
    ck_assert_ptr_null(execrec_json_get(v, "zz"));
    ck_assert_ptr_null(execrec_json_get(a, "a")); /* not an object */
    /* scalars at top level are JSON too */
    ck_assert_int_eq(ok("42")->type, EXECREC_JSON_NUMBER);
    ck_assert_int_eq(ok("\"s\"")->type, EXECREC_JSON_STRING);
    ck_assert_int_eq(ok("null")->type, EXECREC_JSON_NULL);
    /* offsets point at the value */
    v = ok("{\"k\": \"v\"}");
    ck_assert_uint_eq(v->child->offset, 6);
}
END_TEST

START_TEST(test_numbers_raw) {
    static const char *const nums[] = {
        "0",
        "-0",
        "0.1",
        "1e-8",
        "1E+8",
        "123456789.12345678",
        "12345678901234567890123456789",
        "1.50",
        "-1.0e-0",
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        char doc[128];
        snprintf(doc, sizeof(doc), "[%s]", nums[i]);
        execrec_json_t *v = ok(doc);
        ck_assert_str_eq(v->child->str, nums[i]);
        ck_assert_uint_eq(v->child->len, strlen(nums[i]));
    }
    static const char *const bads[] = {
        "[01]",  "[1.]",       "[.5]",        "[+1]",   "[1e]",    "[1e+]", "[-]",
        "[NaN]", "[Infinity]", "[-Infinity]", "[0x10]", "[1.2.3]", "[- 1]",
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
        bad(bads[i], EXECREC_REJ_JSON_SYNTAX);
}
END_TEST

START_TEST(test_strings) {
    execrec_json_t *v = ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
    ck_assert_str_eq(v->str, "a\"b\\c/d\b\f\n\r\t");
    v = ok("\"\\u00e9\\u20ac\\ud83d\\ude00\"");
    ck_assert_str_eq(v->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert_uint_eq(v->len, 9);
    v = ok("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    ck_assert_str_eq(v->str, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    v = ok("\"\\u0041\\u00410\"");
    ck_assert_str_eq(v->str, "AA0");
    bad("\"\\x41\"", EXECREC_REJ_JSON_SYNTAX);
    bad("\"\\u12\"", EXECREC_REJ_JSON_SYNTAX);
    bad("\"\\u12G4\"", EXECREC_REJ_JSON_SYNTAX);
    bad("\"abc", EXECREC_REJ_JSON_SYNTAX);
    bad("\"abc\\", EXECREC_REJ_JSON_SYNTAX);
    bad("'abc'", EXECREC_REJ_JSON_SYNTAX);
    bad("\"tab\there\"", EXECREC_REJ_JSON_SYNTAX);
    bad("\"nl\nhere\"", EXECREC_REJ_JSON_SYNTAX);
    bad("\"\\ud800\"", EXECREC_REJ_UTF8); /* lone high surrogate */
    bad("\"\\udc00\"", EXECREC_REJ_UTF8); /* lone low surrogate */
    bad("\"\\ud800\\u0041\"", EXECREC_REJ_UTF8);
}
END_TEST

START_TEST(test_nul) {
    const char *m = bad("{\"order_id\":\"a\\u0000b\"}", EXECREC_REJ_JSON_NUL);
    ck_assert_ptr_nonnull(strstr(m, "order_id"));
    ck_assert_ptr_nonnull(strstr(m, "byte 14"));
    bad("{\"a\\u0000\":1}", EXECREC_REJ_JSON_NUL);
    /* a raw NUL byte is a control character: syntax */
    bad_n("{\"a\":\"x\0y\"}", 11, EXECREC_REJ_JSON_SYNTAX);
    bad_n("{\"a\":1}\0", 8, EXECREC_REJ_JSON_SYNTAX);
}
END_TEST

START_TEST(test_utf8) {
    static const char *const invalid[] = {
        "\"\xc0\x80\"",         /* overlong NUL */
        "\"\xc1\xbf\"",         /* overlong */
        "\"\xe0\x80\xaf\"",     /* overlong 3-byte */
        "\"\xf0\x80\x80\xaf\"", /* overlong 4-byte */
        "\"\xed\xa0\x80\"",     /* encoded surrogate U+D800 */
        "\"\xf4\x90\x80\x80\"", /* U+110000 */
        "\"\xf5\x80\x80\x80\"",
        "\"\xff\"",
        "\"\x80\"", /* lone continuation */
        "\"\xc3\"", /* truncated */
        "\"\xe2\x82\"",
        "{\"k\xff\":1}", /* in a key */
        "[1]\xff",       /* after the value */
        "\xff",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        bad(invalid[i], EXECREC_REJ_UTF8);
    ok("\"\xf4\x8f\xbf\xbf\"");                     /* U+10FFFF */
    ok("\"\xee\x80\x80\"");                         /* private use */
    bad("\xef\xbb\xbf{}", EXECREC_REJ_JSON_SYNTAX); /* BOM */
    bad("[1]\xc3\xa9", EXECREC_REJ_JSON_SYNTAX);    /* valid but out of place */
    size_t off = 99;
    ck_assert_int_eq(execrec_utf8_valid("ab\xc3\xa9", 4, &off), 1);
    ck_assert_int_eq(execrec_utf8_valid("ab\xc3(", 4, &off), 0);
    ck_assert_uint_eq(off, 2);
    ck_assert_int_eq(execrec_utf8_valid("a\0b", 3, &off), 1);
}
END_TEST

START_TEST(test_syntax) {
    static const char *const bads[] = {
        "",
        "   ",
        "{",
        "}",
        "[",
        "[1,]",
        "[,1]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":}",
        "[1 2]",
        "{} {}",
        "{}x",
        "tru",
        "nul",
        "True",
        "[undefined]",
        "{\"a\":1 \"b\":2}",
        "/* c */{}",
        "{\"a\":1}//",
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
        bad(bads[i], EXECREC_REJ_JSON_SYNTAX);
    ok(" \t\r\n{ \"a\" : [ 1 , 2 ] } \n");
    const char *m = bad("{\"price\":12,}", EXECREC_REJ_JSON_SYNTAX);
    ck_assert_ptr_nonnull(strstr(m, "byte 12"));
}
END_TEST

START_TEST(test_depth) {
    char doc[512];
    size_t n = 0;
    for (int i = 0; i < EXECREC_JSON_MAX_DEPTH; i++)
        doc[n++] = '[';
    for (int i = 0; i < EXECREC_JSON_MAX_DEPTH; i++)
        doc[n++] = ']';
    ok_n(doc, n);
    n = 0;
    for (int i = 0; i < EXECREC_JSON_MAX_DEPTH + 1; i++)
        doc[n++] = '[';
    for (int i = 0; i < EXECREC_JSON_MAX_DEPTH + 1; i++)
        doc[n++] = ']';
    bad_n(doc, n, EXECREC_REJ_JSON_DEPTH);
    /* far deeper than the limit: no stack overflow */
    char *deep = malloc(200001);
    memset(deep, '[', 200000);
    bad_n(deep, 200000, EXECREC_REJ_JSON_DEPTH);
    memset(deep, '{', 1);
    n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)sprintf(deep + n, "{\"a\":");
    bad_n(deep, n, EXECREC_REJ_JSON_DEPTH);
    free(deep);
}
END_TEST

START_TEST(test_duplicates) {
    const char *m = bad("{\"a\":1,\"b\":2,\"a\":3}", EXECREC_REJ_DUP_FIELD);
    ck_assert_ptr_nonnull(strstr(m, "\"a\""));
    bad("{\"x\":{\"a\":1,\"a\":1}}", EXECREC_REJ_DUP_FIELD);
    /* escapes decode before comparison */
    bad("{\"a\":1,\"\\u0061\":2}", EXECREC_REJ_DUP_FIELD);
    ok("{\"a\":1,\"A\":2,\"x\":{\"a\":3}}");
    /* large objects: the hash set path, first and last duplicates */
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_buf_putc(&b, '{');
    for (int i = 0; i < 5000; i++)
        execrec_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    size_t base = b.len;
    execrec_buf_puts(&b, "}");
    execrec_json_t *v = ok_n(b.data, b.len);
    ck_assert_uint_eq(v->count, 5000);
    ck_assert_str_eq(execrec_json_get(v, "k4999")->str, "4999");
    b.len = base;
    execrec_buf_puts(&b, ",\"k0\":1}");
    bad_n(b.data, b.len, EXECREC_REJ_DUP_FIELD);
    b.len = base;
    execrec_buf_puts(&b, ",\"k4999\":1}");
    bad_n(b.data, b.len, EXECREC_REJ_DUP_FIELD);
    b.len = base;
    execrec_buf_puts(&b, ",\"k17\":1}");
    bad_n(b.data, b.len, EXECREC_REJ_DUP_FIELD);
    execrec_buf_free(&b);
}
END_TEST

START_TEST(test_writer) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    ck_assert_int_eq(execrec_json_append_string(&b, "a\"b\\c\n\t\x01\x7f\xc3\xa9", 11), 0);
    ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\"");
    execrec_buf_reset(&b);
    ck_assert_int_eq(execrec_json_append_string(&b, "x\0y", 3), 0);
    ck_assert_str_eq(b.data, "\"x\\u0000y\"");
    execrec_buf_reset(&b);
    ck_assert_int_eq(execrec_json_append_bytes(&b, "A\xff\x00\"", 4), 0);
    ck_assert_str_eq(b.data, "\"A\\u00ff\\u0000\\\"\"");
    /* round trip through the parser */
    execrec_buf_reset(&b);
    const char *s = "quote\" back\\ ctl\x1f caf\xc3\xa9";
    execrec_json_append_string(&b, s, strlen(s));
    execrec_json_t *v = ok_n(b.data, b.len);
    ck_assert_str_eq(v->str, s);
    execrec_buf_free(&b);
}
END_TEST

START_TEST(test_type_names) {
    ck_assert_str_eq(execrec_json_type_name(EXECREC_JSON_TRUE), "boolean");
    ck_assert_str_eq(execrec_json_type_name(EXECREC_JSON_FALSE), "boolean");
    ck_assert_str_eq(execrec_json_type_name(EXECREC_JSON_OBJECT), "object");
    ck_assert_str_eq(execrec_json_value_name(NULL), "missing");
    const char *in = "[true,false,null,1,\"s\",[],{}]";
    execrec_json_t *root = NULL;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_json_parse(in, strlen(in), arena, &root, &rej), EXECREC_OK);
    const char *want[] = {"true", "false", "null", "number", "string", "array", "object"};
    size_t i = 0;
    for (const execrec_json_t *v = root->child; v; v = v->next, i++)
        ck_assert_str_eq(execrec_json_value_name(v), want[i]);
    ck_assert_uint_eq(i, 7);
}
END_TEST

Suite *json_suite(void);

Suite *json_suite(void) {
    Suite *s = suite_create("json");
    struct {
        const char *name;
        const TTest *test;
    } groups[] = {
        {"values", test_values},   {"numbers", test_numbers_raw},
        {"strings", test_strings}, {"nul", test_nul},
        {"utf8", test_utf8},       {"syntax", test_syntax},
        {"depth", test_depth},     {"duplicates", test_duplicates},
        {"writer", test_writer},   {"type_names", test_type_names},
    };
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        TCase *tc = tcase_create(groups[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, groups[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

EXECREC_TEST_MAIN(json_suite)
