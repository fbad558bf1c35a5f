/* Times: RFC 3339 text and integer epochs -> microseconds since 1970-01-01 UTC, the
 * resolution of PostgreSQL timestamptz; timestamptz text formatting; civil dates;
 * the monotonic clock.
 *
 * RFC 3339 text, decisions:
 *   - "YYYY-MM-DD" 'T' | 't' | ' ' "HH:MM:SS" [ '.' 1-9 digits ] zone;
 *   - zone: 'Z', 'z', "+HH:MM", "-HH:MM", and also "+HHMM" (ISO 8601 basic, what
 *     strftime's %z prints); "-00:00" is UTC. A missing zone is bad_time: a local
 *     time without a zone is ambiguous, and guessing would corrupt the history;
 *   - fractional seconds beyond microseconds are truncated (not rounded): timestamptz
 *     stores microseconds and truncation never moves a time into the next second;
 *   - the calendar is checked (Feb 30 and Feb 29 of non-leap years are bad_time);
 *   - a leap second ":60" is accepted and read as the first instant of the next
 *     minute, as PostgreSQL itself does with '23:59:60'.
 * Epochs (a JSON integer, or a string of digits), unit chosen by magnitude n:
 *   n < 1e11          seconds       (1e11 s would be year 5138)
 *   1e11 <= n < 1e14  milliseconds  (1e11 ms is 1973-03-03)
 *   1e14 <= n < 1e17  microseconds  (1e14 us is 1973-03-03)
 *   1e17 <= n < 1e20  nanoseconds   (truncated to microseconds)
 * so an epoch in ms/us/ns before 1973-03-03 would be misread: such timestamps do
 * not occur in trading records. A seconds epoch may carry a fraction
 * ("1793000000.25", up to 9 digits, truncated to microseconds); an exponent
 * ("1.7e9") is bad_time. Negative epochs are time_out_of_range.
 * Range: results outside [1970-01-01, 2200-01-01) UTC are time_out_of_range. */
#ifndef EXECREC_TIMEUTIL_H
#define EXECREC_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/err.h"
#include "execrec/reject.h"

#define EXECREC_TIME_MIN_US INT64_C(0)                /* 1970-01-01T00:00:00Z */
#define EXECREC_TIME_MAX_US INT64_C(7258118400000000) /* 2200-01-01T00:00:00Z, excluded */

/** Parses a time given as JSON string content: RFC 3339, or an epoch of digits
 *  (optionally with a seconds fraction).
 *  @returns EXECREC_OK and *us; EXECREC_ERR_REJECT and *rej (bad_time or
 *           time_out_of_range; message without field name). */
execrec_err_t execrec_time_parse_text(const char *s, size_t len, int64_t *us,
                                      execrec_reject_t *rej) EXECREC_MUSTCHECK;

/** Parses a JSON number's raw text as an epoch (see above).
 *  @returns as execrec_time_parse_text. */
execrec_err_t execrec_time_parse_epoch(const char *s, size_t len, int64_t *us,
                                       execrec_reject_t *rej) EXECREC_MUSTCHECK;

/** @returns days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
int64_t execrec_time_days_from_civil(int64_t y, int m, int d);

/** The inverse: days since 1970-01-01 (any sign) -> proleptic Gregorian year, month
 *  (1-12) and day (1-31). */
void execrec_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/** Formats microseconds since the epoch as PostgreSQL timestamptz text,
 *  "YYYY-MM-DD HH:MM:SS.ffffff+00" (fraction omitted when zero) into out (>= 40 bytes).
 *  @returns the length written. */
size_t execrec_time_format(int64_t us, char *out, size_t out_size);

/** @returns milliseconds of CLOCK_MONOTONIC (for timeouts and rates; not a date). */
int64_t execrec_time_monotonic_ms(void);

/** Sleeps ms milliseconds, resuming after signals (callers poll their stop flag
 *  between short sleeps). */
void execrec_time_sleep_ms(int64_t ms);

#endif
