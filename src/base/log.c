/* Logging to stderr, as text or JSON lines (see log.h); one write per line so that
 * lines from several processes or threads sharing stderr do not interleave. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "base/log.h"
#include "base/utf8.h"

static execrec_log_level_t log_level = EXECREC_LOG_INFO;
static execrec_log_format_t log_format = EXECREC_LOG_TEXT;

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

void execrec_log_set_format(execrec_log_format_t format) {
    log_format = format;
}

int execrec_log_parse_format(const char *s, execrec_log_format_t *format) {
    if (!strcasecmp(s, "text"))
        *format = EXECREC_LOG_TEXT;
    else if (!strcasecmp(s, "json"))
        *format = EXECREC_LOG_JSON;
    else
        return -1;
    return 0;
}

/* A bounded writer into the caller's line: what does not fit is dropped whole
 * (never half an escape), with room kept for the line's closing bytes. */
typedef struct line_s {
    char *p;
    size_t len, lim;
} line_t;

static void put(line_t *l, const char *s, size_t n) {
    if (l->len + n > l->lim)
        return;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void puts_(line_t *l, const char *s) {
    put(l, s, strlen(s));
}

/* Appends s as the body of a JSON string: escapes, U+FFFD for invalid UTF-8. */
static void put_json_str(line_t *l, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(l, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(l, esc, 6);
            i++;
        } else if (c < 0x80) {
            put(l, (const char *)&u[i], 1);
            i++;
        } else {
            size_t k = execrec_utf8_seq(u + i, n - i);
            if (k) {
                put(l, (const char *)&u[i], k);
                i += k;
            } else {
                put(l, "\xef\xbf\xbd", 3);
                i++;
            }
        }
        if (l->len + 6 > l->lim) /* full: stop rather than cut a sequence */
            break;
    }
}

/* Copies msg with each run of line breaks and tabs as one space and without
 * trailing spaces (libpq's messages span lines: "...\n\tIs the server running..."). */
static void one_line(char *out, size_t size, const char *msg) {
    size_t o = 0;
    for (const char *s = msg; *s && o + 1 < size; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t') {
            if (o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
        } else {
            out[o++] = *s;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

size_t execrec_log_format_line(char *out, size_t size, execrec_log_format_t format,
                               execrec_log_level_t level, const struct timeval *tv,
                               const execrec_log_field_t *fields, const char *msg) {
    static const char *upper[8] = {"", "", "", "ERROR", "WARN", "", "INFO", "DEBUG"};
    static const char *lower[8] = {"", "", "", "error", "warn", "", "info", "debug"};
    char stamp[40], body[2048];
    struct tm tm;
    time_t sec = tv->tv_sec;
    gmtime_r(&sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(tv->tv_usec / 1000));
    one_line(body, sizeof(body), msg ? msg : "");
    /* Room kept for the closing '"}' (JSON) and the '\n'. */
    line_t l = {out, 0, size - 3};
    if (format == EXECREC_LOG_TEXT) {
        char head[64];
        snprintf(head, sizeof(head), "%s %-5s ", stamp, upper[level & 7]);
        puts_(&l, head);
        put(&l, body, strlen(body));
        while (l.len > 0 && out[l.len - 1] == ' ')
            l.len--;
        out[l.len++] = '\n';
        out[l.len] = '\0';
        return l.len;
    }
    puts_(&l, "{\"time\":\"");
    puts_(&l, stamp);
    puts_(&l, "\",\"level\":\"");
    puts_(&l, lower[level & 7]);
    puts_(&l, "\",\"message\":\"");
    /* The fields go before a long message may fill the line: the message is cut to
     * leave them room (they are short: names and numbers). */
    char tail[1024];
    line_t t = {tail, 0, sizeof(tail) - 1 < size / 2 ? sizeof(tail) - 1 : size / 2};
    for (const execrec_log_field_t *f = fields; f && f->key; f++) {
        size_t mark = t.len;
        puts_(&t, ",\"");
        puts_(&t, f->key);
        puts_(&t, "\":");
        if (f->str) {
            puts_(&t, "\"");
            put_json_str(&t, f->str);
            puts_(&t, "\"");
        } else {
            char num[32];
            snprintf(num, sizeof(num), "%" PRId64, f->num);
            puts_(&t, num);
        }
        if (t.len + 8 > t.lim) { /* a field that did not fit whole is left out */
            t.len = mark;
            break;
        }
    }
    size_t lim = l.lim;
    l.lim = lim - t.len - 1; /* and the message's closing quote */
    put_json_str(&l, body);
    l.lim = lim;
    puts_(&l, "\"");
    put(&l, tail, t.len);
    out[l.len++] = '}';
    out[l.len++] = '\n';
    out[l.len] = '\0';
    return l.len;
}

static void vlog(execrec_log_level_t level, const execrec_log_field_t *fields, const char *fmt,
                 va_list ap) {
    char msg[2048], line[8192];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = execrec_log_format_line(line, sizeof(line), log_format, level, &tv, fields, msg);
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void execrec_log(execrec_log_level_t level, const char *fmt, ...) {
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void execrec_log_kv(execrec_log_level_t level, const execrec_log_field_t *fields, const char *fmt,
                    ...) {
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fields, fmt, ap);
    va_end(ap);
}
