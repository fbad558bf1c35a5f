/* A growable byte buffer, always NUL-terminated, for building SQL, COPY data and
 * JSON text. The struct is public on purpose: hot loops append to it inline. */
#ifndef EXECREC_BUF_H
#define EXECREC_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/err.h"

typedef struct execrec_buf_s {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
    int oom;    /* set once an allocation failed; further appends are no-ops */
} execrec_buf_t;

#define EXECREC_BUF_INIT                                                                           \
    { NULL, 0, 0, 0 }

/** Ensures room for extra more bytes (plus NUL). @returns 0, or -1 on OOM, which
 *  includes a len + extra that does not fit in a size_t (buf->oom is then set). */
int execrec_buf_reserve(execrec_buf_t *buf, size_t extra);
/** Appends n bytes. @returns 0, or -1 on OOM (and sets buf->oom). */
int execrec_buf_append(execrec_buf_t *buf, const void *p, size_t n);
int execrec_buf_puts(execrec_buf_t *buf, const char *s);
int execrec_buf_putc(execrec_buf_t *buf, char c);
int execrec_buf_printf(execrec_buf_t *buf, const char *fmt, ...) EXECREC_PRINTF(2, 3);
/** Empties the buffer but keeps its memory. */
void execrec_buf_reset(execrec_buf_t *buf);
/** Frees the memory; the buffer is EXECREC_BUF_INIT again. */
void execrec_buf_free(execrec_buf_t *buf);
/** Appends the whole content of the file at path to buf; max > 0 refuses a file
 *  larger than max bytes. On success buf->data is never NULL (an empty file gives "").
 *  @returns EXECREC_OK; EXECREC_ERR_IO ("<path>: <strerror>" when it cannot be
 *           opened, "<path>: read error"); EXECREC_ERR_INVALID ("<path>: larger than
 *           <max> bytes"); EXECREC_ERR_NOMEM ("<path>: out of memory", buf->oom set).
 *           On IO/INVALID errors buf is as it was. */
execrec_err_t execrec_buf_read_file(execrec_buf_t *buf, const char *path, size_t max, char *errstr,
                                    size_t errstr_size) EXECREC_MUSTCHECK;
/** Hands the data to the caller (who frees it) and resets the buffer. NULL if empty. */
char *execrec_buf_steal(execrec_buf_t *buf);

/** @returns the value of the hex digit c (0-9, a-f, A-F), or -1 for any other byte.
 *  (The JSON parser's \u escapes and `execrec decode`'s hex lines share it.) */
int execrec_buf_hexdigit(int c);

#endif
