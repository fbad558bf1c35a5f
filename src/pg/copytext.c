/* COPY text format encoding, see copytext.h. copytext_field is the writer's hottest
 * loop (every payload passes through it), so clean runs of 8 bytes are skipped a
 * word at a time. */
#include <stdint.h>
#include <string.h>
#include "pg/copytext.h"
#include "base/utf8.h"

/* Nonzero when one of the 8 bytes of x equals c (the classic "has zero byte" test on
 * x XOR c in every byte). */
static inline uint64_t has_byte(uint64_t x, unsigned char c) {
    const uint64_t ones = 0x0101010101010101u;
    uint64_t v = x ^ (ones * c);
    return (v - ones) & ~v & (ones << 7);
}

void execrec_copytext_field(execrec_buf_t *b, const char *s, size_t n) {
    if (execrec_buf_reserve(b, n + 16) < 0)
        return;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (has_byte(x, '\\') | has_byte(x, '\t') | has_byte(x, '\n') | has_byte(x, '\r'))
                break;
            i += 8;
        }
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c != '\\' && c != '\t' && c != '\n' && c != '\r')
            continue;
        execrec_buf_append(b, s + start, i - start);
        execrec_buf_puts(b, c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r");
        start = i + 1;
    }
    execrec_buf_append(b, s + start, n - start);
}

void execrec_copytext_null(execrec_buf_t *b) {
    execrec_buf_puts(b, "\\N");
}

void execrec_copytext_hex(execrec_buf_t *b, const void *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = p;
    if (execrec_buf_reserve(b, 2 * n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = hex[s[i] >> 4];
        b->data[b->len++] = hex[s[i] & 15];
    }
    b->data[b->len] = '\0';
}

void execrec_copytext_bytea(execrec_buf_t *b, const void *p, size_t n) {
    execrec_buf_puts(b, "\\\\x");
    execrec_copytext_hex(b, p, n);
}

int execrec_copytext_storable(const void *p, size_t n) {
    /* The one definition of valid UTF-8 is the JSON parser's. */
    return memchr(p, 0, n) == NULL && execrec_utf8_valid(p, n, NULL);
}
