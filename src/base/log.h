/* Logging: one line per event to stderr, "<time> <level> <message>", with a
 * threshold. librdkafka's own log lines are forwarded here from the main loop. */
#ifndef EXECREC_LOG_H
#define EXECREC_LOG_H

#include "execrec/err.h"

typedef enum execrec_log_level_e {
    EXECREC_LOG_ERROR = 3,
    EXECREC_LOG_WARN = 4,
    EXECREC_LOG_INFO = 6,
    EXECREC_LOG_DEBUG = 7
} execrec_log_level_t;

/** Sets the threshold (default INFO). */
void execrec_log_set_level(execrec_log_level_t level);
execrec_log_level_t execrec_log_get_level(void);
/** Parses "error", "warn", "info", "debug". @returns 0, or -1 if unknown. */
int execrec_log_parse_level(const char *s, execrec_log_level_t *level);
void execrec_log(execrec_log_level_t level, const char *fmt, ...) EXECREC_PRINTF(2, 3);

#define execrec_log_error(...) execrec_log(EXECREC_LOG_ERROR, __VA_ARGS__)
#define execrec_log_warn(...) execrec_log(EXECREC_LOG_WARN, __VA_ARGS__)
#define execrec_log_info(...) execrec_log(EXECREC_LOG_INFO, __VA_ARGS__)
#define execrec_log_debug(...) execrec_log(EXECREC_LOG_DEBUG, __VA_ARGS__)

#endif
