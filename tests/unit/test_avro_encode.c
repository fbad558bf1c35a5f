/* The Avro encoder (execrec_avro_from_json): every sample message encoded with our
 * schemas and decoded again by our decoder normalises to the same record as the
 * JSON it came from; and the encoder's own rules, value by value. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/arena.h"
#include "execrec/avro.h"
#include "wire/avro_decode.h"
#include "wire/avro_encode.h"
#include "wire/json.h"
#include "model/normalise.h"
#include "execrec/record.h"
#include "testutil.h"

static execrec_avro_schema_t *load_schema(const char *rel) {
    char errstr[512];
    char *path = tu_source_path(rel);
    execrec_avro_schema_t *schema = execrec_avro_schema_load(path, errstr, sizeof(errstr));
    ck_assert_msg(schema, "%s", errstr);
    free(path);
    return schema;
}

/* Encodes json with schema; @returns the error, with the bytes in out. */
static execrec_err_t encode(const execrec_avro_schema_t *schema, const char *json,
                            execrec_arena_t *arena, execrec_buf_t *out, char *errstr,
                            size_t errstr_size) {
    execrec_json_t *root;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_json_parse(json, strlen(json), arena, &root, &rej), EXECREC_OK);
    return execrec_avro_from_json(schema, root, out, errstr, errstr_size);
}

/* Encodes json, decodes the bytes and compares the JSON rendering with want. */
static void round_trip(const char *schema_json, const char *json, const char *want) {
    char errstr[512];
    execrec_avro_schema_t *schema =
        execrec_avro_schema_new(schema_json, strlen(schema_json), errstr, sizeof(errstr));
    ck_assert_msg(schema, "%s", errstr);
    execrec_arena_t *arena = execrec_arena_new();
    execrec_buf_t bin = EXECREC_BUF_INIT, txt = EXECREC_BUF_INIT;
    execrec_reject_t rej;
    ck_assert_msg(encode(schema, json, arena, &bin, errstr, sizeof(errstr)) == EXECREC_OK, "%s: %s",
                  json, errstr);
    ck_assert_int_eq(execrec_avro_to_json(schema, bin.data, bin.len, &txt, &rej), EXECREC_OK);
    ck_assert_str_eq(txt.data, want);
    execrec_buf_free(&bin);
    execrec_buf_free(&txt);
    execrec_arena_destroy(arena);
    execrec_avro_schema_destroy(schema);
}

static void expect_refused(const char *schema_json, const char *json, const char *why) {
    char errstr[512] = "";
    execrec_avro_schema_t *schema =
        execrec_avro_schema_new(schema_json, strlen(schema_json), errstr, sizeof(errstr));
    ck_assert_msg(schema, "%s", errstr);
    execrec_arena_t *arena = execrec_arena_new();
    execrec_buf_t bin = EXECREC_BUF_INIT;
    ck_assert_int_eq(encode(schema, json, arena, &bin, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_uint_eq(bin.len, 0);
    ck_assert_str_eq(errstr, why);
    execrec_buf_free(&bin);
    execrec_arena_destroy(arena);
    execrec_avro_schema_destroy(schema);
}

static const char rec_schema[] =
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"i\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"b\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
    "{\"name\":\"d\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"t\",\"type\":[\"null\",{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}],"
    "\"default\":null},"
    "{\"name\":\"e\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]"
    "}]"
    ",\"default\":null},"
    "{\"name\":\"a\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"string\"}],\"default\":"
    "null},"
    "{\"name\":\"m\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"long\"}],\"default\":null}]"
    "}";

START_TEST(test_values) {
    round_trip(rec_schema, "{\"s\":\"x\"}",
               "{\"s\":\"x\",\"n\":null,\"i\":null,\"b\":null,\"d\":null,\"t\":null,\"e\":null,"
               "\"a\":null,\"m\":null}");
    /* A decimal number becomes the string of its exact text. */
    round_trip(rec_schema,
               "{\"s\":123456789.12345678,\"n\":-9223372036854775808,\"i\":\"2147483647\","
               "\"b\":true,\"d\":0.5,\"t\":\"2026-11-03T14:30:00.123456+01:00\",\"e\":\"B\","
               "\"a\":[\"p\",\"q\"],\"m\":{\"k\":7},\"extra\":1}",
               "{\"s\":\"123456789.12345678\",\"n\":-9223372036854775808,\"i\":2147483647,"
               "\"b\":true,\"d\":0.5,\"t\":\"2026-11-03T13:30:00.123000Z\",\"e\":\"B\","
               "\"a\":[\"p\",\"q\"],\"m\":{\"k\":7}}");
    round_trip(rec_schema, "{\"s\":\"\",\"t\":1793716202000,\"a\":[],\"m\":{}}",
               "{\"s\":\"\",\"n\":null,\"i\":null,\"b\":null,\"d\":null,"
               "\"t\":\"2026-11-03T14:30:02.000000Z\",\"e\":null,\"a\":[],\"m\":{}}");
}
END_TEST

START_TEST(test_refusals) {
    expect_refused(rec_schema, "{}", "field s: required, but missing");
    expect_refused(rec_schema, "{\"s\":null}", "field s: required, but null");
    expect_refused(rec_schema, "{\"s\":true}", "field s: expected a string, got true");
    expect_refused(rec_schema, "{\"s\":\"x\",\"i\":2147483648}",
                   "field i: '2147483648' is not an integer in [-2147483648, 2147483647]");
    expect_refused(rec_schema, "{\"s\":\"x\",\"n\":1.5}",
                   "field n: '1.5' is not an integer in [-9223372036854775808, "
                   "9223372036854775807]");
    expect_refused(rec_schema, "{\"s\":\"x\",\"t\":\"2026-11-03 14:30:00\"}",
                   "field t: bad_time: time zone missing (add Z or an offset such as +00:00): "
                   "\"2026-11-03 14:30:00\"");
    expect_refused(rec_schema, "{\"s\":\"x\",\"e\":\"C\"}",
                   "field e: 'C' is not a symbol of the enum");
    expect_refused(rec_schema, "{\"s\":\"x\",\"a\":[1,\"y\",{}]}",
                   "field a: expected a string, got object");
    expect_refused("\"string\"", "[]", "expected a string, got array");
}
END_TEST

/* Every good sample message: JSON -> Avro (our schema) -> JSON -> the same record. */
START_TEST(test_sample_round_trip) {
    static const struct {
        const char *file, *schema;
        execrec_kind_t kind;
    } samples[] = {
        {"tests/data/sample/orders.jsonl", "schemas/order.avsc", EXECREC_KIND_ORDER},
        {"tests/data/sample/order_events.jsonl", "schemas/order_event.avsc",
         EXECREC_KIND_ORDER_EVENT},
        {"tests/data/sample/trades.jsonl", "schemas/trade.avsc", EXECREC_KIND_TRADE},
        {"tests/data/sample/order_managers.jsonl", "schemas/order_manager.avsc",
         EXECREC_KIND_ORDER_MANAGER},
    };
    int checked = 0;
    for (size_t f = 0; f < sizeof(samples) / sizeof(samples[0]); f++) {
        execrec_avro_schema_t *schema = load_schema(samples[f].schema);
        char *path = tu_source_path(samples[f].file);
        char *text = tu_read_file(path, NULL);
        execrec_arena_t *a1 = execrec_arena_new(), *a2 = execrec_arena_new();
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            char errstr[512];
            execrec_buf_t bin = EXECREC_BUF_INIT, txt = EXECREC_BUF_INIT;
            execrec_record_t want, got;
            execrec_reject_t rej;
            execrec_arena_reset(a1);
            execrec_arena_reset(a2);
            ck_assert_int_eq(
                execrec_normalise_json(samples[f].kind, line, strlen(line), a1, &want, &rej),
                EXECREC_OK);
            ck_assert_msg(encode(schema, line, a2, &bin, errstr, sizeof(errstr)) == EXECREC_OK,
                          "%s: %s", line, errstr);
            ck_assert_int_eq(execrec_avro_to_json(schema, bin.data, bin.len, &txt, &rej),
                             EXECREC_OK);
            ck_assert_msg(execrec_normalise_json(samples[f].kind, txt.data, txt.len, a2, &got,
                                                 &rej) == EXECREC_OK,
                          "%s: %s %s", txt.data, rej.code, rej.message);
            ck_assert_int_eq(got.ncols, want.ncols);
            for (int c = 0; c < want.ncols; c++) {
                if (!want.val[c]) {
                    ck_assert_msg(!got.val[c], "%s: column %d", line, c);
                    continue;
                }
                ck_assert_msg(got.val[c] && !strcmp(got.val[c], want.val[c]),
                              "%s: column %d: %s != %s", line, c, got.val[c] ? got.val[c] : "NULL",
                              want.val[c]);
            }
            checked++;
            execrec_buf_free(&bin);
            execrec_buf_free(&txt);
        }
        execrec_arena_destroy(a1);
        execrec_arena_destroy(a2);
        free(text);
        free(path);
        execrec_avro_schema_destroy(schema);
    }
    ck_assert_int_eq(checked, 36);
}
END_TEST

static Suite *avro_encode_suite(void) {
    Suite *s = suite_create("avro_encode");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    tc = tcase_create("round_trip");
    tcase_add_test(tc, test_sample_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(avro_encode_suite)
