/* Names of the error codes. */
#include "execrec/err.h"

const char *execrec_err_name(execrec_err_t err) {
    static const char *names[EXECREC_ERR__CNT] = {
        "ok", "nomem", "invalid", "reject", "io", "pg",
        "kafka", "conflict", "migrate", "notfound", "range",
    };
    if ((int)err < 0 || err >= EXECREC_ERR__CNT)
        return "unknown";
    return names[err];
}
