/* Logging: one line per event to stderr, with a threshold, in one of two formats:
 * text, "<time> <level> <message>", for people; json, one object per line with the
 * time, level, message and the event's structured fields (topic, partition,
 * offset, rows, duration_ms, ...), for log shippers. librdkafka's own log lines
 * are forwarded here from the main loop. */
#ifndef EXECREC_LOG_H
#define EXECREC_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include "execrec/err.h"

typedef enum execrec_log_level_e {
    EXECREC_LOG_ERROR = 3,
    EXECREC_LOG_WARN = 4,
    EXECREC_LOG_INFO = 6,
    EXECREC_LOG_DEBUG = 7
} execrec_log_level_t;

typedef enum execrec_log_format_e { EXECREC_LOG_TEXT, EXECREC_LOG_JSON } execrec_log_format_t;

/** One structured field of an event: a string (str != NULL) or an integer (num).
 *  Text lines leave them out (the message names them already); JSON lines carry
 *  them as members after "message". Keys are names from code, never escaped. */
typedef struct execrec_log_field_s {
    const char *key; /* NULL ends a list */
    const char *str;
    int64_t num;
} execrec_log_field_t;

/* A field list for execrec_log_kv, e.g.
 *   EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC(t), EXECREC_LF_PARTITION(p), EXECREC_LF_OFFSET(o)) */
#define EXECREC_LOG_FIELDS(...) ((const execrec_log_field_t[]){__VA_ARGS__, {NULL, NULL, 0}})
#define EXECREC_LF_STR(k, v)                                                                       \
    { (k), (v) ? (v) : "", 0 }
#define EXECREC_LF_INT(k, v)                                                                       \
    { (k), NULL, (int64_t)(v) }
#define EXECREC_LF_TOPIC(v) EXECREC_LF_STR("topic", v)
#define EXECREC_LF_PARTITION(v) EXECREC_LF_INT("partition", v)
#define EXECREC_LF_OFFSET(v) EXECREC_LF_INT("offset", v)
#define EXECREC_LF_ROWS(v) EXECREC_LF_INT("rows", v)
#define EXECREC_LF_DURATION_MS(v) EXECREC_LF_INT("duration_ms", v)

/** Sets the threshold (default INFO). */
void execrec_log_set_level(execrec_log_level_t level);
execrec_log_level_t execrec_log_get_level(void);
/** Parses "error", "warn", "info", "debug". @returns 0, or -1 if unknown. */
int execrec_log_parse_level(const char *s, execrec_log_level_t *level);
/** Sets the format of the lines (default text). */
void execrec_log_set_format(execrec_log_format_t format);
/** Parses "text", "json". @returns 0, or -1 if unknown. */
int execrec_log_parse_format(const char *s, execrec_log_format_t *format);

void execrec_log(execrec_log_level_t level, const char *fmt, ...) EXECREC_PRINTF(2, 3);
/** execrec_log with structured fields (NULL: none). */
void execrec_log_kv(execrec_log_level_t level, const execrec_log_field_t *fields, const char *fmt,
                    ...) EXECREC_PRINTF(3, 4);

/** Formats one line (with its '\n') into out, as execrec_log writes it: the pure part
 *  of the logger, exposed for tests. Line breaks and tabs in msg become one space;
 *  in JSON every string is escaped (quote, backslash, control bytes as \u00XX) and
 *  bytes that are not valid UTF-8 become U+FFFD, so a line is always a valid
 *  object. A message too long for out is cut, the line stays well formed.
 *  size must be at least 256. @returns the length of the line. */
size_t execrec_log_format_line(char *out, size_t size, execrec_log_format_t format,
                               execrec_log_level_t level, const struct timeval *tv,
                               const execrec_log_field_t *fields, const char *msg);

#define execrec_log_error(...) execrec_log(EXECREC_LOG_ERROR, __VA_ARGS__)
#define execrec_log_warn(...) execrec_log(EXECREC_LOG_WARN, __VA_ARGS__)
#define execrec_log_info(...) execrec_log(EXECREC_LOG_INFO, __VA_ARGS__)
#define execrec_log_debug(...) execrec_log(EXECREC_LOG_DEBUG, __VA_ARGS__)

#endif
