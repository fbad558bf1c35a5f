/* Table-driven tests for normalise.c: tests/data/normalise_cases.txt holds one case
 * per line (its format is described at the top of that file), plus a few checks
 * that do not fit a table (raw payload pointer, arena reuse). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "model/normalise.h"
#include "testutil.h"

/* Expands \xHH (and, if macros, @{N*TEXT}) of s[0..n) into out. @returns 0, -1 on
 * a malformed escape. */
static int expand(const char *s, size_t n, int macros, execrec_buf_t *out) {
    execrec_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
            execrec_buf_hexdigit((unsigned char)s[i + 2]) >= 0 &&
            execrec_buf_hexdigit((unsigned char)s[i + 3]) >= 0) {
            execrec_buf_putc(out, (char)(execrec_buf_hexdigit((unsigned char)s[i + 2]) * 16 +
                                         execrec_buf_hexdigit((unsigned char)s[i + 3])));
            i += 3;
        } else if (macros && s[i] == '@' && i + 1 < n && s[i + 1] == '{') {
            char *end;
            long count = strtol(s + i + 2, &end, 10);
            const char *close = memchr(s + i, '}', n - i);
            if (*end != '*' || !close || count < 0 || end > close)
                return -1;
            const char *text = end + 1;
            size_t tlen = (size_t)(close - text);
            for (long k = 0; k < count; k++)
                execrec_buf_append(out, text, tlen);
            i = (size_t)(close - s);
        } else {
            execrec_buf_putc(out, s[i]);
        }
    }
    return out->oom ? -1 : 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Runs one case. @returns NULL if it passed, else a malloc'd description. */
static char *run_case(char *line, execrec_arena_t *arena) {
    char msg[1024];
    execrec_buf_t input = EXECREC_BUF_INIT, val = EXECREC_BUF_INIT;
    char *result = NULL;
    char *sp = strchr(line, ' ');
    char *arrow = NULL;
    for (char *p = line; (p = strstr(p, " => ")); p++)
        arrow = p;
    if (!sp || !arrow || arrow < sp) {
        snprintf(msg, sizeof(msg), "malformed case line");
        goto fail;
    }
    *sp = '\0';
    execrec_kind_t kind;
    if (execrec_kind_parse(line, &kind) < 0) {
        snprintf(msg, sizeof(msg), "unknown kind '%s'", line);
        goto fail;
    }
    const char *in = sp + 1;
    size_t in_len = arrow > in ? (size_t)(arrow - in) : 0;
    char *expect = trim(arrow + 4);
    if (expand(in, in_len, 1, &input) < 0) {
        snprintf(msg, sizeof(msg), "malformed escape in input");
        goto fail;
    }
    execrec_record_t rec;
    execrec_reject_t rej;
    memset(&rej, 0, sizeof(rej));
    execrec_arena_reset(arena);
    execrec_err_t err =
        execrec_normalise_json(kind, input.data ? input.data : "", input.len, arena, &rec, &rej);
    if (expect[0] == '!') {
        char *want_msg = strstr(expect, " ~ ");
        if (want_msg) {
            *want_msg = '\0';
            want_msg = trim(want_msg + 3);
        }
        const char *code = trim(expect + 1);
        if (err != EXECREC_ERR_REJECT) {
            snprintf(msg, sizeof(msg), "want reject %s, got %s", code,
                     err == EXECREC_OK ? "a record" : execrec_err_name(err));
            goto fail;
        }
        if (strcmp(rej.code, code)) {
            snprintf(msg, sizeof(msg), "want reject %s, got %s (%s)", code, rej.code, rej.message);
            goto fail;
        }
        if (want_msg && !strstr(rej.message, want_msg)) {
            snprintf(msg, sizeof(msg), "reject message '%s' lacks '%s'", rej.message, want_msg);
            goto fail;
        }
        goto pass;
    }
    if (err != EXECREC_OK) {
        snprintf(msg, sizeof(msg), "want a record, got %s (%s)",
                 err == EXECREC_ERR_REJECT ? rej.code : execrec_err_name(err),
                 err == EXECREC_ERR_REJECT ? rej.message : "");
        goto fail;
    }
    if (rec.raw != input.data || rec.raw_len != input.len) {
        snprintf(msg, sizeof(msg), "rec->raw is not the input");
        goto fail;
    }
    for (char *save = NULL, *item = strtok_r(expect, ";", &save); item;
         item = strtok_r(NULL, ";", &save)) {
        item = trim(item);
        if (!*item)
            continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(msg, sizeof(msg), "expectation '%s' has no '='", item);
            goto fail;
        }
        *eq = '\0';
        const char *col = trim(item);
        const char *want = eq + 1;
        if (!strcmp(col, "time_us")) {
            long long w = strtoll(want, NULL, 10);
            if (rec.time_us != w) {
                snprintf(msg, sizeof(msg), "time_us: want %lld, got %lld", w,
                         (long long)rec.time_us);
                goto fail;
            }
            continue;
        }
        int c = execrec_kind_column_index(kind, col);
        if (c < 0) {
            snprintf(msg, sizeof(msg), "no column '%s' in kind %s", col, execrec_kind_name(kind));
            goto fail;
        }
        if (!strcmp(want, "NULL")) {
            if (rec.val[c]) {
                snprintf(msg, sizeof(msg), "%s: want NULL, got '%.*s'", col, (int)rec.len[c],
                         rec.val[c]);
                goto fail;
            }
            continue;
        }
        if (expand(want, strlen(want), 0, &val) < 0) {
            snprintf(msg, sizeof(msg), "malformed escape in expectation");
            goto fail;
        }
        if (!rec.val[c] || rec.len[c] != val.len || memcmp(rec.val[c], val.data, val.len) ||
            rec.val[c][rec.len[c]] != '\0') {
            snprintf(msg, sizeof(msg), "%s: want '%s', got '%.*s'", col, val.data,
                     rec.val[c] ? (int)(rec.len[c] > 200 ? 200 : rec.len[c]) : 4,
                     rec.val[c] ? rec.val[c] : "NULL");
            goto fail;
        }
    }
pass:
    execrec_buf_free(&input);
    execrec_buf_free(&val);
    return NULL;
fail:
    result = strdup(msg);
    execrec_buf_free(&input);
    execrec_buf_free(&val);
    return result;
}

START_TEST(test_cases_file) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/normalise_cases.txt", tu_source_dir());
    size_t len;
    char *text = tu_read_file(path, &len);
    execrec_arena_t *arena = execrec_arena_new();
    int ncases = 0, nfailed = 0, nreject = 0;
    int lineno = 0;
    char *p = text;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : NULL;
        if (!*line || line[0] == '#')
            continue;
        ncases++;
        char *arrow = strstr(line, " => !");
        if (arrow)
            nreject++;
        char *copy = strdup(line);
        char *why = run_case(copy, arena);
        if (why) {
            fprintf(stderr, "normalise_cases.txt:%d: %s\n    %.200s\n", lineno, why, line);
            nfailed++;
            free(why);
        }
        free(copy);
    }
    execrec_arena_destroy(arena);
    free(text);
    fprintf(stderr, "normalise_cases.txt: %d cases (%d rejects, %d records), %d failed\n", ncases,
            nreject, ncases - nreject, nfailed);
    ck_assert_int_ge(ncases, 70);
    ck_assert_int_eq(nfailed, 0);
}
END_TEST

START_TEST(test_arena_reuse) {
    /* Many messages through one arena with resets: values stay correct and the
     * arena does not grow without bound (ASan would flag misuse). */
    execrec_arena_t *arena = execrec_arena_new();
    char msg[512];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(msg, sizeof(msg),
                         "{\"trade_id\":\"T%d\",\"order_id\":\"O1\",\"quantity\":\"%d.5\","
                         "\"price\":1e-8,\"trade_time\":%lld}",
                         i, i, 1793700000LL + i);
        execrec_record_t rec;
        execrec_reject_t rej;
        execrec_arena_reset(arena);
        ck_assert_int_eq(
            execrec_normalise_json(EXECREC_KIND_TRADE, msg, (size_t)n, arena, &rec, &rej),
            EXECREC_OK);
        char want[32];
        snprintf(want, sizeof(want), "%d.5", i);
        ck_assert_str_eq(rec.val[2], want);
        ck_assert_str_eq(rec.val[3], "0.00000001");
        ck_assert_int_eq(rec.time_us, (1793700000LL + i) * 1000000);
    }
    execrec_arena_destroy(arena);
}
END_TEST

START_TEST(test_not_nul_terminated) {
    /* The input is len bytes; what follows must not be read. */
    const char *msg = "{\"order_id\":\"O1\",\"event_type\":\"new\",\"event_time\":1793700000}"
                      "GARBAGE";
    size_t len = strlen(msg) - 7;
    execrec_arena_t *arena = execrec_arena_new();
    execrec_record_t rec;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_normalise_json(EXECREC_KIND_ORDER_EVENT, msg, len, arena, &rec, &rej),
                     EXECREC_OK);
    ck_assert_ptr_eq(rec.raw, msg);
    ck_assert_uint_eq(rec.raw_len, len);
    execrec_arena_destroy(arena);
}
END_TEST

/* ---- the normaliser reads record.c's tables --------------------------------------
 * Messages built from the column tables themselves: if a table and the normaliser
 * drift apart (a rule read by name again, a flag ignored), these fail. */

/* A valid value (JSON) for a column of the given definition; the time index gets
 * 1793700000 (2026-11-03 10:00:00 UTC), other times a different instant. */
static const char *valid_value(const execrec_coldef_t *def) {
    switch (def->type) {
    case EXECREC_COL_TEXT:
        return "\"x\"";
    case EXECREC_COL_DECIMAL:
        return "\"1.5\"";
    case EXECREC_COL_TIME:
        return def->flags & EXECREC_COLF_TIME_INDEX ? "1793700000" : "\"2026-01-02T03:04:05Z\"";
    case EXECREC_COL_INT64:
        return "7";
    default:
        return NULL; /* ENUM: from its vocabulary; DERIVED: never sent */
    }
}

/* The JSON object of kind with every required column valid, column `col` (if >= 0)
 * set to override (raw JSON; NULL: left out). */
static void build_message(execrec_buf_t *out, execrec_kind_t kind, int col, const char *override) {
    int ncols;
    const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
    execrec_buf_reset(out);
    execrec_buf_putc(out, '{');
    for (int i = 0; i < ncols; i++) {
        const char *v = valid_value(&cols[i]);
        char quoted[128];
        if (cols[i].type == EXECREC_COL_ENUM) {
            snprintf(quoted, sizeof(quoted), "\"%s\"", cols[i].enumdef->aliases[0].alias);
            v = quoted;
        }
        if (i == col)
            v = override;
        else if (!cols[i].required || cols[i].type == EXECREC_COL_DERIVED)
            v = NULL;
        if (v)
            execrec_buf_printf(out, "%s\"%s\":%s", out->len > 1 ? "," : "", cols[i].name, v);
    }
    execrec_buf_putc(out, '}');
    ck_assert(!out->oom);
}

static execrec_err_t normalise_built(execrec_kind_t kind, int col, const char *override,
                                     execrec_arena_t *arena, execrec_buf_t *msg,
                                     execrec_record_t *rec, execrec_reject_t *rej) {
    build_message(msg, kind, col, override);
    execrec_arena_reset(arena);
    return execrec_normalise_json(kind, msg->data, msg->len, arena, rec, rej);
}

/* The required columns alone make a record; time_us comes from the flagged column. */
START_TEST(test_tables_minimal_record) {
    execrec_arena_t *arena = execrec_arena_new();
    execrec_buf_t msg = EXECREC_BUF_INIT;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        execrec_record_t rec;
        execrec_reject_t rej;
        execrec_err_t err = normalise_built(kind, -1, NULL, arena, &msg, &rec, &rej);
        ck_assert_msg(err == EXECREC_OK, "%s: %s: %s", msg.data, err ? rej.code : "",
                      err ? rej.message : "");
        ck_assert_int_eq(rec.time_us, INT64_C(1793700000000000));
        int t = execrec_kind_time_column(kind);
        ck_assert_str_eq(rec.val[t], "2026-11-03 10:00:00+00");
        ck_assert_ptr_nonnull(rec.val[execrec_kind_key_column(kind)]);
    }
    execrec_buf_free(&msg);
    execrec_arena_destroy(arena);
}
END_TEST

/* Every required column, left out, is missing_field naming it; every positive column
 * at zero or below is non_positive_quantity naming it, and the other decimals may be
 * zero or negative. */
START_TEST(test_tables_required_and_positive) {
    execrec_arena_t *arena = execrec_arena_new();
    execrec_buf_t msg = EXECREC_BUF_INIT;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
        for (int c = 0; c < ncols; c++) {
            execrec_record_t rec;
            execrec_reject_t rej;
            execrec_err_t err;
            if (cols[c].required && cols[c].type != EXECREC_COL_DERIVED) {
                err = normalise_built(kind, c, NULL, arena, &msg, &rec, &rej);
                ck_assert_msg(err == EXECREC_ERR_REJECT, "%s: accepted", msg.data);
                ck_assert_str_eq(rej.code, EXECREC_REJ_MISSING);
                ck_assert_ptr_nonnull(strstr(rej.message, cols[c].name));
            }
            if (cols[c].type != EXECREC_COL_DECIMAL)
                continue;
            static const char *const nonpositive[] = {"0", "\"-0.00\"", "-1"};
            for (int i = 0; i < 3; i++) {
                err = normalise_built(kind, c, nonpositive[i], arena, &msg, &rec, &rej);
                if (cols[c].flags & EXECREC_COLF_POSITIVE) {
                    ck_assert_msg(err == EXECREC_ERR_REJECT, "%s: accepted", msg.data);
                    ck_assert_str_eq(rej.code, EXECREC_REJ_QUANTITY);
                    ck_assert_ptr_nonnull(strstr(rej.message, cols[c].name));
                } else {
                    ck_assert_msg(err == EXECREC_OK, "%s: %s", msg.data, err ? rej.code : "");
                }
            }
        }
    }
    execrec_buf_free(&msg);
    execrec_arena_destroy(arena);
}
END_TEST

/* Every alias of every enum column's vocabulary (also in upper case) becomes its
 * canonical value; an unknown value is bad_enum where the vocabulary is strict and
 * kept as normalised where it is not. */
START_TEST(test_tables_enum_vocabularies) {
    execrec_arena_t *arena = execrec_arena_new();
    execrec_buf_t msg = EXECREC_BUF_INIT;
    int checked = 0;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
        for (int c = 0; c < ncols; c++) {
            if (cols[c].type != EXECREC_COL_ENUM)
                continue;
            execrec_record_t rec;
            execrec_reject_t rej;
            execrec_err_t err;
            char v[128];
            for (const execrec_enum_alias_t *a = cols[c].enumdef->aliases; a->alias; a++) {
                for (int upper = 0; upper < 2; upper++) {
                    int n = snprintf(v, sizeof(v), "\"%s\"", a->alias);
                    for (int i = 0; upper && i < n; i++)
                        if (v[i] >= 'a' && v[i] <= 'z')
                            v[i] = (char)(v[i] - 'a' + 'A');
                    err = normalise_built(kind, c, v, arena, &msg, &rec, &rej);
                    ck_assert_msg(err == EXECREC_OK, "%s: %s", msg.data, err ? rej.code : "");
                    ck_assert_str_eq(rec.val[c], a->canon);
                    checked++;
                }
            }
            err = normalise_built(kind, c, "\"No Such-Value\"", arena, &msg, &rec, &rej);
            if (cols[c].enumdef->strict) {
                ck_assert_msg(err == EXECREC_ERR_REJECT, "%s: accepted", msg.data);
                ck_assert_str_eq(rej.code, EXECREC_REJ_BAD_ENUM);
                ck_assert_ptr_nonnull(strstr(rej.message, cols[c].name));
            } else {
                ck_assert_msg(err == EXECREC_OK, "%s: %s", msg.data, err ? rej.code : "");
                ck_assert_str_eq(rec.val[c], "no_such_value");
            }
        }
    }
    ck_assert_int_gt(checked, 100);
    execrec_buf_free(&msg);
    execrec_arena_destroy(arena);
}
END_TEST

Suite *normalise_suite(void);

Suite *normalise_suite(void) {
    Suite *s = suite_create("normalise");
    TCase *tc = tcase_create("cases_file");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cases_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("arena");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_arena_reuse);
    tcase_add_test(tc, test_not_nul_terminated);
    suite_add_tcase(s, tc);
    tc = tcase_create("tables");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tables_minimal_record);
    tcase_add_test(tc, test_tables_required_and_positive);
    tcase_add_test(tc, test_tables_enum_vocabularies);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(normalise_suite)
