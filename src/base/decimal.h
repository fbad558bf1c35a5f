/* Exact decimals: validate decimal text (a JSON number's raw text, or a JSON string)
 * and produce the canonical plain text PostgreSQL NUMERIC stores. Pure digit
 * manipulation: a value never passes through a double.
 *
 * Accepted grammar (JSON numbers already satisfy it):
 *     [+-]? digit+ ( '.' digit+ )? ( [eE] [+-]? digit+ )?
 * Decisions, beyond JSON's grammar, for decimal strings:
 *   - a leading '+' is accepted and dropped ("+1" -> "1"): unambiguous;
 *   - leading zeros are accepted and dropped ("007" -> "7", "00.50" -> "0.50"):
 *     unambiguous as a quantity, and common in fixed-width feeds;
 *   - ".5", "5.", "1e", "1.2.3", "0x10", "NaN", "Infinity", "", and any whitespace
 *     are EXECREC_REJ_BAD_DECIMAL ("bad_decimal"); so is a string longer than
 *     EXECREC_DECIMAL_INPUT_MAX bytes.
 * Canonical output:
 *   - the exponent is applied: "1e-8" -> "0.00000001", "1.5E+3" -> "1500";
 *   - the scale is kept: trailing fractional zeros are information ("1.50" stays
 *     "1.50"; "1.50e1" -> "15.0"); an exponent never adds a fraction by itself;
 *   - zero has no sign ("-0.00" -> "0.00"): NUMERIC has no negative zero.
 * Limits (EXECREC_REJ_DECIMAL_RANGE, "decimal_out_of_range", past them): after the
 * exponent is applied, at most EXECREC_DECIMAL_INT_DIGITS digits before the point
 * (leading zeros not counted) and at most EXECREC_DECIMAL_FRAC_DIGITS after it
 * (trailing zeros counted: they are scale). Exponents beyond +-10000 are out of
 * range whatever the mantissa. 30 + 30 digits hold every real quantity, price and
 * fee (1e30 is far beyond any notional; 1e-30 below any tick) while keeping a
 * hostile "1e999999999" from becoming a megabyte of zeros. */
#ifndef EXECREC_DECIMAL_H
#define EXECREC_DECIMAL_H

#include <stddef.h>
#include "execrec/err.h"
#include "execrec/reject.h"

#define EXECREC_DECIMAL_INT_DIGITS 30
#define EXECREC_DECIMAL_FRAC_DIGITS 30
/** Longest canonical text: sign, digits, point; plus NUL. */
#define EXECREC_DECIMAL_TEXT_MAX                                                                   \
    (1 + EXECREC_DECIMAL_INT_DIGITS + 1 + EXECREC_DECIMAL_FRAC_DIGITS + 1)
/** Longest accepted input text (leading zeros, exponent). */
#define EXECREC_DECIMAL_INPUT_MAX 256

/** Canonicalises the decimal text s[0..len).
 *  @returns EXECREC_OK and writes the NUL-terminated canonical text to out (at least
 *           EXECREC_DECIMAL_TEXT_MAX bytes) and its length to *out_len;
 *           EXECREC_ERR_REJECT and fills *rej (code bad_decimal or
 *           decimal_out_of_range; message says what is wrong, without a field
 *           name: the caller adds it). */
execrec_err_t execrec_decimal_canon(const char *s, size_t len, char *out, size_t *out_len,
                                    execrec_reject_t *rej) EXECREC_MUSTCHECK;

#endif
