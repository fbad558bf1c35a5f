/* Exact decimal text -> canonical NUMERIC text, by moving the decimal point over
 * the digit string. See decimal.h for the grammar, the canonical form and limits. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "base/decimal.h"

#define EXP_MAX 10000
#define QUOTE_MAX 40 /* bytes of the input quoted in a reject message */

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

execrec_err_t execrec_decimal_canon(const char *s, size_t len, char *out, size_t *out_len,
                                    execrec_reject_t *rej) {
    assert((s || len == 0) && out && out_len && rej);
    size_t i = 0;
    int neg = 0;
    if (len == 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_DECIMAL, "empty decimal: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (len > EXECREC_DECIMAL_INPUT_MAX)
        return execrec_reject(rej, EXECREC_REJ_BAD_DECIMAL,
                              "decimal text too long: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i++;
    }
    /* Mantissa: integer digits [ip, ip+ni), fraction digits [fp, fp+nf). */
    size_t ip = i;
    while (i < len && is_digit(s[i]))
        i++;
    size_t ni = i - ip;
    size_t fp = i, nf = 0;
    if (ni == 0)
        return execrec_reject(rej, EXECREC_REJ_BAD_DECIMAL,
                              "not a decimal number (need a digit first): " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    if (i < len && s[i] == '.') {
        fp = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        nf = i - fp;
        if (nf == 0)
            return execrec_reject(rej, EXECREC_REJ_BAD_DECIMAL,
                                  "no digit after the decimal point: " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    }
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        size_t ep = i;
        while (i < len && is_digit(s[i])) {
            if (exp <= EXP_MAX)
                exp = exp * 10 + (s[i] - '0');
            i++;
        }
        if (i == ep)
            return execrec_reject(rej, EXECREC_REJ_BAD_DECIMAL,
                                  "no digit in the exponent: " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
        if (exp > EXP_MAX)
            return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE,
                                  "exponent out of range: " EXECREC_QUOTE_FMT,
                                  EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return execrec_reject(rej, EXECREC_REJ_BAD_DECIMAL,
                              "not a decimal number: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));

    /* Digits D = int digits then fraction digits; the point sits after `point`
     * digits of D once the exponent is applied. */
    long nd = (long)(ni + nf);
    long point = (long)ni + exp;
    long scale = nd - point > 0 ? nd - point : 0;
    if (scale > EXECREC_DECIMAL_FRAC_DIGITS)
        return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE,
                              "more than 30 digits after the point: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
#define DIGIT(k) ((k) < (long)ni ? s[ip + (size_t)(k)] : s[fp + (size_t)((k) - (long)ni)])
    /* Integer part: D[0, point) padded with zeros when point > nd. Skip leading zeros. */
    long first = 0;
    while (first < point && first < nd && DIGIT(first) == '0')
        first++;
    long int_digits = point - first; /* may count padding zeros; <= 0 means "0" */
    if (first >= nd && point > nd)
        int_digits = 0; /* all digits zero: padding zeros of zero are not digits */
    if (int_digits > EXECREC_DECIMAL_INT_DIGITS)
        return execrec_reject(rej, EXECREC_REJ_DECIMAL_RANGE,
                              "more than 30 digits before the point: " EXECREC_QUOTE_FMT,
                              EXECREC_QUOTE_ARGS(s, len, QUOTE_MAX));
    size_t o = 0;
    int nonzero = 0;
    for (long k = 0; k < nd; k++)
        if (DIGIT(k) != '0') {
            nonzero = 1;
            break;
        }
    if (neg && nonzero)
        out[o++] = '-';
    if (int_digits <= 0) {
        out[o++] = '0';
    } else {
        for (long k = first; k < point; k++)
            out[o++] = k < nd ? DIGIT(k) : '0';
    }
    if (scale > 0) {
        out[o++] = '.';
        for (long k = point; k < nd; k++)
            out[o++] = k < 0 ? '0' : DIGIT(k);
    }
#undef DIGIT
    out[o] = '\0';
    *out_len = o;
    return EXECREC_OK;
}
