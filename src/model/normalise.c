/* The normaliser: a JSON payload of a known kind -> one record of column texts, or a
 * reject with a stable code. The column tables of record.c drive it (which column is
 * required, the time index, must be positive, and each enum column's vocabulary); the
 * rules per column type are below.
 *
 * Rules and decisions (each has a case in tests/data/normalise_cases.txt):
 *   - empty or whitespace-only input: empty_message; not an object: json_not_object;
 *   - a required field missing or JSON null: missing_field; an optional one: SQL NULL.
 *     A required TEXT field that is empty or only whitespace is missing_field too:
 *     such an order_id identifies nothing;
 *   - TEXT accepts a string, or a JSON number as its exact raw text (order ids such
 *     as 12345678901234567890 are often sent as numbers; keeping the text avoids any
 *     rounding); booleans, arrays and objects are wrong_type. Longer than
 *     EXECREC_TEXT_MAX bytes: field_too_long;
 *   - ENUM accepts a string or a number (FIX codes such as 1 for buy) and is
 *     normalised: ASCII whitespace trimmed, ASCII lower-cased, ' ' and '-' become
 *     '_', then mapped through the column's alias table. Unknown values are kept as
 *     normalised, except for side: positions depend on it, so an unknown side is
 *     bad_enum. An empty enum is bad_enum;
 *   - DECIMAL accepts a number or a string, canonicalised by decimal.h; the quantity
 *     of an order or a trade must be > 0 (non_positive_quantity);
 *   - TIME accepts an RFC 3339 string, an epoch string, or an epoch number
 *     (timeutil.h); the text is "YYYY-MM-DD HH:MM:SS[.ffffff]+00";
 *   - INT64 accepts an integer number or a string of digits with optional sign;
 *     a fraction or exponent is wrong_type, beyond int64 decimal_out_of_range;
 *   - fields outside the contract are ignored (they stay in raw_payload);
 *   - event_key (order events): event_id when present and non-empty, otherwise
 *     "t=<event_type>|s=<sequence>|f=<filled_quantity>|r=<remaining_quantity>|v=<venue_event_id>"
 *     from the normalised values (empty for NULL; '|' and '\' inside event_type and
 *     venue_event_id escaped with '\'). With order_id and event_time it is the
 *     natural key that de-duplicates re-delivered events. A producer could choose
 *     an event_id that looks like a derived key; that only hurts itself. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "model/normalise.h"
#include "wire/json.h"
#include "base/decimal.h"
#include "base/timeutil.h"

typedef execrec_enum_alias_t alias_t; /* the vocabularies are record.c's */

/* Prefixes a detail message from decimal.h / timeutil.h with the field name. */
static execrec_err_t reject_field(execrec_reject_t *rej, const char *col) {
    char detail[sizeof(rej->message)];
    memcpy(detail, rej->message, sizeof(detail));
    return execrec_reject(rej, rej->code, "field \"%.64s\": %s", col, detail);
}

static execrec_err_t wrong_type(execrec_reject_t *rej, const char *col, const char *want,
                                const execrec_json_t *v) {
    return execrec_reject(rej, EXECREC_REJ_WRONG_TYPE, "field \"%s\": expected %s, got %s", col,
                          want, execrec_json_type_name(v->type));
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* @returns 1 when s holds nothing but ASCII whitespace (or nothing at all): such an
 * id identifies nothing. */
static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]))
            return 0;
    return 1;
}

static execrec_err_t norm_enum(const execrec_enumdef_t *enumdef, const char *col,
                               const execrec_json_t *v, execrec_arena_t *arena, const char **out,
                               size_t *out_len, execrec_reject_t *rej) {
    assert(enumdef && enumdef->aliases); /* every ENUM column has a vocabulary */
    if (v->type != EXECREC_JSON_STRING && v->type != EXECREC_JSON_NUMBER)
        return wrong_type(rej, col, "a string (or a number such as a FIX code)", v);
    const char *s = v->str;
    size_t n = v->len;
    while (n && is_space(*s)) {
        s++;
        n--;
    }
    while (n && is_space(s[n - 1]))
        n--;
    if (n == 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_ENUM, "field \"%s\": empty value", col);
    if (n > EXECREC_TEXT_MAX)
        return execrec_reject(rej, EXECREC_REJ_TOO_LONG, "field \"%s\": %zu bytes (limit %d)", col,
                              n, EXECREC_TEXT_MAX);
    char *o = execrec_arena_alloc(arena, n + 1);
    if (!o)
        return EXECREC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c == ' ' || c == '-')
            c = '_';
        o[i] = c;
    }
    o[n] = '\0';
    int strict = enumdef->strict;
    const alias_t *table = enumdef->aliases;
    if (table) {
        for (const alias_t *a = table; a->alias; a++) {
            if (!strcmp(a->alias, o)) {
                *out = a->canon;
                *out_len = strlen(a->canon);
                return EXECREC_OK;
            }
        }
        if (strict)
            return execrec_reject(rej, EXECREC_REJ_BAD_ENUM, "field \"%s\": unknown value \"%.*s\"",
                                  col, (int)(n > 40 ? 40 : n), s);
    }
    *out = o;
    *out_len = n;
    return EXECREC_OK;
}

static execrec_err_t norm_int64(const char *col, const execrec_json_t *v, execrec_arena_t *arena,
                                const char **out, size_t *out_len, execrec_reject_t *rej) {
    if (v->type != EXECREC_JSON_STRING && v->type != EXECREC_JSON_NUMBER)
        return wrong_type(rej, col, "an integer", v);
    const char *s = v->str;
    size_t n = v->len, i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || (s[0] == '+' && v->type == EXECREC_JSON_STRING))) {
        neg = s[0] == '-';
        i++;
    }
    if (i == n)
        return execrec_reject(rej, EXECREC_REJ_WRONG_TYPE, "field \"%s\": not an integer", col);
    uint64_t u = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return execrec_reject(rej, EXECREC_REJ_WRONG_TYPE,
                                  "field \"%s\": not an integer: \"%.*s\"", col,
                                  (int)(n > 40 ? 40 : n), s);
        unsigned d = (unsigned)(s[i] - '0');
        if (u > (UINT64_C(9223372036854775808) - d) / 10)
            return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE,
                                  "field \"%s\": integer out of int64 range", col);
        u = u * 10 + d;
    }
    if (!neg && u > UINT64_C(9223372036854775807))
        return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE,
                              "field \"%s\": integer out of int64 range", col);
    char tmp[24], *p = tmp + sizeof(tmp);
    *--p = '\0';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg && !(p[0] == '0' && p[1] == '\0'))
        *--p = '-';
    size_t len = (size_t)(tmp + sizeof(tmp) - 1 - p);
    if (!(*out = execrec_arena_strndup(arena, p, len)))
        return EXECREC_ERR_NOMEM;
    *out_len = len;
    return EXECREC_OK;
}

static execrec_err_t norm_time(const char *col, const execrec_json_t *v, execrec_arena_t *arena,
                               const char **out, size_t *out_len, int64_t *us,
                               execrec_reject_t *rej) {
    execrec_err_t err;
    if (v->type == EXECREC_JSON_STRING)
        err = execrec_time_parse_text(v->str, v->len, us, rej);
    else if (v->type == EXECREC_JSON_NUMBER)
        err = execrec_time_parse_epoch(v->str, v->len, us, rej);
    else
        return wrong_type(rej, col, "a time (RFC 3339 string or epoch number)", v);
    if (err != EXECREC_OK)
        return reject_field(rej, col);
    char tmp[48];
    size_t n = execrec_time_format(*us, tmp, sizeof(tmp));
    if (!(*out = execrec_arena_strndup(arena, tmp, n)))
        return EXECREC_ERR_NOMEM;
    *out_len = n;
    return EXECREC_OK;
}

static execrec_err_t norm_decimal(const char *col, const execrec_json_t *v, execrec_arena_t *arena,
                                  const char **out, size_t *out_len, execrec_reject_t *rej) {
    if (v->type != EXECREC_JSON_STRING && v->type != EXECREC_JSON_NUMBER)
        return wrong_type(rej, col, "a decimal (number or string)", v);
    char tmp[EXECREC_DECIMAL_TEXT_MAX];
    size_t n;
    if (execrec_decimal_canon(v->str, v->len, tmp, &n, rej) != EXECREC_OK)
        return reject_field(rej, col);
    if (!(*out = execrec_arena_strndup(arena, tmp, n)))
        return EXECREC_ERR_NOMEM;
    *out_len = n;
    return EXECREC_OK;
}

/* Appends s to o at *at, escaping '|' and '\'. */
static void key_put(char *o, size_t *at, const char *s, size_t n, int escape) {
    for (size_t i = 0; i < n; i++) {
        if (escape && (s[i] == '|' || s[i] == '\\'))
            o[(*at)++] = '\\';
        o[(*at)++] = s[i];
    }
}

static execrec_err_t derive_event_key(execrec_record_t *rec, execrec_arena_t *arena, int key_col) {
    static const char *const parts[] = {"event_type", "sequence", "filled_quantity",
                                        "remaining_quantity", "venue_event_id"};
    static const char *const tags[] = {"t=", "|s=", "|f=", "|r=", "|v="};
    int id = execrec_kind_column_index(rec->kind, "event_id");
    if (id >= 0 && rec->val[id] && rec->len[id] > 0) {
        rec->val[key_col] = rec->val[id];
        rec->len[key_col] = rec->len[id];
        return EXECREC_OK;
    }
    int idx[5];
    size_t cap = 1;
    for (int k = 0; k < 5; k++) {
        idx[k] = execrec_kind_column_index(rec->kind, parts[k]);
        cap += 3 + (idx[k] >= 0 && rec->val[idx[k]] ? 2 * rec->len[idx[k]] : 0);
    }
    char *o = execrec_arena_alloc(arena, cap);
    if (!o)
        return EXECREC_ERR_NOMEM;
    size_t at = 0;
    for (int k = 0; k < 5; k++) {
        key_put(o, &at, tags[k], strlen(tags[k]), 0);
        if (idx[k] >= 0 && rec->val[idx[k]])
            key_put(o, &at, rec->val[idx[k]], rec->len[idx[k]], k == 0 || k == 4);
    }
    o[at] = '\0';
    rec->val[key_col] = o;
    rec->len[key_col] = at;
    return EXECREC_OK;
}

/* @returns 1 when canonical decimal text (decimal.h) is greater than zero. */
static int decimal_positive(const char *canon) {
    if (canon[0] == '-')
        return 0;
    for (const char *p = canon; *p; p++)
        if (*p >= '1' && *p <= '9')
            return 1;
    return 0;
}

execrec_err_t execrec_normalise_json(execrec_kind_t kind, const char *json, size_t len,
                                     execrec_arena_t *arena, execrec_record_t *rec,
                                     execrec_reject_t *rej) {
    assert((unsigned)kind < EXECREC_KIND__CNT && (json || !len) && arena && rec && rej);
    size_t i = 0;
    while (i < len && is_space(json[i]))
        i++;
    if (i == len)
        return execrec_reject(rej, EXECREC_REJ_EMPTY, "empty message (%zu bytes)", len);
    execrec_json_t *root;
    execrec_err_t err = execrec_json_parse(json, len, arena, &root, rej);
    if (err != EXECREC_OK)
        return err;
    if (root->type != EXECREC_JSON_OBJECT)
        return execrec_reject(rej, EXECREC_REJ_JSON_NOT_OBJECT,
                              "payload is a JSON %s, not an object",
                              execrec_json_type_name(root->type));

    int ncols;
    const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    rec->ncols = ncols;
    rec->raw = json;
    rec->raw_len = len;
    int derived = -1;
    for (int c = 0; c < ncols; c++) {
        const execrec_coldef_t *def = &cols[c];
        if (def->type == EXECREC_COL_DERIVED) {
            derived = c;
            continue;
        }
        const execrec_json_t *v = execrec_json_get(root, def->name);
        if (!v || v->type == EXECREC_JSON_NULL) {
            if (def->required)
                return execrec_reject(rej, EXECREC_REJ_MISSING, "required field \"%s\" is %s",
                                      def->name, v ? "null" : "missing");
            continue;
        }
        const char **out = &rec->val[c];
        size_t *out_len = &rec->len[c];
        switch (def->type) {
        case EXECREC_COL_TEXT:
            if (v->type != EXECREC_JSON_STRING && v->type != EXECREC_JSON_NUMBER)
                return wrong_type(rej, def->name, "a string", v);
            if (v->len > EXECREC_TEXT_MAX)
                return execrec_reject(rej, EXECREC_REJ_TOO_LONG,
                                      "field \"%s\": %zu bytes (limit %d)", def->name, v->len,
                                      EXECREC_TEXT_MAX);
            if (def->required && is_blank(v->str, v->len))
                return execrec_reject(rej, EXECREC_REJ_MISSING, "required field \"%s\" is %s",
                                      def->name, v->len ? "blank" : "empty");
            *out = v->str; /* already NUL-terminated in the arena */
            *out_len = v->len;
            err = EXECREC_OK;
            break;
        case EXECREC_COL_ENUM:
            err = norm_enum(def->enumdef, def->name, v, arena, out, out_len, rej);
            break;
        case EXECREC_COL_DECIMAL:
            err = norm_decimal(def->name, v, arena, out, out_len, rej);
            /* An order or a fill of zero or negative size is no fact at all (the
             * tables say so too, with a check constraint, see 0001_schema.sql). */
            if (err == EXECREC_OK && (def->flags & EXECREC_COLF_POSITIVE) &&
                !decimal_positive(*out))
                return execrec_reject(rej, EXECREC_REJ_QUANTITY,
                                      "field \"quantity\": must be > 0, got %s", *out);
            break;
        case EXECREC_COL_TIME: {
            int64_t us;
            err = norm_time(def->name, v, arena, out, out_len, &us, rej);
            if (err == EXECREC_OK && (def->flags & EXECREC_COLF_TIME_INDEX))
                rec->time_us = us;
            break;
        }
        case EXECREC_COL_INT64:
            err = norm_int64(def->name, v, arena, out, out_len, rej);
            break;
        default:
            err = EXECREC_OK;
            break;
        }
        if (err != EXECREC_OK)
            return err;
    }
    /* The time index is required, so a record without it was rejected above. */
    assert(rec->val[execrec_kind_time_column(kind)]);
    if (derived >= 0)
        return derive_event_key(rec, arena, derived);
    return EXECREC_OK;
}
