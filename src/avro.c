/* Avro binary -> JSON text: schemas are validated by avro-c, then compiled into our
 * own decoding plan (an array of nodes carrying the logical types avro-c ignores),
 * which a small hand-written decoder walks; plus the offline registry and the
 * Confluent wire format.
 *
 * Why not avro-c's generic values: avro-c 1.11 ignores logical types (decimal,
 * timestamp-*), allocates whatever length a hostile datum claims before checking
 * it against the bytes present, and builds a value tree we would only walk again to
 * print it. Walking a plan costs one pass, checks every length before touching
 * memory, and renders straight into the output buffer. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <avro.h>
#include <jansson.h>
#include "execrec/avro.h"
#include "execrec/json.h"
#include "execrec/utf8.h"
#include "execrec/timeutil.h"

#define DEPTH_MAX 64          /* nesting of records/arrays/maps/unions in one datum */
#define DECIMAL_MAX_BYTES 64  /* longest decimal unscaled value accepted (154 digits) */
#define DECIMAL_PRECISION_MAX 1000 /* largest precision (hence scale) a schema may give */
#define SCHEMA_FILE_MAX (4 * 1024 * 1024)

/* ---------------------------------------------------------------- the plan */

typedef enum {
    T_NULL, T_BOOLEAN, T_INT, T_LONG, T_FLOAT, T_DOUBLE, T_BYTES, T_STRING,
    T_RECORD, T_ENUM, T_ARRAY, T_MAP, T_UNION, T_FIXED
} ntype_t;

typedef enum {
    LT_NONE, LT_DECIMAL, LT_TS_MILLIS, LT_TS_MICROS, LT_LOCAL_TS_MILLIS,
    LT_LOCAL_TS_MICROS, LT_DATE, LT_TIME_MILLIS, LT_TIME_MICROS, LT_UUID
} ltype_t;

typedef struct node_s {
    ntype_t type;
    ltype_t lt;
    int precision, scale; /* decimal */
    size_t size;          /* fixed */
    size_t min_size;      /* a lower bound of the encoded size, for count checks */
    char *fullname;       /* named types (record, enum, fixed) */
    int nsub;             /* record fields, union branches, enum symbols; 1 for array/map */
    int *sub;             /* child node indices (not for enums) */
    char **names;         /* record: field names; enum: symbols */
    char **keys;          /* record: rendered "\"name\":"; enum: rendered "\"SYM\"" */
    size_t *key_lens;
} node_t;

struct execrec_avro_schema_s {
    node_t *nodes;
    int nnodes, cap;
    int root;
};

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
    {"null", T_NULL}, {"boolean", T_BOOLEAN}, {"int", T_INT}, {"long", T_LONG},
    {"float", T_FLOAT}, {"double", T_DOUBLE}, {"bytes", T_BYTES}, {"string", T_STRING},
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

static int build(execrec_avro_schema_t *schema, json_t *j, const char *ns, int depth,
                 char *errstr, size_t errstr_size);

static int build_complex(execrec_avro_schema_t *schema, json_t *j, const char *type,
                         const char *ns, int depth, char *errstr, size_t errstr_size) {
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
            int sub = build(schema, json_object_get(f, "type"), child_ns, depth + 1, errstr,
                            errstr_size);
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
static int build(execrec_avro_schema_t *schema, json_t *j, const char *ns, int depth,
                 char *errstr, size_t errstr_size) {
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
    case T_NULL: m = 0; break;
    case T_FLOAT: m = 4; break;
    case T_DOUBLE: m = 8; break;
    case T_FIXED: m = nd->size; break;
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
    default: m = 1; break;
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
    return schema->nodes[schema->root].fullname;
}

const char *execrec_avro_contract_schema(execrec_kind_t kind, size_t *len) {
    char name[64];
    snprintf(name, sizeof(name), "%s.avsc", execrec_kind_name(kind));
    for (const execrec_avro_file_t *f = execrec_avro_schemas_embedded; f->name; f++)
        if (!strcmp(f->name, name)) {
            *len = f->len;
            return (const char *)f->data;
        }
    return NULL;
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

/* ------------------------------------------------------------- the decoder */

typedef struct dec_s {
    const uint8_t *start, *p, *end;
    size_t base;            /* offset of start within the whole message */
    const execrec_avro_schema_t *schema;
    execrec_buf_t *out;
    execrec_reject_t *rej;
    int depth;
    int npath;
    const char *path[DEPTH_MAX + 1]; /* record field names from the root */
    size_t zero_budget;     /* items of zero-width types still allowed */
} dec_t;

/* "a.b.c" from the record field names of path (the decoder's and the encoder's). */
static void field_path(const char *const *path, int npath, char *out, size_t size) {
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

static int fail(dec_t *d, const char *code, const char *fmt, ...) EXECREC_PRINTF(3, 4);
static int fail(dec_t *d, const char *code, const char *fmt, ...) {
    char path[128];
    field_path(d->path, d->npath, path, sizeof(path));
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    execrec_reject(d->rej, code, "%s%s%sat byte %zu: %s", d->npath ? "field " : "", path,
                   d->npath ? " " : "", d->base + (size_t)(d->p - d->start), what);
    return -1;
}

static inline size_t left(const dec_t *d) {
    return (size_t)(d->end - d->p);
}

static int read_long(dec_t *d, int64_t *v) {
    uint64_t u = 0;
    const uint8_t *at = d->p;
    for (int i = 0;; i++) {
        if (d->p >= d->end) {
            d->p = at;
            return fail(d, EXECREC_REJ_AVRO_TRUNCATED, "varint runs past the end");
        }
        uint8_t b = *d->p++;
        if (i == 9 && b > 1) {
            d->p = at;
            return fail(d, EXECREC_REJ_AVRO_BAD, "over-long varint");
        }
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

static int read_int(dec_t *d, int64_t *v) {
    const uint8_t *at = d->p;
    if (read_long(d, v) < 0)
        return -1;
    if (*v < INT32_MIN || *v > INT32_MAX || d->p - at > 5) {
        d->p = at;
        return fail(d, EXECREC_REJ_AVRO_BAD, "int varint out of range");
    }
    return 0;
}

/* Reads a length and checks it against the bytes present before anyone uses it. */
static int read_len(dec_t *d, const char *what, size_t *n) {
    const uint8_t *at = d->p;
    int64_t v;
    if (read_long(d, &v) < 0)
        return -1;
    if (v < 0) {
        d->p = at;
        return fail(d, EXECREC_REJ_AVRO_BAD, "negative %s length %" PRId64, what, v);
    }
    if ((uint64_t)v > left(d)) {
        size_t avail = left(d);
        d->p = at;
        return fail(d, EXECREC_REJ_AVRO_TRUNCATED,
                    "%s length %" PRId64 " exceeds the %zu bytes left", what, v, avail);
    }
    *n = (size_t)v;
    return 0;
}

/* Two's-complement big-endian unscaled value + scale -> exact decimal text, by
 * repeated division of the magnitude's bytes by 10^9 (never through a double). */
static int put_decimal(dec_t *d, const node_t *nd, const uint8_t *b, size_t n) {
    if (n == 0)
        return fail(d, EXECREC_REJ_AVRO_BAD, "empty decimal");
    if (n > DECIMAL_MAX_BYTES)
        return fail(d, EXECREC_REJ_DECIMAL_RANGE, "decimal of %zu bytes (at most %d)", n,
                    DECIMAL_MAX_BYTES);
    uint8_t mag[DECIMAL_MAX_BYTES];
    memcpy(mag, b, n);
    int neg = (b[0] & 0x80) != 0;
    if (neg) {
        unsigned carry = 1;
        for (size_t i = n; i-- > 0;) {
            unsigned v = (uint8_t)~mag[i] + carry;
            mag[i] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    /* Digits come out least significant first, 9 per division. */
    char rev[DECIMAL_MAX_BYTES * 3 + 16];
    size_t nrev = 0, lo = 0;
    while (lo < n && mag[lo] == 0)
        lo++;
    while (lo < n) {
        uint64_t rem = 0;
        for (size_t i = lo; i < n; i++) {
            uint64_t cur = (rem << 8) | mag[i];
            mag[i] = (uint8_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (lo < n && mag[lo] == 0)
            lo++;
        for (int k = 0; k < 9; k++) {
            rev[nrev++] = (char)('0' + rem % 10);
            rem /= 10;
        }
    }
    while (nrev > 1 && rev[nrev - 1] == '0')
        nrev--;
    if (nrev == 0)
        rev[nrev++] = '0';
    if (nrev > (size_t)nd->precision)
        return fail(d, EXECREC_REJ_DECIMAL_RANGE, "decimal has %zu digits, precision is %d",
                    nrev, nd->precision);
    /* Room for the scale too: it may exceed the digits (up to DECIMAL_PRECISION_MAX
     * zeros after "0."). Sized for the digits alone, a decimal(1000,1000) of 1 wrote
     * past the end (found by fuzz_avro). */
    char txt[sizeof(rev) + DECIMAL_PRECISION_MAX + 8];
    size_t t = 0, scale = (size_t)nd->scale;
    if (neg)
        txt[t++] = '-';
    if (nrev > scale) {
        for (size_t i = nrev; i-- > scale;)
            txt[t++] = rev[i];
    } else {
        txt[t++] = '0';
    }
    if (scale) {
        txt[t++] = '.';
        for (size_t i = scale; i-- > 0;)
            txt[t++] = i < nrev ? rev[i] : '0';
    }
    execrec_buf_append(d->out, txt, t);
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Writes v as exactly width decimal digits, zero-padded. */
static void digits(char *p, unsigned v, int width) {
    for (int i = width; i-- > 0;) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Microseconds since the epoch -> "YYYY-MM-DDTHH:MM:SS.ffffff[Z]", years 1-9999. */
static int put_timestamp(dec_t *d, int64_t us, int zulu) {
    int64_t days = floor_div(us, INT64_C(86400000000));
    /* The time of day from %, not us - days * 86400000000: for us near INT64_MIN the
     * floored days times a day's microseconds is below INT64_MIN (signed overflow,
     * found by fuzzing a timestamp-micros of -2^63). */
    int64_t rem = us % INT64_C(86400000000);
    if (rem < 0)
        rem += INT64_C(86400000000);
    int64_t y;
    int m, dd;
    execrec_time_civil_from_days(days, &y, &m, &dd);
    if (y < 1 || y > 9999)
        return fail(d, EXECREC_REJ_TIME_RANGE, "timestamp %" PRId64 " us is outside years 1-9999",
                    us);
    /* By hand: snprintf was a fifth of the whole decode of a trade. */
    unsigned secs = (unsigned)(rem / 1000000), frac = (unsigned)(rem % 1000000);
    char txt[32] = "\"0000-00-00T00:00:00.000000";
    digits(txt + 1, (unsigned)y, 4);
    digits(txt + 6, (unsigned)m, 2);
    digits(txt + 9, (unsigned)dd, 2);
    digits(txt + 12, secs / 3600, 2);
    digits(txt + 15, secs / 60 % 60, 2);
    digits(txt + 18, secs % 60, 2);
    digits(txt + 21, frac, 6);
    size_t n = 27;
    if (zulu)
        txt[n++] = 'Z';
    txt[n++] = '"';
    execrec_buf_append(d->out, txt, n);
    return 0;
}

static int put_long(dec_t *d, const node_t *nd, int64_t v) {
    char txt[48];
    int n;
    switch (nd->lt) {
    case LT_TS_MILLIS:
    case LT_LOCAL_TS_MILLIS:
        if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
            return fail(d, EXECREC_REJ_TIME_RANGE, "timestamp %" PRId64 " ms out of range", v);
        return put_timestamp(d, v * 1000, nd->lt == LT_TS_MILLIS);
    case LT_TS_MICROS:
    case LT_LOCAL_TS_MICROS:
        return put_timestamp(d, v, nd->lt == LT_TS_MICROS);
    case LT_DATE: {
        int64_t y;
        int m, dd;
        execrec_time_civil_from_days(v, &y, &m, &dd);
        if (y < 1 || y > 9999)
            return fail(d, EXECREC_REJ_TIME_RANGE, "date %" PRId64 " is outside years 1-9999", v);
        n = snprintf(txt, sizeof(txt), "\"%04d-%02d-%02d\"", (int)y, m, dd);
        break;
    }
    case LT_TIME_MILLIS:
    case LT_TIME_MICROS: {
        int64_t us = nd->lt == LT_TIME_MILLIS ? v * 1000 : v;
        if (us < 0 || us >= INT64_C(86400000000))
            return fail(d, EXECREC_REJ_TIME_RANGE, "time of day %" PRId64 " out of range", v);
        int64_t secs = us / 1000000;
        if (nd->lt == LT_TIME_MILLIS)
            n = snprintf(txt, sizeof(txt), "\"%02d:%02d:%02d.%03d\"", (int)(secs / 3600),
                         (int)(secs / 60 % 60), (int)(secs % 60), (int)(us % 1000000 / 1000));
        else
            n = snprintf(txt, sizeof(txt), "\"%02d:%02d:%02d.%06d\"", (int)(secs / 3600),
                         (int)(secs / 60 % 60), (int)(secs % 60), (int)(us % 1000000));
        break;
    }
    default:
        n = snprintf(txt, sizeof(txt), "%" PRId64, v);
    }
    execrec_buf_append(d->out, txt, (size_t)n);
    return 0;
}

/* Shortest text that reads back to the same value; NaN and infinities, which JSON
 * numbers cannot hold, become the strings "NaN", "Infinity", "-Infinity" (as
 * Avro's Java JSON encoder writes them), so a decimal column fed one is rejected
 * as bad_decimal rather than silently stored as NULL. */
static void put_double(execrec_buf_t *out, double v, int is_float) {
    if (isnan(v)) {
        execrec_buf_puts(out, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        execrec_buf_puts(out, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char txt[40];
    int n = 0;
    for (int prec = is_float ? 6 : 15; prec <= (is_float ? 9 : 17); prec++) {
        n = snprintf(txt, sizeof(txt), "%.*g", prec, v);
        if (is_float ? strtof(txt, NULL) == (float)v : strtod(txt, NULL) == v)
            break;
    }
    execrec_buf_append(out, txt, (size_t)n);
}

static int decode(dec_t *d, int idx);

static int decode_items(dec_t *d, const node_t *nd) {
    int is_map = nd->type == T_MAP;
    const node_t *item = &d->schema->nodes[nd->sub[0]];
    size_t min = is_map ? item->min_size + 1 : item->min_size;
    execrec_buf_putc(d->out, is_map ? '{' : '[');
    int first = 1;
    for (;;) {
        const uint8_t *at = d->p;
        int64_t count;
        if (read_long(d, &count) < 0)
            return -1;
        if (count == 0)
            break;
        if (count < 0) {
            if (count == INT64_MIN) {
                d->p = at;
                return fail(d, EXECREC_REJ_AVRO_BAD, "bad block count");
            }
            count = -count;
            size_t bytes = 0;
            if (read_len(d, "block", &bytes) < 0)
                return -1;
        }
        if (min > 0 && (uint64_t)count > left(d) / min) {
            d->p = at;
            return fail(d, EXECREC_REJ_AVRO_TRUNCATED,
                        "block of %" PRId64 " items cannot fit in the %zu bytes left", count,
                        left(d));
        }
        if (min == 0) {
            if ((uint64_t)count > d->zero_budget) {
                d->p = at;
                return fail(d, EXECREC_REJ_AVRO_BAD, "block of %" PRId64 " empty items", count);
            }
            d->zero_budget -= (size_t)count;
        }
        for (int64_t i = 0; i < count; i++) {
            if (!first)
                execrec_buf_putc(d->out, ',');
            first = 0;
            if (is_map) {
                size_t n = 0, bad = 0;
                if (read_len(d, "map key", &n) < 0)
                    return -1;
                if (!execrec_utf8_valid((const char *)d->p, n, &bad)) {
                    d->p += bad;
                    return fail(d, EXECREC_REJ_UTF8, "map key is not valid UTF-8");
                }
                execrec_json_append_string(d->out, (const char *)d->p, n);
                execrec_buf_putc(d->out, ':');
                d->p += n;
            }
            if (decode(d, nd->sub[0]) < 0)
                return -1;
        }
    }
    execrec_buf_putc(d->out, is_map ? '}' : ']');
    return 0;
}

static int decode(dec_t *d, int idx) {
    const node_t *nd = &d->schema->nodes[idx];
    int64_t v;
    size_t n = 0, bad = 0;
    switch (nd->type) {
    case T_NULL:
        execrec_buf_append(d->out, "null", 4);
        return 0;
    case T_BOOLEAN:
        if (!left(d))
            return fail(d, EXECREC_REJ_AVRO_TRUNCATED, "boolean runs past the end");
        if (*d->p > 1)
            return fail(d, EXECREC_REJ_AVRO_BAD, "boolean byte 0x%02x", *d->p);
        if (*d->p++)
            execrec_buf_append(d->out, "true", 4);
        else
            execrec_buf_append(d->out, "false", 5);
        return 0;
    case T_INT:
        if (read_int(d, &v) < 0)
            return -1;
        return put_long(d, nd, v);
    case T_LONG:
        if (read_long(d, &v) < 0)
            return -1;
        return put_long(d, nd, v);
    case T_FLOAT:
    case T_DOUBLE: {
        size_t w = nd->type == T_FLOAT ? 4 : 8;
        if (left(d) < w)
            return fail(d, EXECREC_REJ_AVRO_TRUNCATED, "%s runs past the end",
                        w == 4 ? "float" : "double");
        uint64_t u = 0;
        for (size_t i = w; i-- > 0;)
            u = (u << 8) | d->p[i];
        d->p += w;
        if (w == 4) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, 4);
            put_double(d->out, f, 1);
        } else {
            double x;
            memcpy(&x, &u, 8);
            put_double(d->out, x, 0);
        }
        return 0;
    }
    case T_BYTES:
    case T_STRING:
        if (read_len(d, nd->type == T_STRING ? "string" : "bytes", &n) < 0)
            return -1;
        if (nd->lt == LT_DECIMAL) {
            if (put_decimal(d, nd, d->p, n) < 0)
                return -1;
        } else if (nd->type == T_BYTES) {
            execrec_json_append_bytes(d->out, d->p, n);
        } else {
            if (!execrec_utf8_valid((const char *)d->p, n, &bad)) {
                d->p += bad;
                return fail(d, EXECREC_REJ_UTF8, "string is not valid UTF-8");
            }
            execrec_json_append_string(d->out, (const char *)d->p, n);
        }
        d->p += n;
        return 0;
    case T_FIXED:
        if (left(d) < nd->size)
            return fail(d, EXECREC_REJ_AVRO_TRUNCATED, "fixed of %zu bytes, %zu left", nd->size,
                        left(d));
        if (nd->lt == LT_DECIMAL) {
            if (put_decimal(d, nd, d->p, nd->size) < 0)
                return -1;
        } else {
            execrec_json_append_bytes(d->out, d->p, nd->size);
        }
        d->p += nd->size;
        return 0;
    case T_ENUM: {
        const uint8_t *at = d->p;
        if (read_int(d, &v) < 0)
            return -1;
        if (v < 0 || v >= nd->nsub) {
            d->p = at;
            return fail(d, EXECREC_REJ_AVRO_BAD, "enum index %" PRId64 " out of range (%d symbols)",
                        v, nd->nsub);
        }
        execrec_buf_append(d->out, nd->keys[v], nd->key_lens[v]);
        return 0;
    }
    default:
        break;
    }

    /* Containers: bounded nesting, since recursive schemas allow any depth. */
    if (d->depth >= DEPTH_MAX)
        return fail(d, EXECREC_REJ_AVRO_BAD, "nested deeper than %d", DEPTH_MAX);
    d->depth++;
    int rc = 0;
    switch (nd->type) {
    case T_UNION: {
        const uint8_t *at = d->p;
        if ((rc = read_long(d, &v)) < 0)
            break;
        if (v < 0 || v >= nd->nsub) {
            d->p = at;
            rc = fail(d, EXECREC_REJ_AVRO_BAD, "union branch %" PRId64 " out of range (%d branches)",
                      v, nd->nsub);
            break;
        }
        rc = decode(d, nd->sub[v]);
        break;
    }
    case T_RECORD:
        execrec_buf_putc(d->out, '{');
        for (int i = 0; i < nd->nsub && rc == 0; i++) {
            if (i)
                execrec_buf_putc(d->out, ',');
            execrec_buf_append(d->out, nd->keys[i], nd->key_lens[i]);
            d->path[d->npath++] = nd->names[i];
            rc = decode(d, nd->sub[i]);
            if (rc == 0)
                d->npath--;
        }
        if (rc == 0)
            execrec_buf_putc(d->out, '}');
        break;
    case T_ARRAY:
    case T_MAP:
        rc = decode_items(d, nd);
        break;
    default:
        rc = fail(d, EXECREC_REJ_AVRO_BAD, "internal: bad plan node");
    }
    d->depth--;
    return rc;
}

static execrec_err_t render(const execrec_avro_schema_t *schema, const uint8_t *body,
                            size_t len, size_t base, execrec_buf_t *out,
                            execrec_reject_t *rej) {
    dec_t d;
    d.start = d.p = body;
    d.end = body + len;
    d.base = base;
    d.schema = schema;
    d.out = out;
    d.rej = rej;
    d.depth = 0;
    d.npath = 0;
    d.zero_budget = 1024 + 8 * len;
    size_t mark = out->len;
    if (decode(&d, schema->root) < 0)
        goto rejected;
    if (d.p != d.end) {
        fail(&d, EXECREC_REJ_AVRO_BAD, "%zu trailing bytes after the datum", left(&d));
        goto rejected;
    }
    if (out->oom)
        return EXECREC_ERR_NOMEM;
    return EXECREC_OK;
rejected:
    if (out->oom)
        return EXECREC_ERR_NOMEM;
    out->len = mark;
    if (out->data)
        out->data[mark] = '\0';
    return EXECREC_ERR_REJECT;
}

execrec_err_t execrec_avro_to_json(const execrec_avro_schema_t *schema, const void *body,
                                   size_t len, execrec_buf_t *out, execrec_reject_t *rej) {
    static const uint8_t none[1] = {0};
    return render(schema, body ? body : none, len, 0, out, rej);
}

/* ------------------------------------------------------------- the encoder */

/* JSON DOM -> Avro binary along the same plan. The DOM keeps every number's text,
 * so a decimal written as 0.1 becomes the Avro string "0.1", digit for digit. */

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
    field_path(e->path, e->npath, path, sizeof(path));
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
    return enc_fail(e, "%s fits no branch of the union", is_null ? "null" : execrec_json_value_name(j));
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

/* ----------------------------------------------------------- the registry */

typedef struct entry_s {
    int32_t id;
    execrec_avro_schema_t *schema;
} entry_t;

struct execrec_avro_registry_s {
    entry_t *entries; /* sorted by id */
    size_t n, cap;
    execrec_avro_fetch_cb fetch; /* lookup behind the entries, or NULL */
    void *fetch_opaque;
};

execrec_avro_registry_t *execrec_avro_registry_new(void) {
    return calloc(1, sizeof(execrec_avro_registry_t));
}

void execrec_avro_registry_destroy(execrec_avro_registry_t *reg) {
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        execrec_avro_schema_destroy(reg->entries[i].schema);
    free(reg->entries);
    free(reg);
}

/* @returns the index of id, or of where it would go (with *found 0). */
static size_t reg_find(const execrec_avro_registry_t *reg, int32_t id, int *found) {
    size_t lo = 0, hi = reg->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (reg->entries[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < reg->n && reg->entries[lo].id == id;
    return lo;
}

execrec_err_t execrec_avro_registry_add(execrec_avro_registry_t *reg, int32_t id,
                                        execrec_avro_schema_t *schema, char *errstr,
                                        size_t errstr_size) {
    if (!schema) {
        execrec_errstr(errstr, errstr_size, "schema id %" PRId32 ": no schema", id);
        return EXECREC_ERR_INVALID;
    }
    int found;
    size_t at = reg_find(reg, id, &found);
    if (found) {
        execrec_avro_schema_destroy(reg->entries[at].schema);
        reg->entries[at].schema = schema;
        return EXECREC_OK;
    }
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 8;
        entry_t *e = realloc(reg->entries, cap * sizeof(*e));
        if (!e) {
            execrec_avro_schema_destroy(schema);
            execrec_errstr(errstr, errstr_size, "out of memory");
            return EXECREC_ERR_NOMEM;
        }
        reg->entries = e;
        reg->cap = cap;
    }
    memmove(reg->entries + at + 1, reg->entries + at, (reg->n - at) * sizeof(*reg->entries));
    reg->entries[at].id = id;
    reg->entries[at].schema = schema;
    reg->n++;
    return EXECREC_OK;
}

void execrec_avro_registry_set_fetch(execrec_avro_registry_t *reg, execrec_avro_fetch_cb cb,
                                     void *opaque) {
    reg->fetch = cb;
    reg->fetch_opaque = opaque;
}

const execrec_avro_schema_t *execrec_avro_registry_lookup(const execrec_avro_registry_t *reg,
                                                          int32_t id, char *errstr,
                                                          size_t errstr_size) {
    int found;
    size_t at = reg_find(reg, id, &found);
    if (found)
        return reg->entries[at].schema;
    if (!reg->fetch) {
        execrec_errstr(errstr, errstr_size, "schema id %" PRId32 " is not in the registry", id);
        return NULL;
    }
    char why[384] = "";
    execrec_avro_schema_t *schema = reg->fetch(reg->fetch_opaque, id, why, sizeof(why));
    if (!schema) {
        execrec_errstr(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
        return NULL;
    }
    /* The cache is the registry's own entries: a lookup through a const registry
     * still fills it (an id never changes meaning, so this is memoisation, not a
     * visible change; the registry object itself was created non-const). */
    execrec_avro_registry_t *cache = (execrec_avro_registry_t *)reg;
    if (execrec_avro_registry_add(cache, id, schema, why, sizeof(why))) {
        execrec_errstr(errstr, errstr_size, "schema id %" PRId32 ": %s", id, why);
        return NULL;
    }
    return execrec_avro_registry_get(reg, id);
}

const execrec_avro_schema_t *execrec_avro_registry_get(const execrec_avro_registry_t *reg,
                                                       int32_t id) {
    return execrec_avro_registry_lookup(reg, id, NULL, 0);
}

int execrec_avro_registry_find_name(const execrec_avro_registry_t *reg, const char *fullname,
                                    int32_t *id) {
    for (size_t i = 0; i < reg->n; i++) {
        const char *name = execrec_avro_schema_name(reg->entries[i].schema);
        if (name && !strcmp(name, fullname)) {
            *id = reg->entries[i].id;
            return 0;
        }
    }
    return -1;
}

execrec_err_t execrec_avro_registry_load_map(execrec_avro_registry_t *reg, const char *path,
                                             char *errstr, size_t errstr_size) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        execrec_errstr(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return EXECREC_ERR_IO;
    }
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    char line[4096];
    int lineno = 0;
    execrec_err_t err = EXECREC_OK;
    /* Ids seen in this file: a repeated id in one map is a mistake, not an update. */
    int32_t *seen = NULL;
    size_t nseen = 0;
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        size_t ll = strlen(line);
        if (ll == sizeof(line) - 1 && line[ll - 1] != '\n') {
            execrec_errstr(errstr, errstr_size, "%s:%d: line too long", path, lineno);
            err = EXECREC_ERR_INVALID;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            *--e = '\0';
        if (!*s)
            continue;
        char *end;
        errno = 0;
        long long id = strtoll(s, &end, 10);
        if (end == s || errno || id < 0 || id > INT32_MAX || (*end != ' ' && *end != '\t')) {
            execrec_errstr(errstr, errstr_size, "%s:%d: expected \"<id> <path.avsc>\" with id 0-%d",
                           path, lineno, INT32_MAX);
            err = EXECREC_ERR_INVALID;
            break;
        }
        while (*end == ' ' || *end == '\t')
            end++;
        for (size_t i = 0; i < nseen; i++)
            if (seen[i] == (int32_t)id) {
                execrec_errstr(errstr, errstr_size, "%s:%d: schema id %lld listed twice", path,
                               lineno, id);
                err = EXECREC_ERR_INVALID;
                goto done;
            }
        char *file;
        if (*end == '/' || !dirlen) {
            file = strdup(end);
        } else {
            size_t n = dirlen + strlen(end) + 1;
            file = malloc(n);
            if (file)
                snprintf(file, n, "%.*s%s", (int)dirlen, path, end);
        }
        int32_t *ns = realloc(seen, (nseen + 1) * sizeof(*seen));
        if (!file || !ns) {
            free(file);
            if (ns)
                seen = ns;
            execrec_errstr(errstr, errstr_size, "out of memory");
            err = EXECREC_ERR_NOMEM;
            break;
        }
        seen = ns;
        seen[nseen++] = (int32_t)id;
        char why[384];
        execrec_avro_schema_t *schema = execrec_avro_schema_load(file, why, sizeof(why));
        free(file);
        if (!schema) {
            execrec_errstr(errstr, errstr_size, "%s:%d: %s", path, lineno, why);
            err = EXECREC_ERR_INVALID;
            break;
        }
        err = execrec_avro_registry_add(reg, (int32_t)id, schema, why, sizeof(why));
        if (err) {
            execrec_errstr(errstr, errstr_size, "%s:%d: %s", path, lineno, why);
            break;
        }
    }
    if (!err && ferror(fp)) {
        execrec_errstr(errstr, errstr_size, "%s: read error", path);
        err = EXECREC_ERR_IO;
    }
done:
    free(seen);
    fclose(fp);
    return err;
}

execrec_err_t execrec_avro_confluent_to_json(const execrec_avro_registry_t *reg,
                                             const void *value, size_t len, execrec_buf_t *out,
                                             execrec_reject_t *rej) {
    const uint8_t *b = value;
    if (len < 5)
        return execrec_reject(rej, EXECREC_REJ_AVRO_TRUNCATED,
                              "Confluent Avro header needs 5 bytes, message has %zu", len);
    if (b[0] != 0)
        return execrec_reject(rej, EXECREC_REJ_AVRO_BAD,
                              "Confluent Avro magic byte is 0x%02x, expected 0x00", b[0]);
    uint32_t uid = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
    int32_t id = (int32_t)uid;
    char why[sizeof(rej->message)];
    const execrec_avro_schema_t *schema =
        reg ? execrec_avro_registry_lookup(reg, id, why, sizeof(why)) : NULL;
    if (!schema) {
        if (reg)
            return execrec_reject(rej, EXECREC_REJ_AVRO_SCHEMA, "%s", why);
        return execrec_reject(rej, EXECREC_REJ_AVRO_SCHEMA,
                              "schema id %" PRId32
                              " is not in the registry (no registry configured)",
                              id);
    }
    return render(schema, b + 5, len - 5, 5, out, rej);
}
