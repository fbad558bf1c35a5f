/* One error enum for the whole library, plus its human-readable names.
 * Detail goes in a caller-supplied errstr buffer (librdkafka's convention). */
#ifndef EXECREC_ERR_H
#define EXECREC_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define EXECREC_MUSTCHECK __attribute__((warn_unused_result))
#define EXECREC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EXECREC_MUSTCHECK
#define EXECREC_PRINTF(f, a)
#endif

typedef enum execrec_err_e {
    EXECREC_OK = 0,
    EXECREC_ERR_NOMEM,    /* allocation failed */
    EXECREC_ERR_INVALID,  /* bad argument, bad configuration or bad input */
    EXECREC_ERR_REJECT,   /* a message was rejected: see the reject code */
    EXECREC_ERR_IO,       /* file or socket error */
    EXECREC_ERR_PG,       /* PostgreSQL error (connection lost, statement failed) */
    EXECREC_ERR_KAFKA,    /* librdkafka error */
    EXECREC_ERR_CONFLICT, /* compare-and-set on stored offsets failed: fenced */
    EXECREC_ERR_MIGRATE,  /* migrations refused (edited file, unknown state) */
    EXECREC_ERR_NOTFOUND, /* a schema id, file or partition does not exist */
    EXECREC_ERR_RANGE,    /* a requested range is not (or no longer) available */
    EXECREC_ERR__CNT
} execrec_err_t;

/** Formats the human detail of an error into the caller's errstr (errstr_size
 *  bytes; nothing when errstr is NULL or errstr_size is 0), truncating. */
void execrec_errstr(char *errstr, size_t errstr_size, const char *fmt, ...) EXECREC_PRINTF(3, 4);

/** @returns a static name for err ("nomem", "pg", ...). Never NULL. */
const char *execrec_err_name(execrec_err_t err);

#endif
