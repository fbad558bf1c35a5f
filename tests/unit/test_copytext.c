/* Unit tests for copytext.c: PostgreSQL COPY text encoding of fields, NULL, hex and
 * bytea, and the storable-text test. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "pg/copytext.h"
#include "testutil.h"

/* The field encoding of the n bytes of in. */
static void field_is_n(const char *in, size_t n, const char *want, size_t want_len) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_copytext_field(&b, in, n);
    ck_assert(!b.oom);
    ck_assert_uint_eq(b.len, want_len);
    ck_assert_msg(!memcmp(b.data, want, b.len), "got \"%s\", want \"%s\"", b.data, want);
    execrec_buf_free(&b);
}

static void field_is(const char *in, size_t n, const char *want) {
    field_is_n(in, n, want, strlen(want));
}

START_TEST(test_field_plain) {
    field_is("", 0, "");
    field_is("abc", 3, "abc");
    field_is("0123456789abcdefghij", 20, "0123456789abcdefghij"); /* word-at-a-time path */
    field_is("\"quoted\" 'single' ,;|", 21, "\"quoted\" 'single' ,;|");
}
END_TEST

START_TEST(test_field_escapes) {
    field_is("\\", 1, "\\\\");
    field_is("\t", 1, "\\t");
    field_is("\n", 1, "\\n");
    field_is("\r", 1, "\\r");
    field_is("a\tb\nc\rd\\e", 9, "a\\tb\\nc\\rd\\\\e");
    field_is("\\N", 2, "\\\\N"); /* the text \N is not NULL */
    /* Escapes at every position of an 8-byte word, and just past one. */
    field_is("1234567\t", 8, "1234567\\t");
    field_is("12345678\t", 9, "12345678\\t");
    field_is("\t2345678", 8, "\\t2345678");
    field_is("abcdefgh\\ijklmnop\n", 18, "abcdefgh\\\\ijklmnop\\n");
    field_is("\n\n\n\n\n\n\n\n\n", 9, "\\n\\n\\n\\n\\n\\n\\n\\n\\n");
}
END_TEST

START_TEST(test_field_bytes) {
    /* Other bytes are copied as they are: UTF-8, control characters, NUL. */
    field_is("\xc3\xa9t\xc3\xa9", 5, "\xc3\xa9t\xc3\xa9");
    field_is("\xf0\x9f\x98\x80\x01\x7f", 6, "\xf0\x9f\x98\x80\x01\x7f");
    field_is_n("a\0b", 3, "a\0b", 3);
    /* Appends: what is there stays. */
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_buf_puts(&b, "x\t");
    execrec_copytext_field(&b, "y\tz", 3);
    ck_assert_str_eq(b.data, "x\ty\\tz");
    execrec_buf_free(&b);
}
END_TEST

START_TEST(test_null_hex_bytea) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_copytext_null(&b);
    ck_assert_str_eq(b.data, "\\N");
    execrec_buf_reset(&b);
    execrec_copytext_hex(&b,
                         "\x00\x01\xab\xff"
                         "A",
                         5);
    ck_assert_str_eq(b.data, "0001abff41");
    execrec_buf_reset(&b);
    execrec_copytext_hex(&b, "", 0);
    ck_assert_str_eq(b.data, "");
    execrec_buf_reset(&b);
    execrec_copytext_bytea(&b, "\xde\xad", 2);
    ck_assert_str_eq(b.data, "\\\\xdead"); /* COPY text for the value \xdead */
    execrec_buf_reset(&b);
    execrec_copytext_bytea(&b, "", 0);
    ck_assert_str_eq(b.data, "\\\\x");
    execrec_buf_free(&b);
}
END_TEST

START_TEST(test_storable) {
    ck_assert_int_eq(execrec_copytext_storable("", 0), 1);
    ck_assert_int_eq(execrec_copytext_storable("plain", 5), 1);
    ck_assert_int_eq(execrec_copytext_storable("tab\there", 8), 1);
    ck_assert_int_eq(execrec_copytext_storable("\xc3\xa9", 2), 1);         /* e acute */
    ck_assert_int_eq(execrec_copytext_storable("\xe2\x82\xac", 3), 1);     /* euro sign */
    ck_assert_int_eq(execrec_copytext_storable("\xf0\x9f\x98\x80", 4), 1); /* 4 bytes */
    ck_assert_int_eq(execrec_copytext_storable("a\0b", 3), 0);             /* NUL */
    ck_assert_int_eq(execrec_copytext_storable("\xff", 1), 0);
    ck_assert_int_eq(execrec_copytext_storable("\xc3", 1), 0);             /* truncated */
    ck_assert_int_eq(execrec_copytext_storable("\xe2\x82", 2), 0);         /* truncated */
    ck_assert_int_eq(execrec_copytext_storable("\xc0\xaf", 2), 0);         /* overlong */
    ck_assert_int_eq(execrec_copytext_storable("\xed\xa0\x80", 3), 0);     /* surrogate */
    ck_assert_int_eq(execrec_copytext_storable("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    ck_assert_int_eq(execrec_copytext_storable("\x80", 1), 0);             /* continuation */
}
END_TEST

static Suite *copytext_suite(void) {
    Suite *s = suite_create("copytext");
    TCase *tc = tcase_create("field");
    tcase_add_test(tc, test_field_plain);
    tcase_add_test(tc, test_field_escapes);
    tcase_add_test(tc, test_field_bytes);
    suite_add_tcase(s, tc);
    tc = tcase_create("null_hex_bytea");
    tcase_add_test(tc, test_null_hex_bytea);
    suite_add_tcase(s, tc);
    tc = tcase_create("storable");
    tcase_add_test(tc, test_storable);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(copytext_suite)
