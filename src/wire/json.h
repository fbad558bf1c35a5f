/* A strict RFC 8259 JSON parser into an arena-allocated DOM, and a JSON string
 * writer.
 *
 * Why our own parser: no JSON library in Debian 12 keeps a number's exact text
 * (jansson converts numbers to double, json-c clamps big integers), and exact
 * decimals are the product's core promise. Here every number keeps its raw text, so
 * "123456789.12345678" reaches PostgreSQL NUMERIC digit for digit.
 *
 * Strictness, beyond the RFC's grammar, follows what PostgreSQL jsonb can store and
 * what is unambiguous in a financial message:
 *   - the whole input must be valid UTF-8 (no overlongs, no surrogates, nothing
 *     above U+10FFFF), else EXECREC_REJ_UTF8 ("invalid_utf8"); a BOM is a syntax error;
 *   - "\u0000" in a string (or key) is EXECREC_REJ_JSON_NUL: jsonb cannot store it;
 *     an escaped lone surrogate ("\ud800") is invalid_utf8;
 *   - raw bytes below 0x20 inside a string are json_syntax (the RFC forbids them);
 *   - nesting deeper than EXECREC_JSON_MAX_DEPTH arrays/objects is json_too_deep;
 *   - a key repeated in one object is duplicate_field (jsonb would silently keep the
 *     last one, so the stored raw payload and the record could disagree);
 *   - NaN, Infinity, leading zeros, "+1", ".5", "1." are json_syntax.
 * The first error in input order wins; its message names the byte offset and, where
 * there is one, the key of the member being parsed.
 *
 * Cost: one pass over the input (strings are scanned, then copied once), no malloc
 * per node (everything comes from the caller's arena), O(1) amortised duplicate-key
 * check (linear for small objects, a hash set past 16 members so that a hostile
 * object with 100k keys stays linear). */
#ifndef EXECREC_JSON_H
#define EXECREC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/err.h"
#include "execrec/arena.h"
#include "base/buf.h"
#include "execrec/reject.h"

#define EXECREC_JSON_MAX_DEPTH 64 /* arrays/objects nested deeper are rejected */

typedef enum execrec_json_type_e {
    EXECREC_JSON_NULL = 0,
    EXECREC_JSON_FALSE,
    EXECREC_JSON_TRUE,
    EXECREC_JSON_NUMBER,
    EXECREC_JSON_STRING,
    EXECREC_JSON_ARRAY,
    EXECREC_JSON_OBJECT
} execrec_json_type_t;

/** One DOM node. The struct is public so that the normaliser walks it without
 *  calls; treat it as read-only. All pointers point into the arena. */
typedef struct execrec_json_s {
    execrec_json_type_t type;
    /* NUMBER: the number's raw text exactly as written ("1e-8", "-0.10");
     * STRING: the decoded UTF-8 bytes (no NUL inside). Both NUL-terminated.
     * NULL for the other types. */
    const char *str;
    size_t len;                   /* bytes in str */
    struct execrec_json_s *child; /* ARRAY/OBJECT: first element or member, in order */
    struct execrec_json_s *next;  /* next sibling in the parent */
    const char *key;              /* member of an object: its decoded key; else NULL */
    size_t key_len;
    size_t count;  /* ARRAY/OBJECT: number of elements or members */
    size_t offset; /* byte offset of the value's first byte in the input */
} execrec_json_t;

/** Parses exactly len bytes of json (need not be NUL-terminated; any bytes) as one
 *  JSON value surrounded by optional whitespace.
 *  @returns EXECREC_OK and *root (allocated in arena, valid until its reset);
 *           EXECREC_ERR_REJECT and *rej (code one of json_syntax, invalid_utf8,
 *           nul_in_string, json_too_deep, duplicate_field; message with offset);
 *           EXECREC_ERR_NOMEM when the arena could not allocate. */
execrec_err_t execrec_json_parse(const char *json, size_t len, execrec_arena_t *arena,
                                 execrec_json_t **root, execrec_reject_t *rej) EXECREC_MUSTCHECK;

/** @returns the member of obj whose key is key (NUL-terminated), or NULL if obj is
 *  NULL, not an object, or has no such member. Linear scan: objects in messages have
 *  a few dozen members at most, where a scan beats hashing. */
const execrec_json_t *execrec_json_get(const execrec_json_t *obj, const char *key);
/** As execrec_json_get with a key of key_len bytes. */
const execrec_json_t *execrec_json_getn(const execrec_json_t *obj, const char *key, size_t key_len);

/** @returns "null", "boolean", "number", "string", "array" or "object". */
const char *execrec_json_type_name(execrec_json_type_t type);
/** Names what v holds, for error messages that show the value: "missing" when v is
 *  NULL, "false" or "true" for a boolean, else execrec_json_type_name(v->type). */
const char *execrec_json_value_name(const execrec_json_t *v);

/** Appends s[0..len) to buf as a quoted JSON string: '"' and '\\' escaped, control
 *  bytes as \b \f \n \r \t or \u00XX (so NUL becomes \u0000, which our parser then
 *  rejects as nul_in_string: the writer does not hide bad data). Bytes >= 0x80 are
 *  copied unchanged: validating UTF-8 is the parser's job, so invalid text renders
 *  to JSON that is rejected with invalid_utf8 rather than silently altered.
 *  @returns 0, or -1 on OOM (buf->oom is set). */
int execrec_json_append_string(execrec_buf_t *buf, const char *s, size_t len);

/** Appends bytes as a quoted JSON string of code points U+0000..U+00FF, one per byte
 *  (bytes >= 0x80 and control bytes as \u00XX): Avro's JSON encoding of bytes/fixed.
 *  @returns 0, or -1 on OOM. */
int execrec_json_append_bytes(execrec_buf_t *buf, const void *p, size_t len);

#endif
