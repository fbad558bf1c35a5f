/* The normaliser: a JSON payload of a known kind -> one record of column texts, or a
 * reject with a stable code. The column tables of record.c drive it; the rules per
 * column type are below, the enumeration tables at the top.
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
#include <stdio.h>
#include <string.h>
#include "execrec/normalise.h"
#include "execrec/json.h"
#include "execrec/decimal.h"
#include "execrec/timeutil.h"

typedef struct alias_s {
    const char *alias; /* normalised spelling */
    const char *canon;
} alias_t;

static const alias_t side_aliases[] = {
    {"buy", "buy"},
    {"sell", "sell"},
    {"sell_short", "sell_short"},
    {"b", "buy"},
    {"s", "sell"},
    {"bid", "buy"},
    {"ask", "sell"},
    {"offer", "sell"},
    {"long", "buy"},
    {"short", "sell_short"},
    {"sell_short_exempt", "sell_short"},
    {"ss", "sell_short"},
    {"1", "buy"},
    {"2", "sell"},
    {"5", "sell_short"},
    {"6", "sell_short"},
    {NULL, NULL},
};

static const alias_t order_type_aliases[] = {
    {"market", "market"},
    {"limit", "limit"},
    {"stop", "stop"},
    {"stop_limit", "stop_limit"},
    {"market_on_close", "market_on_close"},
    {"limit_on_close", "limit_on_close"},
    {"pegged", "pegged"},
    {"trailing_stop", "trailing_stop"},
    {"mkt", "market"},
    {"lmt", "limit"},
    {"stp", "stop"},
    {"stop_loss", "stop"},
    {"stop_market", "stop"},
    {"stp_lmt", "stop_limit"},
    {"stop_lmt", "stop_limit"},
    {"stoplimit", "stop_limit"},
    {"moc", "market_on_close"},
    {"loc", "limit_on_close"},
    {"1", "market"},
    {"2", "limit"},
    {"3", "stop"},
    {"4", "stop_limit"},
    {"5", "market_on_close"},
    {"b", "limit_on_close"},
    {"p", "pegged"},
    {NULL, NULL},
};

static const alias_t tif_aliases[] = {
    {"day", "day"},
    {"gtc", "gtc"},
    {"ioc", "ioc"},
    {"fok", "fok"},
    {"gtd", "gtd"},
    {"opg", "opg"},
    {"cls", "cls"},
    {"gtx", "gtx"},
    {"good_till_cancel", "gtc"},
    {"good_till_canceled", "gtc"},
    {"good_till_cancelled", "gtc"},
    {"good_til_canceled", "gtc"},
    {"good_til_cancelled", "gtc"},
    {"immediate_or_cancel", "ioc"},
    {"fill_or_kill", "fok"},
    {"good_till_date", "gtd"},
    {"good_til_date", "gtd"},
    {"at_the_open", "opg"},
    {"at_the_opening", "opg"},
    {"at_the_close", "cls"},
    {"good_till_crossing", "gtx"},
    {"post_only", "gtx"},
    {"0", "day"},
    {"1", "gtc"},
    {"2", "opg"},
    {"3", "ioc"},
    {"4", "fok"},
    {"5", "gtx"},
    {"6", "gtd"},
    {"7", "cls"},
    {NULL, NULL},
};

/* Order status and event types share one vocabulary (FIX OrdStatus, whose codes 0-9,
 * A-C, E are also mapped). */
static const alias_t order_status_aliases[] = {
    {"pending_new", "pending_new"},
    {"new", "new"},
    {"partially_filled", "partially_filled"},
    {"filled", "filled"},
    {"done_for_day", "done_for_day"},
    {"canceled", "canceled"},
    {"replaced", "replaced"},
    {"pending_cancel", "pending_cancel"},
    {"pending_replace", "pending_replace"},
    {"rejected", "rejected"},
    {"expired", "expired"},
    {"suspended", "suspended"},
    {"stopped", "stopped"},
    {"calculated", "calculated"},
    {"trade", "trade"},
    {"cancelled", "canceled"},
    {"pending_cancelled", "pending_cancel"},
    {"partial_fill", "partially_filled"},
    {"partially_fill", "partially_filled"},
    {"part_filled", "partially_filled"},
    {"partial", "partially_filled"},
    {"partfill", "partially_filled"},
    {"fill", "filled"},
    {"fully_filled", "filled"},
    {"ack", "new"},
    {"acknowledged", "new"},
    {"accepted", "new"},
    {"reject", "rejected"},
    {"expire", "expired"},
    {"amended", "replaced"},
    {"0", "new"},
    {"1", "partially_filled"},
    {"2", "filled"},
    {"3", "done_for_day"},
    {"4", "canceled"},
    {"5", "replaced"},
    {"6", "pending_cancel"},
    {"7", "stopped"},
    {"8", "rejected"},
    {"9", "suspended"},
    {"a", "pending_new"},
    {"b", "calculated"},
    {"c", "expired"},
    {"e", "pending_replace"},
    {NULL, NULL},
};

static const alias_t manager_status_aliases[] = {
    {"active", "active"},       {"pending", "pending"},
    {"paused", "paused"},       {"stopped", "stopped"},
    {"completed", "completed"}, {"canceled", "canceled"},
    {"expired", "expired"},     {"failed", "failed"},
    {"running", "active"},      {"live", "active"},
    {"cancelled", "canceled"},  {"done", "completed"},
    {"complete", "completed"},  {NULL, NULL},
};

static const alias_t liquidity_aliases[] = {
    {"maker", "maker"},   {"taker", "taker"},      {"m", "maker"},       {"t", "taker"},
    {"added", "maker"},   {"add", "maker"},        {"removed", "taker"}, {"remove", "taker"},
    {"passive", "maker"}, {"aggressive", "taker"}, {"1", "maker"},       {"2", "taker"},
    {NULL, NULL},
};

/* The alias table of an enum column, and whether unknown values are rejected. */
static const alias_t *enum_table(execrec_kind_t kind, const char *col, int *strict) {
    *strict = 0;
    if (!strcmp(col, "side")) {
        *strict = 1;
        return side_aliases;
    }
    if (!strcmp(col, "order_type"))
        return order_type_aliases;
    if (!strcmp(col, "time_in_force"))
        return tif_aliases;
    if (!strcmp(col, "event_type"))
        return order_status_aliases;
    if (!strcmp(col, "status"))
        return kind == EXECREC_KIND_ORDER_MANAGER ? manager_status_aliases : order_status_aliases;
    if (!strcmp(col, "liquidity"))
        return liquidity_aliases;
    return NULL;
}

/* Prefixes a detail message from decimal.h / timeutil.h with the field name. */
static execrec_err_t reject_field(execrec_reject_t *rej, const char *col) {
    char detail[sizeof(rej->message)];
    memcpy(detail, rej->message, sizeof(detail));
    return execrec_reject(rej, rej->code, "field \"%.64s\": %s", col, detail);
}

static execrec_err_t wrong_type(execrec_reject_t *rej, const char *col, const char *want,
                                const execrec_json_t *v) {
    return execrec_reject(rej, EXECREC_REJ_WRONG_TYPE, "field \"%s\": expected %s, got %s", col, want,
                   execrec_json_type_name(v->type));
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

static execrec_err_t norm_enum(execrec_kind_t kind, const char *col, const execrec_json_t *v,
                               execrec_arena_t *arena, const char **out, size_t *out_len,
                               execrec_reject_t *rej) {
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
        return execrec_reject(rej, EXECREC_REJ_TOO_LONG, "field \"%s\": %zu bytes (limit %d)", col, n,
                       EXECREC_TEXT_MAX);
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
    int strict;
    const alias_t *table = enum_table(kind, col, &strict);
    if (table) {
        for (const alias_t *a = table; a->alias; a++) {
            if (!strcmp(a->alias, o)) {
                *out = a->canon;
                *out_len = strlen(a->canon);
                return EXECREC_OK;
            }
        }
        if (strict)
            return execrec_reject(rej, EXECREC_REJ_BAD_ENUM, "field \"%s\": unknown value \"%.*s\"", col,
                           (int)(n > 40 ? 40 : n), s);
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
            return execrec_reject(rej, EXECREC_REJ_WRONG_TYPE, "field \"%s\": not an integer: \"%.*s\"",
                           col, (int)(n > 40 ? 40 : n), s);
        unsigned d = (unsigned)(s[i] - '0');
        if (u > (UINT64_C(9223372036854775808) - d) / 10)
            return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE,
                           "field \"%s\": integer out of int64 range", col);
        u = u * 10 + d;
    }
    if (!neg && u > UINT64_C(9223372036854775807))
        return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE, "field \"%s\": integer out of int64 range",
                       col);
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

static const char *const time_index[EXECREC_KIND__CNT] = {"order_time", "event_time", "trade_time",
                                                          "target_time"};

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
        return execrec_reject(rej, EXECREC_REJ_JSON_NOT_OBJECT, "payload is a JSON %s, not an object",
                       execrec_json_type_name(root->type));

    int ncols;
    const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    rec->ncols = ncols;
    rec->raw = json;
    rec->raw_len = len;
    int derived = -1, have_time = 0;
    for (int c = 0; c < ncols; c++) {
        const execrec_coldef_t *def = &cols[c];
        if (def->type == EXECREC_COL_DERIVED) {
            derived = c;
            continue;
        }
        const execrec_json_t *v = execrec_json_get(root, def->name);
        if (!v || v->type == EXECREC_JSON_NULL) {
            if (def->required)
                return execrec_reject(rej, EXECREC_REJ_MISSING, "required field \"%s\" is %s", def->name,
                               v ? "null" : "missing");
            continue;
        }
        const char **out = &rec->val[c];
        size_t *out_len = &rec->len[c];
        switch (def->type) {
        case EXECREC_COL_TEXT:
            if (v->type != EXECREC_JSON_STRING && v->type != EXECREC_JSON_NUMBER)
                return wrong_type(rej, def->name, "a string", v);
            if (v->len > EXECREC_TEXT_MAX)
                return execrec_reject(rej, EXECREC_REJ_TOO_LONG, "field \"%s\": %zu bytes (limit %d)",
                               def->name, v->len, EXECREC_TEXT_MAX);
            if (def->required && is_blank(v->str, v->len))
                return execrec_reject(rej, EXECREC_REJ_MISSING, "required field \"%s\" is %s",
                               def->name, v->len ? "blank" : "empty");
            *out = v->str; /* already NUL-terminated in the arena */
            *out_len = v->len;
            err = EXECREC_OK;
            break;
        case EXECREC_COL_ENUM:
            err = norm_enum(kind, def->name, v, arena, out, out_len, rej);
            break;
        case EXECREC_COL_DECIMAL:
            err = norm_decimal(def->name, v, arena, out, out_len, rej);
            /* An order or a fill of zero or negative size is no fact at all (the
             * tables say so too, with a check constraint, see 0001_schema.sql). */
            if (err == EXECREC_OK && (kind == EXECREC_KIND_ORDER || kind == EXECREC_KIND_TRADE) &&
                !strcmp(def->name, "quantity") && !decimal_positive(*out))
                return execrec_reject(rej, EXECREC_REJ_QUANTITY, "field \"quantity\": must be > 0, got %s",
                               *out);
            break;
        case EXECREC_COL_TIME: {
            int64_t us;
            err = norm_time(def->name, v, arena, out, out_len, &us, rej);
            if (err == EXECREC_OK && !strcmp(def->name, time_index[kind])) {
                rec->time_us = us;
                have_time = 1;
            }
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
    (void)have_time; /* every kind's time index is required, so it is always set */
    if (derived >= 0)
        return derive_event_key(rec, arena, derived);
    return EXECREC_OK;
}
