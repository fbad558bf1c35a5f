/* The log line formatter: the text format as before, and JSON lines that are always
 * one valid object (escapes, invalid UTF-8, cut messages) with the event's fields. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "base/log.h"
#include "testutil.h"

/* 2026-12-04T21:32:11.042Z */
static const struct timeval when = {1796419931, 42999};

static json_t *json_line(const char *line) {
    size_t n = strlen(line);
    ck_assert_int_gt(n, 1);
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_ptr_null(memchr(line, '\n', n - 1)); /* one line */
    json_error_t jerr;
    json_t *j = json_loadb(line, n - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        ck_abort_msg("not a JSON object: %s (%s)", line, jerr.text);
    ck_assert(json_is_object(j));
    return j;
}

START_TEST(test_text_unchanged) {
    char line[512];
    size_t n = execrec_log_format_line(line, sizeof(line), EXECREC_LOG_TEXT, EXECREC_LOG_WARN,
                                       &when, EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC("t")),
                                       "cannot connect:\n\tIs the server running?\n");
    ck_assert_str_eq(line,
                     "2026-12-04T21:32:11.042Z WARN  cannot connect: Is the server running?\n");
    ck_assert_uint_eq(n, strlen(line));
}
END_TEST

START_TEST(test_json_fields) {
    char line[1024];
    execrec_log_format_line(line, sizeof(line), EXECREC_LOG_JSON, EXECREC_LOG_INFO, &when,
                            EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC("trades"), EXECREC_LF_PARTITION(3),
                                               EXECREC_LF_OFFSET(0), EXECREC_LF_ROWS(5000),
                                               EXECREC_LF_DURATION_MS(12)),
                            "assigned trades [3]");
    ck_assert_str_eq(line, "{\"time\":\"2026-12-04T21:32:11.042Z\",\"level\":\"info\","
                           "\"message\":\"assigned trades [3]\",\"topic\":\"trades\","
                           "\"partition\":3,\"offset\":0,\"rows\":5000,\"duration_ms\":12}\n");
    execrec_log_format_line(line, sizeof(line), EXECREC_LOG_JSON, EXECREC_LOG_DEBUG, &when, NULL,
                            "plain");
    ck_assert_str_eq(line, "{\"time\":\"2026-12-04T21:32:11.042Z\",\"level\":\"debug\","
                           "\"message\":\"plain\"}\n");
    execrec_log_format_line(line, sizeof(line), EXECREC_LOG_JSON, EXECREC_LOG_ERROR, &when,
                            EXECREC_LOG_FIELDS(EXECREC_LF_OFFSET(-1001)), "x");
    json_t *j = json_line(line);
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "error");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "offset")), -1001);
    json_decref(j);
}
END_TEST

START_TEST(test_json_escapes) {
    char line[1024];
    /* quote, backslash, control bytes, DEL, a valid 2- and 4-byte sequence, and bytes
     * that are not UTF-8: a lone continuation, a cut sequence, an overlong '/'. */
    const char *msg = "a\"b\\c\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80 \x80 \xe2\x82 \xc0\xaf end";
    execrec_log_format_line(
        line, sizeof(line), EXECREC_LOG_JSON, EXECREC_LOG_INFO, &when,
        EXECREC_LOG_FIELDS(EXECREC_LF_STR("facility", "FAC\"\n"), EXECREC_LF_STR("client", "\xff")),
        msg);
    ck_assert_ptr_nonnull(strstr(line,
                                 "\"a\\\"b\\\\c\\u0001\\u001f\\u007f \xc3\xa9 \xf0\x9f\x98\x80 "
                                 "\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                                 "\xef\xbf\xbd\xef\xbf\xbd end\""));
    json_t *j = json_line(line);
    ck_assert_str_eq(json_string_value(json_object_get(j, "message")),
                     "a\"b\\c\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbd "
                     "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end");
    ck_assert_str_eq(json_string_value(json_object_get(j, "facility")), "FAC\"\n");
    ck_assert_str_eq(json_string_value(json_object_get(j, "client")), "\xef\xbf\xbd");
    json_decref(j);
}
END_TEST

/* A message longer than the line is cut between characters, never inside an escape
 * or a UTF-8 sequence, and the fields and the closing brace are still there. */
START_TEST(test_json_cut) {
    char msg[2000], line[300];
    for (size_t size = 256; size <= sizeof(line); size++) {
        for (int variant = 0; variant < 3; variant++) {
            const char *unit = variant == 0 ? "\"" : variant == 1 ? "\xc3\xa9" : "\x01";
            msg[0] = '\0';
            while (strlen(msg) + 4 < sizeof(msg))
                strcat(msg, unit);
            size_t n = execrec_log_format_line(
                line, size, EXECREC_LOG_JSON, EXECREC_LOG_INFO, &when,
                EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC("orders"), EXECREC_LF_PARTITION(1)), msg);
            ck_assert_uint_lt(n, size);
            ck_assert_uint_eq(n, strlen(line));
            json_t *j = json_line(line);
            ck_assert_str_eq(json_string_value(json_object_get(j, "topic")), "orders");
            ck_assert_int_eq(json_integer_value(json_object_get(j, "partition")), 1);
            ck_assert_uint_gt(strlen(json_string_value(json_object_get(j, "message"))), 10);
            json_decref(j);
        }
    }
}
END_TEST

START_TEST(test_parse_format) {
    execrec_log_format_t f = EXECREC_LOG_TEXT;
    ck_assert_int_eq(execrec_log_parse_format("json", &f), 0);
    ck_assert_int_eq(f, EXECREC_LOG_JSON);
    ck_assert_int_eq(execrec_log_parse_format("TEXT", &f), 0);
    ck_assert_int_eq(f, EXECREC_LOG_TEXT);
    ck_assert_int_eq(execrec_log_parse_format("logfmt", &f), -1);
}
END_TEST

static Suite *log_suite(void) {
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_text_unchanged);
    tcase_add_test(tc, test_json_fields);
    tcase_add_test(tc, test_json_escapes);
    tcase_add_test(tc, test_json_cut);
    tcase_add_test(tc, test_parse_format);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(log_suite)
