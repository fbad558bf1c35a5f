/* The one reject formatter (reject.h). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "execrec/reject.h"
#include "base/utf8.h"

execrec_err_t execrec_reject(execrec_reject_t *rej, const char *code, const char *fmt, ...) {
    assert(rej && code && fmt);
    va_list ap;
    rej->code = code;
    va_start(ap, fmt);
    vsnprintf(rej->message, sizeof(rej->message), fmt, ap);
    va_end(ap);
    /* The message goes to a text column, and PostgreSQL refuses the whole COPY for
     * one invalid byte: a quote cut inside a character (EXECREC_QUOTE_ARGS cuts at a
     * byte count), or a message cut to the buffer, would be one. Such bytes become
     * '?'. */
    unsigned char *m = (unsigned char *)rej->message;
    for (size_t i = 0, n = strlen(rej->message); i < n;) {
        size_t seq = execrec_utf8_seq(m + i, n - i);
        if (seq == 0)
            m[i++] = '?';
        else
            i += seq;
    }
    return EXECREC_ERR_REJECT;
}
