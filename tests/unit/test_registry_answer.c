/* The Schema Registry's answers read without HTTP (src/wire/registry_answer.h):
 * schema and id answers, Confluent's errors, bodies that are not JSON, and error
 * texts that stay printable ASCII whatever the registry (or a proxy) sent. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/avro.h"
#include "wire/registry_answer.h"
#include "testutil.h"

static execrec_err_t schema_answer(long status, const char *body, char **text, char *why) {
    return execrec_registry_schema_answer(status, body, strlen(body), text, why, 256);
}

static execrec_err_t id_answer(long status, const char *body, int32_t *id, char *why) {
    return execrec_registry_id_answer(status, body, strlen(body), id, why, 256);
}

START_TEST(test_schema_answers) {
    char why[256], *text = NULL;
    ck_assert_int_eq(schema_answer(200,
                                   "{\"subject\":\"t\",\"id\":3,\"schema\":\"\\\"string\\\"\"}",
                                   &text, why),
                     EXECREC_OK);
    ck_assert_str_eq(text, "\"string\"");
    free(text);
    text = NULL;
    ck_assert_int_eq(
        schema_answer(404, "{\"error_code\":40403,\"message\":\"Schema not found\"}", &text, why),
        EXECREC_ERR_NOTFOUND);
    ck_assert_str_eq(why, "HTTP 404: Schema not found (error_code 40403)");
    ck_assert_ptr_null(text);
    ck_assert_int_eq(schema_answer(200, "{\"schema\":3}", &text, why), EXECREC_ERR_IO);
    ck_assert_str_eq(why, "answer without a \"schema\" string");
    ck_assert_int_eq(schema_answer(200, "[\"schema\"]", &text, why), EXECREC_ERR_IO);
    ck_assert_int_eq(schema_answer(200, "", &text, why), EXECREC_ERR_IO);
    ck_assert_int_eq(schema_answer(401, "", &text, why), EXECREC_ERR_IO);
    ck_assert_str_eq(why, "HTTP 401: (empty answer)");
    ck_assert_int_eq(execrec_registry_schema_answer(403, NULL, 0, &text, why, sizeof(why)),
                     EXECREC_ERR_IO);
    ck_assert_str_eq(why, "HTTP 403: (empty answer)");
    ck_assert_ptr_null(text);
    /* The body need not be NUL-terminated: exactly len bytes are read. */
    ck_assert_int_eq(execrec_registry_schema_answer(200, "{\"schema\":\"\\\"int\\\"\"}XYZ", 20,
                                                    &text, why, sizeof(why)),
                     EXECREC_OK);
    ck_assert_str_eq(text, "\"int\"");
    free(text);
}
END_TEST

START_TEST(test_id_answers) {
    char why[256];
    int32_t id = -1;
    ck_assert_int_eq(id_answer(200, "{\"id\":5}", &id, why), EXECREC_OK);
    ck_assert_int_eq(id, 5);
    ck_assert_int_eq(id_answer(200, "{\"id\":2147483647}", &id, why), EXECREC_OK);
    ck_assert_int_eq(id, INT32_MAX);
    id = -1;
    const char *bad[] = {"{\"id\":2147483648}", "{\"id\":-1}", "{\"id\":5.0}",
                         "{\"id\":\"5\"}",      "{}",          "5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(id_answer(200, bad[i], &id, why), EXECREC_ERR_IO);
        ck_assert_int_eq(id, -1);
        ck_assert_str_eq(why + strlen("HTTP 200: "), bad[i]); /* not Confluent's error JSON */
    }
    ck_assert_int_eq(id_answer(409,
                               "{\"error_code\":409,\"message\":\"Schema being registered is "
                               "incompatible with an earlier schema\"}",
                               &id, why),
                     EXECREC_ERR_INVALID);
    ck_assert_str_eq(why, "HTTP 409: Schema being registered is incompatible with an earlier "
                          "schema (error_code 409)");
}
END_TEST

/* The registry's words reach the log and an avro_unknown_schema reject (a
 * PostgreSQL text column), and every layer may cut them: printable ASCII only. */
START_TEST(test_reason_printable_ascii) {
    char why[256], *text = NULL;
    /* A proxy's Latin-1 page, with a CR LF. */
    ck_assert_int_eq(
        schema_answer(401, "<p>Zugriff f\xfcr Benutzer verweigert</p>\r\n", &text, why),
        EXECREC_ERR_IO);
    ck_assert_str_eq(why, "HTTP 401: <p>Zugriff f?r Benutzer verweigert</p>??");
    /* Confluent's message in UTF-8, with a newline. */
    ck_assert_int_eq(
        schema_answer(422, "{\"error_code\":42201,\"message\":\"Sch\xc3\xa9ma\\ninvalide\"}", &text,
                      why),
        EXECREC_ERR_IO);
    ck_assert_str_eq(why, "HTTP 422: Sch??ma?invalide (error_code 42201)");
    /* Only the first 120 bytes of a body that is not Confluent's error JSON. */
    char body[400];
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    ck_assert_int_eq(schema_answer(500, body, &text, why), EXECREC_ERR_IO);
    ck_assert_uint_eq(strlen(why), strlen("HTTP 500: ") + EXECREC_REGISTRY_EXCERPT_MAX);
    /* Cut to the caller's buffer. */
    char small[12];
    ck_assert_int_eq(execrec_registry_schema_answer(404, body, 10, &text, small, sizeof(small)),
                     EXECREC_ERR_NOTFOUND);
    ck_assert_str_eq(small, "HTTP 404: x");
}
END_TEST

/* Found by fuzz_registry: jansson reads past a NUL byte in places, so
 * {"id":999<NUL>} was id 999. A body with a NUL byte is not JSON. */
START_TEST(test_nul_in_body) {
    char why[256], *text = NULL;
    int32_t id = -1;
    ck_assert_int_eq(execrec_registry_id_answer(200, "{\"id\":999\0}", 11, &id, why, sizeof(why)),
                     EXECREC_ERR_IO);
    ck_assert_int_eq(id, -1);
    ck_assert_str_eq(why, "HTTP 200: {\"id\":999?}");
    ck_assert_int_eq(execrec_registry_schema_answer(200, "{\"schema\":\"\\\"int\\\"\"\0}", 20,
                                                    &text, why, sizeof(why)),
                     EXECREC_ERR_IO);
    ck_assert_ptr_null(text);
}
END_TEST

START_TEST(test_schema_compile) {
    char why[256];
    execrec_avro_schema_t *schema = execrec_registry_schema_compile(
        "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"a.b\",\"fields\":[]}", why,
        sizeof(why));
    ck_assert_ptr_nonnull(schema);
    ck_assert_str_eq(execrec_avro_schema_name(schema), "a.b.T");
    execrec_avro_schema_destroy(schema);
    /* avro-c's reason quotes the text: non-ASCII and control bytes become '?'. */
    ck_assert_ptr_null(
        execrec_registry_schema_compile("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":"
                                        "\"a\",\"type\":\"\xc3\xa9x\"}]}",
                                        why, sizeof(why)));
    ck_assert_str_eq(why, "invalid Avro schema: Unknown Avro \"type\": ??x");
    ck_assert_msg(strlen(why) > 0, "empty reason");
    for (const char *p = why; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p < 0x7f, "byte 0x%02x in \"%s\"", (unsigned char)*p, why);
}
END_TEST

Suite *registry_answer_suite(void);
Suite *registry_answer_suite(void) {
    Suite *s = suite_create("registry_answer");
    TCase *tc = tcase_create("answers");
    tcase_add_test(tc, test_schema_answers);
    tcase_add_test(tc, test_id_answers);
    tcase_add_test(tc, test_reason_printable_ascii);
    tcase_add_test(tc, test_nul_in_body);
    tcase_add_test(tc, test_schema_compile);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(registry_answer_suite)
