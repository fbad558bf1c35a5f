/* Avro schemas: validated by avro-c, then compiled into our own plan (an array of
 * nodes carrying the logical types avro-c ignores) that avro_decode.c and
 * avro_encode.c walk. See avro_decode.c for why we do not use avro-c's values. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <avro.h>
#include <jansson.h>
#include "execrec/avro.h"
#include "base/buf.h"
#include "wire/json.h"
#include "wire/avro_plan.h"

#define SCHEMA_FILE_MAX (4 * 1024 * 1024)

static int plan_add(execrec_avro_schema_t *schema, ntype_t type) {
    if (schema->nnodes == schema->cap) {
        int cap = schema->cap ? schema->cap * 2 : 16;
        node_t *nodes = realloc(schema->nodes, (size_t)cap * sizeof(*nodes));
        if (!nodes)
            return -1;
        schema->nodes = nodes;
        schema->cap = cap;
    }
    node_t *nd = &schema->nodes[schema->nnodes];
    memset(nd, 0, sizeof(*nd));
    nd->type = type;
    return schema->nnodes++;
}

static const struct {
    const char *name;
    ntype_t type;
} primitives[] = {
    {"null", T_NULL},   {"boolean", T_BOOLEAN}, {"int", T_INT},     {"long", T_LONG},
    {"float", T_FLOAT}, {"double", T_DOUBLE},   {"bytes", T_BYTES}, {"string", T_STRING},
};

static int primitive_type(const char *name, ntype_t *type) {
    for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++) {
        if (!strcmp(name, primitives[i].name)) {
            *type = primitives[i].type;
            return 0;
        }
    }
    return -1;
}

static int find_named(const execrec_avro_schema_t *schema, const char *fullname) {
    for (int i = 0; i < schema->nnodes; i++)
        if (schema->nodes[i].fullname && !strcmp(schema->nodes[i].fullname, fullname))
            return i;
    return -1;
}

/* Resolves a type name used as a reference: full names as written, short names in
 * the enclosing namespace first, then in the null namespace. */
static int resolve_ref(const execrec_avro_schema_t *schema, const char *name, const char *ns) {
    if (!strchr(name, '.') && ns && *ns) {
        size_t n = strlen(ns) + strlen(name) + 2;
        char *full = malloc(n);
        if (!full)
            return -1;
        snprintf(full, n, "%s.%s", ns, name);
        int idx = find_named(schema, full);
        free(full);
        if (idx >= 0)
            return idx;
    }
    return find_named(schema, name);
}

/* Registers a named type: computes its full name and the namespace its children
 * inherit (*child_ns, malloc'd). */
static int name_node(execrec_avro_schema_t *schema, int idx, json_t *j, const char *ns,
                     char **child_ns, char *errstr, size_t errstr_size) {
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *jns = json_string_value(json_object_get(j, "namespace"));
    if (!name) {
        execrec_errstr(errstr, errstr_size, "named type without a name");
        return -1;
    }
    char *full;
    const char *space = jns ? jns : ns;
    if (strchr(name, '.') || !space || !*space) {
        full = strdup(name);
    } else {
        size_t n = strlen(space) + strlen(name) + 2;
        full = malloc(n);
        if (full)
            snprintf(full, n, "%s.%s", space, name);
    }
    if (!full)
        goto nomem;
    schema->nodes[idx].fullname = full;
    const char *dot = strrchr(full, '.');
    *child_ns = dot ? strndup(full, (size_t)(dot - full)) : strdup("");
    if (!*child_ns)
        goto nomem;
    return 0;
nomem:
    execrec_errstr(errstr, errstr_size, "out of memory");
    return -1;
}

static int parse_logical(execrec_avro_schema_t *schema, int idx, json_t *j, char *errstr,
                         size_t errstr_size) {
    node_t *nd = &schema->nodes[idx];
    const char *lt = json_string_value(json_object_get(j, "logicalType"));
    if (!lt)
        return 0;
    if (!strcmp(lt, "decimal") && (nd->type == T_BYTES || nd->type == T_FIXED)) {
        /* An invalid decimal would, per the spec, fall back to plain bytes; we refuse
         * the schema instead: silently turning amounts into byte strings is worse
         * than a clear error when the schema is loaded. */
        json_t *jp = json_object_get(j, "precision"), *js = json_object_get(j, "scale");
        if (!json_is_integer(jp) || json_integer_value(jp) < 1 ||
            json_integer_value(jp) > DECIMAL_PRECISION_MAX) {
            execrec_errstr(errstr, errstr_size, "decimal logical type needs a precision >= 1");
            return -1;
        }
        if (js && (!json_is_integer(js) || json_integer_value(js) < 0 ||
                   json_integer_value(js) > json_integer_value(jp))) {
            execrec_errstr(errstr, errstr_size,
                           "decimal scale must be an integer between 0 and the precision");
            return -1;
        }
        nd->lt = LT_DECIMAL;
        nd->precision = (int)json_integer_value(jp);
        nd->scale = js ? (int)json_integer_value(js) : 0;
        return 0;
    }
    /* Other logical types on the wrong underlying type are ignored, as the spec says. */
    static const struct {
        const char *name;
        ntype_t type;
        ltype_t lt;
    } lts[] = {
        {"timestamp-millis", T_LONG, LT_TS_MILLIS},
        {"timestamp-micros", T_LONG, LT_TS_MICROS},
        {"local-timestamp-millis", T_LONG, LT_LOCAL_TS_MILLIS},
        {"local-timestamp-micros", T_LONG, LT_LOCAL_TS_MICROS},
        {"date", T_INT, LT_DATE},
        {"time-millis", T_INT, LT_TIME_MILLIS},
        {"time-micros", T_LONG, LT_TIME_MICROS},
        {"uuid", T_STRING, LT_UUID},
    };
    for (size_t i = 0; i < sizeof(lts) / sizeof(lts[0]); i++)
        if (!strcmp(lt, lts[i].name) && nd->type == lts[i].type)
            nd->lt = lts[i].lt;
    return 0;
}

static int render_key(node_t *nd, int i, const char *name, int colon) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_json_append_string(&b, name, strlen(name));
    if (colon)
        execrec_buf_putc(&b, ':');
    if (b.oom) {
        execrec_buf_free(&b);
        return -1;
    }
    nd->key_lens[i] = b.len;
    nd->keys[i] = execrec_buf_steal(&b);
    nd->names[i] = strdup(name);
    return nd->names[i] ? 0 : -1;
}

static int alloc_subs(node_t *nd, int n, int with_names) {
    nd->nsub = n;
    nd->sub = calloc((size_t)(n ? n : 1), sizeof(*nd->sub));
    if (!nd->sub)
        return -1;
    if (with_names) {
        nd->names = calloc((size_t)(n ? n : 1), sizeof(*nd->names));
        nd->keys = calloc((size_t)(n ? n : 1), sizeof(*nd->keys));
        nd->key_lens = calloc((size_t)(n ? n : 1), sizeof(*nd->key_lens));
        if (!nd->names || !nd->keys || !nd->key_lens)
            return -1;
    }
    return 0;
}

static int build(execrec_avro_schema_t *schema, json_t *j, const char *ns, int depth, char *errstr,
                 size_t errstr_size);

static int build_complex(execrec_avro_schema_t *schema, json_t *j, const char *type, const char *ns,
                         int depth, char *errstr, size_t errstr_size) {
    ntype_t t;
    int idx = -1;
    char *child_ns = NULL;
    if (!primitive_type(type, &t)) {
        if ((idx = plan_add(schema, t)) < 0)
            goto nomem;
        if (parse_logical(schema, idx, j, errstr, errstr_size) < 0)
            return -1;
        return idx;
    }
    if (!strcmp(type, "record") || !strcmp(type, "error")) {
        json_t *fields = json_object_get(j, "fields");
        if (!json_is_array(fields)) {
            execrec_errstr(errstr, errstr_size, "record without fields");
            return -1;
        }
        if ((idx = plan_add(schema, T_RECORD)) < 0)
            goto nomem;
        /* Named before its fields are built, so that fields may refer to it. */
        if (name_node(schema, idx, j, ns, &child_ns, errstr, errstr_size) < 0)
            return -1;
        if (alloc_subs(&schema->nodes[idx], (int)json_array_size(fields), 1) < 0)
            goto nomem;
        for (size_t i = 0; i < json_array_size(fields); i++) {
            json_t *f = json_array_get(fields, i);
            const char *fname = json_string_value(json_object_get(f, "name"));
            if (!fname) {
                execrec_errstr(errstr, errstr_size, "record field without a name");
                goto fail;
            }
            int sub =
                build(schema, json_object_get(f, "type"), child_ns, depth + 1, errstr, errstr_size);
            if (sub < 0)
                goto fail;
            node_t *nd = &schema->nodes[idx];
            nd->sub[i] = sub;
            if (render_key(nd, (int)i, fname, 1) < 0)
                goto nomem;
        }
        free(child_ns);
        return idx;
    }
    if (!strcmp(type, "enum")) {
        json_t *symbols = json_object_get(j, "symbols");
        if (!json_is_array(symbols)) {
            execrec_errstr(errstr, errstr_size, "enum without symbols");
            return -1;
        }
        if ((idx = plan_add(schema, T_ENUM)) < 0)
            goto nomem;
        if (name_node(schema, idx, j, ns, &child_ns, errstr, errstr_size) < 0)
            return -1;
        node_t *nd = &schema->nodes[idx];
        if (alloc_subs(nd, (int)json_array_size(symbols), 1) < 0)
            goto nomem;
        for (size_t i = 0; i < json_array_size(symbols); i++) {
            const char *sym = json_string_value(json_array_get(symbols, i));
            if (!sym) {
                execrec_errstr(errstr, errstr_size, "enum symbol is not a string");
                goto fail;
            }
            if (render_key(nd, (int)i, sym, 0) < 0)
                goto nomem;
        }
        free(child_ns);
        return idx;
    }
    if (!strcmp(type, "fixed")) {
        json_t *size = json_object_get(j, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0 ||
            json_integer_value(size) > INT32_MAX) {
            execrec_errstr(errstr, errstr_size, "fixed without a valid size");
            return -1;
        }
        if ((idx = plan_add(schema, T_FIXED)) < 0)
            goto nomem;
        schema->nodes[idx].size = (size_t)json_integer_value(size);
        if (name_node(schema, idx, j, ns, &child_ns, errstr, errstr_size) < 0)
            return -1;
        free(child_ns);
        if (parse_logical(schema, idx, j, errstr, errstr_size) < 0)
            return -1;
        return idx;
    }
    if (!strcmp(type, "array") || !strcmp(type, "map")) {
        json_t *items = json_object_get(j, type[0] == 'a' ? "items" : "values");
        if (!items) {
            execrec_errstr(errstr, errstr_size, "%s without %s", type,
                           type[0] == 'a' ? "items" : "values");
            return -1;
        }
        if ((idx = plan_add(schema, type[0] == 'a' ? T_ARRAY : T_MAP)) < 0)
            goto nomem;
        if (alloc_subs(&schema->nodes[idx], 1, 0) < 0)
            goto nomem;
        int sub = build(schema, items, ns, depth + 1, errstr, errstr_size);
        if (sub < 0)
            return -1;
        schema->nodes[idx].sub[0] = sub;
        return idx;
    }
    /* {"type": "io.execrec.Side"}: a reference written as an object. */
    int ref = resolve_ref(schema, type, ns);
    if (ref >= 0)
        return ref;
    execrec_errstr(errstr, errstr_size, "unknown type \"%s\"", type);
    return -1;
nomem:
    execrec_errstr(errstr, errstr_size, "out of memory");
fail:
    free(child_ns);
    return -1;
}

/* Compiles one schema JSON value into plan nodes. @returns the node index or -1. */
static int build(execrec_avro_schema_t *schema, json_t *j, const char *ns, int depth, char *errstr,
                 size_t errstr_size) {
    if (depth > 256) {
        execrec_errstr(errstr, errstr_size, "schema nested too deeply");
        return -1;
    }
    if (json_is_string(j)) {
        ntype_t t;
        const char *name = json_string_value(j);
        if (!primitive_type(name, &t)) {
            int idx = plan_add(schema, t);
            if (idx < 0)
                execrec_errstr(errstr, errstr_size, "out of memory");
            return idx;
        }
        int ref = resolve_ref(schema, name, ns);
        if (ref < 0)
            execrec_errstr(errstr, errstr_size, "unknown type \"%s\"", name);
        return ref;
    }
    if (json_is_array(j)) {
        int idx = plan_add(schema, T_UNION);
        if (idx < 0 || alloc_subs(&schema->nodes[idx], (int)json_array_size(j), 0) < 0) {
            execrec_errstr(errstr, errstr_size, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < json_array_size(j); i++) {
            int sub = build(schema, json_array_get(j, i), ns, depth + 1, errstr, errstr_size);
            if (sub < 0)
                return -1;
            schema->nodes[idx].sub[i] = sub;
        }
        return idx;
    }
    if (json_is_object(j)) {
        json_t *type = json_object_get(j, "type");
        if (json_is_string(type))
            return build_complex(schema, j, json_string_value(type), ns, depth, errstr,
                                 errstr_size);
        if (json_is_object(type) || json_is_array(type))
            return build(schema, type, ns, depth + 1, errstr, errstr_size);
    }
    execrec_errstr(errstr, errstr_size, "not a schema");
    return -1;
}

/* A lower bound of the bytes any value of node idx takes; nodes being computed
 * (recursive types) count 0, which keeps it a lower bound. */
static size_t min_size(execrec_avro_schema_t *schema, int idx, unsigned char *busy) {
    node_t *nd = &schema->nodes[idx];
    if (busy[idx])
        return busy[idx] == 2 ? nd->min_size : 0;
    busy[idx] = 1;
    size_t m = 0;
    switch (nd->type) {
    case T_NULL:
        m = 0;
        break;
    case T_FLOAT:
        m = 4;
        break;
    case T_DOUBLE:
        m = 8;
        break;
    case T_FIXED:
        m = nd->size;
        break;
    case T_RECORD:
        for (int i = 0; i < nd->nsub; i++) {
            size_t s = min_size(schema, nd->sub[i], busy);
            m = (m + s < m) ? SIZE_MAX : m + s;
        }
        break;
    case T_UNION:
        m = SIZE_MAX;
        for (int i = 0; i < nd->nsub; i++) {
            size_t s = min_size(schema, nd->sub[i], busy);
            if (s < m)
                m = s;
        }
        m = (m == SIZE_MAX || nd->nsub == 0) ? 1 : m + 1;
        break;
    case T_ARRAY:
    case T_MAP:
        min_size(schema, nd->sub[0], busy);
        m = 1;
        break;
    default:
        m = 1;
        break;
    }
    nd->min_size = m;
    busy[idx] = 2;
    return m;
}

void execrec_avro_schema_destroy(execrec_avro_schema_t *schema) {
    if (!schema)
        return;
    for (int i = 0; i < schema->nnodes; i++) {
        node_t *nd = &schema->nodes[i];
        if (nd->names)
            for (int k = 0; k < nd->nsub; k++) {
                free(nd->names[k]);
                free(nd->keys[k]);
            }
        free(nd->names);
        free(nd->keys);
        free(nd->key_lens);
        free(nd->sub);
        free(nd->fullname);
    }
    free(schema->nodes);
    free(schema);
}

execrec_avro_schema_t *execrec_avro_schema_new(const char *json, size_t len, char *errstr,
                                               size_t errstr_size) {
    assert(json || len == 0);
    /* avro-c first: it decides what a valid schema is (names, defaults, duplicate
     * symbols...). We only need its verdict, so the object is released at once. */
    avro_schema_t avs = NULL;
    if (avro_schema_from_json_length(json, len, &avs) != 0) {
        const char *why = avro_strerror();
        size_t wl = strlen(why);
        while (wl && (why[wl - 1] == '\n' || why[wl - 1] == ' '))
            wl--;
        execrec_errstr(errstr, errstr_size, "invalid Avro schema: %.*s", (int)wl, why);
        return NULL;
    }
    avro_schema_decref(avs);

    json_error_t jerr;
    json_t *j = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!j) {
        execrec_errstr(errstr, errstr_size, "invalid Avro schema: line %d: %s", jerr.line,
                       jerr.text);
        return NULL;
    }
    execrec_avro_schema_t *schema = calloc(1, sizeof(*schema));
    if (!schema) {
        json_decref(j);
        execrec_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    char why[200] = "";
    schema->root = build(schema, j, "", 0, why, sizeof(why));
    json_decref(j);
    if (schema->root < 0) {
        execrec_errstr(errstr, errstr_size, "invalid Avro schema: %s", why);
        execrec_avro_schema_destroy(schema);
        return NULL;
    }
    unsigned char *busy = calloc((size_t)schema->nnodes, 1);
    if (!busy) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        execrec_avro_schema_destroy(schema);
        return NULL;
    }
    for (int i = 0; i < schema->nnodes; i++)
        min_size(schema, i, busy);
    free(busy);
    return schema;
}

const char *execrec_avro_schema_name(const execrec_avro_schema_t *schema) {
    assert(schema && schema->root >= 0 && schema->root < schema->nnodes);
    return schema->nodes[schema->root].fullname;
}

execrec_avro_schema_t *execrec_avro_schema_load(const char *path, char *errstr,
                                                size_t errstr_size) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    if (execrec_buf_read_file(&b, path, SCHEMA_FILE_MAX, errstr, errstr_size)) {
        execrec_buf_free(&b);
        return NULL;
    }
    char why[256];
    execrec_avro_schema_t *schema = execrec_avro_schema_new(b.data, b.len, why, sizeof(why));
    if (!schema)
        execrec_errstr(errstr, errstr_size, "%s: %s", path, why);
    execrec_buf_free(&b);
    return schema;
}

/* "a.b.c" from the record field names of path (the decoder's and the encoder's). */
void execrec_avro_field_path(const char *const *path, int npath, char *out, size_t size) {
    assert(out && size > 0 && npath >= 0);
    size_t pl = 0;
    out[0] = '\0';
    for (int i = 0; i < npath && pl < size - 1; i++) {
        int w = snprintf(out + pl, size - pl, "%s%s", i ? "." : "", path[i]);
        if (w < 0)
            break;
        pl += (size_t)w;
        if (pl >= size)
            pl = size - 1;
    }
}
