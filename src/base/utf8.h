/* UTF-8 validation, as strict as PostgreSQL's text and jsonb: no overlong forms, no
 * UTF-16 surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Shared by the JSON
 * parser (which rejects such input as invalid_utf8) and the writer (which decides
 * whether a rejected payload can also be stored as text). */
#ifndef EXECREC_UTF8_H
#define EXECREC_UTF8_H

#include <stddef.h>

/** @returns the length (1-4) of the valid UTF-8 sequence starting at s, of which n
 *  bytes (n >= 1) are available, or 0 when s does not start a valid sequence
 *  (continuation byte, C0/C1, F5..FF, overlong, surrogate, above U+10FFFF, cut off). */
size_t execrec_utf8_seq(const unsigned char *s, size_t n);

/** Checks that s[0..len) is valid UTF-8 (NUL bytes are valid UTF-8 here).
 *  @returns 1 if valid; 0 and *bad_offset (if not NULL) = offset of the first bad
 *  byte otherwise. */
int execrec_utf8_valid(const char *s, size_t len, size_t *bad_offset);

#endif
