/* Logging to stderr with an ISO time stamp; one write per line so that lines from
 * several processes sharing a terminal do not interleave mid-line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "base/log.h"

static execrec_log_level_t log_level = EXECREC_LOG_INFO;

void execrec_log_set_level(execrec_log_level_t level) {
    log_level = level;
}

execrec_log_level_t execrec_log_get_level(void) {
    return log_level;
}

int execrec_log_parse_level(const char *s, execrec_log_level_t *level) {
    if (!strcasecmp(s, "error"))
        *level = EXECREC_LOG_ERROR;
    else if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
        *level = EXECREC_LOG_WARN;
    else if (!strcasecmp(s, "info"))
        *level = EXECREC_LOG_INFO;
    else if (!strcasecmp(s, "debug"))
        *level = EXECREC_LOG_DEBUG;
    else
        return -1;
    return 0;
}

void execrec_log(execrec_log_level_t level, const char *fmt, ...) {
    if (level > log_level)
        return;
    static const char *names[8] = {"", "", "", "ERROR", "WARN", "", "INFO", "DEBUG"};
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), names[level & 7]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* One event, one line: libpq's messages span lines ("...\n\tIs the server
     * running..."), so runs of line breaks and tabs become one space. */
    size_t out = (size_t)n;
    for (size_t i = (size_t)n; i < len; i++) {
        char c = line[i];
        if (c == '\n' || c == '\r' || c == '\t') {
            if (out > (size_t)n && line[out - 1] != ' ')
                line[out++] = ' ';
        } else {
            line[out++] = c;
        }
    }
    while (out > (size_t)n && line[out - 1] == ' ')
        out--;
    len = out;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
