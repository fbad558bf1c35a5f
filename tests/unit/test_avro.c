/* Unit tests for src/avro.c: datums written by avro-c's own writer rendered to exact
 * JSON text, decimals from hand-built two's-complement bytes, hostile inputs
 * (truncation at every byte, huge lengths and counts, bad indexes, over-long varints,
 * trailing bytes, invalid UTF-8), schema refusals, the registry and the Confluent
 * framing, and the shipped schemas/ against the column tables of src/record.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <avro.h>
#include <jansson.h>
#include "execrec/avro.h"
#include "wire/avro_decode.h"
#include "execrec/record.h"
#include "testutil.h"

/* ------------------------------------------------------------------ helpers */

static execrec_avro_schema_t *schema_ok(const char *json) {
    char errstr[256] = "";
    execrec_avro_schema_t *schema =
        execrec_avro_schema_new(json, strlen(json), errstr, sizeof(errstr));
    ck_assert_msg(schema != NULL, "schema refused: %s", errstr);
    return schema;
}

/* Renders bytes with schema json; on success returns the JSON text (malloc'd). On a
 * reject returns NULL and fills *rej. */
static char *render(const char *schema_json, const void *data, size_t len, execrec_reject_t *rej) {
    execrec_avro_schema_t *schema = schema_ok(schema_json);
    execrec_buf_t out = EXECREC_BUF_INIT;
    execrec_reject_t local;
    if (!rej)
        rej = &local;
    memset(rej, 0, sizeof(*rej));
    execrec_err_t err = execrec_avro_to_json(schema, data, len, &out, rej);
    execrec_avro_schema_destroy(schema);
    if (err == EXECREC_ERR_REJECT) {
        ck_assert_ptr_nonnull(rej->code);
        ck_assert_uint_eq(out.len, 0); /* a reject leaves nothing behind */
        execrec_buf_free(&out);
        return NULL;
    }
    ck_assert_int_eq(err, EXECREC_OK);
    char *s = execrec_buf_steal(&out);
    return s ? s : strdup("");
}

static void expect_json(const char *schema_json, const void *data, size_t len, const char *want) {
    execrec_reject_t rej;
    char *got = render(schema_json, data, len, &rej);
    ck_assert_msg(got != NULL, "rejected: %s: %s", rej.code, rej.message);
    ck_assert_str_eq(got, want);
    free(got);
}

static void expect_reject(const char *schema_json, const void *data, size_t len, const char *code,
                          const char *message) {
    execrec_reject_t rej;
    char *got = render(schema_json, data, len, &rej);
    ck_assert_msg(got == NULL, "accepted: %s", got ? got : "");
    ck_assert_str_eq(rej.code, code);
    if (message)
        ck_assert_str_eq(rej.message, message);
}

/* Writes value with avro-c into buf; @returns the length. */
static size_t avro_c_write(avro_value_t *value, char *buf, size_t size) {
    avro_writer_t writer = avro_writer_memory(buf, (int64_t)size);
    ck_assert_ptr_nonnull(writer);
    ck_assert_int_eq(avro_value_write(writer, value), 0);
    size_t n = (size_t)avro_writer_tell(writer);
    avro_writer_free(writer);
    return n;
}

typedef struct {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
} wdatum_t;

static void datum_new(wdatum_t *d, const char *json) {
    ck_assert_int_eq(avro_schema_from_json_length(json, strlen(json), &d->schema), 0);
    d->iface = avro_generic_class_from_schema(d->schema);
    ck_assert_ptr_nonnull(d->iface);
    ck_assert_int_eq(avro_generic_value_new(d->iface, &d->value), 0);
}

static void datum_free(wdatum_t *d) {
    avro_value_decref(&d->value);
    avro_value_iface_decref(d->iface);
    avro_schema_decref(d->schema);
}

static avro_value_t field(avro_value_t *rec, const char *name) {
    avro_value_t f;
    ck_assert_msg(avro_value_get_by_name(rec, name, &f, NULL) == 0, "no field %s", name);
    return f;
}

static avro_value_t branch(avro_value_t *u, int idx) {
    avro_value_t b;
    ck_assert_int_eq(avro_value_set_branch(u, idx, &b), 0);
    return b;
}

static const char *TRADE_SCHEMA_PATH = "schemas/trade.avsc";

static char *read_source(const char *rel) {
    char *path = tu_source_path(rel);
    char *data = tu_read_file(path, NULL);
    free(path);
    return data;
}

/* A valid trade datum for schemas/trade.avsc, written by avro-c. */
static size_t trade_datum(char *buf, size_t size) {
    char *json = read_source(TRADE_SCHEMA_PATH);
    wdatum_t d;
    datum_new(&d, json);
    free(json);
    avro_value_t f;
    f = field(&d.value, "trade_id");
    avro_value_set_string(&f, "T-1");
    f = field(&d.value, "order_id");
    avro_value_set_string(&f, "O-1");
    f = field(&d.value, "quantity");
    avro_value_set_string(&f, "1.50");
    f = field(&d.value, "price");
    avro_value_set_string(&f, "0.00000001");
    f = field(&d.value, "trade_time");
    avro_value_set_long(&f, INT64_C(1795247483123456));
    f = field(&d.value, "account_uid");
    avro_value_t b = branch(&f, 1);
    avro_value_set_string(&b, "acc-7");
    const char *nulls[] = {"asset", "side", "fee_currency", "liquidity", "venue"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        f = field(&d.value, nulls[i]);
        b = branch(&f, 0);
        avro_value_set_null(&b);
    }
    f = field(&d.value, "side");
    b = branch(&f, 1);
    avro_value_set_string(&b, "BUY");
    f = field(&d.value, "fee");
    b = branch(&f, 1);
    avro_value_set_string(&b, "-0.25");
    size_t n = avro_c_write(&d.value, buf, size);
    datum_free(&d);
    return n;
}

static const char *TRADE_JSON =
    "{\"trade_id\":\"T-1\",\"order_id\":\"O-1\",\"quantity\":\"1.50\",\"price\":\"0.00000001\","
    "\"trade_time\":\"2026-11-21T07:51:23.123456Z\",\"account_uid\":\"acc-7\",\"asset\":null,"
    "\"side\":\"BUY\",\"fee\":\"-0.25\",\"fee_currency\":null,\"liquidity\":null,\"venue\":null}";

/* ---------------------------------------------------------- plain types */

static const char *ALL_TYPES =
    "{\"type\":\"record\",\"name\":\"All\",\"namespace\":\"t\",\"fields\":["
    "{\"name\":\"n\",\"type\":\"null\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"by\",\"type\":\"bytes\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Side\",\"symbols\":[\"BUY\",\"SELL\"]}}"
    ","
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F3\",\"size\":3}},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"u2\",\"type\":[\"null\",\"t.Side\"]},"
    "{\"name\":\"e2\",\"type\":\"Side\"}"
    "]}";

START_TEST(test_plain_types) {
    wdatum_t d;
    datum_new(&d, ALL_TYPES);
    avro_value_t f, b;
    f = field(&d.value, "b");
    avro_value_set_boolean(&f, 1);
    f = field(&d.value, "i");
    avro_value_set_int(&f, -2147483647 - 1);
    f = field(&d.value, "l");
    avro_value_set_long(&f, INT64_MAX);
    f = field(&d.value, "f");
    avro_value_set_float(&f, 0.1f);
    f = field(&d.value, "d");
    avro_value_set_double(&f, 0.1);
    f = field(&d.value, "by");
    avro_value_set_bytes(&f, "a\"\\\x00\xff", 5);
    f = field(&d.value, "s");
    avro_value_set_string(&f, "h\xc3\xa9llo \"q\"\n\t\x01 \xe2\x82\xac");
    f = field(&d.value, "e");
    avro_value_set_enum(&f, 1);
    f = field(&d.value, "fx");
    avro_value_set_fixed(&f,
                         "\x01"
                         "AB",
                         3);
    f = field(&d.value, "a");
    for (int i = 0; i < 3; i++) {
        avro_value_t item;
        avro_value_append(&f, &item, NULL);
        avro_value_set_int(&item, i * 100 - 100);
    }
    f = field(&d.value, "m");
    avro_value_t mv;
    avro_value_add(&f, "k\"1", &mv, NULL, NULL);
    avro_value_set_string(&mv, "v1");
    f = field(&d.value, "u");
    b = branch(&f, 1);
    avro_value_set_string(&b, "x");
    f = field(&d.value, "u2");
    b = branch(&f, 0);
    avro_value_set_null(&b);
    f = field(&d.value, "e2");
    avro_value_set_enum(&f, 0);
    char buf[1024];
    size_t n = avro_c_write(&d.value, buf, sizeof(buf));
    datum_free(&d);
    expect_json(ALL_TYPES, buf, n,
                "{\"n\":null,\"b\":true,\"i\":-2147483648,\"l\":9223372036854775807,"
                "\"f\":0.1,\"d\":0.1,\"by\":\"a\\\"\\\\\\u0000\\u00ff\","
                "\"s\":\"h\xc3\xa9llo \\\"q\\\"\\n\\t\\u0001 \xe2\x82\xac\","
                "\"e\":\"SELL\",\"fx\":\"\\u0001AB\",\"a\":[-100,0,100],"
                "\"m\":{\"k\\\"1\":\"v1\"},\"u\":\"x\",\"u2\":null,\"e2\":\"BUY\"}");
}
END_TEST

START_TEST(test_doubles) {
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "0"},
        {-1.5, "-1.5"},
        {1e300, "1e+300"},
        {123456789.12345678, "123456789.12345678"},
        {5e-324, "4.94065645841247e-324"},
        {1.0 / 0.0, "\"Infinity\""},
        {-1.0 / 0.0, "\"-Infinity\""},
        {0.0 / 0.0, "\"NaN\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wdatum_t d;
        datum_new(&d, "\"double\"");
        avro_value_set_double(&d.value, cases[i].v);
        char buf[16];
        size_t n = avro_c_write(&d.value, buf, sizeof(buf));
        datum_free(&d);
        expect_json("\"double\"", buf, n, cases[i].want);
    }
    wdatum_t d;
    datum_new(&d, "\"float\"");
    avro_value_set_float(&d.value, 16777216.0f);
    char buf[16];
    size_t n = avro_c_write(&d.value, buf, sizeof(buf));
    datum_free(&d);
    expect_json("\"float\"", buf, n, "16777216");
}
END_TEST

START_TEST(test_blocks) {
    /* Arrays and maps in several blocks, one with a negative count and byte size. */
    static const unsigned char arr[] = {0x04, 0x02, 0x04, 0x01, 0x02, 0x06, 0x00};
    expect_json("{\"type\":\"array\",\"items\":\"int\"}", arr, sizeof(arr), "[1,2,3]");
    static const unsigned char empty[] = {0x00};
    expect_json("{\"type\":\"array\",\"items\":\"int\"}", empty, 1, "[]");
    expect_json("{\"type\":\"map\",\"values\":\"long\"}", empty, 1, "{}");
    static const unsigned char map[] = {0x01, 0x06, 0x02, 'a', 0x02, 0x00};
    expect_json("{\"type\":\"map\",\"values\":\"long\"}", map, sizeof(map), "{\"a\":1}");
    static const unsigned char map2[] = {0x04, 0x02, 'a', 0x02, 0x02, 'b', 0x04, 0x00};
    expect_json("{\"type\":\"map\",\"values\":\"long\"}", map2, sizeof(map2), "{\"a\":1,\"b\":2}");
}
END_TEST

START_TEST(test_recursive_schema) {
    const char *list = "{\"type\":\"record\",\"name\":\"Node\",\"fields\":["
                       "{\"name\":\"v\",\"type\":\"int\"},"
                       "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}";
    static const unsigned char two[] = {0x02, 0x02, 0x04, 0x00};
    expect_json(list, two, sizeof(two), "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}");
    /* 100 levels: refused by the depth limit, not by the stack. */
    unsigned char deep[400];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        deep[n++] = 0x02;
        deep[n++] = 0x02;
    }
    deep[n++] = 0x00;
    deep[n++] = 0x00;
    execrec_reject_t rej;
    ck_assert_ptr_null(render(list, deep, n, &rej));
    ck_assert_str_eq(rej.code, "avro_bad_data");
    ck_assert_ptr_nonnull(strstr(rej.message, "nested deeper than 64"));
}
END_TEST

/* -------------------------------------------------------------- logical */

START_TEST(test_logical_times) {
    static const struct {
        const char *schema;
        int64_t v;
        const char *want;
    } cases[] = {
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", INT64_C(1795247483123456),
         "\"2026-11-21T07:51:23.123456Z\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", 0,
         "\"1970-01-01T00:00:00.000000Z\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", -1,
         "\"1969-12-31T23:59:59.999999Z\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", INT64_C(253402300799999999),
         "\"9999-12-31T23:59:59.999999Z\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", INT64_C(-62135596800000000),
         "\"0001-01-01T00:00:00.000000Z\""},
        {"{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", INT64_C(1795247483123),
         "\"2026-11-21T07:51:23.123000Z\""},
        {"{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}",
         INT64_C(1795247483123456), "\"2026-11-21T07:51:23.123456\""},
        {"{\"type\":\"int\",\"logicalType\":\"date\"}", 20778, "\"2026-11-21\""},
        {"{\"type\":\"int\",\"logicalType\":\"time-millis\"}", 28283123, "\"07:51:23.123\""},
        {"{\"type\":\"long\",\"logicalType\":\"time-micros\"}", INT64_C(28283123456),
         "\"07:51:23.123456\""},
        /* A logical type on the wrong base type is ignored, as the spec says. */
        {"{\"type\":\"int\",\"logicalType\":\"timestamp-micros\"}", 5, "5"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wdatum_t d;
        datum_new(&d, cases[i].schema);
        if (strstr(cases[i].schema, "\"int\""))
            avro_value_set_int(&d.value, (int32_t)cases[i].v);
        else
            avro_value_set_long(&d.value, cases[i].v);
        char buf[16];
        size_t n = avro_c_write(&d.value, buf, sizeof(buf));
        datum_free(&d);
        expect_json(cases[i].schema, buf, n, cases[i].want);
    }
    /* Year 10000 is out of range. */
    static const unsigned char y10k[] = {0x80, 0x80, 0x9b, 0xc7, 0x99, 0x83, 0xa2, 0x84, 0x07};
    expect_reject("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", y10k, sizeof(y10k),
                  "time_out_of_range", NULL);
    /* INT64_MIN microseconds (zig-zag 2^64-1): a reject, not a signed overflow while
     * splitting it into days and time of day (found by fuzzing; UBSan aborted here). */
    static const unsigned char min[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_reject("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", min, sizeof(min),
                  "time_out_of_range", NULL);
    expect_reject("{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}", min,
                  sizeof(min), "time_out_of_range", NULL);
}
END_TEST

START_TEST(test_uuid) {
    static const unsigned char s[] = {0x48, '1', '2', '3', 'e', '4', '5', '6', '7', '-',
                                      'e',  '8', '9', 'b', '-', '1', '2', 'd', '3', '-',
                                      'a',  '4', '5', '6', '-', '4', '2', '6', '6', '1',
                                      '4',  '1', '7', '4', '0', '0', '0'};
    expect_json("{\"type\":\"string\",\"logicalType\":\"uuid\"}", s, sizeof(s),
                "\"123e4567-e89b-12d3-a456-426614174000\"");
}
END_TEST

static const char *DEC2 = "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":38,"
                          "\"scale\":2}";

static void expect_decimal(int precision, int scale, const unsigned char *b, size_t n,
                           const char *want) {
    char schema[160];
    snprintf(schema, sizeof(schema),
             "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":%d,\"scale\":%d}",
             precision, scale);
    unsigned char data[80];
    ck_assert_uint_lt(n, 64);
    data[0] = (unsigned char)(n * 2);
    memcpy(data + 1, b, n);
    expect_json(schema, data, n + 1, want);
}

START_TEST(test_decimals) {
    static const unsigned char d12345[] = {0x30, 0x39};
    expect_decimal(38, 2, d12345, 2, "123.45");
    expect_decimal(38, 0, d12345, 2, "12345");
    expect_decimal(38, 5, d12345, 2, "0.12345");
    expect_decimal(38, 8, d12345, 2, "0.00012345");
    static const unsigned char m5[] = {0xfb};
    expect_decimal(38, 3, m5, 1, "-0.005");
    static const unsigned char zero[] = {0x00};
    expect_decimal(38, 2, zero, 1, "0.00");
    expect_decimal(38, 0, zero, 1, "0");
    static const unsigned char zero3[] = {0x00, 0x00, 0x00};
    expect_decimal(38, 0, zero3, 3, "0");
    static const unsigned char b127[] = {0x7f}, bm128[] = {0x80}, bm1[] = {0xff};
    expect_decimal(38, 0, b127, 1, "127");
    expect_decimal(38, 0, bm128, 1, "-128");
    expect_decimal(38, 1, bm1, 1, "-0.1");
    static const unsigned char b128[] = {0x00, 0x80};
    expect_decimal(38, 0, b128, 2, "128");
    /* 10^38 - 1 in 16 bytes, both signs, scale 0 and 18. */
    static const unsigned char max38[] = {0x4b, 0x3b, 0x4c, 0xa8, 0x5a, 0x86, 0xc4, 0x7a,
                                          0x09, 0x8a, 0x22, 0x3f, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char min38[] = {0xb4, 0xc4, 0xb3, 0x57, 0xa5, 0x79, 0x3b, 0x85,
                                          0xf6, 0x75, 0xdd, 0xc0, 0x00, 0x00, 0x00, 0x01};
    expect_decimal(38, 0, max38, 16, "99999999999999999999999999999999999999");
    expect_decimal(38, 18, max38, 16, "99999999999999999999.999999999999999999");
    expect_decimal(38, 38, max38, 16, "0.99999999999999999999999999999999999999");
    expect_decimal(38, 0, min38, 16, "-99999999999999999999999999999999999999");
    expect_decimal(38, 18, min38, 16, "-99999999999999999999.999999999999999999");
    /* 1.50 at scale 18 keeps the schema's scale, not the writer's. */
    static const unsigned char v150[] = {0x14, 0xd1, 0x12, 0x0d, 0x7b, 0x16, 0x00, 0x00};
    expect_decimal(38, 18, v150, 8, "1.500000000000000000");
}
END_TEST

START_TEST(test_decimal_fixed_and_limits) {
    const char *fixed = "{\"type\":\"fixed\",\"name\":\"D8\",\"size\":8,"
                        "\"logicalType\":\"decimal\",\"precision\":18,\"scale\":4}";
    static const unsigned char m1[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_json(fixed, m1, 8, "-0.0001");
    static const unsigned char p1e6[] = {0, 0, 0, 0, 0, 0x0f, 0x42, 0x40};
    expect_json(fixed, p1e6, 8, "100.0000");

    /* 64 bytes: the largest accepted, 154 digits. */
    unsigned char big[65];
    big[0] = 0x80; /* zig-zag 64 = 128 = 0x80 0x01 */
    unsigned char data[70];
    data[0] = 0x80;
    data[1] = 0x01;
    big[0] = 0x7f;
    memset(big + 1, 0xff, 63);
    memcpy(data + 2, big, 64);
    const char *wide = "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":200,"
                       "\"scale\":0}";
    expect_json(wide, data, 66,
                "670390396497129854978701249910292306373968291029619668886178072186088201503677"
                "3488400937149083451713845015929093243025426876941405973284973216824503042047");
    memset(big, 0, 64);
    big[0] = 0x80;
    memcpy(data + 2, big, 64);
    expect_json(wide, data, 66,
                "-67039039649712985497870124991029230637396829102961966888617807218608820150367"
                "73488400937149083451713845015929093243025426876941405973284973216824503042048");
    /* 65 bytes: refused. */
    unsigned char d65[70] = {0x82, 0x01, 0x01};
    expect_reject(wide, d65, 67, "decimal_out_of_range",
                  "at byte 2: decimal of 65 bytes (at most 64)");
    /* More digits than the precision. */
    static const unsigned char over[] = {0x04, 0x30, 0x39};
    expect_reject("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":2}",
                  over, 3, "decimal_out_of_range",
                  "at byte 1: decimal has 5 digits, precision is 4");
    /* Empty bytes are not a number. */
    static const unsigned char empty[] = {0x00};
    expect_reject(DEC2, empty, 1, "avro_bad_data", "at byte 1: empty decimal");
}
END_TEST

/* Found by fuzz_avro (tests/fuzz/regress/avro/decimal-scale-1000): the loader takes
 * scales up to the precision (at most 1000), but the text was built in a 216-byte
 * stack buffer, so "0." plus 1000 fraction digits wrote past it. */
START_TEST(test_decimal_large_scale) {
    static const unsigned char one[] = {0x02, 0x01};
    const char *s1000 = "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":1000,"
                        "\"scale\":1000}";
    char want[1024 + 8];
    memcpy(want, "0.", 2);
    memset(want + 2, '0', 999);
    memcpy(want + 1001, "1", 2);
    expect_json(s1000, one, 2, want);
    static const unsigned char minus_one[] = {0x02, 0xff};
    want[0] = '-';
    memcpy(want + 1, "0.", 2);
    memset(want + 3, '0', 999);
    memcpy(want + 1002, "1", 2);
    expect_json(s1000, minus_one, 2, want);
    /* Largest magnitude (64 bytes, 155 digits) at scale 1000. */
    unsigned char big[66] = {0x80, 0x01, 0x80};
    execrec_reject_t rej;
    char *got = render(s1000, big, 66, &rej);
    ck_assert_msg(got != NULL, "rejected: %s: %s", rej.code, rej.message);
    ck_assert_uint_eq(strlen(got), 1 + 2 + 1000);
    ck_assert(!strncmp(got, "-0.000", 6));
    free(got);
}
END_TEST

/* ------------------------------------------------------------- hostile */

START_TEST(test_truncated_everywhere) {
    char buf[512];
    size_t n = trade_datum(buf, sizeof(buf));
    char *schema = read_source(TRADE_SCHEMA_PATH);
    expect_json(schema, buf, n, TRADE_JSON);
    for (size_t cut = 0; cut < n; cut++) {
        execrec_reject_t rej;
        char *got = render(schema, buf, cut, &rej);
        ck_assert_msg(got == NULL, "prefix of %zu bytes accepted", cut);
        ck_assert_msg(!strcmp(rej.code, "avro_truncated"), "cut %zu: %s %s", cut, rej.code,
                      rej.message);
    }
    free(schema);
}
END_TEST

START_TEST(test_reject_messages) {
    char buf[512];
    size_t n = trade_datum(buf, sizeof(buf));
    char *schema = read_source(TRADE_SCHEMA_PATH);
    /* Cut inside "price" (after trade_id "T-1", order_id "O-1", quantity "1.50"). */
    expect_reject(schema, buf, 16, "avro_truncated",
                  "field price at byte 13: string length 10 exceeds the 2 bytes left");
    expect_reject(schema, buf, 25, "avro_truncated",
                  "field trade_time at byte 24: varint runs past the end");
    /* Trailing bytes. */
    buf[n] = 0;
    expect_reject(schema, buf, n + 1, "avro_bad_data",
                  "at byte 55: 1 trailing bytes after the datum");
    free(schema);
}
END_TEST

START_TEST(test_hostile_lengths) {
    /* A string claiming 2^62 bytes: refused before any allocation. */
    static const unsigned char huge[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                         0x80, 0x80, 0x80, 0x01, 'a'};
    expect_reject("\"string\"", huge, sizeof(huge), "avro_truncated",
                  "at byte 0: string length 4611686018427387904 exceeds the 1 bytes left");
    expect_reject("\"bytes\"", huge, sizeof(huge), "avro_truncated", NULL);
    static const unsigned char neg[] = {0x01};
    expect_reject("\"string\"", neg, 1, "avro_bad_data", "at byte 0: negative string length -1");
    /* An array block of 2^62 ints in 3 bytes. */
    static const unsigned char arr[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0x7f, 0x02, 0x00};
    expect_reject("{\"type\":\"array\",\"items\":\"int\"}", arr, sizeof(arr), "avro_truncated",
                  NULL);
    /* A block of 2^62 nulls: zero bytes each, refused by the item budget. */
    expect_reject("{\"type\":\"array\",\"items\":\"null\"}", arr, sizeof(arr) - 2, "avro_bad_data",
                  NULL);
    /* ...while a few nulls are fine. */
    static const unsigned char three[] = {0x06, 0x00};
    expect_json("{\"type\":\"array\",\"items\":\"null\"}", three, 2, "[null,null,null]");
    /* Negative block count whose byte size exceeds the input. */
    static const unsigned char negblk[] = {0x01, 0x7e, 0x02, 0x00};
    expect_reject("{\"type\":\"array\",\"items\":\"int\"}", negblk, sizeof(negblk),
                  "avro_truncated", "at byte 1: block length 63 exceeds the 2 bytes left");
    /* A fixed longer than the input. */
    expect_reject("{\"type\":\"fixed\",\"name\":\"F\",\"size\":16}", neg, 1, "avro_truncated",
                  "at byte 0: fixed of 16 bytes, 1 left");
}
END_TEST

START_TEST(test_bad_values) {
    static const unsigned char u2[] = {0x04, 0x02, 'x'};
    expect_reject("[\"null\",\"string\"]", u2, sizeof(u2), "avro_bad_data",
                  "at byte 0: union branch 2 out of range (2 branches)");
    static const unsigned char um1[] = {0x01};
    expect_reject("[\"null\",\"string\"]", um1, 1, "avro_bad_data",
                  "at byte 0: union branch -1 out of range (2 branches)");
    static const unsigned char b2[] = {0x02};
    expect_reject("\"boolean\"", b2, 1, "avro_bad_data", "at byte 0: boolean byte 0x02");
    expect_reject("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}", b2, 1, "avro_bad_data",
                  "at byte 0: enum index 1 out of range (1 symbols)");
    static const unsigned char longest[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0x01};
    expect_json("\"long\"", longest, sizeof(longest), "-9223372036854775808");
    static const unsigned char overlong[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0x02};
    expect_reject("\"long\"", overlong, sizeof(overlong), "avro_bad_data",
                  "at byte 0: over-long varint");
    static const unsigned char eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                           0x80, 0x80, 0x80, 0x80, 0x00};
    expect_reject("\"long\"", eleven, sizeof(eleven), "avro_bad_data", NULL);
    static const unsigned char bigint[] = {0x80, 0x80, 0x80, 0x80, 0x10};
    expect_reject("\"int\"", bigint, sizeof(bigint), "avro_bad_data",
                  "at byte 0: int varint out of range");
    static const unsigned char trailing[] = {0x02, 0x00};
    expect_reject("\"long\"", trailing, 2, "avro_bad_data",
                  "at byte 1: 1 trailing bytes after the datum");
    expect_reject("\"null\"", trailing, 1, "avro_bad_data", NULL);
    expect_reject("\"long\"", trailing, 0, "avro_truncated", "at byte 0: varint runs past the end");
    static const unsigned char dbl[] = {0, 0, 0};
    expect_reject("\"double\"", dbl, 3, "avro_truncated", "at byte 0: double runs past the end");
}
END_TEST

START_TEST(test_invalid_utf8) {
    static const unsigned char ff[] = {0x06, 'a', 'b', 0xff};
    expect_reject("\"string\"", ff, sizeof(ff), "invalid_utf8",
                  "at byte 3: string is not valid UTF-8");
    static const unsigned char overlong[] = {0x04, 0xc0, 0x80};
    expect_reject("\"string\"", overlong, sizeof(overlong), "invalid_utf8", NULL);
    static const unsigned char surrogate[] = {0x06, 0xed, 0xa0, 0x80};
    expect_reject("\"string\"", surrogate, sizeof(surrogate), "invalid_utf8", NULL);
    static const unsigned char cut[] = {0x04, 'a', 0xe2};
    expect_reject("\"string\"", cut, sizeof(cut), "invalid_utf8", NULL);
    static const unsigned char rec[] = {0x02, 'k', 0x02, 0x80};
    expect_reject("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":"
                  "\"string\"},{\"name\":\"b\",\"type\":\"string\"}]}",
                  rec, sizeof(rec), "invalid_utf8", "field b at byte 3: string is not valid UTF-8");
    /* Bytes are not text: any byte is fine. */
    expect_json("\"bytes\"", ff, sizeof(ff), "\"ab\\u00ff\"");
}
END_TEST

/* ------------------------------------------------------------- schemas */

START_TEST(test_schema_refusals) {
    static const struct {
        const char *json;
        const char *want; /* prefix of errstr */
    } cases[] = {
        {"{\"type\":\"record\"", "invalid Avro schema: "},
        {"{\"type\":\"nope\"}", "invalid Avro schema: "},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Unknown\"}]}",
         "invalid Avro schema: "},
        {"{\"type\":\"bytes\",\"logicalType\":\"decimal\"}",
         "invalid Avro schema: decimal logical type needs a precision >= 1"},
        {"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":5}",
         "invalid Avro schema: decimal scale must be an integer between 0 and the precision"},
        {"{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":-1}",
         "invalid Avro schema: decimal scale must be an integer between 0 and the precision"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char errstr[256] = "";
        execrec_avro_schema_t *schema =
            execrec_avro_schema_new(cases[i].json, strlen(cases[i].json), errstr, sizeof(errstr));
        ck_assert_msg(schema == NULL, "accepted %s", cases[i].json);
        ck_assert_msg(!strncmp(errstr, cases[i].want, strlen(cases[i].want)), "%s: got '%s'",
                      cases[i].json, errstr);
    }
    char errstr[256];
    ck_assert_ptr_null(execrec_avro_schema_load("/nonexistent/x.avsc", errstr, sizeof(errstr)));
    ck_assert_str_eq(errstr, "/nonexistent/x.avsc: No such file or directory");
    execrec_avro_schema_destroy(NULL);
}
END_TEST

/* The four .avsc files name exactly the contract's columns (event_key aside), with
 * required fields non-null and optional ones ["null", T] defaulting to null. */
START_TEST(test_shipped_schemas_match_contract) {
    static const char *files[EXECREC_KIND__CNT] = {"schemas/order.avsc", "schemas/order_event.avsc",
                                                   "schemas/trade.avsc",
                                                   "schemas/order_manager.avsc"};
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        char *path = tu_source_path(files[k]);
        char errstr[256];
        execrec_avro_schema_t *schema = execrec_avro_schema_load(path, errstr, sizeof(errstr));
        ck_assert_msg(schema != NULL, "%s", errstr);
        execrec_avro_schema_destroy(schema);
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        ck_assert_ptr_nonnull(root);
        free(path);
        ck_assert_str_eq(json_string_value(json_object_get(root, "namespace")), "io.execrec");
        json_t *fields = json_object_get(root, "fields");
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns((execrec_kind_t)k, &ncols);
        size_t fi = 0;
        for (int c = 0; c < ncols; c++) {
            if (cols[c].type == EXECREC_COL_DERIVED)
                continue;
            json_t *f = json_array_get(fields, fi++);
            ck_assert_ptr_nonnull(f);
            ck_assert_str_eq(json_string_value(json_object_get(f, "name")), cols[c].name);
            json_t *type = json_object_get(f, "type");
            if (cols[c].required) {
                ck_assert_msg(!json_is_array(type), "%s is required", cols[c].name);
            } else {
                ck_assert_msg(json_is_array(type) && json_array_size(type) == 2 &&
                                  !strcmp(json_string_value(json_array_get(type, 0)), "null"),
                              "%s is optional", cols[c].name);
                ck_assert(json_is_null(json_object_get(f, "default")));
                type = json_array_get(type, 1);
            }
            if (cols[c].type == EXECREC_COL_TIME) {
                ck_assert_str_eq(json_string_value(json_object_get(type, "type")), "long");
                ck_assert_str_eq(json_string_value(json_object_get(type, "logicalType")),
                                 "timestamp-micros");
            } else if (cols[c].type == EXECREC_COL_INT64) {
                ck_assert_str_eq(json_string_value(type), "long");
            } else {
                ck_assert_str_eq(json_string_value(type), "string");
            }
        }
        ck_assert_uint_eq(fi, json_array_size(fields));
        json_decref(root);
    }
}
END_TEST

/* ------------------------------------------------- registry and framing */

static char *write_temp(const char *dir, const char *name, const char *text) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

START_TEST(test_registry_map) {
    execrec_schemamap_t *reg = execrec_schemamap_new();
    char errstr[512];
    char *map = tu_source_path("schemas/registry.map");
    ck_assert_int_eq(execrec_schemamap_load(reg, map, errstr, sizeof(errstr)), EXECREC_OK);
    free(map);
    for (int id = 1; id <= 4; id++)
        ck_assert_ptr_nonnull(execrec_schemamap_get(reg, id));
    ck_assert_ptr_null(execrec_schemamap_get(reg, 0));
    ck_assert_ptr_null(execrec_schemamap_get(reg, 5));
    /* Replacing an id is allowed. */
    ck_assert_int_eq(execrec_schemamap_add(reg, 3, schema_ok("\"long\""), errstr, sizeof(errstr)),
                     EXECREC_OK);
    execrec_buf_t out = EXECREC_BUF_INIT;
    execrec_reject_t rej;
    static const unsigned char msg[] = {0, 0, 0, 0, 3, 0x54};
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, sizeof(msg), &out, &rej), EXECREC_OK);
    ck_assert_str_eq(out.data, "42");
    execrec_buf_free(&out);
    execrec_schemamap_destroy(reg);
    execrec_schemamap_destroy(NULL);

    char dir[] = "/tmp/execrec_avro_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *avsc = write_temp(dir, "a.avsc", "\"string\"");
    char *badavsc = write_temp(dir, "bad.avsc", "{\"type\":\"nope\"}");
    static const struct {
        const char *text;
        execrec_err_t err;
        const char *want; /* after "<map path>:" */
    } cases[] = {
        {"# comment\n\n  7 a.avsc   # trailing comment\n", EXECREC_OK, NULL},
        {"7 a.avsc\nx a.avsc\n", EXECREC_ERR_INVALID,
         "2: expected \"<id> <path.avsc>\" with id 0-2147483647"},
        {"7\n", EXECREC_ERR_INVALID, "1: expected \"<id> <path.avsc>\" with id 0-2147483647"},
        {"-1 a.avsc\n", EXECREC_ERR_INVALID,
         "1: expected \"<id> <path.avsc>\" with id 0-2147483647"},
        {"7 a.avsc\n7 a.avsc\n", EXECREC_ERR_INVALID, "2: schema id 7 listed twice"},
        {"1 missing.avsc\n", EXECREC_ERR_INVALID, "1: "},
        {"1 bad.avsc\n", EXECREC_ERR_INVALID, "1: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *mapfile = write_temp(dir, "r.map", cases[i].text);
        reg = execrec_schemamap_new();
        errstr[0] = '\0';
        execrec_err_t err = execrec_schemamap_load(reg, mapfile, errstr, sizeof(errstr));
        ck_assert_msg(err == cases[i].err, "case %zu: %s", i, errstr);
        if (cases[i].want) {
            char want[512];
            snprintf(want, sizeof(want), "%s:%s", mapfile, cases[i].want);
            ck_assert_msg(!strncmp(errstr, want, strlen(want)), "case %zu: '%s'", i, errstr);
        } else {
            ck_assert_ptr_nonnull(execrec_schemamap_get(reg, 7));
        }
        execrec_schemamap_destroy(reg);
        unlink(mapfile);
        free(mapfile);
    }
    /* The schema file's own error is passed on with its path. */
    char *mapfile = write_temp(dir, "r.map", "1 missing.avsc\n");
    reg = execrec_schemamap_new();
    ck_assert_int_eq(execrec_schemamap_load(reg, mapfile, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    char want[512];
    snprintf(want, sizeof(want), "%s:1: %s/missing.avsc: No such file or directory", mapfile, dir);
    ck_assert_str_eq(errstr, want);
    execrec_schemamap_destroy(reg);
    unlink(mapfile);
    free(mapfile);
    reg = execrec_schemamap_new();
    ck_assert_int_eq(execrec_schemamap_load(reg, "/nonexistent/r.map", errstr, sizeof(errstr)),
                     EXECREC_ERR_IO);
    ck_assert_str_eq(errstr, "/nonexistent/r.map: No such file or directory");
    execrec_schemamap_destroy(reg);
    unlink(avsc);
    unlink(badavsc);
    free(avsc);
    free(badavsc);
    rmdir(dir);
}
END_TEST

START_TEST(test_confluent) {
    execrec_schemamap_t *reg = execrec_schemamap_new();
    char errstr[512];
    char *map = tu_source_path("schemas/registry.map");
    ck_assert_int_eq(execrec_schemamap_load(reg, map, errstr, sizeof(errstr)), EXECREC_OK);
    free(map);
    unsigned char msg[512] = {0, 0, 0, 0, 3};
    size_t n = trade_datum((char *)msg + 5, sizeof(msg) - 5) + 5;
    execrec_buf_t out = EXECREC_BUF_INIT;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, n, &out, &rej), EXECREC_OK);
    ck_assert_str_eq(out.data, TRADE_JSON);
    execrec_buf_reset(&out);

    /* Offsets in messages count from the start of the Kafka value. */
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, 21, &out, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_truncated");
    ck_assert_str_eq(rej.message,
                     "field price at byte 18: string length 10 exceeds the 2 bytes left");
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, 4, &out, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_truncated");
    ck_assert_str_eq(rej.message, "Confluent Avro header needs 5 bytes, message has 4");
    msg[4] = 9;
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, n, &out, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_unknown_schema");
    ck_assert_str_eq(rej.message, "schema id 9 is not in the registry");
    msg[1] = 0x80; /* ids are signed 32-bit on the wire: never in our map */
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, n, &out, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_unknown_schema");
    msg[0] = 1;
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg, n, &out, &rej), EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_bad_data");
    ck_assert_str_eq(rej.message, "Confluent Avro magic byte is 0x01, expected 0x00");
    static const unsigned char id1[] = {0, 0, 0, 0, 1, 0};
    ck_assert_int_eq(execrec_avro_confluent_to_json(NULL, id1, sizeof(id1), &out, &rej),
                     EXECREC_ERR_REJECT);
    ck_assert_str_eq(rej.code, "avro_unknown_schema");
    ck_assert_str_eq(rej.message, "schema id 1 is not in the registry (no registry configured)");
    ck_assert_uint_eq(out.len, 0);
    execrec_buf_free(&out);
    execrec_schemamap_destroy(reg);
}
END_TEST

static Suite *avro_suite(void) {
    Suite *s = suite_create("avro");
    TCase *tc = tcase_create("plain");
    tcase_add_test(tc, test_plain_types);
    tcase_add_test(tc, test_doubles);
    tcase_add_test(tc, test_blocks);
    tcase_add_test(tc, test_recursive_schema);
    suite_add_tcase(s, tc);
    tc = tcase_create("logical");
    tcase_add_test(tc, test_logical_times);
    tcase_add_test(tc, test_uuid);
    tcase_add_test(tc, test_decimals);
    tcase_add_test(tc, test_decimal_fixed_and_limits);
    tcase_add_test(tc, test_decimal_large_scale);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_test(tc, test_reject_messages);
    tcase_add_test(tc, test_hostile_lengths);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_invalid_utf8);
    suite_add_tcase(s, tc);
    tc = tcase_create("schemas");
    tcase_add_test(tc, test_schema_refusals);
    tcase_add_test(tc, test_shipped_schemas_match_contract);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_map);
    tcase_add_test(tc, test_confluent);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(avro_suite)
