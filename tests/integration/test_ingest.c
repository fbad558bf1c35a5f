/* The ingest against a real PostgreSQL: where a batch closes. execrec_ingest_full
 * is the one test of a full batch for the recorder, backfill and load; here it is
 * driven as they drive it (add a message, flush when full) and the flushes are
 * counted exactly, for the message count and for the byte budget (batch.bytes). */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "app/ingest.h"
#include "model/codec.h"
#include "testutil.h"

static char *dsn;
static PGconn *conn;
static execrec_codec_t *codec;

static void setup(void) {
    char errstr[512];
    dsn = tu_pg_create_db("ingest");
    conn = tu_pg_connect(dsn);
    execrec_codec_conf_t cc;
    memset(&cc, 0, sizeof(cc));
    codec = execrec_codec_new(&cc, errstr, sizeof(errstr));
    ck_assert_msg(codec != NULL, "%s", errstr);
}

static void teardown(void) {
    execrec_codec_destroy(codec);
    PQfinish(conn);
    tu_pg_drop_db(dsn);
}

/* Adds the n messages of msgs (each of len bytes, offsets 0..n-1 of "trades" [0])
 * to a new ingest with these limits, flushing whenever execrec_ingest_full says
 * so, as the recorder does. sizes[i] is the number of messages in flush i (a last
 * flush of what remains is not counted). @returns the number of full flushes. */
static int feed(int64_t batch_size, int64_t batch_bytes, char **msgs, int n, int *sizes) {
    char errstr[512];
    execrec_ingest_conf_t ic = {.dsn = dsn,
                                .codec = codec,
                                .batch_size = batch_size,
                                .batch_bytes = batch_bytes,
                                .reject_payload_max = 65536};
    execrec_ingest_t *in = execrec_ingest_new(&ic, errstr, sizeof(errstr));
    ck_assert_msg(in != NULL, "%s", errstr);
    int applied;
    ck_assert_msg(execrec_ingest_connect(in, &applied, errstr, sizeof(errstr)) == EXECREC_OK, "%s",
                  errstr);
    int flushes = 0;
    execrec_writer_stats_t st;
    for (int i = 0; i < n; i++) {
        execrec_msgmeta_t m = {"trades", 0, i, -1, NULL, 0, msgs[i], strlen(msgs[i])};
        ck_assert_int_eq(execrec_ingest_add(in, EXECREC_KIND_TRADE, &m), EXECREC_OK);
        if (execrec_ingest_full(in)) {
            ck_assert_msg(execrec_ingest_flush(in, EXECREC_INGEST_NO_RETRY, &st, errstr,
                                               sizeof(errstr)) == EXECREC_OK,
                          "%s", errstr);
            sizes[flushes++] = (int)st.messages;
        }
    }
    ck_assert_msg(execrec_ingest_flush(in, EXECREC_INGEST_NO_RETRY, &st, errstr, sizeof(errstr)) ==
                      EXECREC_OK,
                  "%s", errstr);
    execrec_ingest_destroy(in);
    return flushes;
}

/* n messages of about len bytes: valid trades with a long note (rows), or, bad,
 * the same with a byte that cannot start JSON first (unknown_format rejects). */
static char **make_msgs(int n, size_t len, int bad) {
    char **msgs = calloc((size_t)n, sizeof(char *));
    ck_assert_ptr_nonnull(msgs);
    for (int i = 0; i < n; i++) {
        char head[256];
        int h = snprintf(head, sizeof(head),
                         "%s{\"trade_id\":\"B-%d\",\"order_id\":\"O-1\",\"quantity\":\"1\","
                         "\"price\":\"2\",\"trade_time\":\"2026-11-03T10:00:00Z\",\"note\":\"",
                         bad ? "x" : "", i);
        ck_assert_uint_lt((size_t)h + 2, len);
        msgs[i] = malloc(len + 1);
        ck_assert_ptr_nonnull(msgs[i]);
        memcpy(msgs[i], head, (size_t)h);
        memset(msgs[i] + h, 'n', len - (size_t)h - 2);
        memcpy(msgs[i] + len - 2, "\"}", 3);
    }
    return msgs;
}

static void free_msgs(char **msgs, int n) {
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
}

/* 20 rejects of 10,000 bytes under a 50,000-byte budget: each reject's COPY text is
 * its payload and at most a few hundred bytes more, so the 5th reaches the budget
 * (5 x 10,000) and the 4th cannot (4 x 10,400): 4 flushes of 5. */
START_TEST(test_budget_closes_reject_batches) {
    char **msgs = make_msgs(20, 10000, 1);
    int sizes[32];
    ck_assert_int_eq(feed(1000000, 50000, msgs, 20, sizes), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(sizes[i], 5);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.ingest_rejects "
                                       "WHERE reason = 'unknown_format'"),
                     20);
    free_msgs(msgs, 20);
}
END_TEST

/* 12 trades of 5,000 bytes under a 20,000-byte budget: a row's COPY text holds its
 * raw JSON (5,000) and its columns (under 600 bytes), so flushes come at every
 * 4th: 3 of 4. */
START_TEST(test_budget_closes_row_batches) {
    char **msgs = make_msgs(12, 5000, 0);
    int sizes[32];
    ck_assert_int_eq(feed(1000000, 20000, msgs, 12, sizes), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sizes[i], 4);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 12);
    free_msgs(msgs, 12);
}
END_TEST

/* The message count still closes batches, whichever limit comes first; no limit
 * (<= 0) never does. */
START_TEST(test_count_and_no_limit) {
    char **msgs = make_msgs(10, 1000, 0);
    int sizes[32];
    ck_assert_int_eq(feed(3, 1 << 30, msgs, 10, sizes), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sizes[i], 3);
    ck_assert_int_eq(feed(0, 0, msgs, 10, sizes), 0);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 10);
    free_msgs(msgs, 10);
}
END_TEST

static Suite *ingest_suite(void) {
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("batch_full");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_budget_closes_reject_batches);
    tcase_add_test(tc, test_budget_closes_row_batches);
    tcase_add_test(tc, test_count_and_no_limit);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(ingest_suite)
