/* The one reject formatter (reject.h). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include "execrec/reject.h"

execrec_err_t execrec_reject(execrec_reject_t *rej, const char *code, const char *fmt, ...) {
    assert(rej && code && fmt);
    va_list ap;
    rej->code = code;
    va_start(ap, fmt);
    vsnprintf(rej->message, sizeof(rej->message), fmt, ap);
    va_end(ap);
    return EXECREC_ERR_REJECT;
}
