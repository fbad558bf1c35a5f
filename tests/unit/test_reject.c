/* Unit tests for reject.c: the one reject formatter. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/reject.h"
#include "testutil.h"

START_TEST(test_fills_code_and_message) {
    execrec_reject_t rej;
    memset(&rej, 0, sizeof(rej));
    ck_assert_int_eq(execrec_reject(&rej, EXECREC_REJ_MISSING, "required field \"%s\" is %s",
                                    "price", "missing"),
                     EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "missing_field");
    ck_assert_str_eq(rej.message, "required field \"price\" is missing");
}
END_TEST

START_TEST(test_truncates) {
    execrec_reject_t rej;
    memset(&rej, 'x', sizeof(rej));
    char long_text[1000];
    memset(long_text, 'a', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    ck_assert_int_eq(execrec_reject(&rej, EXECREC_REJ_BAD_TIME, "%s", long_text),
                     EXECREC_ERR_REJECT);
    ck_assert_uint_eq(strlen(rej.message), sizeof(rej.message) - 1);
    ck_assert_int_eq(rej.message[0], 'a');
}
END_TEST

/* A message may be built from the reject's own previous message (the normaliser
 * prefixes a decoder's detail with the field name), via a copy. */
START_TEST(test_prefix_own_message) {
    execrec_reject_t rej;
    execrec_reject(&rej, EXECREC_REJ_BAD_DECIMAL, "empty decimal");
    char detail[sizeof(rej.message)];
    memcpy(detail, rej.message, sizeof(detail));
    execrec_reject(&rej, rej.code, "field \"%s\": %s", "price", detail);
    ck_assert_str_eq(rej.code, "bad_decimal");
    ck_assert_str_eq(rej.message, "field \"price\": empty decimal");
}
END_TEST

/* Found by fuzz_decode's check that a reject is storable: a quote cut at a byte
 * count ended inside a character ("a\xc3..."), and PostgreSQL refused the COPY of
 * the whole batch (execrec load failed, the recorder could not get past it). */
START_TEST(test_message_is_valid_utf8) {
    execrec_reject_t rej;
    const char *s = "a\xc3\xa9\xc3\xa9\xc3\xa9";
    size_t len = strlen(s);
    execrec_reject(&rej, EXECREC_REJ_BAD_ENUM, "unknown value " EXECREC_QUOTE_FMT,
                   EXECREC_QUOTE_ARGS(s, len, 4));
    ck_assert_str_eq(rej.message, "unknown value \"a\xc3\xa9?...\"");
    /* Cut to the buffer inside a character: the tail byte goes too. */
    char text[300];
    memset(text, 'x', sizeof(text));
    for (size_t i = 251; i + 1 < sizeof(text); i += 2)
        memcpy(text + i, "\xc3\xa9", 2);
    text[sizeof(text) - 1] = '\0';
    execrec_reject(&rej, EXECREC_REJ_BAD_ENUM, "%c%s", 'y', text);
    ck_assert_uint_eq(strlen(rej.message), sizeof(rej.message) - 1);
    ck_assert_str_eq(rej.message + 249, "xxx\xc3\xa9?");
    /* Bytes that were never UTF-8 (the message quotes them as given). */
    execrec_reject(&rej, EXECREC_REJ_UTF8, "bad %s", "\xff\xc0\x80\xed\xa0\x80ok");
    ck_assert_str_eq(rej.message, "bad ??????ok");
}
END_TEST

START_TEST(test_quote) {
    execrec_reject_t rej;
    const char *s = "0123456789";
    size_t len = strlen(s);
    execrec_reject(&rej, EXECREC_REJ_BAD_TIME, "bad: " EXECREC_QUOTE_FMT,
                   EXECREC_QUOTE_ARGS(s, len, 4));
    ck_assert_str_eq(rej.message, "bad: \"0123...\"");
    execrec_reject(&rej, EXECREC_REJ_BAD_TIME, "bad: " EXECREC_QUOTE_FMT,
                   EXECREC_QUOTE_ARGS(s, len, 10));
    ck_assert_str_eq(rej.message, "bad: \"0123456789\"");
    len = 0;
    execrec_reject(&rej, EXECREC_REJ_BAD_TIME, "bad: " EXECREC_QUOTE_FMT,
                   EXECREC_QUOTE_ARGS(s, len, 4));
    ck_assert_str_eq(rej.message, "bad: \"\"");
}
END_TEST

Suite *reject_suite(void);

Suite *reject_suite(void) {
    Suite *s = suite_create("reject");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_fills_code_and_message);
    tcase_add_test(tc, test_truncates);
    tcase_add_test(tc, test_prefix_own_message);
    tcase_add_test(tc, test_quote);
    tcase_add_test(tc, test_message_is_valid_utf8);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(reject_suite)
