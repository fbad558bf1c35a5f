/* Unit tests for buf.c: growth, the size checks that must not wrap, and the
 * whole-file reader. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/buf.h"
#include "testutil.h"

START_TEST(test_append_grows) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(execrec_buf_append(&b, "abcd", 4), 0);
    ck_assert_uint_eq(b.len, 4000);
    ck_assert_uint_ge(b.cap, 4001);
    ck_assert_int_eq(b.data[b.len], '\0');
    ck_assert_int_eq(execrec_buf_printf(&b, "%0300d", 7), 0);
    ck_assert_uint_eq(b.len, 4300);
    ck_assert_int_eq(b.data[4299], '7');
    execrec_buf_free(&b);
}
END_TEST

/* len + extra + 1 wrapped to a small number, so a huge request "fitted" and the
 * following memcpy would run past the allocation. */
START_TEST(test_reserve_huge_fails) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    ck_assert_int_eq(execrec_buf_append(&b, "hello", 5), 0);
    ck_assert_int_eq(execrec_buf_reserve(&b, SIZE_MAX), -1);
    ck_assert_int_eq(b.oom, 1);
    execrec_buf_free(&b);

    ck_assert_int_eq(execrec_buf_append(&b, "hello", 5), 0);
    ck_assert_int_eq(execrec_buf_reserve(&b, SIZE_MAX - 5), -1);
    ck_assert_int_eq(b.oom, 1);
    /* Sticky: further appends fail too, and the content is untouched. */
    ck_assert_int_eq(execrec_buf_append(&b, "x", 1), -1);
    ck_assert_str_eq(b.data, "hello");
    execrec_buf_free(&b);

    ck_assert_int_eq(execrec_buf_reserve(&b, SIZE_MAX / 2 + 1), -1);
    ck_assert_int_eq(b.oom, 1);
    execrec_buf_free(&b);
}
END_TEST

static void write_file(const char *path, const char *text, size_t len) {
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    fclose(fp);
}

START_TEST(test_hexdigit) {
    const char *digits = "0123456789abcdef", *upper = "ABCDEF";
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(execrec_buf_hexdigit(digits[i]), i);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(execrec_buf_hexdigit(upper[i]), 10 + i);
    int valid = 0;
    for (int c = -128; c < 256; c++)
        valid += execrec_buf_hexdigit(c) >= 0;
    ck_assert_int_eq(valid, 22); /* nothing else: 'g', '/', ':', '@', '`', NUL, high bytes */
}
END_TEST

START_TEST(test_read_file) {
    char path[] = "/tmp/execrec_test_buf_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char errstr[256];

    execrec_buf_t b = EXECREC_BUF_INIT;
    ck_assert_int_eq(execrec_buf_read_file(&b, path, 0, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_ptr_nonnull(b.data); /* an empty file is "" */
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");

    write_file(path, "a\0bc", 4);
    execrec_buf_reset(&b);
    ck_assert_int_eq(execrec_buf_append(&b, ">", 1), 0);
    ck_assert_int_eq(execrec_buf_read_file(&b, path, 4, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_uint_eq(b.len, 5); /* appended, NUL bytes kept */
    ck_assert_int_eq(memcmp(b.data, ">a\0bc", 6), 0);

    ck_assert_int_eq(execrec_buf_read_file(&b, path, 3, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    char want[512];
    snprintf(want, sizeof(want), "%s: larger than 3 bytes", path);
    ck_assert_str_eq(errstr, want);
    ck_assert_uint_eq(b.len, 5); /* as it was */
    execrec_buf_free(&b);
    unlink(path);

    ck_assert_int_eq(execrec_buf_read_file(&b, path, 0, errstr, sizeof(errstr)), EXECREC_ERR_IO);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    ck_assert_str_eq(errstr, want);
    execrec_buf_free(&b);
}
END_TEST

Suite *buf_suite(void);

Suite *buf_suite(void) {
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("grow");
    tcase_add_test(tc, test_append_grows);
    tcase_add_test(tc, test_reserve_huge_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("read_file");
    tcase_add_test(tc, test_read_file);
    tcase_add_test(tc, test_hexdigit);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(buf_suite)
