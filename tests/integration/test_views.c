/* The SQL layer (migrations 0003-0007) against the fixture stream of
 * tests/data/views/, loaded through `execrec load` (the real decoder and writer):
 * every view and function gives exactly the answers computed by hand in
 * tests/data/views/README.md, compared as text (NUMERIC text included). The same
 * answers come back when the files are loaded in reverse order (arrival order does
 * not matter), and a late event changes only what its event time says it should.
 * A second case builds a million trades over six monthly partitions and checks the
 * plans of the time-window queries: partitions pruned, indexes used. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static char *dsn;    /* fixture database, loaded once per test case (unchecked fixture) */
static PGconn *conn; /* per test */

static const char *const fixture_files[][2] = {
    {"order_manager", "order_managers.jsonl"},
    {"order", "orders.jsonl"},
    {"order_event", "order_events.jsonl"},
    {"trade", "trades.jsonl"},
};

/* Loads the fixture into db with `execrec load`; reversed: each file's lines in
 * reverse order, and the kinds in reverse order too. */
static void load_fixture(const char *db, int reversed) {
    for (int i = 0; i < 4; i++) {
        int k = reversed ? 3 - i : i;
        char *path = NULL, cmd[2048], rel[256];
        snprintf(rel, sizeof(rel), "tests/data/views/%s", fixture_files[k][1]);
        path = tu_source_path(rel);
        if (reversed)
            snprintf(cmd, sizeof(cmd),
                     "tac '%s' > /tmp/execrec_views_%d_%s && '%s' load --dsn '%s' --kind %s "
                     "/tmp/execrec_views_%d_%s 2>&1; rc=$?; rm -f /tmp/execrec_views_%d_%s; "
                     "exit $rc",
                     path, (int)getpid(), fixture_files[k][1], tu_bin(), db, fixture_files[k][0],
                     (int)getpid(), fixture_files[k][1], (int)getpid(), fixture_files[k][1]);
        else
            snprintf(cmd, sizeof(cmd), "'%s' load --dsn '%s' --kind %s '%s' 2>&1", tu_bin(), db,
                     fixture_files[k][0], path);
        char *out = NULL;
        int rc = tu_run(cmd, &out);
        ck_assert_msg(rc == 0, "%s: exit %d: %s", cmd, rc, out ? out : "");
        ck_assert_msg(out && strstr(out, "rejected 0"), "%s", out ? out : "");
        free(out);
        free(path);
    }
}

static void fixture_setup(void) {
    dsn = tu_pg_create_db("views");
    load_fixture(dsn, 0);
}

static void fixture_teardown(void) {
    tu_pg_drop_db(dsn);
    dsn = NULL;
}

static void connect_setup(void) {
    conn = tu_pg_connect(dsn);
    tu_pg_exec(conn, "SET TimeZone = 'UTC'");
}

static void connect_teardown(void) {
    PQfinish(conn);
    conn = NULL;
}

/* The rows of sql as text: columns separated by '|', rows by '\n', NULL empty.
 * malloc'd. */
static char *rows_text(PGconn *c, const char *sql) {
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        ck_abort_msg("SQL failed: %s\n%s", sql, PQerrorMessage(c));
    size_t cap = 256, len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (int t = 0; t < PQntuples(res); t++) {
        for (int f = 0; f < PQnfields(res); f++) {
            const char *v = PQgetvalue(res, t, f);
            size_t need = len + strlen(v) + 3;
            if (need > cap) {
                while (need > cap)
                    cap *= 2;
                s = realloc(s, cap);
            }
            len += (size_t)sprintf(s + len, "%s%s", f ? "|" : (t ? "\n" : ""), v);
        }
    }
    PQclear(res);
    return s;
}

static void expect_rows(const char *sql, const char *want) {
    char *got = rows_text(conn, sql);
    ck_assert_msg(!strcmp(got, want), "%s\n--- got:\n%s\n--- expected:\n%s", sql, got, want);
    free(got);
}

/* sql must fail with SQLSTATE state and a message containing what. */
static void expect_error(const char *sql, const char *state, const char *what) {
    PGresult *res = PQexec(conn, sql);
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR && st && !strcmp(st, state) &&
                      strstr(PQerrorMessage(conn), what),
                  "%s: %s %s", sql, st ? st : "no error", PQerrorMessage(conn));
    PQclear(res);
}

/* ---- order state ---- */

START_TEST(test_order_state) {
    expect_rows("SELECT order_id, known_order, account_uid, status, status_source, is_terminal, "
                "filled_quantity, remaining_quantity, unfilled_quantity, avg_fill_price, "
                "reject_code, reject_reason, event_count, first_event_time, last_event_time "
                "FROM execution.order_state ORDER BY order_id",
                "O1|t|A1|filled|event|t|10|0|0|99.96|||3|2026-03-02 10:00:00.1+00|2026-03-02 "
                "10:00:03+00\n"
                "O2|t|A1|canceled|event|t|3|0|7|101.00|||3|2026-03-02 10:01:00.1+00|2026-03-02 "
                "10:02:00+00\n"
                "O3|t|A2|rejected|event|t|0|0|5||RISK_LIMIT|exposure limit|1|2026-03-02 "
                "10:02:00.05+00|2026-03-02 10:02:00.05+00\n"
                "O4|t|A2|filled|event|t|8|0|0|49.6875|||3|2026-03-02 10:05:00.5+00|2026-03-02 "
                "10:05:05+00\n"
                "O5|t|A2|filled|event|t|12|0|0|52.00|||2|2026-03-02 10:10:00.2+00|2026-03-02 "
                "10:10:01+00\n"
                "O6|t|A2|partially_filled|event|f|1.5|0.5|0.5|50.00|||2|2026-03-02 "
                "10:20:00.1+00|2026-03-02 10:20:01+00\n"
                "O7|t|A1|filled|event|t|7|0|0|100.50|||3|2026-03-02 10:30:00.1+00|2026-03-02 "
                "10:30:02+00\n"
                "O8|t|A1|new|event|f|0|2|2||||1|2026-03-02 10:40:00.1+00|2026-03-02 "
                "10:40:00.1+00\n"
                "O9|t|A1|new|order|f|0|1|1||||0||\n"
                "O99|f||new|event|f|0|5|||||1|2026-03-02 10:50:00+00|2026-03-02 10:50:00+00");
    expect_rows("SELECT string_agg(order_id, ',' ORDER BY order_id) FROM execution.open_orders",
                "O6,O8,O9,O99");
    expect_rows("SELECT string_agg(order_id, ',' ORDER BY order_id) FROM execution.closed_orders",
                "O1,O2,O3,O4,O5,O7");
    /* One order at a time gives the same row (the view's predicates push down). */
    expect_rows("SELECT status, filled_quantity FROM execution.order_state WHERE order_id = 'O4'",
                "filled|8");
    expect_rows("SELECT status, known_order FROM execution.order_state WHERE order_id = 'O99'",
                "new|f");
}
END_TEST

/* A late event is placed by its time: an older one changes nothing, a newer one
 * moves the state on. */
START_TEST(test_late_events) {
    char path[128], cmd[1024];
    snprintf(path, sizeof(path), "/tmp/execrec_views_late_%d.jsonl", (int)getpid());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"order_id\":\"O8\",\"event_type\":\"pending_new\",\"event_time\":"
          "\"2026-03-02T10:40:00.050Z\",\"sequence\":0}\n"
          "{\"order_id\":\"O6\",\"event_type\":\"new\",\"event_time\":"
          "\"2026-03-02T10:20:00.100Z\",\"event_id\":\"late-dup\",\"sequence\":1,"
          "\"filled_quantity\":\"0\",\"remaining_quantity\":\"2\"}\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "'%s' load --dsn '%s' --kind order_event '%s' 2>&1", tu_bin(), dsn,
             path);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    expect_rows("SELECT order_id, status, filled_quantity, remaining_quantity, event_count FROM "
                "execution.order_state WHERE order_id IN ('O6', 'O8') ORDER BY order_id",
                "O6|partially_filled|1.5|0.5|3\nO8|new|0|2|2");
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"order_id\":\"O8\",\"event_type\":\"cancelled\",\"event_time\":"
          "\"2026-03-02T10:41:00Z\",\"sequence\":2}\n",
          f);
    fclose(f);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
    unlink(path);
    /* The cancel carries no quantities: filled stays 0, remaining becomes 0. */
    expect_rows("SELECT status, is_terminal, filled_quantity, remaining_quantity, "
                "unfilled_quantity FROM execution.order_state WHERE order_id = 'O8'",
                "canceled|t|0|0|2");
    expect_rows("SELECT string_agg(order_id, ',' ORDER BY order_id) FROM execution.open_orders",
                "O6,O9,O99");
}
END_TEST

/* ---- fills ---- */

START_TEST(test_order_fills) {
    expect_rows("SELECT order_id, known_order, account_uid, side, order_quantity, fill_count, "
                "filled_quantity, notional, vwap, fees, other_fees, first_fill_time, "
                "last_fill_time, time_to_first_fill, time_to_complete_fill, slippage_bps_limit, "
                "slippage_bps_reference FROM execution.order_fills ORDER BY order_id",
                "O1|t|A1|buy|10|2|10|999.60|99.96|1.00||2026-03-02 10:00:01+00|2026-03-02 "
                "10:00:03+00|00:00:01|00:00:03|-4.0000|46.2312\n"
                "O2|t|A1|sell|10|1|3|303.00|101|0.30||2026-03-02 10:01:30+00|2026-03-02 "
                "10:01:30+00|00:00:30||0.0000|49.2611\n"
                "O4|t|A2|buy|8|2|8|397.50|49.6875|0.25|0.0003 ABC|2026-03-02 10:05:02+00|"
                "2026-03-02 10:05:05+00|00:00:02|00:00:05|-62.5000|140.3061\n"
                "O5|t|A2|sell|12|1|12|624.00|52|1.20||2026-03-02 10:10:01+00|2026-03-02 "
                "10:10:01+00|00:00:01|00:00:01|-833.3333|\n"
                "O6|t|A2|buy|2|1|1|50.00|50|0.10||2026-03-02 10:20:01+00|2026-03-02 "
                "10:20:01+00|00:00:01||-196.0784|-99.0099\n"
                "O7|t|A1|sell|7|1|7|703.50|100.5|0.70||2026-03-02 10:30:02+00|2026-03-02 "
                "10:30:02+00|00:00:02|00:00:02|-50.0000|\n"
                "OX|f||||1|1|10|10|0||2026-03-02 10:55:00+00|2026-03-02 10:55:00+00||||");
    /* The window function agrees with the view for the orders sent in the window,
     * and lists orders without fills too. */
    const char *cols = "order_id, known_order, fill_count, filled_quantity, notional, vwap, fees, "
                       "other_fees, time_to_first_fill, time_to_complete_fill, "
                       "slippage_bps_limit, slippage_bps_reference";
    char sql_a[1024], sql_b[1024];
    snprintf(sql_a, sizeof(sql_a),
             "SELECT %s FROM execution.order_fills_between('2026-03-02 10:00Z', "
             "'2026-03-02 10:30Z') WHERE fill_count > 0 ORDER BY order_id",
             cols);
    snprintf(sql_b, sizeof(sql_b),
             "SELECT %s FROM execution.order_fills WHERE order_time >= '2026-03-02 10:00Z' AND "
             "order_time < '2026-03-02 10:30Z' ORDER BY order_id",
             cols);
    char *b = rows_text(conn, sql_b);
    ck_assert_int_gt(strlen(b), 100);
    expect_rows(sql_a, b);
    free(b);
    expect_rows("SELECT string_agg(order_id || ':' || fill_count || ':' || fees, ',' ORDER BY "
                "order_id) FROM execution.order_fills_between('2026-03-02 10:00Z', "
                "'2026-03-02 10:05Z')",
                "O1:2:1.00,O2:1:0.30,O3:0:0");
}
END_TEST

START_TEST(test_fill_stats) {
    expect_rows("SELECT * FROM execution.fill_stats('2026-03-02Z', '2026-03-03Z', 'strategy')",
                "alpha|4|3|2|4|2006.10|2.00|3|13.0033|15.1641|46.2312|49.2611|11.000000|"
                "2.000000|30.000000|2.500000|2.000000|3.000000\n"
                "beta|4|3|2|4|1071.50|1.55|3|-422.1895|-264.0124|-99.0099|140.3061|1.333333|"
                "1.000000|2.000000|3.000000|1.000000|5.000000\n"
                "|1|0|0|0|0|0|0||||||||||");
    /* Against limit prices, by manager: M1's O1 -4.0000, O2 0.0000, O7 -50.0000:
     * weighted (-4000 + 0 - 35000) / (1000.00 + 303.00 + 700.00) = -19.4708. */
    expect_rows("SELECT group_key, orders, slippage_orders, slippage_bps, slippage_bps_mean, "
                "slippage_bps_p50 FROM execution.fill_stats('2026-03-02Z', '2026-03-03Z', "
                "'order_manager', 'limit')",
                "M1|4|3|-19.4708|-18.0000|-4.0000\n"
                "M2|4|3|-501.4606|-363.9706|-196.0784\n"
                "|1|0|||");
    expect_rows("SELECT group_key, orders, notional FROM execution.fill_stats('2026-03-02 10:00Z',"
                " '2026-03-02 10:02Z', 'all', 'reference')",
                "all|2|1302.60");
    expect_error("SELECT * FROM execution.fill_stats(now(), now(), 'desk')", "22023",
                 "group_by must be");
    expect_error("SELECT * FROM execution.fill_stats(now(), now(), 'asset', 'vwap')", "22023",
                 "benchmark must be");
}
END_TEST

/* ---- positions ---- */

START_TEST(test_positions) {
    expect_rows("SELECT * FROM execution.positions ORDER BY account_uid, asset",
                "A1|XYZ|0||4.9|2.00|10|10|4|2026-03-02 10:30:02+00\n"
                "A2|ABC|-3|52|18.95|1.55|9|12|4|2026-03-02 10:20:01+00\n"
                "A3|QQQ|1|10|0|0|1|0|1|2026-03-02 10:55:00+00");
    expect_rows("SELECT * FROM execution.positions_at('2026-03-02 10:15:00Z') "
                "ORDER BY account_uid, asset",
                "A1|XYZ|7|99.96|1.82|1.30|10|3|3|2026-03-02 10:01:30+00\n"
                "A2|ABC|-4|52|17.05|1.45|8|12|3|2026-03-02 10:10:01+00");
    expect_rows("SELECT count(*) FROM execution.positions_at('2026-03-02 09:00:00Z')", "0");
}
END_TEST

/* The average-cost aggregate on its own: partial closes, a flip each way, a short
 * covered at a loss, and a position that is not a round number. */
START_TEST(test_avgcost_aggregate) {
    expect_rows("SELECT (s).position, (s).cost, trim_scale((s).realized_pnl), (s).fees FROM "
                "(SELECT execution.avgcost(q, p, f ORDER BY n) AS s FROM (VALUES "
                "(1, 3, 10.0, NULL), (2, -1, 13.0, 0.5), (3, -5, 12.0, NULL), "
                "(4, 4, 14.0, 0.25), (5, 1, 11.0, NULL)) v(n, q, p, f)) x",
                /* +3 @10 (cost 30); -1 @13: share 10, +3, fee -0.5; -5 @12: closes 2
                 * (share 20, +4), short 3 @12 (cost -36); +4 @14: closes 3 (share -36,
                 * -42 + 36 = -6), fee -0.25, long 1 @14 (cost 14); +1 @11: cost 25.
                 * realized 3 - 0.5 + 4 - 6 - 0.25 = 0.25 */
                "2|25.0|0.25|0.75");
    expect_rows("SELECT (s).position, trim_scale((s).cost), trim_scale((s).realized_pnl) FROM "
                "(SELECT execution.avgcost(q, p, NULL ORDER BY n) AS s FROM (VALUES "
                "(1, 3, 1), (2, -1, 2)) v(n, q, p)) x",
                /* +3 @1, -1 @2: share 3 x 1 / 3 = 1 (rounded at 20 places), realized 1 */
                "2|2|1");
    expect_rows("SELECT trim_scale((s).cost), trim_scale((s).realized_pnl) FROM "
                "(SELECT execution.avgcost(q, p, NULL ORDER BY n) AS s FROM (VALUES "
                "(1, 3, 1), (2, 1, 2), (3, -1, 3)) v(n, q, p)) x",
                /* cost 5 for 4; share 5 / 4 = 1.25; realized 3 - 1.25 = 1.75 */
                "3.75|1.75");
}
END_TEST

/* ---- reconciliation ---- */

START_TEST(test_reconcile_views) {
    expect_rows("SELECT * FROM execution.fill_mismatches()",
                "O6|partially_filled|1.5|1|0.5|2026-03-02 10:20:01+00");
    expect_rows("SELECT count(*) FROM execution.fill_mismatches(0.5)", "0");
    expect_rows("SELECT order_id FROM execution.fill_mismatches(0.4)", "O6");
    expect_rows("SELECT trade_id, order_id, quantity, price FROM execution.orphan_trades",
                "F8|OX|1|10");
    expect_rows("SELECT * FROM execution.orphan_order_events",
                "O99|new|1|2026-03-02 10:50:00+00|2026-03-02 10:50:00+00");
    expect_rows("SELECT unique_identifier, status, strategy FROM execution.idle_managers",
                "M3|active|gamma");
    expect_rows("SELECT * FROM execution.stuck_orders('1 hour', '2026-03-02 11:30Z')",
                "O6|partially_filled|2026-03-02 10:20:01+00|01:09:59|A2|ABC|M2|1.5|0.5");
    expect_rows("SELECT string_agg(order_id || '@' || since, ',') FROM "
                "execution.stuck_orders('1 hour')",
                "O6@2026-03-02 10:20:01+00,O8@2026-03-02 10:40:00.1+00,"
                "O9@2026-03-02 10:45:00+00,O99@2026-03-02 10:50:00+00");
}
END_TEST

START_TEST(test_manager_summary) {
    expect_rows("SELECT * FROM execution.manager_summary ORDER BY order_manager_uid NULLS LAST",
                "M1|alpha|active|A1|4|1|2|1|0|4|2006.10|2.00|2026-03-02 10:00:00+00|"
                "2026-03-02 10:40:00+00\n"
                "M2|beta|active|A2|4|1|2|0|1|4|1071.50|1.55|2026-03-02 10:02:00+00|"
                "2026-03-02 10:20:00+00\n"
                "M3|gamma|active|A3|0|0|0|0|0|0|0|0||\n"
                "||||1|1|0|0|0|0|0|0|2026-03-02 10:45:00+00|2026-03-02 10:45:00+00");
}
END_TEST

/* ---- completeness and lag ---- */

START_TEST(test_ingest_lag) {
    tu_pg_exec(conn, "INSERT INTO execution.ingest_offsets (consumer_group, topic, partition, "
                     "next_offset) VALUES ('g', 'file:trades.jsonl', 0, 10), ('g', 'trades', 3, "
                     "42)");
    /* A Kafka-recorded trade: latency is ingested_at - kafka_timestamp. */
    tu_pg_exec(conn, "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, "
                     "trade_time, raw_payload, kafka_topic, kafka_partition, kafka_offset, "
                     "kafka_timestamp, ingested_at) VALUES ('K1', 'OX', 1, 1, "
                     "'2026-03-02 11:00Z', '{}', 'trades', 1, 7, '2026-03-02 11:00:00.5Z', "
                     "'2026-03-02 11:00:02Z'), ('K2', 'OX', 1, 1, '2026-03-02 10:59Z', '{}', "
                     "'trades', 1, 8, '2026-03-02 11:00:01Z', '2026-03-02 11:00:02Z')");
    expect_rows("SELECT kind, topic, partition, consumer_group, stored_offset, newest_event_time, "
                "newest_offset, ingest_latency FROM execution.ingest_lag "
                "ORDER BY kind NULLS LAST, topic, partition",
                "order|file:orders.jsonl|0|||2026-03-02 10:45:00+00|9|\n"
                "order_event|file:order_events.jsonl|0|||2026-03-02 10:50:00+00|19|\n"
                "trade|file:trades.jsonl|0|g|10|2026-03-02 10:55:00+00|9|\n"
                "trade|trades|1|||2026-03-02 11:00:00+00|7|00:00:01.5\n"
                "|trades|3|g|42|||");
    expect_rows("SELECT * FROM execution.ingest_watermarks ORDER BY kind, source",
                "order|file|1|2026-03-02 10:45:00+00|2026-03-02 10:45:00+00\n"
                "order_event|file|1|2026-03-02 10:50:00+00|2026-03-02 10:50:00+00\n"
                "trade|file|1|2026-03-02 10:55:00+00|2026-03-02 10:55:00+00\n"
                "trade|kafka|1|2026-03-02 11:00:00+00|2026-03-02 11:00:00+00");
    /* A second Kafka partition whose newest trade is older holds the watermark back. */
    tu_pg_exec(conn, "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, "
                     "trade_time, raw_payload, kafka_topic, kafka_partition, kafka_offset, "
                     "kafka_timestamp, ingested_at) VALUES ('K3', 'OX', 1, 1, "
                     "'2026-03-02 10:58Z', '{}', 'trades', 2, 1, '2026-03-02 10:58:00Z', "
                     "'2026-03-02 10:58:00.25Z')");
    expect_rows("SELECT partitions, complete_up_to, newest_event_time FROM "
                "execution.ingest_watermarks WHERE kind = 'trade' AND source = 'kafka'",
                "2|2026-03-02 10:58:00+00|2026-03-02 11:00:00+00");
    expect_rows("SELECT * FROM execution.ingest_latency('2026-03-02Z', '2026-03-03Z')",
                "trade|trades|1|2|1.250000|1.000000|1.500000|1.500000\n"
                "trade|trades|2|1|0.250000|0.250000|0.250000|0.250000");
}
END_TEST

/* ---- time buckets ---- */

START_TEST(test_trade_buckets) {
    expect_rows("SELECT * FROM execution.trade_buckets('1 hour', '2026-03-02Z', '2026-03-03Z')",
                "2026-03-02 10:00:00+00|ABC|4|21|1071.50\n"
                "2026-03-02 10:00:00+00|QQQ|1|1|10\n"
                "2026-03-02 10:00:00+00|XYZ|4|20|2006.10");
    expect_rows("SELECT * FROM execution.trade_buckets('1 minute', '2026-03-02 10:00Z', "
                "'2026-03-02 10:06Z')",
                "2026-03-02 10:00:00+00|XYZ|2|10|999.60\n"
                "2026-03-02 10:01:00+00|XYZ|1|3|303.00\n"
                "2026-03-02 10:05:00+00|ABC|2|8|397.50");
}
END_TEST

/* ---- arrival order does not matter ---- */

START_TEST(test_reverse_arrival) {
    char *other = tu_pg_create_db("views_rev");
    load_fixture(other, 1);
    PGconn *rev = tu_pg_connect(other);
    tu_pg_exec(rev, "SET TimeZone = 'UTC'");
    static const char *queries[] = {
        "SELECT * FROM execution.order_state ORDER BY order_id",
        "SELECT * FROM execution.order_fills ORDER BY order_id",
        "SELECT * FROM execution.fill_stats('2026-03-02Z', '2026-03-03Z', 'asset')",
        "SELECT * FROM execution.positions ORDER BY account_uid, asset",
        "SELECT * FROM execution.positions_at('2026-03-02 10:15Z') ORDER BY account_uid, asset",
        "SELECT * FROM execution.fill_mismatches()",
        "SELECT * FROM execution.stuck_orders('1 hour', '2026-03-02 11:30Z')",
        "SELECT * FROM execution.manager_summary ORDER BY order_manager_uid NULLS LAST",
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        char *a = rows_text(conn, queries[i]), *b = rows_text(rev, queries[i]);
        ck_assert_msg(strlen(a) > 0 && !strcmp(a, b), "%s\n--- in order:\n%s\n--- reversed:\n%s",
                      queries[i], a, b);
        free(a);
        free(b);
    }
    PQfinish(rev);
    tu_pg_drop_db(other);
}
END_TEST

/* ---- plans on a million trades ---- */

static char *bigdsn;

static void big_setup(void) {
    bigdsn = tu_pg_create_db("views_big");
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof(cmd), "'%s' migrate --dsn '%s' 2>&1", tu_bin(), bigdsn);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out ? out : "");
    free(out);
    PGconn *c = tu_pg_connect(bigdsn);
    /* Six monthly partitions, January to June 2025: 200,000 orders and 1,000,000
     * trades (five per order), spread evenly. */
    tu_pg_exec(c, "SELECT execution.ensure_partitions('2025-01-01', '2025-06-01')");
    tu_pg_exec(c, "INSERT INTO execution.OrdersTS (order_id, account_uid, asset, side, quantity, "
                  "order_time, strategy, limit_price, raw_payload, kafka_topic, kafka_partition, "
                  "kafka_offset) SELECT 'O' || g, 'ACC-' || (g % 50), 'A' || (g % 20), "
                  "CASE WHEN g % 2 = 0 THEN 'buy' ELSE 'sell' END, 10, "
                  "'2025-01-01Z'::timestamptz + g * interval '78 seconds', 'S' || (g % 3), 100, "
                  "'{}', 'orders', g % 4, g FROM generate_series(1, 200000) g");
    tu_pg_exec(c, "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, "
                  "trade_time, account_uid, asset, side, fee, raw_payload, kafka_topic, "
                  "kafka_partition, kafka_offset) SELECT 'T' || g, 'O' || (g / 5 + 1), 2, "
                  "100 + (g % 7) * 0.01, '2025-01-01Z'::timestamptz + g * interval '15.6 "
                  "seconds' + interval '1 second', 'ACC-' || ((g / 5 + 1) % 50), 'A' || "
                  "((g / 5 + 1) % 20), 'buy', 0.01, '{}', 'trades', g % 4, g "
                  "FROM generate_series(1, 1000000) g");
    tu_pg_exec(c, "VACUUM ANALYZE execution.OrdersTS");
    tu_pg_exec(c, "VACUUM ANALYZE execution.TradesTS");
    PQfinish(c);
}

static void big_teardown(void) {
    tu_pg_drop_db(bigdsn);
    bigdsn = NULL;
}

static char *plan(PGconn *c, const char *sql) {
    char buf[2048];
    snprintf(buf, sizeof(buf), "EXPLAIN %s", sql);
    return rows_text(c, buf);
}

static void expect_in_plan(const char *p, const char *sql, const char *what, int present) {
    int found = strstr(p, what) != NULL;
    /* check's messages are limited to a few kB: print the plan, assert briefly. */
    if (found != present)
        fprintf(stderr, "%s\n%s\n", sql, p);
    ck_assert_msg(found == present, "%.300s: plan %s '%s' (plan on stderr)", sql,
                  present ? "lacks" : "has", what);
}

/* The partitions of table named in plan p: only those in keep (a space-separated
 * list of month suffixes such as "y2025m03"), never the others of 2025. */
static void expect_partitions(const char *p, const char *sql, const char *table, const char *keep) {
    static const char *months[] = {"y2025m01", "y2025m02", "y2025m03",
                                   "y2025m04", "y2025m05", "y2025m06"};
    for (int i = 0; i < 6; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s_%s", table, months[i]);
        expect_in_plan(p, sql, name, strstr(keep, months[i]) != NULL);
    }
}

START_TEST(test_plans) {
    PGconn *c = tu_pg_connect(bigdsn);
    ck_assert_int_eq(tu_pg_count(c, "SELECT count(*) FROM execution.TradesTS"), 1000000);
    ck_assert_int_eq(tu_pg_count(c, "SELECT count(DISTINCT tableoid) FROM execution.TradesTS"), 6);

    /* Time buckets, as the function and as the documented pattern: one partition,
     * through an index (a day is a small part of a month), no sequential scan. */
    const char *queries[] = {
        "SELECT * FROM execution.trade_buckets('1 hour', '2025-03-10Z', '2025-03-11Z')",
        "SELECT date_bin('1 minute', trade_time, '2000-01-03 00:00:00+00') AS bucket, asset, "
        "count(*), sum(quantity), sum(quantity * price) FROM execution.TradesTS "
        "WHERE trade_time >= '2025-03-10Z' AND trade_time < '2025-03-11Z' GROUP BY 1, 2",
    };
    for (int i = 0; i < 2; i++) {
        char *p = plan(c, queries[i]);
        expect_partitions(p, queries[i], "tradests", "y2025m03");
        expect_in_plan(p, queries[i], "tradests_default", 0);
        expect_in_plan(p, queries[i], "Seq Scan on tradests", 0);
        expect_in_plan(p, queries[i], "Index", 1);
        free(p);
    }

    /* Fill statistics of a day: the orders of that month only, and each order's
     * trades through the order_id index in the partitions from the window on. */
    const char *q = "SELECT * FROM execution.fill_stats('2025-03-10Z', '2025-03-11Z', 'strategy')";
    char *p = plan(c, q);
    expect_partitions(p, q, "ordersts", "y2025m03");
    expect_in_plan(p, q, "ordersts_default", 0);
    expect_partitions(p, q, "tradests", "y2025m03 y2025m04 y2025m05 y2025m06");
    expect_in_plan(p, q, "tradests_y2025m03_order_id_idx", 1);
    expect_in_plan(p, q, "Seq Scan on ordersts", 0);
    expect_in_plan(p, q, "Seq Scan on tradests_y2025", 0);
    free(p);

    /* Positions as of the end of January: later partitions are not read. */
    q = "SELECT * FROM execution.positions_at('2025-02-01Z')";
    p = plan(c, q);
    expect_partitions(p, q, "tradests", "y2025m01 y2025m02");
    free(p);

    /* Latency of a day: one partition per table. */
    q = "SELECT * FROM execution.ingest_latency('2025-05-01Z', '2025-05-02Z')";
    p = plan(c, q);
    expect_partitions(p, q, "tradests", "y2025m05");
    expect_partitions(p, q, "ordersts", "y2025m05");
    free(p);

    /* One order's fills and state: index lookups, no scan of a 2025 partition. */
    q = "SELECT * FROM execution.order_fills WHERE order_id = 'O123'";
    p = plan(c, q);
    expect_in_plan(p, q, "tradests_y2025m01_order_id_idx", 1);
    expect_in_plan(p, q, "Seq Scan on tradests_y2025", 0);
    expect_in_plan(p, q, "Seq Scan on ordersts_y2025", 0);
    free(p);
    q = "SELECT * FROM execution.order_state WHERE order_id = 'O123'";
    p = plan(c, q);
    expect_in_plan(p, q, "Seq Scan on ordersts_y2025", 0);
    free(p);

    /* Lag per partition: index probes, never a scan of a big partition. */
    q = "SELECT * FROM execution.ingest_lag";
    p = plan(c, q);
    expect_in_plan(p, q, "Seq Scan on tradests_y2025", 0);
    expect_in_plan(p, q, "Seq Scan on ordersts_y2025", 0);
    expect_in_plan(p, q, "tradests_y2025m06_kafka_topic_kafka_partition_trade_time_idx", 1);
    free(p);
    /* And its answer: the newest trade of each of the four partitions. */
    ck_assert_int_eq(tu_pg_count(c, "SELECT count(*) FROM execution.ingest_lag WHERE kind = "
                                    "'trade' AND newest_event_time > '2025-06-30Z'"),
                     4);
    PQfinish(c);
}
END_TEST

static Suite *views_suite(void) {
    Suite *s = suite_create("views");
    TCase *tc = tcase_create("fixture");
    tcase_add_unchecked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_checked_fixture(tc, connect_setup, connect_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_order_state);
    tcase_add_test(tc, test_order_fills);
    tcase_add_test(tc, test_fill_stats);
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_avgcost_aggregate);
    tcase_add_test(tc, test_reconcile_views);
    tcase_add_test(tc, test_manager_summary);
    tcase_add_test(tc, test_trade_buckets);
    tcase_add_test(tc, test_reverse_arrival);
    suite_add_tcase(s, tc);

    /* Tests that add rows get a fixture database of their own. */
    tc = tcase_create("changes");
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_checked_fixture(tc, connect_setup, connect_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_late_events);
    tcase_add_test(tc, test_ingest_lag);
    suite_add_tcase(s, tc);

    tc = tcase_create("plans");
    tcase_add_unchecked_fixture(tc, big_setup, big_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_plans);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(views_suite)
