/* Invariant checks on execrec_codec_decode's result for arbitrary input (see
 * fuzz_check.h). Violations are returned as text, not asserted, so that the corpus
 * test can name the file and the fuzz target can abort with the reason. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/codec.h"
#include "base/decimal.h"
#include "wire/json.h"
#include "base/utf8.h"
#include "model/normalise.h"
#include "base/timeutil.h"
#include "fuzz_check.h"

#define N_FORMATS 3
#define SMALL_LIMIT 256

static execrec_schemamap_t *reg;
static execrec_avro_schema_t *plain[EXECREC_KIND__CNT];
/* codecs[format][small limit?] */
static execrec_codec_t *codecs[N_FORMATS][2];
static execrec_arena_t *arena, *arena2, *arena_raw;

static const char *const reject_codes[] = {
    EXECREC_REJ_EMPTY,       EXECREC_REJ_TOO_LARGE,       EXECREC_REJ_UTF8,
    EXECREC_REJ_JSON_SYNTAX, EXECREC_REJ_JSON_NOT_OBJECT, EXECREC_REJ_JSON_NUL,
    EXECREC_REJ_JSON_DEPTH,  EXECREC_REJ_DUP_FIELD,       EXECREC_REJ_MISSING,
    EXECREC_REJ_WRONG_TYPE,  EXECREC_REJ_BAD_DECIMAL,     EXECREC_REJ_DECIMAL_RANGE,
    EXECREC_REJ_BAD_TIME,    EXECREC_REJ_TIME_RANGE,      EXECREC_REJ_BAD_ENUM,
    EXECREC_REJ_QUANTITY,    EXECREC_REJ_TOO_LONG,        EXECREC_REJ_AVRO_TRUNCATED,
    EXECREC_REJ_AVRO_BAD,    EXECREC_REJ_AVRO_SCHEMA,     EXECREC_REJ_FORMAT,
};

int fuzz_check_init(const char *source_dir, char *errstr, size_t errstr_size) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/schemas/registry.map", source_dir);
    if (!(reg = execrec_schemamap_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    if (execrec_schemamap_load(reg, path, errstr, errstr_size) != EXECREC_OK)
        return -1;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        snprintf(path, sizeof(path), "%s/schemas/%s.avsc", source_dir,
                 execrec_kind_name((execrec_kind_t)k));
        if (!(plain[k] = execrec_avro_schema_load(path, errstr, errstr_size)))
            return -1;
    }
    static const execrec_format_t formats[N_FORMATS] = {EXECREC_FORMAT_AUTO, EXECREC_FORMAT_JSON,
                                                        EXECREC_FORMAT_AVRO};
    for (int f = 0; f < N_FORMATS; f++) {
        for (int small = 0; small < 2; small++) {
            execrec_codec_conf_t conf;
            memset(&conf, 0, sizeof(conf));
            conf.max_message_bytes = small ? SMALL_LIMIT : 0;
            for (int k = 0; k < EXECREC_KIND__CNT; k++) {
                conf.format[k] = formats[f];
                conf.plain_schema[k] = plain[k];
            }
            conf.schemas = reg;
            if (!(codecs[f][small] = execrec_codec_new(&conf, errstr, errstr_size)))
                return -1;
        }
    }
    arena = execrec_arena_new();
    arena2 = execrec_arena_new();
    arena_raw = execrec_arena_new();
    if (!arena || !arena2 || !arena_raw) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

void fuzz_check_fini(void) {
    for (int f = 0; f < N_FORMATS; f++)
        for (int small = 0; small < 2; small++) {
            execrec_codec_destroy(codecs[f][small]);
            codecs[f][small] = NULL;
        }
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_avro_schema_destroy(plain[k]);
        plain[k] = NULL;
    }
    execrec_schemamap_destroy(reg);
    execrec_arena_destroy(arena);
    execrec_arena_destroy(arena2);
    execrec_arena_destroy(arena_raw);
    reg = NULL;
    arena = arena2 = arena_raw = NULL;
}

static int fail(char *why, size_t why_size, const char *fmt, ...) EXECREC_PRINTF(3, 4);
static int fail(char *why, size_t why_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Canonical decimal text (decimal.h): -?(0|[1-9][0-9]*)(\.[0-9]+)?, at most 30
 * digits each side of the point, and no "-0", "-0.00": NUMERIC has no negative zero. */
static int decimal_ok(const char *s, size_t len) {
    size_t i = 0, int_digits = 0, frac_digits = 0;
    int nonzero = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
        return 0; /* leading zero */
    for (; i < len && is_digit(s[i]); i++, int_digits++)
        nonzero |= s[i] != '0';
    if (int_digits == 0 || int_digits > EXECREC_DECIMAL_INT_DIGITS)
        return 0;
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++, frac_digits++)
            nonzero |= s[i] != '0';
        if (frac_digits == 0 || frac_digits > EXECREC_DECIMAL_FRAC_DIGITS)
            return 0;
    }
    if (i != len)
        return 0;
    return !(s[0] == '-' && !nonzero);
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]+00" inside the accepted range (timeutil.h: years
 * 1970-2199), with a plausible calendar. The exact date is checked separately by
 * formatting rec->time_us for the kind's time index. */
static int time_ok(const char *s, size_t len) {
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    if (len != 22 && len != 29)
        return 0;
    for (size_t i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
            return 0;
    size_t i = sizeof(shape) - 1;
    if (len == 29) {
        if (s[i++] != '.')
            return 0;
        for (int k = 0; k < 6; k++)
            if (!is_digit(s[i++]))
                return 0;
    }
    if (memcmp(s + i, "+00", 3) != 0)
        return 0;
    int year = atoi(s), mon = atoi(s + 5), day = atoi(s + 8);
    int hour = atoi(s + 11), min = atoi(s + 14), sec = atoi(s + 17);
    return year >= 1970 && year <= 2199 && mon >= 1 && mon <= 12 && day >= 1 && day <= 31 &&
           hour <= 23 && min <= 59 && sec <= 59;
}

static int int64_ok(const char *s, size_t len) {
    size_t i = s[0] == '-' ? 1 : 0;
    if (i == len || len > 20 || (s[i] == '0' && len > i + 1))
        return 0;
    for (; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* Enum text as norm_enum leaves it: non-empty, trimmed, ASCII upper case folded and
 * ' ' and '-' turned into '_'. Only some enums are closed (side, order_type, ...);
 * the others keep unknown values (other control bytes included), so the check
 * cannot be a list of symbols. */
static int enum_ok(const char *s, size_t len) {
    if (len == 0 || len > EXECREC_TEXT_MAX || is_ws(s[0]) || is_ws(s[len - 1]))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ' ' || s[i] == '-')
            return 0;
    return 1;
}

/* Is quantity text (canonical) > 0? */
static int positive(const char *s) {
    if (s[0] == '-')
        return 0;
    for (; *s; s++)
        if (*s >= '1' && *s <= '9')
            return 1;
    return 0;
}

static int check_reject(const execrec_reject_t *rej, char *why, size_t why_size) {
    if (!rej->code)
        return fail(why, why_size, "reject without a code");
    int known = 0;
    for (size_t i = 0; i < sizeof(reject_codes) / sizeof(reject_codes[0]); i++)
        known |= !strcmp(rej->code, reject_codes[i]);
    if (!known)
        return fail(why, why_size, "unknown reject code \"%.64s\"", rej->code);
    if (!memchr(rej->message, '\0', sizeof(rej->message)))
        return fail(why, why_size, "reject %s: message not NUL-terminated", rej->code);
    if (rej->message[0] == '\0')
        return fail(why, why_size, "reject %s: empty message", rej->code);
    if (!execrec_utf8_valid(rej->message, strlen(rej->message), NULL))
        return fail(why, why_size, "reject %s: message not valid UTF-8: %s", rej->code,
                    rej->message);
    return 0;
}

static int check_record(execrec_kind_t kind, const execrec_record_t *rec, char *why,
                        size_t why_size) {
    int ncols;
    const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
    if (rec->kind != kind || rec->ncols != ncols)
        return fail(why, why_size, "record kind %d with %d columns, expected kind %d with %d",
                    (int)rec->kind, rec->ncols, (int)kind, ncols);
    int time_index = -1;
    for (int i = 0; i < ncols; i++) {
        const char *v = rec->val[i];
        size_t len = rec->len[i];
        const char *name = cols[i].name;
        if (cols[i].type == EXECREC_COL_TIME && time_index < 0)
            time_index = i;
        if (!v) {
            if (cols[i].required)
                return fail(why, why_size, "required column %s is NULL", name);
            continue;
        }
        if (strlen(v) != len)
            return fail(why, why_size, "column %s: len %zu but strlen %zu (NUL inside?)", name, len,
                        strlen(v));
        if (!execrec_utf8_valid(v, len, NULL))
            return fail(why, why_size, "column %s: invalid UTF-8", name);
        int ok = 1;
        switch (cols[i].type) {
        case EXECREC_COL_TEXT:
            ok = len <= EXECREC_TEXT_MAX && !(cols[i].required && len == 0);
            break;
        case EXECREC_COL_ENUM:
            ok = enum_ok(v, len);
            break;
        case EXECREC_COL_DECIMAL:
            ok = decimal_ok(v, len);
            if (ok && !strcmp(name, "quantity") &&
                (kind == EXECREC_KIND_ORDER || kind == EXECREC_KIND_TRADE))
                ok = positive(v);
            break;
        case EXECREC_COL_TIME:
            ok = time_ok(v, len);
            break;
        case EXECREC_COL_INT64:
            ok = int64_ok(v, len);
            break;
        case EXECREC_COL_DERIVED:
            ok = len > 0;
            break;
        }
        if (!ok)
            return fail(why, why_size, "column %s: bad %s text \"%.80s\"", name,
                        cols[i].type == EXECREC_COL_DECIMAL ? "decimal"
                        : cols[i].type == EXECREC_COL_TIME  ? "time"
                                                            : "column",
                        v);
    }
    /* The time index (the kind's first time column) and rec->time_us agree. */
    char tbuf[64];
    size_t tlen = execrec_time_format(rec->time_us, tbuf, sizeof(tbuf));
    if (time_index < 0 || !rec->val[time_index] || tlen != rec->len[time_index] ||
        memcmp(tbuf, rec->val[time_index], tlen) != 0)
        return fail(why, why_size, "time_us %lld formats as \"%s\", column says \"%.40s\"",
                    (long long)rec->time_us, tbuf,
                    time_index >= 0 && rec->val[time_index] ? rec->val[time_index] : "(null)");
    /* raw_payload is a JSON object our own parser accepts. */
    if (!rec->raw || rec->raw_len == 0)
        return fail(why, why_size, "record without raw payload");
    execrec_json_t *root;
    execrec_reject_t rej;
    memset(&rej, 0, sizeof(rej));
    execrec_arena_reset(arena_raw);
    execrec_err_t err = execrec_json_parse(rec->raw, rec->raw_len, arena_raw, &root, &rej);
    if (err != EXECREC_OK)
        return fail(why, why_size, "raw payload does not parse: %s: %s", rej.code ? rej.code : "?",
                    rej.message);
    if (root->type != EXECREC_JSON_OBJECT)
        return fail(why, why_size, "raw payload is a JSON %s, not an object",
                    execrec_json_type_name(root->type));
    return 0;
}

static int check_result(execrec_kind_t kind, execrec_err_t err, const execrec_record_t *rec,
                        const execrec_reject_t *rej, char *why, size_t why_size) {
    /* NOMEM is a violation too: fuzz inputs are small, memory is not short, so a
     * NOMEM here would be a length taken from the data and believed. */
    if (err == EXECREC_ERR_REJECT)
        return check_reject(rej, why, why_size);
    if (err != EXECREC_OK)
        return fail(why, why_size, "decode returned %s", execrec_err_name(err));
    return check_record(kind, rec, why, why_size);
}

int fuzz_check_input(const uint8_t *data, size_t size, char *why, size_t why_size) {
    if (size == 0)
        return 0;
    execrec_kind_t kind = (execrec_kind_t)(data[0] & 3);
    int format = ((data[0] >> 2) & 3) % N_FORMATS;
    int small = (data[0] >> 7) & 1;
    execrec_codec_t *codec = codecs[format][small];
    /* A private copy of exactly the value bytes: ASan then sees any read past it. */
    size_t len = size - 1;
    uint8_t *value = malloc(len ? len : 1);
    if (!value)
        return fail(why, why_size, "out of memory");
    memcpy(value, data + 1, len);

    execrec_record_t rec, rec2;
    execrec_reject_t rej, rej2;
    memset(&rej, 0, sizeof(rej));
    memset(&rej2, 0, sizeof(rej2));
    execrec_arena_reset(arena);
    execrec_arena_reset(arena2);
    execrec_err_t err = execrec_codec_decode(codec, kind, value, len, arena, &rec, &rej);
    int rc = check_result(kind, err, &rec, &rej, why, why_size);
    if (rc == 0) {
        /* Same input again: same outcome, whatever the first decode left behind. */
        execrec_err_t err2 = execrec_codec_decode(codec, kind, value, len, arena2, &rec2, &rej2);
        if (err2 != err)
            rc = fail(why, why_size, "second decode returned %s, first %s", execrec_err_name(err2),
                      execrec_err_name(err));
        else if (err == EXECREC_ERR_REJECT && strcmp(rej.code, rej2.code) != 0)
            rc = fail(why, why_size, "second decode rejected %s, first %s", rej2.code, rej.code);
        else if (err == EXECREC_OK)
            for (int i = 0; i < rec.ncols && rc == 0; i++)
                if ((!rec.val[i]) != (!rec2.val[i]) ||
                    (rec.val[i] &&
                     (rec.len[i] != rec2.len[i] || memcmp(rec.val[i], rec2.val[i], rec.len[i]))))
                    rc = fail(why, why_size, "second decode differs in column %d", i);
    }
    free(value);
    return rc;
}
