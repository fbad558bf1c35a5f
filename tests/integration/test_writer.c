/* The batch writer against a real PostgreSQL: exact counts, exact decimals,
 * de-duplication on natural keys, isolation of rows PostgreSQL refuses, rejects,
 * the offsets compare-and-set (fencing), OrderManager "only when newer", and a
 * connection lost mid-flush. Records are built by hand: the writer must not care
 * where they came from. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg/migrate.h"
#include "pg/pg.h"
#include "pg/writer.h"
#include "testutil.h"

static char *dsn;
static PGconn *conn; /* the test's own, for checking what was committed */
static execrec_writer_t *w;
static int wpid; /* the backend of the writer's connection */

/* Connects w (it owns its connection) and notes its backend. */
static void writer_connect(execrec_writer_t *wr, int *pid) {
    char errstr[512];
    ck_assert_msg(execrec_writer_ensure(wr, errstr, sizeof(errstr)) == EXECREC_OK, "%s", errstr);
    if (pid)
        *pid = PQbackendPID(execrec_writer_conn(wr));
}

static void setup(void) {
    char errstr[512];
    int applied;
    dsn = tu_pg_create_db("writer");
    conn = tu_pg_connect(dsn);
    ck_assert_msg(execrec_migrate(conn, NULL, &applied, errstr, sizeof(errstr)) == EXECREC_OK, "%s",
                  errstr);
    w = execrec_writer_new(dsn, errstr, sizeof(errstr));
    ck_assert_ptr_nonnull(w);
    writer_connect(w, &wpid);
}

static void teardown(void) {
    execrec_writer_destroy(w);
    PQfinish(conn);
    tu_pg_drop_db(dsn);
}

/* A trade record: columns trade_id, order_id, quantity, price, trade_time, ... */
static void make_trade(execrec_record_t *rec, const char *trade_id, const char *qty,
                       const char *price, const char *time) {
    memset(rec, 0, sizeof(*rec));
    rec->kind = EXECREC_KIND_TRADE;
    execrec_kind_columns(EXECREC_KIND_TRADE, &rec->ncols);
    const char *v[] = {trade_id,  "O-1", qty,    price, time,    "ACC-1",
                       "BTC-USD", "buy", "0.01", "USD", "maker", "XNAS"};
    for (int i = 0; i < rec->ncols; i++) {
        rec->val[i] = v[i];
        rec->len[i] = strlen(v[i]);
    }
    static char raw[256];
    snprintf(raw, sizeof(raw), "{\"trade_id\":\"%s\",\"quantity\":%s,\"note\":\"tab\\there\"}",
             trade_id, qty);
    rec->raw = raw;
    rec->raw_len = strlen(raw);
}

static void make_manager(execrec_record_t *rec, const char *uid, const char *status,
                         const char *updated_at) {
    memset(rec, 0, sizeof(*rec));
    rec->kind = EXECREC_KIND_ORDER_MANAGER;
    execrec_kind_columns(EXECREC_KIND_ORDER_MANAGER, &rec->ncols);
    const char *v[] = {uid, "ACC-9", "2026-11-21 10:00:00+00", status, "twap", NULL, updated_at};
    for (int i = 0; i < rec->ncols; i++) {
        rec->val[i] = v[i];
        rec->len[i] = v[i] ? strlen(v[i]) : 0;
    }
    rec->raw = "{}";
    rec->raw_len = 2;
}

static execrec_msgmeta_t meta_at(int64_t offset) {
    execrec_msgmeta_t m = {"trades", 0, offset, 1763719883123, "O-1", 3, NULL, 0};
    return m;
}

static void flush_ok(execrec_writer_stats_t *stats) {
    char errstr[512];
    execrec_err_t err = execrec_writer_flush(w, stats, errstr, sizeof(errstr));
    ck_assert_msg(err == EXECREC_OK, "flush: %s: %s", execrec_err_name(err), errstr);
}

START_TEST(test_exact_and_dedup) {
    execrec_record_t rec;
    execrec_writer_stats_t st;
    execrec_msgmeta_t m;
    make_trade(&rec, "T-1", "0.00000001", "123456789.12345678", "2026-11-21 07:51:23.123456+00");
    m = meta_at(0);
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    make_trade(&rec, "T-2", "1.50", "0.1", "2026-11-21 07:51:24+00");
    m = meta_at(1);
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    make_trade(&rec, "T-1", "0.00000001", "123456789.12345678", "2026-11-21 07:51:23.123456+00");
    m = meta_at(2); /* the same fact re-sent by the producer */
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    execrec_reject_t rej = {"json_syntax", "unexpected '}' at byte 3"};
    m = meta_at(3);
    ck_assert_int_eq(execrec_writer_add_reject(w, &m, "{\"a}\x00\xff", 7, &rej), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_pending(w), 4);
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 2);
    ck_assert_int_eq(st.duplicates[EXECREC_KIND_TRADE], 1);
    ck_assert_int_eq(st.rejected, 1);
    ck_assert_int_eq(st.nreasons, 1); /* the rejects written, by reason (metrics) */
    ck_assert_str_eq(st.reasons[0].code, "json_syntax");
    ck_assert_int_eq(st.reasons[0].n, 1);
    ck_assert_int_eq(execrec_writer_pending(w), 0);

    char *v = tu_pg_scalar(conn, "SELECT quantity::text || ' ' || price::text FROM "
                                 "execution.TradesTS WHERE trade_id = 'T-1'");
    ck_assert_str_eq(v, "0.00000001 123456789.12345678");
    free(v);
    v = tu_pg_scalar(conn, "SELECT quantity::text FROM execution.TradesTS WHERE trade_id='T-2'");
    ck_assert_str_eq(v, "1.50");
    free(v);
    v = tu_pg_scalar(conn, "SELECT raw_payload->>'note' || '|' || kafka_key || '|' || "
                           "kafka_timestamp::text FROM execution.TradesTS WHERE trade_id='T-2'");
    ck_assert_str_eq(v, "tab\there|O-1|2025-11-21 10:11:23.123+00");
    free(v);
    v = tu_pg_scalar(conn, "SELECT reason || '|' || message || '|' || encode(payload, 'hex') || "
                           "'|' || coalesce(payload_text, 'NULL') || '|' || kafka_offset "
                           "FROM execution.ingest_rejects");
    ck_assert_str_eq(v, "json_syntax|unexpected '}' at byte 3|7b22617d00ff00|NULL|3");
    free(v);

    /* A replay of the whole batch changes nothing. */
    make_trade(&rec, "T-1", "0.00000001", "123456789.12345678", "2026-11-21 07:51:23.123456+00");
    m = meta_at(0);
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    m = meta_at(3);
    ck_assert_int_eq(execrec_writer_add_reject(w, &m, "{\"a}\x00\xff", 7, &rej), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 0);
    ck_assert_int_eq(st.duplicates[EXECREC_KIND_TRADE], 1);
    ck_assert_int_eq(st.rejected, 0);
    ck_assert_int_eq(st.rejects_duplicate, 1);
    ck_assert_int_eq(st.nreasons, 0); /* a reject recorded before is not counted again */
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 2);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.ingest_rejects"), 1);
}
END_TEST

/* Rows go by COPY straight into the table, through staging after a batch with a
 * duplicate, and straight again after a staged batch without one (writer.c,
 * write_rows). Whatever the path, every batch's counts and rows are exact. */
START_TEST(test_copy_and_staging_alternate) {
    static const struct {
        const char *ids; /* trade ids of one batch; a repeated id is a re-sent fact */
        int inserted, duplicates;
    } batches[] = {
        {"A1 A2 A3", 3, 0},    /* COPY */
        {"A2 B1 B2", 2, 1},    /* COPY refused (A2 is recorded): staged */
        {"C1 C2", 2, 0},       /* staged (last batch had a duplicate); none here */
        {"D1 D1 D2", 2, 1},    /* COPY again, refused by its own repeat: staged */
        {"E1", 1, 0},          /* staged, clean */
        {"F1 F2 F3 F4", 4, 0}, /* COPY */
    };
    int64_t offset = 500, total = 0;
    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        char ids[64], *save = NULL;
        snprintf(ids, sizeof(ids), "%s", batches[b].ids);
        for (char *id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
            execrec_record_t rec;
            make_trade(&rec, id, "2.5", "10.125", "2026-11-21 09:00:00+00");
            execrec_msgmeta_t m = meta_at(offset++);
            ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
        }
        execrec_writer_stats_t st;
        flush_ok(&st);
        ck_assert_msg(st.inserted[EXECREC_KIND_TRADE] == batches[b].inserted &&
                          st.duplicates[EXECREC_KIND_TRADE] == batches[b].duplicates,
                      "batch %zu (%s): inserted %" PRId64 ", duplicates %" PRId64, b,
                      batches[b].ids, st.inserted[EXECREC_KIND_TRADE],
                      st.duplicates[EXECREC_KIND_TRADE]);
        total += batches[b].inserted;
        ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), total);
    }
    char *v = tu_pg_scalar(conn, "SELECT string_agg(trade_id || ':' || kafka_offset, ' ' ORDER "
                                 "BY kafka_offset) || ' ' || sum(quantity)::text FROM "
                                 "execution.TradesTS");
    ck_assert_str_eq(v, "A1:500 A2:501 A3:502 B1:504 B2:505 C1:506 C2:507 D1:508 D2:510 "
                        "E1:511 F1:512 F2:513 F3:514 F4:515 35.0");
    free(v);
    /* raw_payload is json (0011): the text as received, through COPY and through the
     * staging path alike (a jsonb cast there would sort the keys and add spaces). */
    v = tu_pg_scalar(conn, "SELECT string_agg(trade_id, ' ' ORDER BY kafka_offset) FROM "
                           "execution.TradesTS WHERE raw_payload::text <> "
                           "'{\"trade_id\":\"' || trade_id || "
                           "'\",\"quantity\":2.5,\"note\":\"tab\\there\"}'");
    ck_assert_msg(v == NULL || *v == '\0', "payloads changed on the way: %s", v ? v : "");
    free(v);
}
END_TEST

/* Kills the writer's connection; the flush must fail and keep the batch of pending
 * messages, then commit it on a new connection (*st: that flush's counts). */
static void flush_after_connection_lost(int64_t pending, execrec_writer_stats_t *st) {
    char errstr[512], sql[128];
    PGconn *killer = tu_pg_connect(dsn);
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", wpid);
    tu_pg_exec(killer, sql);
    PQfinish(killer);
    ck_assert_int_eq(execrec_writer_flush(w, st, errstr, sizeof(errstr)), EXECREC_ERR_PG);
    ck_assert_int_eq(execrec_writer_pending(w), pending);
    writer_connect(w, &wpid); /* a new connection; the batch is kept */
    flush_ok(st);
}

/* Adds trades PREFIX-from .. PREFIX-(from+n-1), Kafka offsets from *offset on. */
static void add_trades(const char *prefix, int from, int n, int64_t *offset) {
    for (int i = from; i < from + n; i++) {
        char id[32];
        execrec_record_t rec;
        snprintf(id, sizeof(id), "%s-%d", prefix, i);
        make_trade(&rec, id, "1.25", "99.5", "2026-11-21 10:00:00+00");
        execrec_msgmeta_t m = meta_at((*offset)++);
        ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    }
}

/* 1 when the writer's connection is in the middle of a COPY into TradesTS, i.e. the
 * batch's rows are being streamed while it fills (writer.c, stream_rows). */
static int streaming(void) {
    PGconn *other = tu_pg_connect(dsn);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND state = 'active' AND "
             "query LIKE 'COPY execution.TradesTS %%'",
             wpid);
    int64_t n = tu_pg_count(other, sql);
    PQfinish(other);
    return n == 1;
}

/* Big batches are streamed while they fill; whatever happens to the open COPY
 * (refused at the end, abandoned, connection lost), the batch's outcome is exact. */
START_TEST(test_streamed_batches) {
    execrec_writer_stats_t st;
    int64_t offset = 1000;

    /* 2000 rows (~400 KB): the COPY is open before the flush, and commits them. */
    add_trades("S", 0, 2000, &offset);
    ck_assert_msg(streaming(), "2000 rows are not streamed while the batch fills");
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 2000);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 2000);

    /* A duplicate at the very end: the streamed COPY is refused at the flush, the
     * batch goes through staging, every new row is kept. */
    add_trades("S", 2000, 1500, &offset);
    add_trades("S", 5, 1, &offset);
    ck_assert(streaming());
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 1500);
    ck_assert_int_eq(st.duplicates[EXECREC_KIND_TRADE], 1);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 3500);

    /* After a batch with a duplicate the next one is staged (not streamed); clean,
     * it lets the one after stream again. */
    add_trades("S", 3500, 1000, &offset);
    ck_assert(!streaming());
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 1000);

    /* Abandoned while streaming: nothing of it is written, the connection is
     * usable, and the same rows commit later. */
    add_trades("S", 4500, 1000, &offset);
    ck_assert(streaming());
    execrec_writer_clear(w);
    ck_assert_int_eq(tu_pg_count(execrec_writer_conn(w), "SELECT count(*) FROM execution.TradesTS"),
                     4500);
    offset -= 1000;
    add_trades("S", 4500, 1000, &offset);
    ck_assert_int_eq(execrec_writer_set_offset(w, "g", "trades", 0, -1, offset), EXECREC_OK);

    /* The connection dies while streaming: the flush fails, the batch is kept, and
     * commits whole on a new connection. */
    ck_assert(streaming());
    flush_after_connection_lost(1000, &st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 1000);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 5500);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(DISTINCT trade_id) FROM execution.TradesTS"),
                     5500);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT next_offset FROM execution.ingest_offsets"), offset);
}
END_TEST

/* An order: the required columns, the rest NULL. */
static void make_order(execrec_record_t *rec, const char *order_id) {
    memset(rec, 0, sizeof(*rec));
    rec->kind = EXECREC_KIND_ORDER;
    execrec_kind_columns(EXECREC_KIND_ORDER, &rec->ncols);
    const char *v[] = {order_id, "ACC-1", "BTC-USD", "buy", "2.5", "2026-11-21 09:00:00+00"};
    for (int i = 0; i < 6; i++) {
        rec->val[i] = v[i];
        rec->len[i] = strlen(v[i]);
    }
    rec->raw = "{}";
    rec->raw_len = 2;
}

/* A batch whose trades are streaming while it also holds orders, a kind the flush
 * writes before trades in kind order. The orders' SAVEPOINT used to be sent while
 * the trades' COPY was open, which ends the COPY ("COPY terminated by new PQexec")
 * and aborts the transaction: every such batch failed its first flush and was
 * written twice. It must commit at the first flush. */
START_TEST(test_streamed_with_other_kinds) {
    execrec_writer_stats_t st;
    int64_t offset = 1;
    add_trades("M", 0, 2000, &offset);
    ck_assert(streaming());
    for (int i = 0; i < 20; i++) {
        char id[32];
        execrec_record_t rec;
        snprintf(id, sizeof(id), "MO-%d", i);
        make_order(&rec, id);
        execrec_msgmeta_t m = meta_at(offset++);
        ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    }
    ck_assert(streaming());
    ck_assert_int_eq(execrec_writer_set_offset(w, "g", "trades", 0, -1, offset), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_ORDER], 20);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 2000);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.OrdersTS"), 20);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 2000);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT next_offset FROM execution.ingest_offsets"), offset);
}
END_TEST

START_TEST(test_refused_rows_isolated) {
    execrec_record_t rec;
    execrec_writer_stats_t st;
    char id[32];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "T-%d", i);
        const char *qty = "1", *time = "2026-11-21 08:00:00+00";
        if (i == 7)
            qty = "-5"; /* violates tradests_quantity_positive */
        if (i == 13)
            time = "2026-11-21 25:99:00+00"; /* not a time: the cast fails */
        make_trade(&rec, id, qty, "100.25", time);
        execrec_msgmeta_t m = meta_at(100 + i);
        if (i == 7) { /* as if it came as Avro with a binary key: the reject keeps both */
            m.value = "\x00\x00\x00\x00\x03\x02\xff";
            m.value_len = 7;
            m.key = "\xfe\x01";
            m.key_len = 2;
        }
        ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    }
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 18);
    ck_assert_int_eq(st.pg_refused, 2);
    ck_assert_int_eq(st.rejected, 2);
    ck_assert_int_eq(st.refused[EXECREC_KIND_TRADE], 2);
    ck_assert_int_eq(st.nreasons, 1);
    ck_assert_str_eq(st.reasons[0].code, "pg_refused");
    ck_assert_int_eq(st.reasons[0].n, 2);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 18);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.ingest_rejects "
                                       "WHERE reason = 'pg_refused'"),
                     2);
    char *v = tu_pg_scalar(conn, "SELECT string_agg(kafka_offset::text || ':' || "
                                 "(message LIKE '%tradests_quantity_positive%' OR message LIKE "
                                 "'%date/time field value out of range%')::text, ',' ORDER BY "
                                 "kafka_offset) FROM execution.ingest_rejects");
    ck_assert_str_eq(v, "107:true,113:true");
    free(v);
    v = tu_pg_scalar(conn, "SELECT encode(payload, 'hex') || ' ' || encode(kafka_key, 'hex') || "
                           "' ' || (payload_text IS NULL)::text FROM execution.ingest_rejects "
                           "WHERE kafka_offset = 107");
    ck_assert_str_eq(v, "000000000302ff fe01 true");
    free(v);
    v = tu_pg_scalar(conn, "SELECT payload_text::jsonb->>'trade_id' || ' ' || "
                           "convert_from(kafka_key, 'UTF8') FROM execution.ingest_rejects "
                           "WHERE kafka_offset = 113");
    ck_assert_str_eq(v, "T-13 O-1");
    free(v);
}
END_TEST

START_TEST(test_offsets_compare_and_set) {
    char errstr[512];
    execrec_writer_stats_t st;
    execrec_record_t rec;
    execrec_msgmeta_t m = meta_at(0);
    make_trade(&rec, "T-1", "2", "3", "2026-11-21 08:00:00+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_set_offset(w, "g", "trades", 0, -1, 10), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT next_offset FROM execution.ingest_offsets "
                                       "WHERE consumer_group='g' AND topic='trades'"),
                     10);

    /* A recorder that still believes the partition is unset is fenced. */
    make_trade(&rec, "T-2", "2", "3", "2026-11-21 08:00:00+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_set_offset(w, "g", "trades", 0, -1, 11), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_flush(w, &st, errstr, sizeof(errstr)), EXECREC_ERR_CONFLICT);
    ck_assert_ptr_nonnull(strstr(errstr, "trades [0]"));
    ck_assert_int_eq(execrec_writer_pending(w), 1); /* kept for the caller to drop */
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 1);
    execrec_writer_clear(w);

    /* So is one with a stale expectation (another recorder moved it to 10). */
    char errstr2[512];
    execrec_writer_t *w2 = execrec_writer_new(dsn, errstr2, sizeof(errstr2));
    ck_assert_ptr_nonnull(w2);
    writer_connect(w2, NULL);
    ck_assert_int_eq(execrec_writer_set_offset(w2, "g", "trades", 0, 10, 15), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_flush(w2, &st, errstr2, sizeof(errstr2)), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_set_offset(w, "g", "trades", 0, 10, 12), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_flush(w, &st, errstr, sizeof(errstr)), EXECREC_ERR_CONFLICT);
    execrec_writer_clear(w);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT next_offset FROM execution.ingest_offsets "
                                       "WHERE consumer_group='g'"),
                     15);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 1);
    execrec_writer_destroy(w2);
}
END_TEST

START_TEST(test_manager_only_when_newer) {
    execrec_record_t rec;
    execrec_writer_stats_t st;
    execrec_msgmeta_t m = meta_at(0);
    m.topic = "order-managers";
    make_manager(&rec, "M-1", "active", "2026-11-21 10:00:02+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_ORDER_MANAGER], 1);
    ck_assert_int_eq(st.updated[EXECREC_KIND_ORDER_MANAGER], 0);

    /* An older intent arriving later does not regress the row. */
    m.offset = 1;
    make_manager(&rec, "M-1", "paused", "2026-11-21 10:00:01+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_ORDER_MANAGER], 0);
    ck_assert_int_eq(st.duplicates[EXECREC_KIND_ORDER_MANAGER], 1);
    ck_assert_int_eq(st.updated[EXECREC_KIND_ORDER_MANAGER], 0);
    char *v = tu_pg_scalar(conn, "SELECT status FROM execution.OrderManager");
    ck_assert_str_eq(v, "active");
    free(v);

    /* Two versions in one batch: the newest wins, whatever the order. */
    m.offset = 2;
    make_manager(&rec, "M-1", "stopped", "2026-11-21 10:00:05+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    m.offset = 3;
    make_manager(&rec, "M-1", "active", "2026-11-21 10:00:03+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    flush_ok(&st);
    /* The newest replaces the recorded row: inserted, of which updated; the other is
     * already recorded (older). */
    ck_assert_int_eq(st.inserted[EXECREC_KIND_ORDER_MANAGER], 1);
    ck_assert_int_eq(st.updated[EXECREC_KIND_ORDER_MANAGER], 1);
    ck_assert_int_eq(st.duplicates[EXECREC_KIND_ORDER_MANAGER], 1);
    v = tu_pg_scalar(conn, "SELECT status || ' ' || kafka_offset FROM execution.OrderManager");
    ck_assert_str_eq(v, "stopped 2");
    free(v);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.OrderManager"), 1);
    /* A new intent next to an update: one inserted, one updated. */
    m.offset = 4;
    make_manager(&rec, "M-1", "active", "2026-11-21 10:00:09+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    m.offset = 5;
    make_manager(&rec, "M-2", "active", "2026-11-21 10:00:09+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_ORDER_MANAGER], 2);
    ck_assert_int_eq(st.updated[EXECREC_KIND_ORDER_MANAGER], 1);
}
END_TEST

START_TEST(test_connection_lost_keeps_batch) {
    execrec_writer_stats_t st;
    execrec_record_t rec;
    execrec_msgmeta_t m = meta_at(5);
    make_trade(&rec, "T-9", "4", "5", "2026-11-21 08:00:00+00");
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    ck_assert_int_eq(execrec_writer_set_offset(w, "g", "trades", 0, -1, 6), EXECREC_OK);

    flush_after_connection_lost(1, &st);
    ck_assert_int_eq(st.inserted[EXECREC_KIND_TRADE], 1);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 1);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT next_offset FROM execution.ingest_offsets"), 6);
}
END_TEST

/* The stored length, length and SHA-256 (as PostgreSQL computes it from the whole
 * payload) of the reject at offset. */
static char *reject_summary(int64_t offset) {
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT octet_length(payload) || ' ' || payload_length || ' ' || "
             "encode(payload, 'hex') || ' ' || coalesce(payload_text, 'NULL') || ' ' || "
             "encode(payload_sha256, 'hex') FROM execution.ingest_rejects WHERE kafka_offset = "
             "%" PRId64,
             offset);
    return tu_pg_scalar(conn, sql);
}

/* What reject_summary must be: the head's length and hex, its text (or NULL),
 * and sha256 of the whole payload computed by PostgreSQL from its hex. */
static char *expected_summary(const char *whole_hex, size_t head_len, const char *text) {
    char *sql = malloc(strlen(whole_hex) * 2 + 512);
    ck_assert_ptr_nonnull(sql);
    sprintf(sql,
            "SELECT '%zu ' || octet_length(b) || ' ' || encode(substring(b FROM 1 FOR %zu), "
            "'hex') || ' %s ' || encode(sha256(b), 'hex') FROM decode('%s', 'hex') AS b",
            head_len, head_len, text ? text : "NULL", whole_hex);
    char *v = tu_pg_scalar(conn, sql);
    free(sql);
    return v;
}

static char *hex_of(const void *p, size_t n) {
    char *h = malloc(2 * n + 1);
    ck_assert_ptr_nonnull(h);
    for (size_t i = 0; i < n; i++)
        sprintf(h + 2 * i, "%02x", ((const unsigned char *)p)[i]);
    h[2 * n] = '\0';
    return h;
}

static void check_reject(int64_t offset, const void *payload, size_t len, size_t head_len,
                         const char *text) {
    char *hex = hex_of(payload, len);
    char *want = expected_summary(hex, head_len, text);
    char *got = reject_summary(offset);
    ck_assert_str_eq(got, want);
    free(hex);
    free(want);
    free(got);
}

/* A reject stores the head of its payload (reject.payload.max), its whole length
 * and the SHA-256 of the whole payload; text is cut before a character that the
 * limit splits; binary is cut at the limit exactly. */
START_TEST(test_reject_head) {
    execrec_writer_stats_t st;
    execrec_reject_t rej = {"json_syntax", "bad"};
    execrec_writer_set_reject_payload_max(w, 16);
    static const char ascii[] = "{\"note\":\"abcdefghijklmnopqrstuvwxyz\"}";
    static const char split[] = "aaaaaaaaaaaaaaa\xc3\xa9zzzz"; /* byte 16 continues 15 */
    static const char three[] = "aaaaaaaaaaaaaa\xe2\x82\xac";  /* the euro sign: 14..16 */
    static const char binary[] = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\xc3\xa9"
                                 "\xa9\xff\xfe\xfd\xfc";
    static const char shortp[] = "short";
    struct {
        const char *p;
        size_t len, head;
        const char *text;
    } cases[] = {
        {ascii, sizeof(ascii) - 1, 16, "{\"note\":\"abcdefg"},
        {split, sizeof(split) - 1, 15, "aaaaaaaaaaaaaaa"},
        {three, sizeof(three) - 1, 14, "aaaaaaaaaaaaaa"},
        {binary, sizeof(binary) - 1, 16, NULL},
        {shortp, sizeof(shortp) - 1, 5, "short"},
        {"", 0, 0, ""},
    };
    int n = (int)(sizeof(cases) / sizeof(cases[0]));
    for (int i = 0; i < n; i++) {
        execrec_msgmeta_t m = meta_at(500 + i);
        ck_assert_int_eq(execrec_writer_add_reject(w, &m, cases[i].p, cases[i].len, &rej),
                         EXECREC_OK);
    }
    flush_ok(&st);
    ck_assert_int_eq(st.rejected, n);
    for (int i = 0; i < n; i++)
        check_reject(500 + i, cases[i].p, cases[i].len, cases[i].head, cases[i].text);
}
END_TEST

/* A 3,000,030-byte message_too_large: the batch holds its 64 KiB head, not the
 * payload (before, its hex and its text: 9 MB), and the row has the whole length
 * and the digest PostgreSQL computes from the same bytes. */
START_TEST(test_reject_head_large) {
    execrec_writer_stats_t st;
    execrec_reject_t rej = {"message_too_large", "too large"};
    size_t len = 3000030;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', len);
    execrec_msgmeta_t m = meta_at(9);
    ck_assert_int_eq(execrec_writer_add_reject(w, &m, big, len, &rej), EXECREC_OK);
    ck_assert_uint_ge(execrec_writer_bytes(w), 65536);
    ck_assert_uint_lt(execrec_writer_bytes(w), 65536 + 1024);
    flush_ok(&st);
    ck_assert_int_eq(st.rejected, 1);
    char *v =
        tu_pg_scalar(conn, "SELECT octet_length(payload) || ' ' || payload_length || ' ' || "
                           "(payload_text = repeat('x', 65536))::text || ' ' || "
                           "(payload_sha256 = sha256(convert_to(repeat('x', 3000030), 'UTF8')))"
                           "::text FROM execution.ingest_rejects");
    ck_assert_str_eq(v, "65536 3000030 true true");
    free(v);
    free(big);
}
END_TEST

/* A row PostgreSQL refuses is stored like any reject: the head of its value (JSON:
 * cut before a split character; Avro: at the limit), the whole length and the
 * SHA-256 of the whole value. */
START_TEST(test_refused_row_head) {
    execrec_record_t rec;
    execrec_writer_stats_t st;
    execrec_writer_set_reject_payload_max(w, 20);
    make_trade(&rec, "T-1", "-1", "1", "2026-11-21 08:00:00+00");
    static const char json[] = "{\"trade_id\":\"T-1\",\"\xc3\xa9\":1}"; /* é at bytes 19-20 */
    rec.raw = json;
    rec.raw_len = sizeof(json) - 1;
    execrec_msgmeta_t m = meta_at(700);
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    make_trade(&rec, "T-2", "-2", "1", "2026-11-21 08:00:00+00");
    static const char avro[] = "\x00\x00\x00\x00\x03\x02\xc3\xa9\x00\x01\x02\x03\x04\x05\x06\x07"
                               "\x08\x09\x0a\x0b\xc3\xa9\x0c";
    m = meta_at(701);
    m.value = avro;
    m.value_len = sizeof(avro) - 1;
    ck_assert_int_eq(execrec_writer_add(w, &m, &rec), EXECREC_OK);
    flush_ok(&st);
    ck_assert_int_eq(st.pg_refused, 2);
    check_reject(700, json, sizeof(json) - 1, 19, "{\"trade_id\":\"T-1\",\"");
    check_reject(701, avro, sizeof(avro) - 1, 20, NULL);
}
END_TEST

static Suite *writer_suite(void) {
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_exact_and_dedup);
    tcase_add_test(tc, test_copy_and_staging_alternate);
    tcase_add_test(tc, test_streamed_batches);
    tcase_add_test(tc, test_streamed_with_other_kinds);
    tcase_add_test(tc, test_refused_rows_isolated);
    tcase_add_test(tc, test_offsets_compare_and_set);
    tcase_add_test(tc, test_manager_only_when_newer);
    tcase_add_test(tc, test_connection_lost_keeps_batch);
    tcase_add_test(tc, test_reject_head);
    tcase_add_test(tc, test_reject_head_large);
    tcase_add_test(tc, test_refused_row_head);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(writer_suite)
