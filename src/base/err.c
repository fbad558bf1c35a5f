/* Names of the error codes, and the errstr formatter. */
#include <stdarg.h>
#include <stdio.h>
#include "execrec/err.h"

void execrec_errstr(char *errstr, size_t errstr_size, const char *fmt, ...) {
    if (!errstr || !errstr_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

const char *execrec_err_name(execrec_err_t err) {
    static const char *names[EXECREC_ERR__CNT] = {
        "ok",    "nomem",    "invalid", "reject",   "io",    "pg",
        "kafka", "conflict", "migrate", "notfound", "range",
    };
    if ((int)err < 0 || err >= EXECREC_ERR__CNT)
        return "unknown";
    return names[err];
}
