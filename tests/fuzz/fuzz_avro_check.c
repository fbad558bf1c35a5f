/* Invariant checks on execrec_avro_to_json for arbitrary bytes (see
 * fuzz_avro_check.h). Violations are returned as text, not asserted, so that the
 * corpus test can name the file and the fuzz target can abort with the reason. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "execrec/arena.h"
#include "execrec/avro.h"
#include "wire/avro_decode.h"
#include "wire/json.h"
#include "base/utf8.h"
#include "fuzz_avro_check.h"

/* Output bound: at most OUT_PER_BYTE bytes of JSON per input byte plus OUT_CONST.
 * The worst cases: bytes render as "\u00XX" (6 per byte), a 1-byte enum index as
 * "SHORT_SELL" (12), and zero-width array items (null, fixed of size 0), which cost
 * no input at all but are capped by the decoder at 1024 + 8 * len items of a few
 * bytes each, plus the keys of the all-types record (~700 bytes, 40 input bytes). */
#define OUT_PER_BYTE 64
#define OUT_CONST (64 * 1024)

#define X(name) #name,
static const char *const schema_names[FUZZ_AVRO_NSCHEMAS] = {FUZZ_AVRO_SCHEMAS};
#undef X
enum { S_DECIMAL_BYTES = 3, S_DECIMAL_FIXED = 4 };
/* decimal_bytes.avsc and decimal_fixed.avsc, checked against our reference. */
#define DECIMAL_BYTES_PRECISION 1000
#define DECIMAL_BYTES_SCALE 7
#define DECIMAL_FIXED_SIZE 9
#define DECIMAL_FIXED_PRECISION 22
#define DECIMAL_FIXED_SCALE 22

static execrec_avro_schema_t *schemas[FUZZ_AVRO_NSCHEMAS];
static execrec_arena_t *arena;
static execrec_buf_t out, out2;

/* What the decoder may reject with (avro.h). */
static const char *const reject_codes[] = {
    EXECREC_REJ_AVRO_TRUNCATED, EXECREC_REJ_AVRO_BAD,   EXECREC_REJ_UTF8,
    EXECREC_REJ_DECIMAL_RANGE,  EXECREC_REJ_TIME_RANGE,
};

/* Something already in the output buffer, as the codec leaves a prefix there. */
static const char prefix[] = "{\"prefix\":";

const char *fuzz_avro_schema_name(int i) {
    return i >= 0 && i < FUZZ_AVRO_NSCHEMAS ? schema_names[i] : NULL;
}

int fuzz_avro_init(const char *source_dir, char *errstr, size_t errstr_size) {
    for (int i = 0; i < FUZZ_AVRO_NSCHEMAS; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fuzz/avro_schemas/%s.avsc", source_dir,
                 schema_names[i]);
        if (!(schemas[i] = execrec_avro_schema_load(path, errstr, errstr_size)))
            return -1;
    }
    if (!(arena = execrec_arena_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

void fuzz_avro_fini(void) {
    for (int i = 0; i < FUZZ_AVRO_NSCHEMAS; i++) {
        execrec_avro_schema_destroy(schemas[i]);
        schemas[i] = NULL;
    }
    execrec_arena_destroy(arena);
    arena = NULL;
    execrec_buf_free(&out);
    execrec_buf_free(&out2);
}

static int fail(char *why, size_t why_size, const char *fmt, ...) EXECREC_PRINTF(3, 4);
static int fail(char *why, size_t why_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Exact decimal text of a decimal with the given precision and scale:
 * -?(0|[1-9][0-9]*)(\.[0-9]{scale})?, no "-0", at most precision significant
 * digits (leading zeros of a fraction are not significant). */
static int decimal_text_ok(const char *s, size_t len, int precision, int scale) {
    size_t i = 0, int_digits = 0, frac_digits = 0, sig = 0;
    int nonzero = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
        return 0;
    for (; i < len && is_digit(s[i]); i++, int_digits++) {
        nonzero |= s[i] != '0';
        sig += nonzero;
    }
    if (int_digits == 0)
        return 0;
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++, frac_digits++) {
            nonzero |= s[i] != '0';
            sig += nonzero;
        }
        if (frac_digits == 0)
            return 0;
    }
    if (i != len || frac_digits != (size_t)scale || sig > (size_t)precision)
        return 0;
    return !(s[0] == '-' && !nonzero);
}

/* Every number in v (itself, array items, map values) is a decimal(precision, scale). */
static int check_numbers(const execrec_json_t *v, int precision, int scale, char *why,
                         size_t why_size) {
    if (v->type == EXECREC_JSON_NUMBER && !decimal_text_ok(v->str, v->len, precision, scale))
        return fail(why, why_size, "decimal(%d,%d) rendered as \"%.200s\"", precision, scale,
                    v->str);
    for (const execrec_json_t *c = v->child; c; c = c->next)
        if (check_numbers(c, precision, scale, why, why_size) < 0)
            return -1;
    return 0;
}

/* Parses a field name dec_p<P>_s<S>[_...]. @returns 0, or -1 if key is not one. */
static int decimal_field(const char *key, int *precision, int *scale) {
    if (!key || strncmp(key, "dec_p", 5) != 0 || !is_digit(key[5]))
        return -1;
    char *end;
    *precision = (int)strtol(key + 5, &end, 10);
    if (strncmp(end, "_s", 2) != 0 || !is_digit(end[2]))
        return -1;
    *scale = (int)strtol(end + 2, NULL, 10);
    return 0;
}

/* The decimal fields are told apart by name; map keys are data and could mimic one,
 * so names count only where no map key can be: the root record's members (all_types,
 * decimal_edges: their decimals are top-level fields, and everything under them is
 * a decimal), and in the recursive schema a member dec_p20_s3 holding a number
 * (only Node's field holds numbers under that name: its map's values never are). */
static int check_decimals(int s, const execrec_json_t *v, char *why, size_t why_size) {
    int precision, scale;
    if (s == 1) {
        if (v->key && !strcmp(v->key, "dec_p20_s3") && v->type == EXECREC_JSON_NUMBER &&
            decimal_field(v->key, &precision, &scale) == 0 &&
            check_numbers(v, precision, scale, why, why_size) < 0)
            return -1;
        for (const execrec_json_t *c = v->child; c; c = c->next)
            if (check_decimals(s, c, why, why_size) < 0)
                return -1;
        return 0;
    }
    if (v->type != EXECREC_JSON_OBJECT)
        return 0;
    for (const execrec_json_t *c = v->child; c; c = c->next)
        if (decimal_field(c->key, &precision, &scale) == 0 &&
            check_numbers(c, precision, scale, why, why_size) < 0)
            return -1;
    return 0;
}

/* Reference rendering of a two's-complement big-endian unscaled value (a different
 * algorithm from avro.c's: base-10 digits, multiply by 256 and add, most significant
 * byte first). Writes into txt (room for 3 * n + scale + 8 bytes). @returns the length. */
static size_t reference_decimal(const uint8_t *b, size_t n, int scale, char *txt) {
    unsigned char digits[4 * 256]; /* least significant first; n <= 256 here */
    size_t nd = 1;
    digits[0] = 0;
    int neg = n > 0 && (b[0] & 0x80);
    /* magnitude = neg ? 2^(8n) - value : value; accumulate value, then subtract. */
    for (size_t i = 0; i < n; i++) {
        unsigned carry = neg ? (uint8_t)~b[i] : b[i];
        for (size_t k = 0; k < nd; k++) {
            unsigned v = digits[k] * 256u + carry;
            digits[k] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        while (carry) {
            digits[nd++] = (unsigned char)(carry % 10);
            carry /= 10;
        }
    }
    if (neg) { /* ~value + 1 */
        size_t k = 0;
        for (; k < nd && digits[k] == 9; k++)
            digits[k] = 0;
        if (k == nd)
            digits[nd++] = 1;
        else
            digits[k]++;
    }
    while (nd > 1 && digits[nd - 1] == 0)
        nd--;
    size_t t = 0, sc = (size_t)scale;
    if (neg)
        txt[t++] = '-';
    if (nd > sc)
        for (size_t i = nd; i-- > sc;)
            txt[t++] = (char)('0' + digits[i]);
    else
        txt[t++] = '0';
    if (sc) {
        txt[t++] = '.';
        for (size_t i = sc; i-- > 0;)
            txt[t++] = (char)('0' + (i < nd ? digits[i] : 0));
    }
    txt[t] = '\0';
    return t;
}

/* For the single-decimal schemas: the datum's bytes, if the input is one well-formed
 * datum (else NULL: the decoder must reject it). */
static const uint8_t *decimal_datum(int s, const uint8_t *body, size_t len, size_t *n) {
    if (s == S_DECIMAL_FIXED) {
        *n = DECIMAL_FIXED_SIZE;
        return len == DECIMAL_FIXED_SIZE ? body : NULL;
    }
    uint64_t u = 0;
    size_t i = 0;
    for (;; i++) {
        if (i >= len || i > 9)
            return NULL;
        u |= (uint64_t)(body[i] & 0x7f) << (7 * i);
        if (!(body[i] & 0x80))
            break;
    }
    if (i == 9 && body[i] > 1)
        return NULL;
    int64_t v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    if (v < 0 || (uint64_t)v != len - i - 1)
        return NULL;
    *n = (size_t)v;
    return body + i + 1;
}

/* Significant digits of a reference rendering. */
static size_t sig_digits(const char *s) {
    size_t n = 0;
    int nonzero = 0;
    for (; *s; s++)
        if (is_digit(*s)) {
            nonzero |= *s != '0';
            n += nonzero;
        }
    return n ? n : 1;
}

/* Compares the outcome for the single-decimal schemas with the reference. */
static int check_decimal_schema(int s, const uint8_t *body, size_t len, int ok, const char *text,
                                size_t tlen, const execrec_reject_t *rej, char *why,
                                size_t why_size) {
    size_t n = 0;
    const uint8_t *b = decimal_datum(s, body, len, &n);
    int scale = s == S_DECIMAL_FIXED ? DECIMAL_FIXED_SCALE : DECIMAL_BYTES_SCALE;
    int precision = s == S_DECIMAL_FIXED ? DECIMAL_FIXED_PRECISION : DECIMAL_BYTES_PRECISION;
    if (!b) {
        if (ok)
            return fail(why, why_size, "decoded a malformed decimal datum as %.100s", text);
        return 0;
    }
    if (n == 0 || n > 64) {
        if (ok)
            return fail(why, why_size, "decoded a decimal of %zu bytes", n);
        return 0;
    }
    char ref[3 * 64 + DECIMAL_BYTES_PRECISION + 16];
    size_t rlen = reference_decimal(b, n, scale, ref);
    int fits = sig_digits(ref) <= (size_t)precision;
    if (!ok) {
        if (fits)
            return fail(why, why_size, "rejected decimal %.100s (%s: %s)", ref, rej->code,
                        rej->message);
        if (strcmp(rej->code, EXECREC_REJ_DECIMAL_RANGE) != 0)
            return fail(why, why_size, "decimal %.100s rejected as %s", ref, rej->code);
        return 0;
    }
    if (!fits)
        return fail(why, why_size, "decimal %.100s exceeds precision %d but was accepted", ref,
                    precision);
    if (tlen != rlen || memcmp(text, ref, rlen) != 0)
        return fail(why, why_size, "decimal rendered as %.100s, reference %.100s", text, ref);
    return 0;
}

static int check_reject(const execrec_reject_t *rej, size_t len, char *why, size_t why_size) {
    if (!rej->code)
        return fail(why, why_size, "reject without a code");
    int known = 0;
    for (size_t i = 0; i < sizeof(reject_codes) / sizeof(reject_codes[0]); i++)
        known |= !strcmp(rej->code, reject_codes[i]);
    if (!known)
        return fail(why, why_size, "unexpected reject code \"%.64s\"", rej->code);
    if (!memchr(rej->message, '\0', sizeof(rej->message)))
        return fail(why, why_size, "reject %s: message not NUL-terminated", rej->code);
    if (rej->message[0] == '\0')
        return fail(why, why_size, "reject %s: empty message", rej->code);
    /* "... at byte N: ...", N inside the datum (or just past it). */
    const char *at = strstr(rej->message, "at byte ");
    if (!at || strtoull(at + 8, NULL, 10) > len)
        return fail(why, why_size, "reject %s: no offset within %zu bytes in \"%s\"", rej->code,
                    len, rej->message);
    return 0;
}

/* out after a reject: exactly the prefix, NUL-terminated. */
static int check_unchanged(const execrec_buf_t *b, size_t mark, char *why, size_t why_size) {
    if (b->len != mark || memcmp(b->data, prefix, mark) != 0 || b->data[mark] != '\0')
        return fail(why, why_size, "reject changed the output buffer (len %zu, was %zu)", b->len,
                    mark);
    return 0;
}

static int check_ok(int s, const uint8_t *body, size_t len, const execrec_buf_t *b, size_t mark,
                    char *why, size_t why_size) {
    if (b->len < mark || memcmp(b->data, prefix, mark) != 0)
        return fail(why, why_size, "decode changed what was already in the buffer");
    const char *text = b->data + mark;
    size_t tlen = b->len - mark;
    if (b->data[b->len] != '\0' || strlen(text) != tlen)
        return fail(why, why_size, "output not NUL-terminated or has a NUL inside");
    if (tlen == 0)
        return fail(why, why_size, "empty output");
    if (tlen > OUT_PER_BYTE * len + OUT_CONST)
        return fail(why, why_size, "%zu bytes of output for %zu of input", tlen, len);
    size_t bad = 0;
    if (!execrec_utf8_valid(text, tlen, &bad))
        return fail(why, why_size, "output is not UTF-8 at byte %zu", bad);
    /* JSON's control characters, U+0000-U+001F, must be escaped (DEL need not be,
     * and strings keep it raw). */
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)text[i] < 0x20)
            return fail(why, why_size, "raw control byte 0x%02x at output byte %zu",
                        (unsigned char)text[i], i);
    execrec_json_t *root;
    execrec_reject_t jrej;
    char *copy = NULL;
    memset(&jrej, 0, sizeof(jrej));
    execrec_arena_reset(arena);
    execrec_err_t jerr = execrec_json_parse(text, tlen, arena, &root, &jrej);
    if (jerr == EXECREC_ERR_REJECT && !strcmp(jrej.code, EXECREC_REJ_JSON_NUL)) {
        /* Documented (docs/contract.md section 6): a NUL in an Avro string (or a zero
         * byte of bytes/fixed) renders as \u0000, which the normaliser's parser then
         * rejects as nul_in_string. The rest must still be valid: parse again with
         * every \u0000 as \u0001 (same length, same structure). */
        copy = malloc(tlen + 1);
        if (!copy)
            return fail(why, why_size, "out of memory");
        memcpy(copy, text, tlen + 1);
        for (char *q = copy; (q = strstr(q, "\\u0000")); q += 6)
            q[5] = '1';
        memset(&jrej, 0, sizeof(jrej));
        execrec_arena_reset(arena);
        jerr = execrec_json_parse(copy, tlen, arena, &root, &jrej);
    }
    int rc = 0;
    if (jerr == EXECREC_ERR_REJECT && !strcmp(jrej.code, EXECREC_REJ_DUP_FIELD)) {
        /* Also documented (docs/contract.md section 5: a key repeated in one object,
         * at any depth): an Avro map may repeat a key, our parser rejects the
         * object. Check the syntax with jansson, which allows repeats; the decimal
         * walk is skipped for such inputs. */
        json_error_t jerror;
        if (!copy) { /* jansson takes no NUL in keys: \u0000 as \u0001 here too */
            if (!(copy = malloc(tlen + 1)))
                return fail(why, why_size, "out of memory");
            memcpy(copy, text, tlen + 1);
            for (char *q = copy; (q = strstr(q, "\\u0000")); q += 6)
                q[5] = '1';
        }
        json_t *j = json_loadb(copy, tlen,
                               JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerror);
        if (!j)
            rc = fail(why, why_size, "output with a repeated key is not JSON: %s (%.200s)",
                      jerror.text, text);
        json_decref(j);
        free(copy);
        if (rc == 0 && (s == S_DECIMAL_BYTES || s == S_DECIMAL_FIXED))
            rc = fail(why, why_size, "repeated key in a decimal");
        return rc;
    }
    if (jerr != EXECREC_OK)
        rc = fail(why, why_size, "output does not parse: %s: %s (%.200s)",
                  jrej.code ? jrej.code : "?", jrej.message, text);
    else
        rc = check_decimals(s, root, why, why_size);
    free(copy); /* after the walk: the tree may point into it */
    if (rc < 0)
        return -1;
    if (s == S_DECIMAL_BYTES || s == S_DECIMAL_FIXED)
        return check_decimal_schema(s, body, len, 1, text, tlen, NULL, why, why_size);
    return 0;
}

int fuzz_avro_check_input(const uint8_t *data, size_t size, char *why, size_t why_size) {
    if (size == 0)
        return 0;
    int s = data[0] % FUZZ_AVRO_NSCHEMAS;
    /* A private copy of exactly the datum: ASan then sees any read past it. */
    size_t len = size - 1;
    uint8_t *body = malloc(len ? len : 1);
    if (!body)
        return fail(why, why_size, "out of memory");
    memcpy(body, data + 1, len);

    execrec_reject_t rej, rej2;
    memset(&rej, 0, sizeof(rej));
    memset(&rej2, 0, sizeof(rej2));
    execrec_buf_reset(&out);
    execrec_buf_puts(&out, prefix);
    size_t mark = out.len;
    execrec_err_t err = execrec_avro_to_json(schemas[s], body, len, &out, &rej);
    int rc = 0;
    if (err == EXECREC_ERR_REJECT) {
        rc = check_reject(&rej, len, why, why_size);
        if (rc == 0)
            rc = check_unchanged(&out, mark, why, why_size);
        if (rc == 0 && (s == S_DECIMAL_BYTES || s == S_DECIMAL_FIXED))
            rc = check_decimal_schema(s, body, len, 0, NULL, 0, &rej, why, why_size);
    } else if (err == EXECREC_OK) {
        rc = check_ok(s, body, len, &out, mark, why, why_size);
    } else {
        /* Not even NOMEM: inputs are small, so it would mean a length was believed. */
        rc = fail(why, why_size, "decode returned %s", execrec_err_name(err));
    }
    if (rc == 0) {
        /* Again, into an empty buffer: the same outcome, byte for byte. */
        execrec_buf_reset(&out2);
        execrec_err_t err2 = execrec_avro_to_json(schemas[s], body, len, &out2, &rej2);
        if (err2 != err)
            rc = fail(why, why_size, "second decode returned %s, first %s", execrec_err_name(err2),
                      execrec_err_name(err));
        else if (err == EXECREC_ERR_REJECT &&
                 (strcmp(rej.code, rej2.code) != 0 || strcmp(rej.message, rej2.message) != 0))
            rc = fail(why, why_size, "second decode rejected %s (%s), first %s (%s)", rej2.code,
                      rej2.message, rej.code, rej.message);
        else if (err == EXECREC_OK &&
                 (out2.len != out.len - mark || memcmp(out2.data, out.data + mark, out2.len)))
            rc = fail(why, why_size, "second decode rendered different JSON");
        else if (err == EXECREC_ERR_REJECT && out2.len != 0)
            rc = fail(why, why_size, "reject left %zu bytes in an empty buffer", out2.len);
    }
    free(body);
    return rc;
}
