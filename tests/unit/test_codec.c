/* Unit tests for src/codec.c: format detection, the size limit, empty messages,
 * Confluent Avro through the offline registry (schemas/registry.map) down to the
 * exact column texts, unknown schema ids, truncated headers, plain Avro. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/codec.h"
#include "testutil.h"

static execrec_schemamap_t *reg;
static execrec_avro_schema_t *trade_schema;
static execrec_arena_t *arena;

static void setup(void) {
    char errstr[512];
    char *path = tu_source_path("schemas/registry.map");
    reg = execrec_schemamap_new();
    ck_assert_ptr_nonnull(reg);
    ck_assert_msg(execrec_schemamap_load(reg, path, errstr, sizeof(errstr)) == EXECREC_OK, "%s",
                  errstr);
    free(path);
    path = tu_source_path("schemas/trade.avsc");
    trade_schema = execrec_avro_schema_load(path, errstr, sizeof(errstr));
    ck_assert_msg(trade_schema != NULL, "%s", errstr);
    free(path);
    arena = execrec_arena_new();
    ck_assert_ptr_nonnull(arena);
}

static void teardown(void) {
    execrec_schemamap_destroy(reg);
    execrec_avro_schema_destroy(trade_schema);
    execrec_arena_destroy(arena);
}

static execrec_codec_t *codec_with(execrec_format_t format, size_t max) {
    execrec_codec_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.max_message_bytes = max;
    /* Only trades have a plain schema: format avro applies to them alone. */
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        conf.format[k] = format == EXECREC_FORMAT_AVRO ? EXECREC_FORMAT_AUTO : format;
    conf.format[EXECREC_KIND_TRADE] = format;
    conf.plain_schema[EXECREC_KIND_TRADE] = trade_schema;
    conf.schemas = reg;
    char errstr[256] = "";
    execrec_codec_t *codec = execrec_codec_new(&conf, errstr, sizeof(errstr));
    ck_assert_msg(codec != NULL, "%s", errstr);
    return codec;
}

/* Zig-zag varint. */
static size_t put_long(unsigned char *p, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (u >= 0x80) {
        p[n++] = (unsigned char)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (unsigned char)u;
    return n;
}

static size_t put_str(unsigned char *p, const char *s) {
    size_t n = put_long(p, (int64_t)strlen(s));
    memcpy(p + n, s, strlen(s));
    return n + strlen(s);
}

/* A trade datum for schemas/trade.avsc: ids, quantity "1.50", price "0.00000001",
 * trade_time 2026-11-21T07:51:23.123456Z, side "BUY", fee "-0.25", others null. */
static size_t trade_body(unsigned char *p) {
    size_t n = 0;
    n += put_str(p + n, "T-1");
    n += put_str(p + n, "O-1");
    n += put_str(p + n, "1.50");
    n += put_str(p + n, "0.00000001");
    n += put_long(p + n, INT64_C(1795247483123456));
    p[n++] = 0x02; /* account_uid */
    n += put_str(p + n, "acc-7");
    p[n++] = 0x00; /* asset */
    p[n++] = 0x02; /* side */
    n += put_str(p + n, "BUY");
    p[n++] = 0x02; /* fee */
    n += put_str(p + n, "-0.25");
    p[n++] = 0x00; /* fee_currency */
    p[n++] = 0x00; /* liquidity */
    p[n++] = 0x00; /* venue */
    return n;
}

static const char *col(const execrec_record_t *rec, const char *name) {
    int i = execrec_kind_column_index(rec->kind, name);
    ck_assert_int_ge(i, 0);
    return rec->val[i];
}

static void check_trade(const execrec_record_t *rec) {
    ck_assert_int_eq(rec->kind, EXECREC_KIND_TRADE);
    ck_assert_str_eq(col(rec, "trade_id"), "T-1");
    ck_assert_str_eq(col(rec, "order_id"), "O-1");
    ck_assert_str_eq(col(rec, "quantity"), "1.50");
    ck_assert_str_eq(col(rec, "price"), "0.00000001");
    ck_assert_str_eq(col(rec, "trade_time"), "2026-11-21 07:51:23.123456+00");
    ck_assert_int_eq(rec->time_us, INT64_C(1795247483123456));
    ck_assert_str_eq(col(rec, "account_uid"), "acc-7");
    ck_assert_ptr_null(col(rec, "asset"));
    ck_assert_str_eq(col(rec, "side"), "buy");
    ck_assert_str_eq(col(rec, "fee"), "-0.25");
    ck_assert_ptr_null(col(rec, "venue"));
    ck_assert_str_eq(rec->raw,
                     "{\"trade_id\":\"T-1\",\"order_id\":\"O-1\",\"quantity\":\"1.50\","
                     "\"price\":\"0.00000001\",\"trade_time\":\"2026-11-21T07:51:23.123456Z\","
                     "\"account_uid\":\"acc-7\",\"asset\":null,\"side\":\"BUY\",\"fee\":\"-0.25\","
                     "\"fee_currency\":null,\"liquidity\":null,\"venue\":null}");
    ck_assert_uint_eq(rec->raw_len, strlen(rec->raw));
}

static execrec_err_t decode(execrec_codec_t *codec, execrec_kind_t kind, const void *v, size_t len,
                            execrec_record_t *rec, execrec_reject_t *rej) {
    execrec_arena_reset(arena);
    memset(rej, 0, sizeof(*rej));
    return execrec_codec_decode(codec, kind, v, len, arena, rec, rej);
}

static void expect_reject(execrec_codec_t *codec, execrec_kind_t kind, const void *v, size_t len,
                          const char *code, const char *message) {
    execrec_record_t rec;
    execrec_reject_t rej;
    ck_assert_int_eq(decode(codec, kind, v, len, &rec, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, code);
    if (message)
        ck_assert_str_eq(rej.message, message);
}

static const char *TRADE_JSON =
    "{\"trade_id\":\"T-1\",\"order_id\":\"O-1\",\"quantity\":1.50,\"price\":\"1e-8\","
    "\"trade_time\":\"2026-11-21T07:51:23.123456Z\"}";

START_TEST(test_detect_json) {
    execrec_codec_t *codec = codec_with(EXECREC_FORMAT_AUTO, 0);
    execrec_record_t rec;
    execrec_reject_t rej;
    ck_assert_int_eq(decode(codec, EXECREC_KIND_TRADE, TRADE_JSON, strlen(TRADE_JSON), &rec, &rej),
                     EXECREC_OK);
    ck_assert_str_eq(col(&rec, "quantity"), "1.50");
    ck_assert_str_eq(col(&rec, "price"), "0.00000001");
    ck_assert_ptr_eq(rec.raw, TRADE_JSON); /* JSON is not copied */
    char spaced[256];
    snprintf(spaced, sizeof(spaced), " \n\t%s", TRADE_JSON);
    ck_assert_int_eq(decode(codec, EXECREC_KIND_TRADE, spaced, strlen(spaced), &rec, &rej),
                     EXECREC_OK);

    /* JSON texts that are not objects get the JSON path's precise reject. */
    static const char *not_objects[] = {"[1]", "\"x\"", "12", "-1", "true", "false", "null"};
    for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++)
        expect_reject(codec, EXECREC_KIND_TRADE, not_objects[i], strlen(not_objects[i]),
                      "json_not_object", NULL);
    expect_reject(codec, EXECREC_KIND_TRADE, "{\"a\":", 5, "json_syntax", NULL);
    expect_reject(codec, EXECREC_KIND_TRADE, "nope", 4, "json_syntax", NULL);
    expect_reject(codec, EXECREC_KIND_TRADE, "   ", 3, "empty_message", NULL);
    /* Anything else is not a format we know. */
    expect_reject(codec, EXECREC_KIND_TRADE, "<xml/>", 6, "unknown_format",
                  "neither JSON nor Confluent Avro: first byte 0x3c at offset 0");
    expect_reject(codec, EXECREC_KIND_TRADE, "\x01\x02", 2, "unknown_format",
                  "neither JSON nor Confluent Avro: first byte 0x01 at offset 0");
    /* A byte order mark before JSON is the JSON path's json_syntax, as with --format json. */
    expect_reject(codec, EXECREC_KIND_TRADE, "  \xef\xbb\xbf{}", 7, "json_syntax", NULL);
    expect_reject(codec, EXECREC_KIND_TRADE, "\xef\xbb", 2, "unknown_format",
                  "neither JSON nor Confluent Avro: first byte 0xef at offset 0");
    execrec_codec_destroy(codec);
}
END_TEST

START_TEST(test_format_json_forced) {
    execrec_codec_t *codec = codec_with(EXECREC_FORMAT_JSON, 0);
    execrec_record_t rec;
    execrec_reject_t rej;
    ck_assert_int_eq(decode(codec, EXECREC_KIND_TRADE, TRADE_JSON, strlen(TRADE_JSON), &rec, &rej),
                     EXECREC_OK);
    /* A Confluent frame is not decoded when the format is JSON. */
    unsigned char msg[128] = {0, 0, 0, 0, 3};
    size_t n = 5 + trade_body(msg + 5);
    ck_assert_int_eq(decode(codec, EXECREC_KIND_TRADE, msg, n, &rec, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_ne(rej.code, "unknown_format");
    expect_reject(codec, EXECREC_KIND_TRADE, "<xml/>", 6, "json_syntax", NULL);
    execrec_codec_destroy(codec);
}
END_TEST

START_TEST(test_size_limit) {
    execrec_codec_t *codec = codec_with(EXECREC_FORMAT_AUTO, 0);
    size_t limit = EXECREC_MAX_MESSAGE_DEFAULT;
    char *big = malloc(limit + 1);
    /* A valid message of exactly 1 MiB: the trade padded with a long extra field. */
    const char *head = "{\"trade_id\":\"T-1\",\"order_id\":\"O-1\",\"quantity\":\"1\","
                       "\"price\":\"2\",\"trade_time\":1795247483123456,\"note\":\"";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, 'x', limit - hl - 2);
    memcpy(big + limit - 2, "\"}", 2);
    execrec_record_t rec;
    execrec_reject_t rej;
    execrec_err_t err = decode(codec, EXECREC_KIND_TRADE, big, limit, &rec, &rej);
    ck_assert_msg(err == EXECREC_OK, "%s: %s", rej.code, rej.message);
    ck_assert_str_eq(col(&rec, "trade_time"), "2026-11-21 07:51:23.123456+00");
    /* One byte more: refused before anything looks at it. */
    big[limit] = ' ';
    expect_reject(codec, EXECREC_KIND_TRADE, big, limit + 1, "message_too_large",
                  "message of 1048577 bytes exceeds the limit of 1048576 bytes");
    execrec_codec_destroy(codec);
    /* A configured limit. */
    codec = codec_with(EXECREC_FORMAT_AUTO, 10);
    expect_reject(codec, EXECREC_KIND_TRADE, TRADE_JSON, strlen(TRADE_JSON), "message_too_large",
                  "message of 109 bytes exceeds the limit of 10 bytes");
    execrec_codec_destroy(codec);
    free(big);
}
END_TEST

START_TEST(test_empty) {
    execrec_codec_t *codec = codec_with(EXECREC_FORMAT_AUTO, 0);
    expect_reject(codec, EXECREC_KIND_ORDER, "", 0, "empty_message", "empty message (0 bytes)");
    expect_reject(codec, EXECREC_KIND_ORDER, NULL, 0, "empty_message", NULL);
    execrec_codec_destroy(codec);
    codec = codec_with(EXECREC_FORMAT_AVRO, 0);
    expect_reject(codec, EXECREC_KIND_TRADE, "", 0, "empty_message", NULL);
    execrec_codec_destroy(codec);
}
END_TEST

START_TEST(test_confluent_trade) {
    execrec_codec_t *codec = codec_with(EXECREC_FORMAT_AUTO, 0);
    unsigned char msg[128] = {0, 0, 0, 0, 3};
    size_t n = 5 + trade_body(msg + 5);
    execrec_record_t rec;
    execrec_reject_t rej;
    ck_assert_int_eq(decode(codec, EXECREC_KIND_TRADE, msg, n, &rec, &rej), EXECREC_OK);
    check_trade(&rec);
    /* The rendering lives in the arena, not in the codec's reusable buffer: a second
     * decode into another arena leaves the first record intact. */
    execrec_arena_t *other = execrec_arena_new();
    execrec_record_t rec2;
    static const unsigned char order_mgr_bad[] = {0, 0, 0, 0, 4, 0x02};
    ck_assert_int_eq(execrec_codec_decode(codec, EXECREC_KIND_ORDER_MANAGER, order_mgr_bad,
                                          sizeof(order_mgr_bad), other, &rec2, &rej),
                     EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_truncated");
    check_trade(&rec);
    execrec_arena_destroy(other);

    msg[4] = 9;
    expect_reject(codec, EXECREC_KIND_TRADE, msg, n, "avro_unknown_schema",
                  "schema id 9 is not in the registry");
    msg[4] = 3;
    expect_reject(codec, EXECREC_KIND_TRADE, msg, 4, "avro_truncated",
                  "Confluent Avro header needs 5 bytes, message has 4");
    expect_reject(codec, EXECREC_KIND_TRADE, msg, 1, "avro_truncated", NULL);
    expect_reject(codec, EXECREC_KIND_TRADE, msg, 20, "avro_truncated",
                  "field price at byte 18: string length 10 exceeds the 1 bytes left");
    msg[n] = 0;
    expect_reject(codec, EXECREC_KIND_TRADE, msg, n + 1, "avro_bad_data", NULL);
    /* A well-formed datum whose content the normaliser refuses. */
    unsigned char bad[128] = {0, 0, 0, 0, 3};
    size_t bn = 5;
    bn += put_str(bad + bn, "T-1");
    bn += put_str(bad + bn, "O-1");
    bn += put_str(bad + bn, "1.5.0");
    bn += put_str(bad + bn, "1");
    bn += put_long(bad + bn, 0);
    memset(bad + bn, 0, 7);
    bn += 7;
    expect_reject(codec, EXECREC_KIND_TRADE, bad, bn, "bad_decimal", NULL);
    execrec_codec_destroy(codec);

    /* No registry configured. */
    execrec_codec_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    char errstr[256];
    codec = execrec_codec_new(&conf, errstr, sizeof(errstr));
    ck_assert_ptr_nonnull(codec);
    expect_reject(codec, EXECREC_KIND_TRADE, msg, n, "avro_unknown_schema",
                  "Confluent Avro message (magic byte 0) but no schema registry is configured");
    execrec_codec_destroy(codec);
}
END_TEST

START_TEST(test_plain_avro) {
    execrec_codec_t *codec = codec_with(EXECREC_FORMAT_AVRO, 0);
    unsigned char body[128];
    size_t n = trade_body(body);
    execrec_record_t rec;
    execrec_reject_t rej;
    ck_assert_int_eq(decode(codec, EXECREC_KIND_TRADE, body, n, &rec, &rej), EXECREC_OK);
    check_trade(&rec);
    /* Offsets count from the body's first byte. */
    expect_reject(codec, EXECREC_KIND_TRADE, body, 15, "avro_truncated",
                  "field price at byte 13: string length 10 exceeds the 1 bytes left");
    /* JSON is not accepted when the format is Avro. */
    expect_reject(codec, EXECREC_KIND_TRADE, "{}", 2, "avro_bad_data",
                  "field trade_id at byte 0: negative string length -62");
    execrec_codec_destroy(codec);

    /* Format avro without a schema is a configuration error. */
    execrec_codec_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.format[EXECREC_KIND_ORDER] = EXECREC_FORMAT_AVRO;
    char errstr[256] = "";
    ck_assert_ptr_null(execrec_codec_new(&conf, errstr, sizeof(errstr)));
    ck_assert_str_eq(errstr, "kind order: format avro needs an Avro schema (.avsc)");
    execrec_codec_destroy(NULL);
}
END_TEST

/* A writer's own schema with the decimal logical type: the column gets the exact
 * value at the schema's scale (see schemas/README.md for why ours use strings). */
START_TEST(test_decimal_logical_type) {
    const char *json =
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":["
        "{\"name\":\"trade_id\",\"type\":\"string\"},{\"name\":\"order_id\",\"type\":\"string\"},"
        "{\"name\":\"quantity\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
        "\"precision\":38,\"scale\":18}},"
        "{\"name\":\"price\",\"type\":{\"type\":\"fixed\",\"name\":\"P\",\"size\":4,"
        "\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}},"
        "{\"name\":\"trade_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}"
        "}]}";
    char errstr[256];
    execrec_avro_schema_t *schema =
        execrec_avro_schema_new(json, strlen(json), errstr, sizeof(errstr));
    ck_assert_msg(schema != NULL, "%s", errstr);
    execrec_codec_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.format[EXECREC_KIND_TRADE] = EXECREC_FORMAT_AVRO;
    conf.plain_schema[EXECREC_KIND_TRADE] = schema;
    execrec_codec_t *codec = execrec_codec_new(&conf, errstr, sizeof(errstr));
    ck_assert_ptr_nonnull(codec);
    unsigned char body[64];
    size_t n = 0;
    n += put_str(body + n, "T-1");
    n += put_str(body + n, "O-1");
    /* 1.5 * 10^18 */
    static const unsigned char q[] = {0x14, 0xd1, 0x12, 0x0d, 0x7b, 0x16, 0x00, 0x00};
    n += put_long(body + n, sizeof(q));
    memcpy(body + n, q, sizeof(q));
    n += sizeof(q);
    /* -123.45 as 4 bytes */
    static const unsigned char p[] = {0xff, 0xff, 0xcf, 0xc7};
    memcpy(body + n, p, sizeof(p));
    n += sizeof(p);
    n += put_long(body + n, INT64_C(1795247483123));
    execrec_record_t rec;
    execrec_reject_t rej;
    execrec_err_t err = decode(codec, EXECREC_KIND_TRADE, body, n, &rec, &rej);
    ck_assert_msg(err == EXECREC_OK, "%s: %s", rej.code, rej.message);
    ck_assert_str_eq(col(&rec, "quantity"), "1.500000000000000000");
    ck_assert_str_eq(col(&rec, "price"), "-123.45");
    ck_assert_str_eq(col(&rec, "trade_time"), "2026-11-21 07:51:23.123000+00");
    ck_assert_str_eq(rec.raw, "{\"trade_id\":\"T-1\",\"order_id\":\"O-1\","
                              "\"quantity\":1.500000000000000000,\"price\":-123.45,"
                              "\"trade_time\":\"2026-11-21T07:51:23.123000Z\"}");
    execrec_codec_destroy(codec);
    execrec_avro_schema_destroy(schema);
}
END_TEST

static Suite *codec_suite(void) {
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("detect");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_detect_json);
    tcase_add_test(tc, test_format_json_forced);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("avro");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_confluent_trade);
    tcase_add_test(tc, test_plain_avro);
    tcase_add_test(tc, test_decimal_logical_type);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(codec_suite)
