/* Strict RFC 8259 JSON parser into an arena DOM (numbers keep their raw text) and
 * the JSON string writer. See json.h for the rules and why we do not use jansson. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "wire/json.h"
#include "base/utf8.h"

typedef struct parser_s {
    const unsigned char *s; /* input */
    size_t len, pos;
    execrec_arena_t *arena;
    execrec_reject_t *rej;
    const char *key; /* key of the member being parsed, for messages */
    size_t key_len;
    int depth;
    int nomem;
} parser_t;

/* A failed parse: the reject names the byte offset and the member's key; returns -1 so callers can `return fail(...)`. */
static int fail(parser_t *p, const char *code, size_t off, const char *fmt, ...)
    EXECREC_PRINTF(4, 5);

static int fail(parser_t *p, const char *code, size_t off, const char *fmt, ...) {
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (p->key)
        execrec_reject(p->rej, code, "%s at byte %zu in field \"%.*s\"", detail, off,
                       (int)(p->key_len > 60 ? 60 : p->key_len), p->key);
    else
        execrec_reject(p->rej, code, "%s at byte %zu", detail, off);
    return -1;
}

static int oom(parser_t *p) {
    p->nomem = 1;
    return -1;
}

/* An unexpected byte: invalid UTF-8 takes precedence over a syntax error, so that a
 * message with broken encoding is always reported as such. */
static int unexpected(parser_t *p, const char *what) {
    if (p->pos >= p->len)
        return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos, "unexpected end of input, expected %s",
                    what);
    unsigned char c = p->s[p->pos];
    if (c >= 0x80) {
        if (!execrec_utf8_seq(p->s + p->pos, p->len - p->pos))
            return fail(p, EXECREC_REJ_UTF8, p->pos, "invalid UTF-8 byte 0x%02x", c);
        if (p->pos == 0 && c == 0xEF && p->len >= 3 && p->s[1] == 0xBB && p->s[2] == 0xBF)
            return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos, "byte order mark not allowed");
        return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos,
                    "unexpected non-ASCII character, expected %s", what);
    }
    if (c >= 0x20 && c < 0x7f)
        return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos, "unexpected '%c', expected %s", c, what);
    return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos, "unexpected byte 0x%02x, expected %s", c, what);
}

static inline void skip_ws(parser_t *p) {
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        p->pos++;
    }
}

static execrec_json_t *node_new(parser_t *p, execrec_json_type_t type) {
    execrec_json_t *v = execrec_arena_alloc(p->arena, sizeof(*v));
    if (!v)
        return NULL;
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->offset = p->pos;
    return v;
}

/* Reads 4 hex digits at s[at]. @returns the value or -1. */
static long hex4(parser_t *p, size_t at) {
    if (at + 4 > p->len)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = execrec_buf_hexdigit(p->s[at + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at p->pos (on the opening quote). Scans once to find the end and
 * validate raw bytes, then copies (decoding escapes) into the arena. */
static int parse_string(parser_t *p, const char **out, size_t *out_len) {
    size_t start = ++p->pos; /* after the quote */
    const unsigned char *s = p->s;
    size_t i = start, n = p->len;
    int escapes = 0;
    for (;;) {
        /* Fast path over plain ASCII. */
        while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
            i++;
        if (i >= n)
            return fail(p, EXECREC_REJ_JSON_SYNTAX, start - 1, "unterminated string");
        unsigned char c = s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            escapes = 1;
            i += 2; /* the escaped character is checked when decoding */
            if (i > n)
                return fail(p, EXECREC_REJ_JSON_SYNTAX, start - 1, "unterminated string");
            continue;
        }
        if (c < 0x20)
            return fail(p, EXECREC_REJ_JSON_SYNTAX, i,
                        "raw control byte 0x%02x in string (must be escaped)", c);
        size_t k = execrec_utf8_seq(s + i, n - i);
        if (!k)
            return fail(p, EXECREC_REJ_UTF8, i, "invalid UTF-8 byte 0x%02x in string", c);
        i += k;
    }
    size_t raw_len = i - start;
    char *o = execrec_arena_alloc(p->arena, raw_len + 1);
    if (!o)
        return oom(p);
    size_t olen;
    if (!escapes) {
        memcpy(o, s + start, raw_len);
        olen = raw_len;
    } else {
        olen = 0;
        size_t j = start;
        while (j < i) {
            unsigned char c = s[j];
            if (c != '\\') {
                o[olen++] = (char)c;
                j++;
                continue;
            }
            unsigned char e = s[j + 1];
            switch (e) {
            case '"':
                o[olen++] = '"';
                break;
            case '\\':
                o[olen++] = '\\';
                break;
            case '/':
                o[olen++] = '/';
                break;
            case 'b':
                o[olen++] = '\b';
                break;
            case 'f':
                o[olen++] = '\f';
                break;
            case 'n':
                o[olen++] = '\n';
                break;
            case 'r':
                o[olen++] = '\r';
                break;
            case 't':
                o[olen++] = '\t';
                break;
            case 'u': {
                long cp = hex4(p, j + 2);
                if (cp < 0 || j + 6 > i)
                    return fail(p, EXECREC_REJ_JSON_SYNTAX, j,
                                "bad \\u escape (need 4 hex digits)");
                size_t esc_len = 6;
                if (cp == 0)
                    return fail(p, EXECREC_REJ_JSON_NUL, j,
                                "\\u0000 in string (PostgreSQL jsonb cannot store NUL)");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(p, EXECREC_REJ_UTF8, j, "lone low surrogate \\u%04lx", cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    long lo = -1;
                    if (j + 12 <= i && s[j + 6] == '\\' && s[j + 7] == 'u')
                        lo = hex4(p, j + 8);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(p, EXECREC_REJ_UTF8, j,
                                    "high surrogate \\u%04lx not followed by a low surrogate", cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    esc_len = 12;
                }
                /* A \u escape is 6 bytes and yields at most 3; a pair is 12 -> 4. */
                olen += put_utf8(o + olen, (unsigned long)cp);
                j += esc_len;
                continue;
            }
            default:
                if (e >= 0x20 && e < 0x7f)
                    return fail(p, EXECREC_REJ_JSON_SYNTAX, j, "bad escape '\\%c'", e);
                return fail(p, EXECREC_REJ_JSON_SYNTAX, j, "bad escape (byte 0x%02x)", e);
            }
            j += 2;
        }
    }
    o[olen] = '\0';
    *out = o;
    *out_len = olen;
    p->pos = i + 1;
    return 0;
}

static int parse_number(parser_t *p, execrec_json_t *v) {
    const unsigned char *s = p->s;
    size_t start = p->pos, i = p->pos, n = p->len;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9') {
        if (i < n && (s[i] == 'I' || s[i] == 'N'))
            return fail(p, EXECREC_REJ_JSON_SYNTAX, start, "Infinity/NaN are not JSON numbers");
        p->pos = i;
        return unexpected(p, "a digit");
    }
    if (s[i] == '0') {
        i++;
        if (i < n && s[i] >= '0' && s[i] <= '9')
            return fail(p, EXECREC_REJ_JSON_SYNTAX, start, "leading zero in number");
    } else {
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            p->pos = i;
            return unexpected(p, "a digit after the decimal point");
        }
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9') {
            p->pos = i;
            return unexpected(p, "a digit in the exponent");
        }
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    char *t = execrec_arena_strndup(p->arena, (const char *)s + start, i - start);
    if (!t)
        return oom(p);
    v->str = t;
    v->len = i - start;
    p->pos = i;
    return 0;
}

static int parse_value(parser_t *p, execrec_json_t **out);

/* Duplicate-key detection for one object: linear over the first members, then an
 * open-addressing hash set of member pointers in the arena. */
#define DUP_LINEAR 16

typedef struct dupset_s {
    execrec_json_t **slot;
    size_t cap; /* power of two, 0 until built */
} dupset_t;

static uint64_t key_hash(const char *k, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Inserts m. @returns 1 if a member with the same key is present, 0 if inserted,
 * -1 on OOM. */
static int dupset_insert(dupset_t *ds, execrec_json_t *m) {
    size_t mask = ds->cap - 1;
    for (size_t h = key_hash(m->key, m->key_len) & mask;; h = (h + 1) & mask) {
        execrec_json_t *o = ds->slot[h];
        if (!o) {
            ds->slot[h] = m;
            return 0;
        }
        if (o->key_len == m->key_len && !memcmp(o->key, m->key, m->key_len))
            return 1;
    }
}

static int dupset_grow(parser_t *p, dupset_t *ds, execrec_json_t *first) {
    size_t cap = ds->cap ? ds->cap * 2 : 64;
    execrec_json_t **slot = execrec_arena_alloc(p->arena, cap * sizeof(*slot));
    if (!slot)
        return -1;
    memset(slot, 0, cap * sizeof(*slot));
    ds->slot = slot;
    ds->cap = cap;
    for (execrec_json_t *m = first; m; m = m->next)
        (void)dupset_insert(ds, m);
    return 0;
}

static int parse_object(parser_t *p, execrec_json_t *obj) {
    p->pos++;
    execrec_json_t *last = NULL;
    dupset_t ds = {NULL, 0};
    const char *outer_key = p->key;
    size_t outer_key_len = p->key_len;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return unexpected(p, "a string key");
        size_t key_off = p->pos;
        const char *key;
        size_t key_len;
        if (parse_string(p, &key, &key_len) < 0)
            return -1;
        /* Duplicate check before parsing the value: report the first repeat. */
        if (obj->count < DUP_LINEAR) {
            for (execrec_json_t *m = obj->child; m; m = m->next)
                if (m->key_len == key_len && !memcmp(m->key, key, key_len)) {
                    p->key = NULL;
                    return fail(p, EXECREC_REJ_DUP_FIELD, key_off, "duplicate key \"%.*s\"",
                                (int)(key_len > 60 ? 60 : key_len), key);
                }
        } else {
            if (ds.cap == 0 && dupset_grow(p, &ds, obj->child) < 0)
                return oom(p);
            size_t mask = ds.cap - 1;
            for (size_t h = key_hash(key, key_len) & mask;; h = (h + 1) & mask) {
                execrec_json_t *o = ds.slot[h];
                if (!o)
                    break;
                if (o->key_len == key_len && !memcmp(o->key, key, key_len)) {
                    p->key = NULL;
                    return fail(p, EXECREC_REJ_DUP_FIELD, key_off, "duplicate key \"%.*s\"",
                                (int)(key_len > 60 ? 60 : key_len), key);
                }
            }
        }
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return unexpected(p, "':' after a key");
        p->pos++;
        skip_ws(p);
        p->key = key;
        p->key_len = key_len;
        execrec_json_t *m;
        if (parse_value(p, &m) < 0)
            return -1;
        p->key = outer_key;
        p->key_len = outer_key_len;
        m->key = key;
        m->key_len = key_len;
        if (last)
            last->next = m;
        else
            obj->child = m;
        last = m;
        obj->count++;
        if (ds.cap) {
            if (obj->count * 2 > ds.cap) {
                if (dupset_grow(p, &ds, obj->child) < 0)
                    return oom(p);
            } else {
                (void)dupset_insert(&ds, m);
            }
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        return unexpected(p, "',' or '}' in object");
    }
}

static int parse_array(parser_t *p, execrec_json_t *arr) {
    p->pos++;
    execrec_json_t *last = NULL;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        execrec_json_t *e;
        if (parse_value(p, &e) < 0)
            return -1;
        if (last)
            last->next = e;
        else
            arr->child = e;
        last = e;
        arr->count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return unexpected(p, "',' or ']' in array");
    }
}

static int literal(parser_t *p, const char *word, size_t n) {
    if (p->len - p->pos >= n && !memcmp(p->s + p->pos, word, n)) {
        p->pos += n;
        return 0;
    }
    return -1;
}

static int parse_value(parser_t *p, execrec_json_t **out) {
    if (p->pos >= p->len)
        return unexpected(p, "a value");
    unsigned char c = p->s[p->pos];
    execrec_json_t *v;
    switch (c) {
    case '"':
        if (!(v = node_new(p, EXECREC_JSON_STRING)))
            return oom(p);
        if (parse_string(p, &v->str, &v->len) < 0)
            return -1;
        break;
    case '{':
    case '[':
        if (++p->depth > EXECREC_JSON_MAX_DEPTH)
            return fail(p, EXECREC_REJ_JSON_DEPTH, p->pos, "nesting deeper than %d levels",
                        EXECREC_JSON_MAX_DEPTH);
        if (!(v = node_new(p, c == '{' ? EXECREC_JSON_OBJECT : EXECREC_JSON_ARRAY)))
            return oom(p);
        if ((c == '{' ? parse_object(p, v) : parse_array(p, v)) < 0)
            return -1;
        p->depth--;
        break;
    case 't':
    case 'f':
    case 'n':
        if (!(v = node_new(p, c == 't'   ? EXECREC_JSON_TRUE
                              : c == 'f' ? EXECREC_JSON_FALSE
                                         : EXECREC_JSON_NULL)))
            return oom(p);
        if (literal(p, c == 't' ? "true" : c == 'f' ? "false" : "null", c == 'f' ? 5 : 4) < 0)
            return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos, "bad literal (expected %s)",
                        c == 't'   ? "true"
                        : c == 'f' ? "false"
                                   : "null");
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            if (!(v = node_new(p, EXECREC_JSON_NUMBER)))
                return oom(p);
            if (parse_number(p, v) < 0)
                return -1;
            break;
        }
        if (c == 'N' || c == 'I')
            return fail(p, EXECREC_REJ_JSON_SYNTAX, p->pos, "NaN/Infinity are not JSON values");
        return unexpected(p, "a value");
    }
    *out = v;
    return 0;
}

execrec_err_t execrec_json_parse(const char *json, size_t len, execrec_arena_t *arena,
                                 execrec_json_t **root, execrec_reject_t *rej) {
    assert((json || len == 0) && arena && root && rej);
    parser_t p;
    memset(&p, 0, sizeof(p));
    p.s = (const unsigned char *)json;
    p.len = len;
    p.arena = arena;
    p.rej = rej;
    *root = NULL;
    skip_ws(&p);
    if (p.pos >= p.len) {
        fail(&p, EXECREC_REJ_JSON_SYNTAX, p.pos, "empty document");
        return EXECREC_ERR_REJECT;
    }
    execrec_json_t *v;
    if (parse_value(&p, &v) < 0)
        return p.nomem ? EXECREC_ERR_NOMEM : EXECREC_ERR_REJECT;
    skip_ws(&p);
    if (p.pos < p.len) {
        unexpected(&p, "end of input after the value");
        return EXECREC_ERR_REJECT;
    }
    *root = v;
    return EXECREC_OK;
}

const execrec_json_t *execrec_json_getn(const execrec_json_t *obj, const char *key,
                                        size_t key_len) {
    assert(key || key_len == 0);
    if (!obj || obj->type != EXECREC_JSON_OBJECT)
        return NULL;
    for (const execrec_json_t *m = obj->child; m; m = m->next)
        if (m->key_len == key_len && !memcmp(m->key, key, key_len))
            return m;
    return NULL;
}

const execrec_json_t *execrec_json_get(const execrec_json_t *obj, const char *key) {
    return execrec_json_getn(obj, key, strlen(key));
}

const char *execrec_json_type_name(execrec_json_type_t type) {
    switch (type) {
    case EXECREC_JSON_NULL:
        return "null";
    case EXECREC_JSON_FALSE:
    case EXECREC_JSON_TRUE:
        return "boolean";
    case EXECREC_JSON_NUMBER:
        return "number";
    case EXECREC_JSON_STRING:
        return "string";
    case EXECREC_JSON_ARRAY:
        return "array";
    case EXECREC_JSON_OBJECT:
        return "object";
    }
    return "unknown";
}

const char *execrec_json_value_name(const execrec_json_t *v) {
    if (!v)
        return "missing";
    if (v->type == EXECREC_JSON_FALSE)
        return "false";
    if (v->type == EXECREC_JSON_TRUE)
        return "true";
    return execrec_json_type_name(v->type);
}

static const char hexdig[] = "0123456789abcdef";

int execrec_json_append_string(execrec_buf_t *buf, const char *str, size_t len) {
    assert(buf && (str || len == 0));
    const unsigned char *s = (const unsigned char *)str;
    /* Reserve for the common case (nothing to escape) up front. */
    if (execrec_buf_reserve(buf, len + 2) < 0)
        return -1;
    execrec_buf_putc(buf, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        execrec_buf_append(buf, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hexdig[c >> 4];
            esc[5] = hexdig[c & 15];
            n = 6;
        }
        execrec_buf_append(buf, esc, n);
    }
    execrec_buf_append(buf, s + run, len - run);
    execrec_buf_putc(buf, '"');
    return buf->oom ? -1 : 0;
}

int execrec_json_append_bytes(execrec_buf_t *buf, const void *data, size_t len) {
    assert(buf && (data || len == 0));
    const unsigned char *s = data;
    execrec_buf_putc(buf, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            execrec_buf_putc(buf, (char)c);
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            execrec_buf_append(buf, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
            execrec_buf_append(buf, esc, 6);
        }
    }
    execrec_buf_putc(buf, '"');
    return buf->oom ? -1 : 0;
}
