/* Rejects: why a message was not turned into a record. A stable reason code (stored
 * in ingest_rejects.reason, so never renamed) and a human message, filled by the one
 * formatter execrec_reject() that every decoder and the normaliser use. */
#ifndef EXECREC_REJECT_H
#define EXECREC_REJECT_H

#include <stddef.h>
#include "execrec/err.h"

/** Stable reject reason codes, stored in ingest_rejects.reason. */
#define EXECREC_REJ_EMPTY "empty_message"
#define EXECREC_REJ_TOO_LARGE "message_too_large"
#define EXECREC_REJ_UTF8 "invalid_utf8"
#define EXECREC_REJ_JSON_SYNTAX "json_syntax"
#define EXECREC_REJ_JSON_NOT_OBJECT "json_not_object"
#define EXECREC_REJ_JSON_NUL "nul_in_string"
#define EXECREC_REJ_JSON_DEPTH "json_too_deep"
#define EXECREC_REJ_DUP_FIELD "duplicate_field"
#define EXECREC_REJ_MISSING "missing_field"
#define EXECREC_REJ_WRONG_TYPE "wrong_type"
#define EXECREC_REJ_BAD_DECIMAL "bad_decimal"
#define EXECREC_REJ_DECIMAL_RANGE "decimal_out_of_range"
#define EXECREC_REJ_BAD_TIME "bad_time"
#define EXECREC_REJ_TIME_RANGE "time_out_of_range"
#define EXECREC_REJ_BAD_ENUM "bad_enum"
#define EXECREC_REJ_QUANTITY "non_positive_quantity" /* order/trade quantity <= 0 */
#define EXECREC_REJ_TOO_LONG "field_too_long"
#define EXECREC_REJ_AVRO_TRUNCATED "avro_truncated"
#define EXECREC_REJ_AVRO_BAD "avro_bad_data"
#define EXECREC_REJ_AVRO_SCHEMA "avro_unknown_schema"
#define EXECREC_REJ_FORMAT "unknown_format"
#define EXECREC_REJ_PG "pg_refused"

/** Why a message was not turned into a record. code is one of EXECREC_REJ_*
 *  (static storage); message is human detail naming the field where one applies. */
typedef struct execrec_reject_s {
    const char *code;
    char message[256];
} execrec_reject_t;

/** Fills *rej: code (one of EXECREC_REJ_*, static storage; must not be NULL) and the
 *  printf-formatted message, truncated to fit (always NUL-terminated), in which
 *  every byte that is not part of a valid UTF-8 character (a quote or the cut
 *  ending inside one) is replaced by '?': the message is always storable text.
 *  @returns EXECREC_ERR_REJECT, so that a decoder can `return execrec_reject(...)`. */
execrec_err_t execrec_reject(execrec_reject_t *rej, const char *code, const char *fmt, ...)
    EXECREC_PRINTF(3, 4);

/** Format and arguments quoting an input excerpt in a reject message: at most max
 *  bytes of s[0..len), followed by "..." when cut. Use as
 *  execrec_reject(rej, code, "what: " EXECREC_QUOTE_FMT,
 *                 EXECREC_QUOTE_ARGS(s, len, 40)).
 *  The arguments are evaluated more than once: pass plain variables. */
#define EXECREC_QUOTE_FMT "\"%.*s%s\""
#define EXECREC_QUOTE_ARGS(s, len, max)                                                            \
    (int)((len) > (max) ? (max) : (len)), (s), (len) > (max) ? "..." : ""

#endif
