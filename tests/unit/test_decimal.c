/* Unit tests for decimal.c: canonical NUMERIC text from decimal text, exactly. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "base/decimal.h"
#include "testutil.h"

/* in -> want (canonical text), or want NULL and code. */
typedef struct dcase_s {
    const char *in;
    const char *want;
    const char *code;
} dcase_t;

static void run_cases(const dcase_t *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char out[EXECREC_DECIMAL_TEXT_MAX];
        size_t len = 0;
        execrec_reject_t rej;
        memset(&rej, 0, sizeof(rej));
        execrec_err_t err =
            execrec_decimal_canon(cases[i].in, strlen(cases[i].in), out, &len, &rej);
        if (cases[i].want) {
            ck_assert_msg(err == EXECREC_OK, "\"%s\": rejected %s (%s)", cases[i].in,
                          rej.code ? rej.code : "?", rej.message);
            ck_assert_str_eq(out, cases[i].want);
            ck_assert_uint_eq(len, strlen(cases[i].want));
        } else {
            ck_assert_msg(err == EXECREC_ERR_REJECT, "\"%s\": accepted as \"%s\"", cases[i].in,
                          out);
            ck_assert_str_eq(rej.code, cases[i].code);
            ck_assert_msg(rej.message[0], "\"%s\": empty message", cases[i].in);
        }
    }
}

#define RUN(a) run_cases(a, sizeof(a) / sizeof(a[0]))

START_TEST(test_plain) {
    static const dcase_t cases[] = {
        {"0", "0", NULL},
        {"5", "5", NULL},
        {"-5", "-5", NULL},
        {"0.1", "0.1", NULL},
        {"123456789.12345678", "123456789.12345678", NULL},
        {"-0.5", "-0.5", NULL},
        {"+1", "1", NULL},
        {"+0.25", "0.25", NULL},
        {"007", "7", NULL},
        {"00.50", "0.50", NULL},
        {"-0", "0", NULL},
        {"-0.00", "0.00", NULL},
        {"123456789012345678901234567890", "123456789012345678901234567890", NULL},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_scale_kept) {
    static const dcase_t cases[] = {
        {"1.50", "1.50", NULL},
        {"1.0", "1.0", NULL},
        {"100.000", "100.000", NULL},
        {"0.000000000000000000000000000001", "0.000000000000000000000000000001", NULL},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_exponent) {
    static const dcase_t cases[] = {
        {"1e-8", "0.00000001", NULL},
        {"1E-8", "0.00000001", NULL},
        {"1e8", "100000000", NULL},
        {"1E+2", "100", NULL},
        {"1.5e3", "1500", NULL},
        {"1.50e1", "15.0", NULL},
        {"15e-1", "1.5", NULL},
        {"-2.5e-3", "-0.0025", NULL},
        {"0.0012e2", "0.12", NULL},
        {"0e5", "0", NULL},
        {"0e-3", "0.000", NULL},
        {"12345678.912345678e1", "123456789.12345678", NULL},
        {"1e29", "100000000000000000000000000000", NULL},
        {"0e99999", NULL, EXECREC_REJ_DECIMAL_RANGE},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_bad) {
    static const dcase_t cases[] = {
        {"", NULL, EXECREC_REJ_BAD_DECIMAL},          {"NaN", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"nan", NULL, EXECREC_REJ_BAD_DECIMAL},       {"Infinity", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"-Infinity", NULL, EXECREC_REJ_BAD_DECIMAL}, {"1.2.3", NULL, EXECREC_REJ_BAD_DECIMAL},
        {" 1", NULL, EXECREC_REJ_BAD_DECIMAL},        {"1 ", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"0x10", NULL, EXECREC_REJ_BAD_DECIMAL},      {"1e", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"1e+", NULL, EXECREC_REJ_BAD_DECIMAL},       {".5", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"5.", NULL, EXECREC_REJ_BAD_DECIMAL},        {"-", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"+-1", NULL, EXECREC_REJ_BAD_DECIMAL},       {"1,5", NULL, EXECREC_REJ_BAD_DECIMAL},
        {"1_000", NULL, EXECREC_REJ_BAD_DECIMAL},     {"abc", NULL, EXECREC_REJ_BAD_DECIMAL},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_range) {
    static const dcase_t cases[] = {
        {"1234567890123456789012345678901", NULL, EXECREC_REJ_DECIMAL_RANGE},
        {"1e30", NULL, EXECREC_REJ_DECIMAL_RANGE},
        {"1e-31", NULL, EXECREC_REJ_DECIMAL_RANGE},
        {"0.0000000000000000000000000000001", NULL, EXECREC_REJ_DECIMAL_RANGE},
        {"1e999999999999", NULL, EXECREC_REJ_DECIMAL_RANGE},
        {"1e-999999999999", NULL, EXECREC_REJ_DECIMAL_RANGE},
        /* leading zeros do not count as integer digits */
        {"0000000000000000000000000000000000001", "1", NULL},
    };
    RUN(cases);
    /* an over-long input is refused before any work */
    char *big = malloc(EXECREC_DECIMAL_INPUT_MAX + 2);
    memset(big, '1', EXECREC_DECIMAL_INPUT_MAX + 1);
    big[EXECREC_DECIMAL_INPUT_MAX + 1] = '\0';
    dcase_t c = {big, NULL, EXECREC_REJ_BAD_DECIMAL};
    run_cases(&c, 1);
    free(big);
}
END_TEST

START_TEST(test_not_nul_terminated) {
    /* the length, not a NUL, ends the input */
    char out[EXECREC_DECIMAL_TEXT_MAX];
    size_t len;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_decimal_canon("1.25xyz", 4, out, &len, &rej), EXECREC_OK);
    ck_assert_str_eq(out, "1.25");
}
END_TEST

Suite *decimal_suite(void);

Suite *decimal_suite(void) {
    Suite *s = suite_create("decimal");
    TCase *tc;
    tc = tcase_create("plain");
    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_not_nul_terminated);
    suite_add_tcase(s, tc);
    tc = tcase_create("scale");
    tcase_add_test(tc, test_scale_kept);
    suite_add_tcase(s, tc);
    tc = tcase_create("exponent");
    tcase_add_test(tc, test_exponent);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad");
    tcase_add_test(tc, test_bad);
    suite_add_tcase(s, tc);
    tc = tcase_create("range");
    tcase_add_test(tc, test_range);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(decimal_suite)
