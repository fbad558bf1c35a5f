/* Growable NUL-terminated byte buffer. Doubling growth; an allocation failure is
 * sticky (buf->oom) so callers may check once after a run of appends. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"

int execrec_buf_reserve(execrec_buf_t *buf, size_t extra) {
    assert(buf && buf->len <= buf->cap);
    if (buf->oom)
        return -1;
    /* len + extra + 1 would wrap for a huge extra and then seem to fit. */
    if (extra > SIZE_MAX - 1 - buf->len) {
        buf->oom = 1;
        return -1;
    }
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
    assert(p || n == 0);
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

execrec_err_t execrec_buf_read_file(execrec_buf_t *buf, const char *path, size_t max, char *errstr,
                                    size_t errstr_size) {
    assert(buf && path);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        execrec_errstr(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return EXECREC_ERR_IO;
    }
    size_t start = buf->len;
    execrec_err_t err = EXECREC_OK;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (max && buf->len - start + n > max) {
            execrec_errstr(errstr, errstr_size, "%s: larger than %zu bytes", path, max);
            err = EXECREC_ERR_INVALID;
            break;
        }
        if (execrec_buf_append(buf, chunk, n) < 0)
            break;
    }
    if (!err && ferror(fp)) {
        execrec_errstr(errstr, errstr_size, "%s: read error", path);
        err = EXECREC_ERR_IO;
    }
    fclose(fp);
    /* An empty file still yields a NUL-terminated buffer. */
    if (!err)
        execrec_buf_append(buf, "", 0); /* a failure shows in buf->oom */
    if (!err && buf->oom) {
        execrec_errstr(errstr, errstr_size, "%s: out of memory", path);
        err = EXECREC_ERR_NOMEM;
    }
    if (err && !buf->oom) {
        buf->len = start;
        if (buf->data)
            buf->data[start] = '\0';
    }
    return err;
}

int execrec_buf_hexdigit(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
