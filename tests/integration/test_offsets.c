/* offsets.h against a real PostgreSQL: the operator's reset (a compare-and-set
 * that moves a position backwards or forwards, creates a missing row, and fails
 * without a change when a recorder moved the position meanwhile), the listing with
 * its last-commit time, a listing FOR UPDATE that makes a recorder's
 * compare-and-set wait and then fail, and the count of a group's recorders by
 * their session name. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pg/migrate.h"
#include "pg/offsets.h"
#include "pg/pg.h"
#include "testutil.h"

static char *dsn;
static PGconn *conn;

static void setup(void) {
    char errstr[512];
    int applied;
    dsn = tu_pg_create_db("offsets");
    conn = tu_pg_connect(dsn);
    ck_assert_msg(execrec_migrate(conn, NULL, &applied, errstr, sizeof(errstr)) == EXECREC_OK, "%s",
                  errstr);
    tu_pg_exec(conn, "INSERT INTO execution.ingest_offsets (consumer_group, topic, partition, "
                     "next_offset, updated_at) VALUES ('g', 'trades', 0, 121, "
                     "'2026-11-03 14:00:00+00'), ('g', 'trades', 1, 7, now()), "
                     "('h', 'orders', 0, 3, now())");
}

static void teardown(void) {
    PQfinish(conn);
    tu_pg_drop_db(dsn);
}

static long long stored(const char *group, int partition) {
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(max(next_offset), -1) FROM execution.ingest_offsets WHERE "
             "consumer_group = '%s' AND topic = 'trades' AND partition = %d",
             group, partition);
    return tu_pg_count(conn, sql);
}

typedef struct seen_s {
    char text[1024];
} seen_t;

static execrec_err_t seen_row(void *opaque, const execrec_offsets_row_t *row) {
    seen_t *s = opaque;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%s/%s/%" PRId32 "/%" PRId64 "%s%s;", row->group,
             row->topic, row->partition, row->next_offset,
             strcmp(row->group, "g") || row->partition ? "" : "@", /* the one fixed time */
             strcmp(row->group, "g") || row->partition ? "" : row->updated_at);
    return EXECREC_OK;
}

START_TEST(test_list) {
    char errstr[512];
    seen_t s = {""};
    ck_assert_int_eq(execrec_offsets_list(conn, "g", 0, seen_row, &s, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_str_eq(s.text, "g/trades/0/121@2026-11-03T14:00:00Z;g/trades/1/7;");
    s.text[0] = '\0';
    ck_assert_int_eq(execrec_offsets_list(conn, NULL, 0, seen_row, &s, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_str_eq(s.text, "g/trades/0/121@2026-11-03T14:00:00Z;g/trades/1/7;h/orders/0/3;");
}
END_TEST

START_TEST(test_reset) {
    char errstr[512];
    /* Backwards (a recreated topic), with the time of the change. */
    tu_pg_exec(conn, "BEGIN");
    ck_assert_int_eq(execrec_offsets_reset(conn, "g", "trades", 0, 121, 0, errstr, sizeof(errstr)),
                     EXECREC_OK);
    tu_pg_exec(conn, "COMMIT");
    ck_assert_int_eq(stored("g", 0), 0);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.ingest_offsets WHERE "
                                       "consumer_group = 'g' AND partition = 0 AND "
                                       "updated_at > now() - interval '1 minute'"),
                     1);
    /* A missing row is created. */
    ck_assert_int_eq(execrec_offsets_reset(conn, "g", "trades", 5, -1, 40, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(stored("g", 5), 40);
    /* A stale expectation (a recorder moved it to 7 meanwhile) changes nothing. */
    ck_assert_int_eq(execrec_offsets_reset(conn, "g", "trades", 1, 5, 0, errstr, sizeof(errstr)),
                     EXECREC_ERR_CONFLICT);
    ck_assert_ptr_nonnull(strstr(errstr, "trades [1]"));
    ck_assert_int_eq(stored("g", 1), 7);
    ck_assert_int_eq(execrec_offsets_reset(conn, "g", "trades", 5, -1, 1, errstr, sizeof(errstr)),
                     EXECREC_ERR_CONFLICT);
    ck_assert_int_eq(stored("g", 5), 40);
    /* Other groups never move. */
    ck_assert_int_eq(tu_pg_count(conn, "SELECT next_offset FROM execution.ingest_offsets WHERE "
                                       "consumer_group = 'h'"),
                     3);
}
END_TEST

/* A recorder's batch that touches a row the reset holds FOR UPDATE waits, and its
 * compare-and-set fails once the reset has committed: it is fenced. */
START_TEST(test_reset_fences_a_racing_recorder) {
    char errstr[512];
    seen_t s = {""};
    PGconn *rec = tu_pg_connect(dsn);
    tu_pg_exec(conn, "BEGIN");
    ck_assert_int_eq(execrec_offsets_list(conn, "g", 1, seen_row, &s, errstr, sizeof(errstr)),
                     EXECREC_OK);
    /* The recorder's batch: moves trades [1] from 7 to 9, sent without waiting. */
    ck_assert_int_eq(PQsendQuery(rec, "UPDATE execution.ingest_offsets SET next_offset = 9 WHERE "
                                      "consumer_group = 'g' AND topic = 'trades' AND partition = "
                                      "1 AND next_offset = 7"),
                     1);
    /* It waits for the lock. */
    for (int i = 0; i < 50 && !tu_pg_count(conn, "SELECT count(*) FROM pg_stat_activity WHERE "
                                                 "wait_event_type = 'Lock'");
         i++)
        usleep(100000);
    ck_assert_int_eq(
        tu_pg_count(conn, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
        1);
    ck_assert_int_eq(execrec_offsets_reset(conn, "g", "trades", 1, 7, 0, errstr, sizeof(errstr)),
                     EXECREC_OK);
    tu_pg_exec(conn, "COMMIT");
    PGresult *res = PQgetResult(rec);
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    ck_assert_str_eq(PQcmdTuples(res), "0"); /* the compare-and-set found nothing: fenced */
    PQclear(res);
    while ((res = PQgetResult(rec)))
        PQclear(res);
    ck_assert_int_eq(stored("g", 1), 0);
    PQfinish(rec);
}
END_TEST

START_TEST(test_recorders_by_session_name) {
    char errstr[512], name[64], info[1024];
    int64_t n = -1;
    execrec_offsets_app_name("g", name, sizeof(name));
    ck_assert_str_eq(name, "execrec run: g");
    ck_assert_int_eq(execrec_offsets_recorders(conn, "g", &n, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_int_eq(n, 0);
    snprintf(info, sizeof(info), "%s application_name='%s'", dsn, name);
    PGconn *r1 = tu_pg_connect(info), *r2 = tu_pg_connect(info);
    ck_assert_int_eq(execrec_offsets_recorders(conn, "g", &n, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(execrec_offsets_recorders(conn, "h", &n, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_int_eq(n, 0);
    PQfinish(r1);
    PQfinish(r2);
    /* A long group name is cut as PostgreSQL cuts application_name (63 bytes). */
    char group[100];
    memset(group, 'x', sizeof(group) - 1);
    group[sizeof(group) - 1] = '\0';
    execrec_offsets_app_name(group, name, sizeof(name));
    ck_assert_uint_eq(strlen(name), 63);
}
END_TEST

static Suite *offsets_suite(void) {
    Suite *s = suite_create("offsets");
    TCase *tc = tcase_create("offsets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_reset_fences_a_racing_recorder);
    tcase_add_test(tc, test_recorders_by_session_name);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(offsets_suite)
