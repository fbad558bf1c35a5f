/* Unit tests for utf8.c: the boundaries of valid UTF-8, table-driven. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "base/utf8.h"
#include "testutil.h"

typedef struct ucase_s {
    const char *in;
    size_t len;
    int valid;
    size_t bad; /* offset of the first bad byte when !valid */
} ucase_t;

#define U(s, v, b)                                                                                 \
    { s, sizeof(s) - 1, v, b }

static const ucase_t cases[] = {
    U("", 1, 0),
    U("plain ascii", 1, 0),
    U("a\0b", 1, 0),             /* NUL is valid UTF-8 */
    U("\xc2\x80", 1, 0),         /* U+0080, smallest 2-byte */
    U("\xdf\xbf", 1, 0),         /* U+07FF */
    U("\xe0\xa0\x80", 1, 0),     /* U+0800, smallest 3-byte */
    U("\xed\x9f\xbf", 1, 0),     /* U+D7FF, below the surrogates */
    U("\xee\x80\x80", 1, 0),     /* U+E000, above them */
    U("\xef\xbf\xbf", 1, 0),     /* U+FFFF */
    U("\xf0\x90\x80\x80", 1, 0), /* U+10000, smallest 4-byte */
    U("\xf4\x8f\xbf\xbf", 1, 0), /* U+10FFFF, the largest */
    U("ab\xc3\xa9z", 1, 0),      /* e acute inside ASCII */
    U("\x80", 0, 0),             /* lone continuation byte */
    U("ab\xbf", 0, 2),           /* continuation after ASCII */
    U("\xc0\x80", 0, 0),         /* overlong NUL */
    U("\xc1\xbf", 0, 0),         /* overlong */
    U("\xe0\x9f\xbf", 0, 0),     /* overlong 3-byte */
    U("\xf0\x8f\xbf\xbf", 0, 0), /* overlong 4-byte */
    U("x\xed\xa0\x80", 0, 1),    /* U+D800, a surrogate */
    U("\xed\xbf\xbf", 0, 0),     /* U+DFFF */
    U("\xf4\x90\x80\x80", 0, 0), /* above U+10FFFF */
    U("\xf5\x80\x80\x80", 0, 0), /* F5 never starts a sequence */
    U("\xff", 0, 0),
    U("ok\xc3", 0, 2),     /* cut off at the end */
    U("ok\xe2\x82", 0, 2), /* cut off 3-byte */
    U("\xe2(\xa1", 0, 0),  /* bad continuation */
};

START_TEST(test_valid_table) {
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t bad = 12345;
        int v = execrec_utf8_valid(cases[i].in, cases[i].len, &bad);
        ck_assert_msg(v == cases[i].valid, "case %zu: valid %d, want %d", i, v, cases[i].valid);
        if (!cases[i].valid)
            ck_assert_msg(bad == cases[i].bad, "case %zu: bad offset %zu, want %zu", i, bad,
                          cases[i].bad);
        else
            ck_assert_uint_eq(bad, 12345); /* untouched */
        /* bad_offset is optional */
        ck_assert_int_eq(execrec_utf8_valid(cases[i].in, cases[i].len, NULL), cases[i].valid);
    }
}
END_TEST

/* The length is honoured: a valid prefix of a longer buffer is valid. */
START_TEST(test_len_bounds) {
    ck_assert_int_eq(execrec_utf8_valid("ab\xff", 2, NULL), 1);
    ck_assert_int_eq(execrec_utf8_valid("\xc3\xa9", 1, NULL), 0);
}
END_TEST

START_TEST(test_seq) {
    ck_assert_uint_eq(execrec_utf8_seq((const unsigned char *)"a", 1), 1);
    ck_assert_uint_eq(execrec_utf8_seq((const unsigned char *)"\xc3\xa9", 2), 2);
    ck_assert_uint_eq(execrec_utf8_seq((const unsigned char *)"\xe2\x82\xac", 3), 3);
    ck_assert_uint_eq(execrec_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
    ck_assert_uint_eq(execrec_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 3), 0);
    ck_assert_uint_eq(execrec_utf8_seq((const unsigned char *)"\xed\xa0\x80", 3), 0);
}
END_TEST

Suite *utf8_suite(void);

Suite *utf8_suite(void) {
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("valid");
    tcase_add_test(tc, test_valid_table);
    tcase_add_test(tc, test_len_bounds);
    tcase_add_test(tc, test_seq);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(utf8_suite)
