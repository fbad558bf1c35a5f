/* Avro binary -> JSON text: a small hand-written decoder walks the schema's plan
 * (avro_plan.h) and renders straight into the output buffer; plus the Confluent
 * wire format, with schemas resolved by id through a schema map.
 *
 * Why not avro-c's generic values: avro-c 1.11 ignores logical types (decimal,
 * timestamp-*), allocates whatever length a hostile datum claims before checking
 * it against the bytes present, and builds a value tree we would only walk again to
 * print it. Walking a plan costs one pass, checks every length before touching
 * memory, and renders straight into the output buffer. */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wire/avro_decode.h"
#include "wire/json.h"
#include "base/timeutil.h"
#include "base/utf8.h"
#include "wire/avro_plan.h"

typedef struct dec_s {
    const uint8_t *start, *p, *end;
    size_t base; /* offset of start within the whole message */
    const execrec_avro_schema_t *schema;
    execrec_buf_t *out;
    execrec_reject_t *rej;
    int depth;
    int npath;
    const char *path[DEPTH_MAX + 1]; /* record field names from the root */
    size_t zero_budget;              /* items of zero-width types still allowed */
} dec_t;

static int fail(dec_t *d, const char *code, const char *fmt, ...) EXECREC_PRINTF(3, 4);
static int fail(dec_t *d, const char *code, const char *fmt, ...) {
    char path[128];
    execrec_avro_field_path(d->path, d->npath, path, sizeof(path));
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
        return fail(d, EXECREC_REJ_DECIMAL_RANGE, "decimal has %zu digits, precision is %d", nrev,
                    nd->precision);
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
            rc = fail(d, EXECREC_REJ_AVRO_BAD,
                      "union branch %" PRId64 " out of range (%d branches)", v, nd->nsub);
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

static execrec_err_t render(const execrec_avro_schema_t *schema, const uint8_t *body, size_t len,
                            size_t base, execrec_buf_t *out, execrec_reject_t *rej) {
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
    assert(schema && out && rej);
    static const uint8_t none[1] = {0};
    return render(schema, body ? body : none, len, 0, out, rej);
}

execrec_err_t execrec_avro_confluent_to_json(const execrec_schemamap_t *map, const void *value,
                                             size_t len, execrec_buf_t *out,
                                             execrec_reject_t *rej) {
    assert((value || len == 0) && out && rej);
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
        map ? execrec_schemamap_lookup(map, id, why, sizeof(why)) : NULL;
    if (!schema) {
        if (map)
            return execrec_reject(rej, EXECREC_REJ_AVRO_SCHEMA, "%s", why);
        return execrec_reject(
            rej, EXECREC_REJ_AVRO_SCHEMA,
            "schema id %" PRId32 " is not in the registry (no registry configured)", id);
    }
    return render(schema, b + 5, len - 5, 5, out, rej);
}
