/* The partition check of run, backfill and load (app/ingest.c) against a real
 * PostgreSQL: made once at connect and once more at the first flush of each new
 * UTC month (the clock is the test's), naming the months from the current one
 * through EXECREC_CONFIG_MONTHS_AHEAD - 1 ahead that lack a partition, while rows
 * of such a month are still written (the DEFAULT partition takes them). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "app/ingest.h"
#include "model/codec.h"
#include "testutil.h"

static int64_t fake_now;
static int64_t fake_clock(void) {
    return fake_now;
}

/* Adds trade T-<n> dated at `when` (text) and flushes it. */
static void write_trade(execrec_ingest_t *in, int n, const char *when) {
    char value[512], errstr[512];
    int len = snprintf(value, sizeof(value),
                       "{\"trade_id\":\"T-%d\",\"order_id\":\"O\",\"quantity\":\"1\","
                       "\"price\":\"2\",\"trade_time\":\"%s\"}",
                       n, when);
    execrec_msgmeta_t meta = {"file:test", 0, n, -1, NULL, 0, value, (size_t)len};
    ck_assert_int_eq(execrec_ingest_add(in, EXECREC_KIND_TRADE, &meta), EXECREC_OK);
    execrec_writer_stats_t stats;
    execrec_err_t err =
        execrec_ingest_flush(in, EXECREC_INGEST_NO_RETRY, &stats, errstr, sizeof(errstr));
    ck_assert_msg(err == EXECREC_OK, "flush: %s", errstr);
}

START_TEST(test_month_change_rechecks) {
    char *dsn = tu_pg_create_db("ingest_months");
    PGconn *conn = tu_pg_connect(dsn);
    char errstr[1024];
    execrec_codec_conf_t cc;
    memset(&cc, 0, sizeof(cc));
    execrec_codec_t *codec = execrec_codec_new(&cc, errstr, sizeof(errstr));
    ck_assert_msg(codec != NULL, "%s", errstr);
    execrec_ingest_conf_t ic = {.dsn = dsn, .codec = codec, .clock = fake_clock};
    fake_now = (int64_t)time(NULL);
    execrec_ingest_t *in = execrec_ingest_new(&ic, errstr, sizeof(errstr));
    ck_assert_msg(in != NULL, "%s", errstr);

    /* The test's role may migrate: migrations and partitions, then the check. */
    int applied = -1, checks = -1;
    ck_assert_msg(execrec_ingest_connect(in, &applied, errstr, sizeof(errstr)) == EXECREC_OK, "%s",
                  errstr);
    ck_assert_int_gt(applied, 0);
    ck_assert_str_eq(execrec_ingest_missing_months(in, &checks), "");
    ck_assert_int_eq(checks, 1);

    /* Next month's partition of one table goes missing: nothing is checked before
     * the month changes. */
    char *next = tu_pg_scalar(conn, "SELECT to_char(date_trunc('month', now() AT TIME ZONE "
                                    "'UTC') + interval '1 month', 'YYYY-MM')");
    char sql[256], when[64];
    snprintf(sql, sizeof(sql), "DROP TABLE execution.tradests_y%.4sm%.2s", next, next + 5);
    tu_pg_exec(conn, sql);
    snprintf(when, sizeof(when), "%s-15T12:00:00Z", next);
    write_trade(in, 1, when);
    ck_assert_str_eq(execrec_ingest_missing_months(in, &checks), "");
    ck_assert_int_eq(checks, 1);

    /* The clock moves to another month: the first flush checks again and names it;
     * the rows of that month are in the DEFAULT partition. */
    fake_now += 40 * 86400;
    write_trade(in, 2, when);
    ck_assert_str_eq(execrec_ingest_missing_months(in, &checks), next);
    ck_assert_int_eq(checks, 2);
    write_trade(in, 3, when); /* the same month: no check */
    execrec_ingest_missing_months(in, &checks);
    ck_assert_int_eq(checks, 2);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.tradests_default"), 3);

    execrec_ingest_destroy(in);
    execrec_codec_destroy(codec);
    free(next);
    PQfinish(conn);
    tu_pg_drop_db(dsn);
}
END_TEST

static Suite *ingest_months_suite(void) {
    Suite *s = suite_create("ingest_months");
    TCase *tc = tcase_create("partition check");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_month_change_rechecks);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(ingest_months_suite)
