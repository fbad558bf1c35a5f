/* execrec reconcile: print the reconciliation checks of migrations/0005 (and the
 * views they build on) as a report. Exit 0 when every check is empty, 1 when there
 * are findings, 2 on misuse, 3 when the checks could not run (the database cannot
 * be read), so that a script can tell findings from an error. Read-only: one
 * REPEATABLE READ READ ONLY transaction, so every check sees the same snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "execrec/config.h"
#include "base/decimal.h"
#include "pg/pg.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const reconcile_keys[] = {"dsn", "tolerance", "stuck.after", "log.level",
                                             NULL};
/* clang-format on */

/* Rows printed per check; the count is always complete. */
#define RECONCILE_MAX_ROWS 50

typedef struct check_s {
    const char *title;  /* printed before the count; %s is the parameter, if any */
    const char *source; /* what to query for the full list */
    const char *sql;    /* $1 = the parameter below, if nparams is 1 */
    int param;          /* 0 none, 1 tolerance, 2 stuck-after interval */
} check_t;

static const check_t checks[] = {
    {"orders whose event-reported filled quantity differs from their trades by more than %s",
     "execution.fill_mismatches(tolerance)",
     "SELECT order_id, status, event_filled_quantity, trade_filled_quantity, difference, "
     "last_event_time FROM execution.fill_mismatches($1::numeric)",
     1},
    {"trades whose order was never seen", "execution.orphan_trades",
     "SELECT trade_id, order_id, trade_time, account_uid, asset, side, quantity, price "
     "FROM execution.orphan_trades ORDER BY trade_time, trade_id",
     0},
    {"orders with events but no order message", "execution.orphan_order_events",
     "SELECT order_id, status, event_count, first_event_time, last_event_time "
     "FROM execution.orphan_order_events ORDER BY first_event_time, order_id",
     0},
    {"orders in a non-terminal state for more than %s", "execution.stuck_orders(interval)",
     "SELECT order_id, status, since, date_trunc('second', stuck_for) AS stuck_for, "
     "account_uid, asset, order_manager_uid, filled_quantity, remaining_quantity "
     "FROM execution.stuck_orders($1::interval)",
     2},
    {"order managers with no orders", "execution.idle_managers",
     "SELECT unique_identifier, status, strategy, target_account_uid, target_time "
     "FROM execution.idle_managers ORDER BY unique_identifier",
     0},
};

static const char *sqlstate(const PGresult *res) {
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* Prints the rows of res as a table indented by two spaces, NULL as empty. */
static void print_table(const PGresult *res) {
    int nf = PQnfields(res), nt = PQntuples(res);
    size_t *w = calloc((size_t)nf, sizeof(*w));
    if (!w)
        return;
    for (int f = 0; f < nf; f++) {
        w[f] = strlen(PQfname(res, f));
        for (int t = 0; t < nt; t++)
            if ((size_t)PQgetlength(res, t, f) > w[f])
                w[f] = (size_t)PQgetlength(res, t, f);
    }
    for (int t = -1; t < nt; t++) {
        printf(" ");
        for (int f = 0; f < nf; f++) {
            const char *v = t < 0 ? PQfname(res, f) : PQgetvalue(res, t, f);
            if (f == nf - 1)
                printf(" %s", v);
            else
                printf(" %-*s", (int)w[f], v);
        }
        printf("\n");
    }
    free(w);
}

/* Runs one check. @returns its number of findings, or -1 (reason printed). */
static long run_check(PGconn *conn, const check_t *chk, const char *tolerance,
                      const char *stuck_after) {
    const char *param = chk->param == 1 ? tolerance : chk->param == 2 ? stuck_after : NULL;
    char sql[2048], title[512];
    snprintf(title, sizeof(title), chk->title, param ? param : "");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM (%s) c", chk->sql);
    PGresult *res = PQexecParams(conn, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
    char errstr[1024];
    if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
        const char *st = sqlstate(res);
        if (!strcmp(st, "42883") || !strcmp(st, "42P01") || !strcmp(st, "3F000"))
            fprintf(stderr, "execrec reconcile: %s is missing: run 'execrec migrate' first (%s)\n",
                    chk->source, errstr);
        else
            fprintf(stderr, "execrec reconcile: %s: %s\n", chk->source, errstr);
        PQclear(res);
        return -1;
    }
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (n == 0) {
        printf("%s: none\n\n", title);
        return 0;
    }
    printf("%s: %ld\n", title, n);
    snprintf(sql, sizeof(sql), "%s LIMIT %d", chk->sql, RECONCILE_MAX_ROWS);
    res = PQexecParams(conn, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
    if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec reconcile: %s: %s\n", chk->source, errstr);
        PQclear(res);
        return -1;
    }
    print_table(res);
    if (n > PQntuples(res))
        printf("  ... and %ld more: SELECT * FROM %s\n", n - PQntuples(res), chk->source);
    printf("\n");
    PQclear(res);
    return n;
}

/* Checks that value casts to type and satisfies cond ($1 is the value). A value
 * PostgreSQL refuses (SQLSTATE class 22) is misuse. @returns 0 ok, EXECREC_EXIT_USAGE
 * or EXECREC_EXIT_ERROR (reason printed). */
static int check_value(PGconn *conn, const char *flag, const char *value, const char *sql,
                       const char *what) {
    PGresult *res = PQexecParams(conn, sql, 1, NULL, &value, NULL, NULL, 0);
    char errstr[1024];
    int rc = 0;
    if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
        if (!strncmp(sqlstate(res), "22", 2)) {
            fprintf(stderr, "execrec reconcile: %s '%s' is not %s (see --help)\n", flag, value,
                    what);
            rc = EXECREC_EXIT_USAGE;
        } else {
            fprintf(stderr, "execrec reconcile: %s\n", errstr);
            rc = EXECREC_EXIT_ERROR;
        }
    } else if (strcmp(PQgetvalue(res, 0, 0), "t")) {
        fprintf(stderr, "execrec reconcile: %s '%s' is not %s (see --help)\n", flag, value, what);
        rc = EXECREC_EXIT_USAGE;
    }
    PQclear(res);
    return rc;
}

int execrec_cli_reconcile(int argc, char **argv) {
    int rc;
    execrec_config_t *conf =
        cli_begin("reconcile",
                  "Checks that the recorded facts agree, and prints each check's findings:\n"
                  "orders whose latest event-reported filled quantity differs from the sum of\n"
                  "their trades by more than --tolerance; trades whose order was never seen;\n"
                  "orders with events but no order message; orders in a non-terminal state with\n"
                  "no event for longer than --stuck-after; order managers with no orders.\n"
                  "At most 50 rows are printed per check (the count is complete). Read-only.\n"
                  "Exit status: 0 no findings, 1 findings, 2 misuse, 3 the checks could not run\n"
                  "(e.g. the database cannot be reached).",
                  reconcile_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_ERROR;
    PGconn *conn = NULL;
    char errstr[1024];
    const char *tolerance = execrec_config_get(conf, "tolerance");
    const char *stuck_after = execrec_config_get(conf, "stuck.after");
    /* The tolerance is a decimal by the message contract's grammar (no NaN, no
     * Infinity), not negative. */
    char canon[EXECREC_DECIMAL_TEXT_MAX];
    size_t canon_len;
    execrec_reject_t rej;
    if (!tolerance ||
        execrec_decimal_canon(tolerance, strlen(tolerance), canon, &canon_len, &rej) !=
            EXECREC_OK ||
        canon[0] == '-') {
        fprintf(stderr, "execrec reconcile: --tolerance '%s' is not a decimal >= 0 (see --help)\n",
                tolerance ? tolerance : "");
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    if (!stuck_after || !*stuck_after) {
        fprintf(stderr, "execrec reconcile: --stuck-after needs an interval (see --help)\n");
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    if (!(conn = execrec_pg_connect(execrec_config_get(conf, "dsn"), errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec reconcile: %s\n", errstr);
        goto done;
    }
    int vrc = check_value(conn, "--stuck-after", stuck_after, "SELECT $1::interval > interval '0'",
                          "a positive interval");
    if (vrc) {
        rc = vrc;
        goto done;
    }
    if (execrec_pg_exec(conn,
                        "SET TimeZone = 'UTC'; "
                        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                        errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec reconcile: %s\n", errstr);
        goto done;
    }
    PGresult *res = PQexec(conn, "SELECT date_trunc('second', now())::text");
    if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec reconcile: %s\n", errstr);
        PQclear(res);
        goto done;
    }
    printf("execrec reconcile: as of %s, tolerance %s, stuck after %s\n\n", PQgetvalue(res, 0, 0),
           canon, stuck_after);
    PQclear(res);

    long total = 0;
    int with_findings = 0;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        long n = run_check(conn, &checks[i], canon, stuck_after);
        if (n < 0)
            goto done;
        total += n;
        with_findings += n > 0;
    }
    if (total)
        printf("%ld finding(s) in %d of %zu checks\n", total, with_findings,
               sizeof(checks) / sizeof(checks[0]));
    else
        printf("clean: no findings in %zu checks\n", sizeof(checks) / sizeof(checks[0]));
    rc = total ? EXECREC_EXIT_FAIL : EXECREC_EXIT_OK;
done:
    if (conn)
        PQfinish(conn);
    execrec_config_destroy(conf);
    return rc;
}
