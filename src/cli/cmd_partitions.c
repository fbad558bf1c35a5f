/* execrec partitions: partition maintenance for OrdersTS, OrderEventsTS and
 * TradesTS -- create the monthly partitions ahead, move rows out of the DEFAULT
 * partitions, and optionally drop monthly partitions older than a retention age.
 * The work is done by execution.partition_plan / execution.apply_partitions
 * (migrations/0007), in one transaction; this file validates options and prints
 * what was (or, with --dry-run, would be) done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "execrec/config.h"
#include "pg/pg.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const partitions_keys[] = {"dsn", "months.ahead", "retention", "dry.run",
                                              "log.level", NULL};
/* clang-format on */

/* Longest --months-ahead: 100 years, as ensure_partitions allows. */
#define PARTITIONS_MONTHS_MAX 1200

static const char *sqlstate(const PGresult *res) {
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* Prints one action row (columns of the query in execrec_cli_partitions). */
static void print_action(const PGresult *res, int row, int dry_run) {
    const char *action = PQgetvalue(res, row, 0);
    const char *table = PQgetvalue(res, row, 1);
    const char *part = PQgetvalue(res, row, 2);
    const char *from = PQgetvalue(res, row, 3), *to = PQgetvalue(res, row, 4);
    long long rows = atoll(PQgetvalue(res, row, 5));
    if (!strcmp(action, "create")) {
        printf("%s execution.%s for [%s, %s)", dry_run ? "would create" : "created", part, from,
               to);
        if (rows > 0)
            printf(", %s %lld row(s) out of execution.%s_default", dry_run ? "moving" : "moved",
                   rows, table);
        printf("\n");
    } else if (!strcmp(action, "drop")) {
        printf("%s execution.%s [%s, %s)", dry_run ? "would drop" : "dropped", part, from, to);
        if (rows >= 0)
            printf(", about %lld row(s)", rows);
        printf("\n");
    } else {
        printf("%s %lld row(s) of [%s, %s) in execution.%s: older than the retention, no "
               "partition is created for them\n",
               dry_run ? "would keep" : "kept", rows, from, to, part);
    }
}

/* Rejects deleted per transaction by --retention (execution.delete_rejects): small
 * enough that a delete never holds many row locks or a long transaction beside a
 * running recorder, large enough that a backlog goes in few round trips. */
#define REJECTS_DELETE_BATCH 10000

/* --retention for execution.ingest_rejects, which is not partitioned (migration
 * 0010 says why): deletes the rejects recorded more than retention ago, oldest
 * first, REJECTS_DELETE_BATCH per transaction, and prints how many (with
 * --dry-run, counts them). @returns 0, or -1 (reason printed). */
static int delete_old_rejects(PGconn *conn, const char *retention, int dry_run) {
    char errstr[1024], cutoff[64], batch[16];
    const char *params[2] = {retention, NULL};
    PGresult *res =
        PQexecParams(conn, "SELECT (now() - $1::interval)::text", 1, NULL, params, NULL, NULL, 0);
    if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec partitions: %s\n", errstr);
        PQclear(res);
        return -1;
    }
    snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(batch, sizeof(batch), "%d", REJECTS_DELETE_BATCH);
    params[0] = cutoff;
    params[1] = batch;
    long long total = 0, n;
    int transactions = 0;
    do {
        res =
            PQexecParams(conn,
                         dry_run ? "SELECT count(*) FROM execution.ingest_rejects "
                                   "WHERE recorded_at < $1::timestamptz"
                                 : "SELECT execution.delete_rejects($1::timestamptz, $2::integer)",
                         dry_run ? 1 : 2, NULL, params, NULL, NULL, 0);
        if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
            const char *st = sqlstate(res);
            if (!strcmp(st, "42883") || !strcmp(st, "42P01"))
                fprintf(stderr,
                        "execrec partitions: execution.delete_rejects is missing: run "
                        "'execrec migrate' first (%s)\n",
                        errstr);
            else
                fprintf(stderr, "execrec partitions: deleting old rejects: %s\n", errstr);
            PQclear(res);
            return -1;
        }
        n = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        total += n;
        transactions += !dry_run && n > 0;
    } while (!dry_run && n == REJECTS_DELETE_BATCH);
    if (dry_run)
        printf("would delete %lld reject(s) recorded before %s from execution.ingest_rejects\n",
               total, cutoff);
    else
        printf("deleted %lld reject(s) recorded before %s from execution.ingest_rejects (%d "
               "transaction(s) of at most %d)\n",
               total, cutoff, transactions, REJECTS_DELETE_BATCH);
    return 0;
}

int execrec_cli_partitions(int argc, char **argv) {
    int rc;
    execrec_config_t *conf =
        cli_begin("partitions",
                  "Partition maintenance for OrdersTS, OrderEventsTS and TradesTS, in one\n"
                  "transaction: creates the missing monthly partitions from this month (UTC)\n"
                  "through --months-ahead months ahead, and for every month of which a DEFAULT\n"
                  "partition holds rows, moving those rows into it (execution.ensure_partitions).\n"
                  "With --retention AGE, drops every monthly partition whose whole month ended\n"
                  "more than AGE ago; rows of such months found in a DEFAULT partition are left\n"
                  "there. The DEFAULT partitions are never dropped. --retention also deletes the\n"
                  "rejects (execution.ingest_rejects) recorded more than AGE ago, in transactions\n"
                  "of at most 10,000 rows. Prints each action; with --dry-run, prints what it\n"
                  "would do and changes nothing. Run it daily as the schema's owner from a timer\n"
                  "or cron (it takes no lock when there is nothing to do; docs/roles.md). Needs\n"
                  "'execrec migrate' first.",
                  partitions_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_FAIL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    char errstr[1024], months[32];
    const char *retention = execrec_config_get(conf, "retention");
    int64_t months_ahead = execrec_config_get_int(conf, "months.ahead");
    int dry_run = execrec_config_get_bool(conf, "dry.run");
    if (months_ahead > PARTITIONS_MONTHS_MAX) {
        fprintf(stderr, "execrec partitions: --months-ahead must be at most %d, not %lld\n",
                PARTITIONS_MONTHS_MAX, (long long)months_ahead);
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    if (retention && !*retention)
        retention = NULL;
    snprintf(months, sizeof(months), "%lld", (long long)months_ahead);
    if (!(conn = execrec_pg_connect(execrec_config_get(conf, "dsn"), errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec partitions: %s\n", errstr);
        goto done;
    }
    /* UTC dates in the output; ensure_partitions' NOTICEs repeat what we print. */
    if (execrec_pg_exec(conn, "SET TimeZone = 'UTC'; SET client_min_messages = warning", errstr,
                        sizeof(errstr))) {
        fprintf(stderr, "execrec partitions: %s\n", errstr);
        goto done;
    }
    const char *params[2] = {months, retention};
    if (retention) {
        res = PQexecParams(conn,
                           "SELECT $1::interval > interval '0', "
                           "date_trunc('second', now() - $1::interval)::text",
                           1, NULL, &retention, NULL, NULL, 0);
        if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
            if (!strncmp(sqlstate(res), "22", 2)) {
                fprintf(stderr,
                        "execrec partitions: --retention '%s' is not an age such as "
                        "'400 days' or '13 months' (see --help)\n",
                        retention);
                rc = EXECREC_EXIT_USAGE;
            } else {
                fprintf(stderr, "execrec partitions: %s\n", errstr);
            }
            goto done;
        }
        if (strcmp(PQgetvalue(res, 0, 0), "t")) {
            fprintf(stderr, "execrec partitions: --retention '%s' must be a positive age\n",
                    retention);
            rc = EXECREC_EXIT_USAGE;
            goto done;
        }
        printf("partitions: %s months ahead; retention %s: monthly partitions that ended "
               "before %s are dropped\n",
               months, retention, PQgetvalue(res, 0, 1));
    } else {
        printf("partitions: %s months ahead; no retention\n", months);
    }
    PQclear(res);
    res = NULL;

    if (!dry_run && execrec_pg_exec(conn, "BEGIN", errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec partitions: %s\n", errstr);
        goto done;
    }
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT action, table_name, partition_name, to_char(range_from, 'YYYY-MM-DD'), "
             "to_char(range_to, 'YYYY-MM-DD'), rows FROM execution.%s($1::integer, "
             "$2::interval)",
             dry_run ? "partition_plan" : "apply_partitions");
    res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
    if (execrec_pg_result_check(conn, res, errstr, sizeof(errstr))) {
        const char *st = sqlstate(res);
        if (!strcmp(st, "42883") || !strcmp(st, "42P01") || !strcmp(st, "3F000"))
            fprintf(stderr,
                    "execrec partitions: the partition functions are missing: run "
                    "'execrec migrate' first (%s)\n",
                    errstr);
        else
            fprintf(stderr, "execrec partitions: %s\n", errstr);
        goto done;
    }
    long long created = 0, dropped = 0, moved = 0, kept = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *action = PQgetvalue(res, i, 0);
        long long rows = atoll(PQgetvalue(res, i, 5));
        print_action(res, i, dry_run);
        if (!strcmp(action, "create")) {
            created++;
            moved += rows;
        } else if (!strcmp(action, "drop")) {
            dropped++;
        } else {
            kept += rows;
        }
    }
    if (!dry_run && execrec_pg_exec(conn, "COMMIT", errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec partitions: %s\n", errstr);
        goto done;
    }
    if (dry_run)
        printf("partitions: would create %lld, drop %lld, move %lld row(s) out of the default "
               "partitions and leave %lld there (dry run: nothing changed)\n",
               created, dropped, moved, kept);
    else
        printf("partitions: created %lld, dropped %lld, moved %lld row(s) out of the default "
               "partitions, left %lld there\n",
               created, dropped, moved, kept);
    if (retention && delete_old_rejects(conn, retention, dry_run) < 0)
        goto done;
    rc = EXECREC_EXIT_OK;
done:
    PQclear(res);
    if (conn)
        PQfinish(conn);
    execrec_config_destroy(conf);
    return rc;
}
