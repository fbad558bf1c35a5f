/* RFC 3339 and epoch parsing to microseconds, and timestamptz text formatting.
 * Hand-written rather than strptime/timegm: those depend on the locale and TZ, do
 * not take fractions or "+HH:MM", and silently normalise Feb 30 to Mar 2. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "base/timeutil.h"

#define QUOTE_MAX 48 /* bytes of the input quoted in a reject message */

/* Howard Hinnant's days_from_civil. */
int64_t execrec_time_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Howard Hinnant's civil_from_days. */
void execrec_time_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    assert(y && m && d);
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Reads n digits at s. @returns the value, or -1 if any is not a digit. */
static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static execrec_err_t check_range(int64_t us, int64_t *out, execrec_reject_t *rej, const char *s,
                                 size_t len) {
    if (us < EXECREC_TIME_MIN_US || us >= EXECREC_TIME_MAX_US)
        return execrec_reject(rej, EXECREC_REJ_TIME_RANGE,
                              "time outside [1970-01-01, 2200-01-01): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    *out = us;
    return EXECREC_OK;
}

/* Parses 1-9 fraction digits at s[*i] (after the point): microseconds, truncated. */
static int fraction_us(const char *s, size_t len, size_t *i, int64_t *frac) {
    size_t start = *i;
    int64_t v = 0;
    while (*i < len && is_digit(s[*i])) {
        if (*i - start < 6)
            v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    size_t n = *i - start;
    if (n == 0 || n > 9)
        return -1;
    for (size_t k = n; k < 6; k++)
        v *= 10;
    *frac = v;
    return 0;
}

execrec_err_t execrec_time_parse_epoch(const char *s, size_t len, int64_t *us,
                                       execrec_reject_t *rej) {
    assert((s || len == 0) && us && rej);
    size_t i = 0;
    if (len > 0 && s[0] == '-') {
        for (i = 1; i < len && (is_digit(s[i]) || s[i] == '.'); i++)
            ;
        if (i == len && len > 1)
            return execrec_reject(rej, EXECREC_REJ_TIME_RANGE,
                                  "negative epoch (before 1970): " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME, "not an epoch: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    }
    uint64_t n = 0;
    int ndig = 0;
    while (i < len && is_digit(s[i])) {
        if (ndig || s[i] != '0')
            ndig++; /* significant digits: leading zeros do not count */
        if (ndig <= 19)
            n = n * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                              "not a time (RFC 3339 or epoch): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (ndig > 19) /* >= 1e19 before leading zeros were skipped: beyond ns range */
        return execrec_reject(rej, EXECREC_REJ_TIME_RANGE, "epoch too large: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    int64_t frac = 0;
    int has_frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        if (fraction_us(s, len, &i, &frac) < 0)
            return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                                  "epoch fraction needs 1 to 9 digits: " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
        has_frac = 1;
    }
    if (i != len)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                              "not an epoch (digits, optional fraction): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    int64_t v;
    if (n < UINT64_C(100000000000)) {
        if (n > (uint64_t)(EXECREC_TIME_MAX_US / 1000000))
            return execrec_reject(rej, EXECREC_REJ_TIME_RANGE,
                                  "time outside [1970-01-01, 2200-01-01): " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
        v = (int64_t)n * 1000000 + frac;
    } else if (has_frac) {
        return execrec_reject(
            rej, EXECREC_REJ_BAD_TIME,
            "a fraction is only allowed on a seconds epoch (below 1e11): " EXECREC_QUOTE_FMT,
            EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    } else if (n < UINT64_C(100000000000000)) {
        v = (int64_t)n * 1000;
    } else if (n < UINT64_C(100000000000000000)) {
        v = (int64_t)n;
    } else {
        v = (int64_t)(n / 1000);
    }
    return check_range(v, us, rej, s, len);
}

execrec_err_t execrec_time_parse_text(const char *s, size_t len, int64_t *us,
                                      execrec_reject_t *rej) {
    assert((s || len == 0) && us && rej);
    if (len == 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME, "empty time: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    /* Digits only (with an optional fraction): an epoch in a string. */
    if (len < 10 || s[4] != '-')
        return execrec_time_parse_epoch(s, len, us, rej);
    int y = digits(s, 4), mo = -1, d = -1, h = -1, mi = -1, se = -1;
    if (len >= 10 && s[7] == '-') {
        mo = digits(s + 5, 2);
        d = digits(s + 8, 2);
    }
    if (y < 0 || mo < 0 || d < 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                              "bad date (want YYYY-MM-DD): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (len == 10)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                              "date without time and zone: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (len < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':' || (h = digits(s + 11, 2)) < 0 || (mi = digits(s + 14, 2)) < 0 ||
        (se = digits(s + 17, 2)) < 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                              "bad time of day (want THH:MM:SS): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME, "no such date: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (h > 23 || mi > 59 || se > 60)
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME, "no such time of day: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        if (fraction_us(s, len, &i, &frac) < 0)
            return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                                  "fractional seconds need 1 to 9 digits: " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    }
    if (i == len)
        return execrec_reject(
            rej, EXECREC_REJ_BAD_TIME,
            "time zone missing (add Z or an offset such as +00:00): " EXECREC_QUOTE_FMT,
            EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    int64_t off_s = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        off_s = 0;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        int oh = -1, om = -1;
        if (len - i == 6 && s[i + 3] == ':') {
            oh = digits(s + i + 1, 2);
            om = digits(s + i + 4, 2);
        } else if (len - i == 5) {
            oh = digits(s + i + 1, 2);
            om = digits(s + i + 3, 2);
        }
        if (oh < 0 || om < 0 || oh > 23 || om > 59)
            return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                                  "bad zone offset (want +HH:MM): " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
        off_s = sign * (oh * 3600 + om * 60);
    } else {
        return execrec_reject(rej, EXECREC_REJ_BAD_TIME,
                              "bad time zone (want Z or +HH:MM): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    }
    int64_t secs = execrec_time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_s;
    return check_range(secs * 1000000 + frac, us, rej, s, len);
}

static char *put2(char *o, int v) {
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

size_t execrec_time_format(int64_t us, char *out, size_t out_size) {
    assert(out && out_size > 0);
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    execrec_time_civil_from_days(days, &y, &m, &d);
    char tmp[48], *o = tmp;
    if (y >= 0 && y <= 9999) {
        *o++ = (char)('0' + y / 1000);
        *o++ = (char)('0' + y / 100 % 10);
        *o++ = (char)('0' + y / 10 % 10);
        *o++ = (char)('0' + y % 10);
    } else {
        o += snprintf(o, 24, "%lld", (long long)y);
    }
    *o++ = '-';
    o = put2(o, m);
    *o++ = '-';
    o = put2(o, d);
    *o++ = ' ';
    o = put2(o, (int)(sod / 3600));
    *o++ = ':';
    o = put2(o, (int)(sod / 60 % 60));
    *o++ = ':';
    o = put2(o, (int)(sod % 60));
    if (frac) {
        *o++ = '.';
        for (int64_t div = 100000; div; div /= 10)
            *o++ = (char)('0' + frac / div % 10);
    }
    *o++ = '+';
    *o++ = '0';
    *o++ = '0';
    size_t n = (size_t)(o - tmp);
    if (out_size == 0)
        return n;
    size_t c = n < out_size - 1 ? n : out_size - 1;
    memcpy(out, tmp, c);
    out[c] = '\0';
    return c;
}

int64_t execrec_time_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void execrec_time_sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
