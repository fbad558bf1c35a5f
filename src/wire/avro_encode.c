/* JSON DOM -> Avro binary along the schema's plan (avro_plan.h). The DOM keeps
 * every number's text, so a decimal written as 0.1 becomes the Avro string "0.1",
 * digit for digit. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wire/avro_encode.h"
#include "base/timeutil.h"
#include "wire/avro_plan.h"

typedef struct enc_s {
    execrec_buf_t *out;
    char *errstr;
    size_t errstr_size;
    int depth;
    int npath;
    const char *path[DEPTH_MAX + 1];
} enc_t;

static int enc_fail(enc_t *e, const char *fmt, ...) EXECREC_PRINTF(2, 3);
static int enc_fail(enc_t *e, const char *fmt, ...) {
    char path[128];
    execrec_avro_field_path(e->path, e->npath, path, sizeof(path));
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    execrec_errstr(e->errstr, e->errstr_size, "%s%s%s%s", e->npath ? "field " : "", path,
                   e->npath ? ": " : "", what);
    return -1;
}

static void put_varint(execrec_buf_t *out, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t b[10];
    size_t n = 0;
    while (u >= 0x80) {
        b[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    b[n++] = (uint8_t)u;
    execrec_buf_append(out, b, n);
}

/* An integer from a JSON number without fraction or exponent, or a string of digits. */
static int enc_integer(enc_t *e, const execrec_json_t *j, int64_t lo, int64_t hi, int64_t *v) {
    if (!j || (j->type != EXECREC_JSON_NUMBER && j->type != EXECREC_JSON_STRING))
        return enc_fail(e, "expected an integer, got %s", execrec_json_value_name(j));
    char *end;
    errno = 0;
    long long n = strtoll(j->str, &end, 10);
    if (j->len == 0 || errno || end != j->str + j->len || n < lo || n > hi)
        return enc_fail(e, "'%.40s' is not an integer in [%" PRId64 ", %" PRId64 "]", j->str, lo,
                        hi);
    *v = n;
    return 0;
}

/* timestamp-millis/micros from RFC 3339 text or an epoch (timeutil.h's rules). */
static int enc_timestamp(enc_t *e, const node_t *nd, const execrec_json_t *j) {
    execrec_reject_t rej;
    int64_t us;
    execrec_err_t err;
    if (j && j->type == EXECREC_JSON_STRING)
        err = execrec_time_parse_text(j->str, j->len, &us, &rej);
    else if (j && j->type == EXECREC_JSON_NUMBER)
        err = execrec_time_parse_epoch(j->str, j->len, &us, &rej);
    else
        return enc_fail(e, "expected a time, got %s", execrec_json_value_name(j));
    if (err)
        return enc_fail(e, "%s: %s", rej.code, rej.message);
    put_varint(e->out, nd->lt == LT_TS_MILLIS || nd->lt == LT_LOCAL_TS_MILLIS ? us / 1000 : us);
    return 0;
}

static int encode(enc_t *e, const execrec_avro_schema_t *schema, int idx, const execrec_json_t *j);

static int enc_union(enc_t *e, const execrec_avro_schema_t *schema, const node_t *nd,
                     const execrec_json_t *j) {
    int is_null = !j || j->type == EXECREC_JSON_NULL;
    char first[256] = "";
    int npath = e->npath;
    for (int i = 0; i < nd->nsub; i++) {
        int sub = nd->sub[i];
        if ((schema->nodes[sub].type == T_NULL) != is_null)
            continue;
        size_t mark = e->out->len;
        put_varint(e->out, i);
        if (encode(e, schema, sub, j) == 0)
            return 0;
        /* Try the next branch; report the first branch's reason if none fits. */
        if (!first[0])
            snprintf(first, sizeof(first), "%s", e->errstr ? e->errstr : "");
        e->out->len = mark;
        e->npath = npath;
    }
    if (first[0]) {
        execrec_errstr(e->errstr, e->errstr_size, "%s", first);
        return -1;
    }
    return enc_fail(e, "%s fits no branch of the union",
                    is_null ? "null" : execrec_json_value_name(j));
}

static int encode(enc_t *e, const execrec_avro_schema_t *schema, int idx, const execrec_json_t *j) {
    const node_t *nd = &schema->nodes[idx];
    int64_t v;
    if (e->depth >= DEPTH_MAX)
        return enc_fail(e, "nested deeper than %d", DEPTH_MAX);
    if (nd->type != T_NULL && nd->type != T_UNION && (!j || j->type == EXECREC_JSON_NULL))
        return enc_fail(e, "required, but %s", j ? "null" : "missing");
    e->depth++;
    int rc = 0;
    switch (nd->type) {
    case T_NULL:
        if (j && j->type != EXECREC_JSON_NULL)
            rc = enc_fail(e, "expected null, got %s", execrec_json_value_name(j));
        break;
    case T_BOOLEAN:
        if (j->type != EXECREC_JSON_TRUE && j->type != EXECREC_JSON_FALSE)
            rc = enc_fail(e, "expected a boolean, got %s", execrec_json_value_name(j));
        else
            execrec_buf_putc(e->out, j->type == EXECREC_JSON_TRUE ? 1 : 0);
        break;
    case T_INT:
        if (nd->lt != LT_NONE)
            rc = enc_fail(e, "this logical type of int is not supported by the encoder");
        else if ((rc = enc_integer(e, j, INT32_MIN, INT32_MAX, &v)) == 0)
            put_varint(e->out, v);
        break;
    case T_LONG:
        if (nd->lt == LT_TS_MILLIS || nd->lt == LT_TS_MICROS || nd->lt == LT_LOCAL_TS_MILLIS ||
            nd->lt == LT_LOCAL_TS_MICROS)
            rc = enc_timestamp(e, nd, j);
        else if (nd->lt != LT_NONE)
            rc = enc_fail(e, "this logical type of long is not supported by the encoder");
        else if ((rc = enc_integer(e, j, INT64_MIN, INT64_MAX, &v)) == 0)
            put_varint(e->out, v);
        break;
    case T_FLOAT:
    case T_DOUBLE: {
        if (j->type != EXECREC_JSON_NUMBER) {
            rc = enc_fail(e, "expected a number, got %s", execrec_json_value_name(j));
            break;
        }
        double dv = strtod(j->str, NULL);
        uint8_t b[8];
        if (nd->type == T_FLOAT) {
            float f = (float)dv;
            uint32_t u;
            memcpy(&u, &f, 4);
            for (int i = 0; i < 4; i++)
                b[i] = (uint8_t)(u >> (8 * i));
        } else {
            uint64_t u;
            memcpy(&u, &dv, 8);
            for (int i = 0; i < 8; i++)
                b[i] = (uint8_t)(u >> (8 * i));
        }
        execrec_buf_append(e->out, b, nd->type == T_FLOAT ? 4 : 8);
        break;
    }
    case T_STRING:
        /* A number's exact text becomes the string: decimals as strings. */
        if (j->type != EXECREC_JSON_STRING && j->type != EXECREC_JSON_NUMBER) {
            rc = enc_fail(e, "expected a string, got %s", execrec_json_value_name(j));
            break;
        }
        put_varint(e->out, (int64_t)j->len);
        execrec_buf_append(e->out, j->str, j->len);
        break;
    case T_BYTES:
    case T_FIXED:
        /* The decimal logical type would need decimal text -> two's complement at the
         * schema's scale; our schemas carry decimals as strings, so it is left out. */
        if (nd->lt != LT_NONE || j->type != EXECREC_JSON_STRING) {
            rc = enc_fail(e, "bytes/fixed%s are not supported by the encoder",
                          nd->lt == LT_DECIMAL ? " (decimal)" : " from non-strings");
            break;
        }
        if (nd->type == T_FIXED && j->len != nd->size) {
            rc = enc_fail(e, "fixed of %zu bytes, got %zu", nd->size, j->len);
            break;
        }
        if (nd->type == T_BYTES)
            put_varint(e->out, (int64_t)j->len);
        execrec_buf_append(e->out, j->str, j->len);
        break;
    case T_ENUM: {
        int found = -1;
        for (int i = 0; j->type == EXECREC_JSON_STRING && i < nd->nsub && found < 0; i++)
            if (!strcmp(nd->names[i], j->str))
                found = i;
        if (found < 0)
            rc = enc_fail(e, "'%.40s' is not a symbol of the enum", j->str ? j->str : "");
        else
            put_varint(e->out, found);
        break;
    }
    case T_RECORD:
        if (j->type != EXECREC_JSON_OBJECT) {
            rc = enc_fail(e, "expected an object, got %s", execrec_json_value_name(j));
            break;
        }
        for (int i = 0; i < nd->nsub && rc == 0; i++) {
            e->path[e->npath++] = nd->names[i];
            rc = encode(e, schema, nd->sub[i], execrec_json_get(j, nd->names[i]));
            if (rc == 0)
                e->npath--;
        }
        break;
    case T_ARRAY:
    case T_MAP:
        if (j->type != (nd->type == T_ARRAY ? EXECREC_JSON_ARRAY : EXECREC_JSON_OBJECT)) {
            rc = enc_fail(e, "expected %s, got %s", nd->type == T_ARRAY ? "an array" : "an object",
                          execrec_json_value_name(j));
            break;
        }
        if (j->count)
            put_varint(e->out, (int64_t)j->count);
        for (const execrec_json_t *c = j->child; c && rc == 0; c = c->next) {
            if (nd->type == T_MAP) {
                put_varint(e->out, (int64_t)c->key_len);
                execrec_buf_append(e->out, c->key, c->key_len);
            }
            rc = encode(e, schema, nd->sub[0], c);
        }
        execrec_buf_putc(e->out, 0);
        break;
    case T_UNION:
        rc = enc_union(e, schema, nd, j);
        break;
    }
    e->depth--;
    return rc;
}

execrec_err_t execrec_avro_from_json(const execrec_avro_schema_t *schema,
                                     const execrec_json_t *root, execrec_buf_t *out, char *errstr,
                                     size_t errstr_size) {
    assert(schema && out);
    enc_t e;
    memset(&e, 0, sizeof(e));
    e.out = out;
    e.errstr = errstr;
    e.errstr_size = errstr_size;
    size_t mark = out->len;
    if (encode(&e, schema, schema->root, root) < 0) {
        if (out->oom)
            return EXECREC_ERR_NOMEM;
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
        return EXECREC_ERR_INVALID;
    }
    return out->oom ? EXECREC_ERR_NOMEM : EXECREC_OK;
}
