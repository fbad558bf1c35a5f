/* The Schema Registry's answers, parsed with jansson: see registry_answer.h. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "wire/registry_answer.h"

/* Appends s[0..n) to out (size bytes, already NUL-terminated), each byte outside
 * printable ASCII as '?', cutting at size. */
static void put_ascii(char *out, size_t size, const char *s, size_t n) {
    size_t o = strlen(out);
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[o] = '\0';
}

/* The body as JSON, or NULL. A body with a NUL byte is not JSON, but jansson reads
 * past a NUL in places ({"id":5<NUL>} is {"id":5} to it): refused here. */
static json_t *load(const char *body, size_t len) {
    return len && !memchr(body, '\0', len) ? json_loadb(body, len, 0, NULL) : NULL;
}

/* "HTTP <status>: " and the registry's own reason: Confluent's
 * {"error_code": 40403, "message": "..."}, else the start of the body. */
static void http_reason(long status, const char *body, size_t len, char *why, size_t why_size) {
    if (!why_size)
        return;
    snprintf(why, why_size, "HTTP %ld: ", status);
    json_t *j = load(body, len);
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg) {
        char code[48];
        snprintf(code, sizeof(code), " (error_code %" JSON_INTEGER_FORMAT ")",
                 json_integer_value(json_object_get(j, "error_code")));
        put_ascii(why, why_size, msg, strlen(msg));
        put_ascii(why, why_size, code, strlen(code));
    } else if (len) {
        put_ascii(why, why_size, body,
                  len > EXECREC_REGISTRY_EXCERPT_MAX ? EXECREC_REGISTRY_EXCERPT_MAX : len);
    } else {
        put_ascii(why, why_size, "(empty answer)", 14);
    }
    json_decref(j);
}

execrec_err_t execrec_registry_schema_answer(long status, const char *body, size_t len,
                                             char **schema_json, char *why, size_t why_size) {
    assert(schema_json && (body || !len));
    if (status != 200) {
        http_reason(status, body, len, why, why_size);
        return status == 404 ? EXECREC_ERR_NOTFOUND : EXECREC_ERR_IO;
    }
    json_t *j = load(body, len);
    const char *schema = json_string_value(json_object_get(j, "schema"));
    execrec_err_t err = EXECREC_OK;
    char *copy = NULL;
    if (!schema) {
        execrec_errstr(why, why_size, "answer without a \"schema\" string");
        err = EXECREC_ERR_IO;
    } else if (!(copy = strdup(schema))) {
        execrec_errstr(why, why_size, "out of memory");
        err = EXECREC_ERR_NOMEM;
    } else {
        *schema_json = copy;
    }
    json_decref(j);
    return err;
}

execrec_err_t execrec_registry_id_answer(long status, const char *body, size_t len, int32_t *id,
                                         char *why, size_t why_size) {
    assert(id && (body || !len));
    json_t *j = load(body, len);
    json_t *jid = json_object_get(j, "id");
    execrec_err_t err = EXECREC_OK;
    if (status == 200 && json_is_integer(jid) && json_integer_value(jid) >= 0 &&
        json_integer_value(jid) <= INT32_MAX) {
        *id = (int32_t)json_integer_value(jid);
    } else {
        http_reason(status, body, len, why, why_size);
        err = status == 200 ? EXECREC_ERR_IO : EXECREC_ERR_INVALID;
    }
    json_decref(j);
    return err;
}

execrec_avro_schema_t *execrec_registry_schema_compile(const char *schema_json, char *why,
                                                       size_t why_size) {
    assert(schema_json);
    char reason[256] = "";
    execrec_avro_schema_t *schema =
        execrec_avro_schema_new(schema_json, strlen(schema_json), reason, sizeof(reason));
    if (!schema && why_size) {
        why[0] = '\0';
        put_ascii(why, why_size, reason, strlen(reason));
    }
    return schema;
}
