/* Growable NUL-terminated byte buffer. Doubling growth; an allocation failure is
 * sticky (buf->oom) so callers may check once after a run of appends. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/buf.h"

int execrec_buf_reserve(execrec_buf_t *buf, size_t extra) {
    if (buf->oom)
        return -1;
    if (buf->len + extra + 1 <= buf->cap)
        return 0;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            buf->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(buf->data, cap);
    if (!p) {
        buf->oom = 1;
        return -1;
    }
    buf->data = p;
    buf->cap = cap;
    return 0;
}

int execrec_buf_append(execrec_buf_t *buf, const void *p, size_t n) {
    if (execrec_buf_reserve(buf, n) < 0)
        return -1;
    if (n)
        memcpy(buf->data + buf->len, p, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

int execrec_buf_puts(execrec_buf_t *buf, const char *s) {
    return execrec_buf_append(buf, s, strlen(s));
}

int execrec_buf_putc(execrec_buf_t *buf, char c) {
    return execrec_buf_append(buf, &c, 1);
}

int execrec_buf_printf(execrec_buf_t *buf, const char *fmt, ...) {
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return execrec_buf_append(buf, small, (size_t)n);
    if (execrec_buf_reserve(buf, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}

void execrec_buf_reset(execrec_buf_t *buf) {
    buf->len = 0;
    if (buf->data)
        buf->data[0] = '\0';
}

void execrec_buf_free(execrec_buf_t *buf) {
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
    buf->oom = 0;
}

char *execrec_buf_steal(execrec_buf_t *buf) {
    char *p = buf->data;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    buf->oom = 0;
    return p;
}
