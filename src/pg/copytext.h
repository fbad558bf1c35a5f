/* PostgreSQL's COPY text format, as the batch writer builds it: pure functions that
 * append one field's encoding to a buffer. Fields are separated by a tab and rows
 * end with a newline (the caller writes those); a backslash, tab, newline or
 * carriage return inside a field is escaped; \N is NULL. Nothing here talks to
 * PostgreSQL. */
#ifndef EXECREC_COPYTEXT_H
#define EXECREC_COPYTEXT_H

#include <stddef.h>
#include "base/buf.h"

/** Appends the n bytes of s as a text field: backslash becomes \\, tab \t,
 *  newline \n, carriage return \r; every other byte (NUL and invalid UTF-8
 *  included: check execrec_copytext_storable first) is copied as is. */
void execrec_copytext_field(execrec_buf_t *b, const char *s, size_t n);

/** Appends NULL (\N). */
void execrec_copytext_null(execrec_buf_t *b);

/** Appends the n bytes at p as lowercase hex digits, two per byte, nothing else:
 *  for a text column that SQL turns back into bytes with decode(col, 'hex'). */
void execrec_copytext_hex(execrec_buf_t *b, const void *p, size_t n);

/** Appends the n bytes at p as a bytea field in hex form (\\x then the hex digits,
 *  the COPY escape of bytea's "\x..." input), which a text column stores as the
 *  readable "\x<hex>". */
void execrec_copytext_bytea(execrec_buf_t *b, const void *p, size_t n);

/** @returns 1 when the n bytes at p are valid UTF-8 without NUL, i.e. storable in
 *  a PostgreSQL text column; else 0. */
int execrec_copytext_storable(const void *p, size_t n);

#endif
