/* Unit tests for timeutil.c: RFC 3339 and epoch parsing, timestamptz formatting. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/normalise.h"
#include "base/timeutil.h"
#include "testutil.h"

/* 2026-11-03T10:00:00Z */
#define T0 INT64_C(1793700000)

typedef struct tcase_s {
    const char *in;
    int epoch; /* 1: JSON number (execrec_time_parse_epoch), 0: string */
    int64_t want_us;
    const char *code; /* NULL: accepted */
} tcase_t;

static void run_cases(const tcase_t *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t us = -1;
        execrec_reject_t rej;
        memset(&rej, 0, sizeof(rej));
        size_t len = strlen(cases[i].in);
        execrec_err_t err = cases[i].epoch ? execrec_time_parse_epoch(cases[i].in, len, &us, &rej)
                                           : execrec_time_parse_text(cases[i].in, len, &us, &rej);
        if (!cases[i].code) {
            ck_assert_msg(err == EXECREC_OK, "\"%s\": rejected %s (%s)", cases[i].in,
                          rej.code ? rej.code : "?", rej.message);
            ck_assert_msg(us == cases[i].want_us, "\"%s\": got %lld want %lld", cases[i].in,
                          (long long)us, (long long)cases[i].want_us);
        } else {
            ck_assert_msg(err == EXECREC_ERR_REJECT, "\"%s\": accepted as %lld", cases[i].in,
                          (long long)us);
            ck_assert_str_eq(rej.code, cases[i].code);
        }
    }
}

#define RUN(a) run_cases(a, sizeof(a) / sizeof(a[0]))

START_TEST(test_rfc3339) {
    static const tcase_t cases[] = {
        {"2026-11-03T10:00:00Z", 0, T0 * 1000000, NULL},
        {"2026-11-03t10:00:00z", 0, T0 * 1000000, NULL},
        {"2026-11-03 10:00:00Z", 0, T0 * 1000000, NULL},
        {"2026-11-03T12:00:00+02:00", 0, T0 * 1000000, NULL},
        {"2026-11-03T04:30:00-05:30", 0, T0 * 1000000, NULL},
        {"2026-11-03T04:30:00-0530", 0, T0 * 1000000, NULL},
        {"2026-11-03T10:00:00-00:00", 0, T0 * 1000000, NULL},
        {"1970-01-01T00:00:00Z", 0, 0, NULL},
        {"2199-12-31T23:59:59.999999Z", 0, INT64_C(7258118399999999), NULL},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_fraction) {
    static const tcase_t cases[] = {
        {"2026-11-03T10:00:00.5Z", 0, T0 * 1000000 + 500000, NULL},
        {"2026-11-03T10:00:00.123456Z", 0, T0 * 1000000 + 123456, NULL},
        {"2026-11-03T10:00:00.123456789Z", 0, T0 * 1000000 + 123456, NULL}, /* truncated */
        {"2026-11-03T10:00:00.999999999Z", 0, T0 * 1000000 + 999999, NULL}, /* not rounded */
        {"2026-11-03T10:00:00.1234567891Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00:00.Z", 0, 0, EXECREC_REJ_BAD_TIME},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_calendar) {
    static const tcase_t cases[] = {
        {"2028-02-29T00:00:00Z", 0, INT64_C(1835395200) * 1000000, NULL}, /* leap year */
        {"2000-02-29T00:00:00Z", 0, INT64_C(951782400) * 1000000, NULL},  /* 400-rule */
        {"2027-02-29T00:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2100-02-29T00:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME}, /* 100-rule */
        {"2026-02-30T00:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-04-31T00:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-13-01T00:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-00-01T00:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T24:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:60:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00:61Z", 0, 0, EXECREC_REJ_BAD_TIME},
        /* leap second: the first instant of the next minute, as PostgreSQL reads it */
        {"2026-12-31T23:59:60Z", 0, INT64_C(1798761600) * 1000000, NULL},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_bad_text) {
    static const tcase_t cases[] = {
        {"2026-11-03T10:00:00", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03 10:00:00.123", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03", 0, 0, EXECREC_REJ_BAD_TIME},
        {"", 0, 0, EXECREC_REJ_BAD_TIME},
        {"yesterday", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026/11/03T10:00:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00Z", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00:00+2", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00:00+24:00", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00:00 UTC", 0, 0, EXECREC_REJ_BAD_TIME},
        {"2026-11-03T10:00:00Zjunk", 0, 0, EXECREC_REJ_BAD_TIME},
        {"1969-12-31T23:59:59Z", 0, 0, EXECREC_REJ_TIME_RANGE},
        {"2200-01-01T00:00:00Z", 0, 0, EXECREC_REJ_TIME_RANGE},
        {"1970-01-01T00:30:00+01:00", 0, 0, EXECREC_REJ_TIME_RANGE},
    };
    RUN(cases);
    /* the zone message is explicit */
    int64_t us;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_time_parse_text("2026-11-03T10:00:00", 19, &us, &rej),
                     EXECREC_ERR_REJECT);
    ck_assert_ptr_nonnull(strstr(rej.message, "zone missing"));
}
END_TEST

START_TEST(test_epochs) {
    static const tcase_t cases[] = {
        {"1793700000", 1, T0 * 1000000, NULL},                   /* s */
        {"1793700000123", 1, T0 * 1000000 + 123000, NULL},       /* ms */
        {"1793700000123456", 1, T0 * 1000000 + 123456, NULL},    /* us */
        {"1793700000123456789", 1, T0 * 1000000 + 123456, NULL}, /* ns, truncated */
        {"1793700000.25", 1, T0 * 1000000 + 250000, NULL},       /* s with fraction */
        {"1793700000.123456789", 1, T0 * 1000000 + 123456, NULL},
        {"0", 1, 0, NULL},
        {"1793700000", 0, T0 * 1000000, NULL}, /* digit strings */
        {"1793700000123", 0, T0 * 1000000 + 123000, NULL},
        {"1793700000123456", 0, T0 * 1000000 + 123456, NULL},
        {"1793700000123456789", 0, T0 * 1000000 + 123456, NULL},
        {"1793700000.5", 0, T0 * 1000000 + 500000, NULL},
        {"99999999999", 1, 0, EXECREC_REJ_TIME_RANGE}, /* s, year 5138 */
        {"7258118400", 1, 0, EXECREC_REJ_TIME_RANGE},  /* 2200-01-01 */
        {"7258118399", 1, INT64_C(7258118399) * 1000000, NULL},
        {"-1", 1, 0, EXECREC_REJ_TIME_RANGE},
        {"99999999999999999999", 1, 0, EXECREC_REJ_TIME_RANGE},
        {"9999999999999999999", 1, 0, EXECREC_REJ_TIME_RANGE}, /* ns, year 2286 */
        {"1793700000123.5", 1, 0, EXECREC_REJ_BAD_TIME},       /* fraction on ms */
        {"1.7937e9", 1, 0, EXECREC_REJ_BAD_TIME},
        {"1793700000.", 0, 0, EXECREC_REJ_BAD_TIME},
        {"17937x0000", 0, 0, EXECREC_REJ_BAD_TIME},
    };
    RUN(cases);
}
END_TEST

START_TEST(test_format) {
    char out[48];
    ck_assert_uint_eq(execrec_time_format(T0 * 1000000, out, sizeof(out)), 22);
    ck_assert_str_eq(out, "2026-11-03 10:00:00+00");
    execrec_time_format(T0 * 1000000 + 1, out, sizeof(out));
    ck_assert_str_eq(out, "2026-11-03 10:00:00.000001+00");
    execrec_time_format(T0 * 1000000 + 120000, out, sizeof(out));
    ck_assert_str_eq(out, "2026-11-03 10:00:00.120000+00");
    execrec_time_format(0, out, sizeof(out));
    ck_assert_str_eq(out, "1970-01-01 00:00:00+00");
    execrec_time_format(INT64_C(7258118399999999), out, sizeof(out));
    ck_assert_str_eq(out, "2199-12-31 23:59:59.999999+00");
    execrec_time_format(-1, out, sizeof(out));
    ck_assert_str_eq(out, "1969-12-31 23:59:59.999999+00");
    /* round trip over a range of days */
    for (int64_t s = 0; s < INT64_C(7258118400); s += INT64_C(86400) * 37 + 3601) {
        int64_t us;
        execrec_reject_t rej;
        char iso[48];
        size_t n = execrec_time_format(s * 1000000 + 7, iso, sizeof(iso));
        iso[10] = 'T';
        iso[n - 3] = 'Z';
        iso[n - 2] = '\0';
        ck_assert_msg(execrec_time_parse_text(iso, n - 2, &us, &rej) == EXECREC_OK, "%s: %s", iso,
                      rej.message);
        ck_assert_int_eq(us, s * 1000000 + 7);
    }
}
END_TEST

/* civil_from_days inverts days_from_civil over the whole range we use (years 1 to
 * 9999, and the negative days before 1970). */
START_TEST(test_civil_from_days) {
    int64_t y;
    int m, d;
    execrec_time_civil_from_days(0, &y, &m, &d);
    ck_assert(y == 1970 && m == 1 && d == 1);
    execrec_time_civil_from_days(-1, &y, &m, &d);
    ck_assert(y == 1969 && m == 12 && d == 31);
    execrec_time_civil_from_days(execrec_time_days_from_civil(2024, 2, 29), &y, &m, &d);
    ck_assert(y == 2024 && m == 2 && d == 29);
    int64_t lo = execrec_time_days_from_civil(1, 1, 1),
            hi = execrec_time_days_from_civil(9999, 12, 31);
    for (int64_t z = lo; z <= hi; z += 97) {
        execrec_time_civil_from_days(z, &y, &m, &d);
        ck_assert(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        ck_assert_int_eq(execrec_time_days_from_civil(y, m, d), z);
    }
}
END_TEST

Suite *timeutil_suite(void);

Suite *timeutil_suite(void) {
    Suite *s = suite_create("timeutil");
    TCase *tc;
    tc = tcase_create("rfc3339");
    tcase_add_test(tc, test_rfc3339);
    tcase_add_test(tc, test_fraction);
    suite_add_tcase(s, tc);
    tc = tcase_create("calendar");
    tcase_add_test(tc, test_calendar);
    tcase_add_test(tc, test_civil_from_days);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad");
    tcase_add_test(tc, test_bad_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("epoch");
    tcase_add_test(tc, test_epochs);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, test_format);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(timeutil_suite)
