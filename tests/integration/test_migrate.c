/* Migrations against a real PostgreSQL: the schema on an empty database (tables,
 * partitions, indexes, keys), re-applying is a no-op, an edited applied file is
 * refused, the columns agree with src/record.c, exact decimals, the DEFAULT
 * partition and ensure_partitions moving rows out of it, unquoted identifiers,
 * concurrent migrators, and the `execrec migrate` command line. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pg/migrate.h"
#include "pg/pg.h"
#include "execrec/config.h"
#include "execrec/record.h"
#include "testutil.h"

static char *dsn;
static PGconn *conn;

static int n_embedded(void) {
    int n = 0;
    while (execrec_migrations_embedded[n].name)
        n++;
    return n;
}

static void setup(void) {
    dsn = tu_pg_create_db("migrate");
    conn = tu_pg_connect(dsn);
}

static void teardown(void) {
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(dsn);
    dsn = NULL;
}

static void migrate_ok(const char *dir, int expect_applied) {
    char errstr[1024];
    int applied = -1;
    execrec_err_t err = execrec_migrate(conn, dir, &applied, errstr, sizeof(errstr));
    ck_assert_msg(err == EXECREC_OK, "migrate: %s: %s", execrec_err_name(err), errstr);
    if (expect_applied >= 0)
        ck_assert_int_eq(applied, expect_applied);
}

static long long count(const char *fmt, const char *arg) {
    char sql[2048];
    snprintf(sql, sizeof(sql), fmt, arg);
    return tu_pg_count(conn, sql);
}

/* ---- schema on an empty database ---- */

START_TEST(test_apply_empty) {
    migrate_ok(NULL, n_embedded());
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations"),
                     n_embedded());
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations "
                                       "WHERE checksum ~ '^[0-9a-f]{64}$' AND name LIKE '%.sql'"),
                     n_embedded());

    /* The recorded checksum is the file's sha256, as sha256sum(1) prints it. */
    for (int i = 0; execrec_migrations_embedded[i].name; i++) {
        char cmd[2048], sql[512], *out = NULL;
        snprintf(cmd, sizeof(cmd), "sha256sum '%s/migrations/%s'", tu_source_dir(),
                 execrec_migrations_embedded[i].name);
        ck_assert_int_eq(tu_run(cmd, &out), 0);
        snprintf(sql, sizeof(sql),
                 "SELECT checksum FROM execution.schema_migrations WHERE name = '%s'",
                 execrec_migrations_embedded[i].name);
        char *sum = tu_pg_scalar(conn, sql);
        ck_assert_msg(sum && strlen(out) > 64 && !strncmp(out, sum, 64), "%s vs %s", out,
                      sum ? sum : "NULL");
        free(sum);
        free(out);
    }

    static const char *partitioned[] = {"ordersts", "ordereventsts", "tradests"};
    for (int i = 0; i < 3; i++) {
        const char *t = partitioned[i];
        ck_assert_int_eq(count("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                               "n.oid = c.relnamespace WHERE n.nspname = 'execution' AND "
                               "c.relname = '%s' AND c.relkind = 'p'",
                               t),
                         1);
        /* A DEFAULT partition. */
        ck_assert_int_eq(count("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON "
                               "c.oid = i.inhrelid WHERE i.inhparent = 'execution.%s'::regclass "
                               "AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'",
                               t),
                         1);
        /* Previous month, this month and EXECREC_CONFIG_MONTHS_AHEAD ahead, named. */
        ck_assert_int_eq(count("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON "
                               "c.oid = i.inhrelid WHERE i.inhparent = 'execution.%s'::regclass "
                               "AND c.relname ~ '_y[0-9]{4}m[0-9]{2}$'",
                               t),
                         EXECREC_MIGRATE_MONTHS_BACK + 1 + EXECREC_CONFIG_MONTHS_AHEAD);
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_class WHERE relname = '%s_y' || "
                 "to_char(now() AT TIME ZONE 'UTC', 'YYYY\"m\"MM')",
                 t);
        ck_assert_int_eq(tu_pg_count(conn, sql), 1);
    }
    static const char *plain[] = {"ordermanager", "ingest_offsets", "ingest_rejects",
                                  "schema_migrations"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(count("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                               "n.oid = c.relnamespace WHERE n.nspname = 'execution' AND "
                               "c.relname = '%s' AND c.relkind = 'r'",
                               plain[i]),
                         1);

    /* Unique keys and primary keys, with their exact columns. */
    static const struct {
        const char *table, *def;
    } keys[] = {
        {"ordersts", "UNIQUE (order_id, order_time)"},
        {"ordereventsts", "UNIQUE (order_id, event_key, event_time)"},
        {"tradests", "UNIQUE (trade_id, trade_time)"},
        {"ordermanager", "PRIMARY KEY (unique_identifier)"},
        {"ingest_offsets", "PRIMARY KEY (consumer_group, topic, partition)"},
        {"ingest_rejects", "UNIQUE (kafka_topic, kafka_partition, kafka_offset)"},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_constraint WHERE conrelid = 'execution.%s'::regclass "
                 "AND pg_get_constraintdef(oid) = '%s'",
                 keys[i].table, keys[i].def);
        ck_assert_msg(tu_pg_count(conn, sql) == 1, "%s lacks %s", keys[i].table, keys[i].def);
    }

    /* Exactly the indexes the documented queries need (docs/queries.md), on the parents
     * and inherited by the partitions: each is one more write per recorded row
     * (0011 dropped (account_uid, time) and (asset, time) of TradesTS and OrdersTS). */
    static const struct {
        const char *table, *cols;
    } idx[] = {
        {"ordersts", "(order_id, order_time)"}, /* the natural key */
        {"ordersts", "(order_time)"},
        {"ordersts", "(order_manager_uid) WHERE (order_manager_uid IS NOT NULL)"},
        {"ordersts", "(kafka_topic, kafka_partition, order_time)"},
        {"ordereventsts", "(order_id, event_key, event_time)"},
        {"ordereventsts", "(event_time)"},
        {"ordereventsts", "(kafka_topic, kafka_partition, event_time)"},
        {"tradests", "(trade_id, trade_time)"},
        {"tradests", "(trade_time) INCLUDE (asset, quantity, price, order_id)"}, /* 0007, 0008 */
        {"tradests", "(order_id)"},
        {"tradests", "(kafka_topic, kafka_partition, trade_time)"},
    };
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_indexes WHERE schemaname = 'execution' AND "
                 "tablename = '%s' AND indexdef LIKE '%% USING btree %s'",
                 idx[i].table, idx[i].cols);
        ck_assert_msg(tu_pg_count(conn, sql) == 1, "%s lacks index %s", idx[i].table, idx[i].cols);
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_indexes WHERE schemaname = 'execution' AND "
                 "tablename = '%s_default' AND indexdef LIKE '%% USING btree %s'",
                 idx[i].table, idx[i].cols);
        ck_assert_msg(tu_pg_count(conn, sql) == 1, "%s_default lacks index %s", idx[i].table,
                      idx[i].cols);
    }
    for (int i = 0; i < 3; i++) {
        int want = 0;
        for (size_t j = 0; j < sizeof(idx) / sizeof(idx[0]); j++)
            want += !strcmp(idx[j].table, partitioned[i]);
        ck_assert_msg(count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'execution' AND "
                            "tablename = '%s'",
                            partitioned[i]) == want,
                      "%s has other indexes than the %d listed", partitioned[i], want);
        ck_assert_msg(count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'execution' AND "
                            "tablename = '%s_default'",
                            partitioned[i]) == want,
                      "%s_default has other indexes than the %d listed", partitioned[i], want);
    }
    /* order_id lookups on orders and events use the natural key's leading column. */
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM pg_proc WHERE proname = "
                                       "'ensure_partitions' AND pronamespace = "
                                       "'execution'::regnamespace"),
                     1);
}
END_TEST

START_TEST(test_reapply_noop) {
    migrate_ok(NULL, n_embedded());
    const char *objects = "SELECT count(*) FROM pg_class WHERE relnamespace = "
                          "'execution'::regnamespace";
    long long before = tu_pg_count(conn, objects);
    migrate_ok(NULL, 0);
    migrate_ok(NULL, 0);
    ck_assert_int_eq(tu_pg_count(conn, objects), before);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations"),
                     n_embedded());
    int pending = -1, problems = -1;
    char errstr[512];
    ck_assert_int_eq(
        execrec_migrate_status(conn, NULL, NULL, NULL, &pending, &problems, errstr, sizeof(errstr)),
        EXECREC_OK);
    ck_assert_int_eq(pending, 0);
    ck_assert_int_eq(problems, 0);
}
END_TEST

/* ---- migrations from a directory ---- */

static void write_file(const char *dir, const char *name, const void *data, size_t len,
                       const char *mode) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, mode);
    ck_assert_msg(fp != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert_int_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* A temporary directory holding copies of migrations/ from the source tree. */
static char *copy_migrations(void) {
    static char tmpl[64];
    snprintf(tmpl, sizeof(tmpl), "/tmp/execrec_migrate_XXXXXX");
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    for (int i = 0; execrec_migrations_embedded[i].name; i++) {
        char path[1024];
        size_t len;
        snprintf(path, sizeof(path), "%s/migrations/%s", tu_source_dir(),
                 execrec_migrations_embedded[i].name);
        char *data = tu_read_file(path, &len);
        /* The embedded copy is the source file, byte for byte. */
        ck_assert_int_eq(len, execrec_migrations_embedded[i].len);
        ck_assert(memcmp(data, execrec_migrations_embedded[i].data, len) == 0);
        write_file(dir, execrec_migrations_embedded[i].name, data, len, "wb");
        free(data);
    }
    write_file(dir, "README", "not a migration\n", 16, "wb");
    return dir;
}

static void remove_dir(const char *dir) {
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(tu_run(cmd, NULL), 0);
}

START_TEST(test_edited_file_refused) {
    char *dir = copy_migrations();
    migrate_ok(dir, n_embedded());
    /* Same bytes from disk and embedded: the checksums agree. */
    migrate_ok(NULL, 0);

    const char *edited = execrec_migrations_embedded[0].name;
    write_file(dir, edited, "-- edited\n", 10, "ab");
    const char *extra = "CREATE TABLE execution.must_not_exist (x int);\n";
    write_file(dir, "9000_extra.sql", extra, strlen(extra), "wb");

    char errstr[1024];
    int applied = -1;
    execrec_err_t err = execrec_migrate(conn, dir, &applied, errstr, sizeof(errstr));
    ck_assert_int_eq(err, EXECREC_ERR_MIGRATE);
    ck_assert_int_eq(applied, 0);
    ck_assert_msg(strstr(errstr, edited) != NULL, "error does not name %s: %s", edited, errstr);
    ck_assert_msg(strstr(errstr, "sha256") != NULL, "%s", errstr);
    /* Nothing applied: the pending file stayed pending. */
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations"),
                     n_embedded());
    ck_assert_int_eq(
        tu_pg_count(conn, "SELECT count(*) FROM pg_class WHERE relname = 'must_not_exist'"), 0);

    int pending = -1, problems = -1;
    ck_assert_int_eq(
        execrec_migrate_status(conn, dir, NULL, NULL, &pending, &problems, errstr, sizeof(errstr)),
        EXECREC_OK);
    ck_assert_int_eq(pending, 1);
    ck_assert_int_eq(problems, 1);

    /* The CLI says the same and exits 1. */
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof(cmd), "'%s' migrate --dsn '%s' --dir '%s' 2>&1", tu_bin(), dsn, dir);
    ck_assert_int_eq(tu_run(cmd, &out), 1);
    ck_assert_msg(strstr(out, edited) != NULL, "%s", out);
    free(out);
    remove_dir(dir);
}
END_TEST

START_TEST(test_failing_file_rolled_back) {
    char *dir = copy_migrations();
    const char *bad = "CREATE TABLE execution.half_done (x int);\nSELECT no_such_function();\n";
    write_file(dir, "9001_bad.sql", bad, strlen(bad), "wb");
    char errstr[1024];
    int applied = -1;
    execrec_err_t err = execrec_migrate(conn, dir, &applied, errstr, sizeof(errstr));
    ck_assert_int_eq(err, EXECREC_ERR_MIGRATE);
    ck_assert_msg(strstr(errstr, "9001_bad.sql") && strstr(errstr, "no_such_function"), "%s",
                  errstr);
    /* The good files before it stay applied; the bad one left nothing behind. */
    ck_assert_int_eq(applied, n_embedded());
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations"),
                     n_embedded());
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM pg_class WHERE relname = 'half_done'"),
                     0);
    ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
    remove_dir(dir);
}
END_TEST

START_TEST(test_commit_in_file_refused) {
    char *dir = copy_migrations();
    const char *bad = "CREATE TABLE execution.early (x int);\nCOMMIT;\n";
    write_file(dir, "9002_commit.sql", bad, strlen(bad), "wb");
    char errstr[1024];
    int applied = -1;
    ck_assert_int_eq(execrec_migrate(conn, dir, &applied, errstr, sizeof(errstr)),
                     EXECREC_ERR_MIGRATE);
    ck_assert_msg(strstr(errstr, "9002_commit.sql") && strstr(errstr, "COMMIT"), "%s", errstr);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations"),
                     n_embedded());
    ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
    remove_dir(dir);
}
END_TEST

START_TEST(test_unknown_version_refused) {
    migrate_ok(NULL, n_embedded());
    tu_pg_exec(conn, "INSERT INTO execution.schema_migrations (version, name, checksum) "
                     "VALUES ('9999', '9999_future.sql', 'abc')");
    char errstr[1024];
    int applied = -1;
    ck_assert_int_eq(execrec_migrate(conn, NULL, &applied, errstr, sizeof(errstr)),
                     EXECREC_ERR_MIGRATE);
    ck_assert_msg(strstr(errstr, "9999_future.sql") != NULL, "%s", errstr);
}
END_TEST

/* ---- the columns agree with src/record.c ---- */

static const char *sql_type(execrec_coltype_t type) {
    switch (type) {
    case EXECREC_COL_TEXT:
    case EXECREC_COL_ENUM:
    case EXECREC_COL_DERIVED:
        return "text";
    case EXECREC_COL_DECIMAL:
        return "numeric";
    case EXECREC_COL_TIME:
        return "timestamp with time zone";
    case EXECREC_COL_INT64:
        return "bigint";
    }
    return "?";
}

typedef struct col_s {
    const char *name, *type;
    int not_null;
} col_t;

/* raw_payload: the message as received (json, 0011) in the fact tables; OrderManager,
 * the newest intent per identifier, keeps jsonb. */
static const col_t common_cols[] = {
    {"raw_payload", "json", 1},
    {"kafka_topic", "text", 1},
    {"kafka_partition", "integer", 1},
    {"kafka_offset", "bigint", 1},
    {"kafka_timestamp", "timestamp with time zone", 0},
    {"kafka_key", "text", 0},
};

START_TEST(test_columns_match_record) {
    migrate_ok(NULL, -1);
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns((execrec_kind_t)k, &ncols);
        col_t want[EXECREC_COL_MAX + 16];
        int n = 0;
        for (int i = 0; i < ncols; i++)
            want[n++] = (col_t){cols[i].name, sql_type(cols[i].type), cols[i].required};
        if (k == EXECREC_KIND_ORDER_MANAGER)
            want[n++] = (col_t){"as_of", "timestamp with time zone", 1};
        for (size_t i = 0; i < sizeof(common_cols) / sizeof(common_cols[0]); i++)
            want[n++] = common_cols[i];
        if (k == EXECREC_KIND_ORDER_MANAGER)
            want[n - (int)(sizeof(common_cols) / sizeof(common_cols[0]))].type = "jsonb";
        if (k == EXECREC_KIND_ORDER_MANAGER)
            want[n++] = (col_t){"first_seen_at", "timestamp with time zone", 1};
        want[n++] = (col_t){"ingested_at", "timestamp with time zone", 1};

        const char *table = strchr(execrec_kind_table((execrec_kind_t)k), '.') + 1;
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                 "WHERE table_schema = 'execution' AND table_name = lower('%s') "
                 "ORDER BY ordinal_position",
                 table);
        PGresult *res = PQexec(conn, sql);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        ck_assert_msg(PQntuples(res) == n, "%s has %d columns, expected %d", table, PQntuples(res),
                      n);
        for (int i = 0; i < n; i++) {
            ck_assert_msg(!strcmp(PQgetvalue(res, i, 0), want[i].name),
                          "%s column %d is %s, expected %s", table, i + 1, PQgetvalue(res, i, 0),
                          want[i].name);
            ck_assert_msg(!strcmp(PQgetvalue(res, i, 1), want[i].type), "%s.%s is %s, expected %s",
                          table, want[i].name, PQgetvalue(res, i, 1), want[i].type);
            ck_assert_msg(!strcmp(PQgetvalue(res, i, 2), want[i].not_null ? "NO" : "YES"),
                          "%s.%s nullability", table, want[i].name);
        }
        PQclear(res);
        /* numeric without typmod: nothing is ever rounded. */
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                 "'execution' AND table_name = lower('%s') AND data_type = 'numeric' AND "
                 "(numeric_precision IS NOT NULL OR numeric_scale IS NOT NULL)",
                 table);
        ck_assert_int_eq(tu_pg_count(conn, sql), 0);
    }
}
END_TEST

/* ---- data ---- */

static void insert_all(const char *t_order, const char *t_event, const char *t_trade) {
    char sql[4096];
    snprintf(sql, sizeof(sql),
             "INSERT INTO execution.OrdersTS (order_id, account_uid, asset, side, quantity, "
             "order_time, limit_price, stop_price, raw_payload, kafka_topic, kafka_partition, "
             "kafka_offset) VALUES ('O-%s', 'ACC', 'BTC', 'buy', '0.00000001', '%s', "
             "'123456789.12345678', '1.50', '{\"a\":1}', 'orders', 0, 1);"
             "INSERT INTO execution.OrderEventsTS (order_id, event_type, event_time, "
             "filled_quantity, remaining_quantity, avg_fill_price, event_key, raw_payload, "
             "kafka_topic, kafka_partition, kafka_offset) VALUES ('O-%s', 'fill', '%s', "
             "'0.00000001', '1.50', '123456789.12345678', 'k1', '{}', 'order-events', 0, 1);"
             "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, trade_time, "
             "fee, raw_payload, kafka_topic, kafka_partition, kafka_offset) VALUES ('T-%s', "
             "'O-1', '1.50', '123456789.12345678', '%s', '0.00000001', '{}', 'trades', 0, 1)",
             t_order, t_order, t_event, t_event, t_trade, t_trade);
    tu_pg_exec(conn, sql);
}

static void expect_text(const char *sql, const char *want) {
    char *got = tu_pg_scalar(conn, sql);
    ck_assert_msg(got && !strcmp(got, want), "%s: got %s, expected %s", sql, got ? got : "NULL",
                  want);
    free(got);
}

START_TEST(test_exact_decimals) {
    migrate_ok(NULL, -1);
    insert_all("2026-01-05 10:00:00+00", "2026-01-05 10:00:01+00", "2026-01-05 10:00:02+00");
    tu_pg_exec(conn, "INSERT INTO execution.OrderManager (unique_identifier, target_account_uid, "
                     "target_time, status, as_of, raw_payload, kafka_topic, kafka_partition, "
                     "kafka_offset) VALUES ('M-1', 'ACC', now(), 'active', now(), '{}', "
                     "'order-managers', 0, 7)");
    expect_text("SELECT quantity::text FROM execution.OrdersTS", "0.00000001");
    expect_text("SELECT limit_price::text FROM execution.OrdersTS", "123456789.12345678");
    expect_text("SELECT stop_price::text FROM execution.OrdersTS", "1.50");
    expect_text("SELECT filled_quantity::text FROM execution.OrderEventsTS", "0.00000001");
    expect_text("SELECT remaining_quantity::text FROM execution.OrderEventsTS", "1.50");
    expect_text("SELECT avg_fill_price::text FROM execution.OrderEventsTS", "123456789.12345678");
    expect_text("SELECT quantity::text FROM execution.TradesTS", "1.50");
    expect_text("SELECT price::text FROM execution.TradesTS", "123456789.12345678");
    expect_text("SELECT fee::text FROM execution.TradesTS", "0.00000001");
    expect_text("SELECT (first_seen_at IS NOT NULL AND ingested_at IS NOT NULL)::text "
                "FROM execution.OrderManager",
                "true");
    /* Natural keys de-duplicate. */
    PGresult *res = PQexec(conn, "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, "
                                 "price, trade_time, raw_payload, kafka_topic, kafka_partition, "
                                 "kafka_offset) VALUES ('T-2026-01-05 10:00:02+00', 'O-1', 2, 2, "
                                 "'2026-01-05 10:00:02+00', '{}', 'trades', 0, 2) "
                                 "ON CONFLICT DO NOTHING");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    ck_assert_str_eq(PQcmdTuples(res), "0");
    PQclear(res);
    /* The documented check constraint. */
    res = PQexec(conn, "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, "
                       "trade_time, raw_payload, kafka_topic, kafka_partition, kafka_offset) "
                       "VALUES ('T-0', 'O-1', 0, 1, now(), '{}', 'trades', 0, 3)");
    ck_assert_int_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
    ck_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23514");
    PQclear(res);
}
END_TEST

START_TEST(test_unquoted_identifiers) {
    migrate_ok(NULL, -1);
    insert_all("2026-02-01 00:00:00+00", "2026-02-01 00:00:00+00", "2026-02-01 00:00:00+00");
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS"), 1);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.OrdersTS"), 1);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.OrderEventsTS"), 1);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.OrderManager"), 0);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.ingest_offsets"), 0);
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.ingest_rejects"), 0);
    /* And through record.h's table names, as the writer uses them. */
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        count("SELECT count(*) FROM %s", execrec_kind_table((execrec_kind_t)k));
}
END_TEST

START_TEST(test_default_partition) {
    migrate_ok(NULL, -1);
    insert_all("1990-01-01 00:00:00+00", "2999-12-31 23:59:59+00", "1970-01-01 00:00:00+00");
    expect_text("SELECT tableoid::regclass::text FROM execution.OrdersTS",
                "execution.ordersts_default");
    expect_text("SELECT tableoid::regclass::text FROM execution.OrderEventsTS",
                "execution.ordereventsts_default");
    expect_text("SELECT tableoid::regclass::text FROM execution.TradesTS",
                "execution.tradests_default");
    /* A row of the current month lands in its partition. */
    insert_all("now", "now", "now");
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.TradesTS WHERE "
                                       "tableoid::regclass::text ~ '_y[0-9]{4}m[0-9]{2}$'"),
                     1);
}
END_TEST

START_TEST(test_ensure_partitions_moves_rows) {
    migrate_ok(NULL, -1);
    insert_all("2040-03-15 12:00:00+00", "2040-03-31 23:59:59.999999+00", "2040-03-01 00:00:00+00");
    insert_all("2040-04-01 00:00:00+00", "2040-02-29 23:59:59+00", "2040-05-02 00:00:00+00");
    tu_pg_exec(conn, "UPDATE execution.TradesTS SET ingested_at = '2001-01-01Z'");
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.tradests_default"), 2);

    ck_assert_int_eq(tu_pg_count(conn, "SELECT execution.ensure_partitions('2040-03-01', "
                                       "'2040-03-20')"),
                     3);
    /* The March rows moved, the others stayed, nothing lost or doubled. */
    expect_text("SELECT string_agg(tableoid::regclass::text || ' ' || trade_id, ', ' ORDER BY "
                "trade_time) FROM execution.TradesTS",
                "execution.tradests_y2040m03 T-2040-03-01 00:00:00+00, "
                "execution.tradests_default T-2040-05-02 00:00:00+00");
    expect_text("SELECT string_agg(tableoid::regclass::text, ', ' ORDER BY order_time) "
                "FROM execution.OrdersTS",
                "execution.ordersts_y2040m03, execution.ordersts_default");
    expect_text("SELECT string_agg(tableoid::regclass::text, ', ' ORDER BY event_time) "
                "FROM execution.OrderEventsTS",
                "execution.ordereventsts_default, execution.ordereventsts_y2040m03");
    /* Every column kept, ingested_at included. */
    expect_text("SELECT count(*)::text FROM execution.TradesTS WHERE ingested_at = "
                "'2001-01-01Z' AND fee = 0.00000001 AND price = 123456789.12345678",
                "2");
    /* Idempotent. */
    ck_assert_int_eq(tu_pg_count(conn, "SELECT execution.ensure_partitions('2040-03-01', "
                                       "'2040-03-01')"),
                     0);
    /* Through the C helper (around now): nothing new after migrate did it. */
    int created = -1;
    char errstr[512];
    ck_assert_int_eq(execrec_migrate_ensure_partitions(conn, 1, EXECREC_CONFIG_MONTHS_AHEAD,
                                                       &created, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(created, 0);
    ck_assert_int_eq(execrec_migrate_ensure_partitions(conn, 1, EXECREC_CONFIG_MONTHS_AHEAD + 1,
                                                       &created, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(created, 3);
}
END_TEST

/* ---- concurrency ---- */

typedef struct runner_s {
    execrec_err_t err;
    int applied;
    char errstr[512];
} runner_t;

static void *run_migrate(void *arg) {
    runner_t *r = arg;
    PGconn *c = execrec_pg_connect(dsn, r->errstr, sizeof(r->errstr));
    if (!c) {
        r->err = EXECREC_ERR_PG;
        return NULL;
    }
    r->err = execrec_migrate(c, NULL, &r->applied, r->errstr, sizeof(r->errstr));
    PQfinish(c);
    return NULL;
}

START_TEST(test_concurrent_migrate) {
    enum { N = 4 };
    runner_t r[N];
    pthread_t th[N];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_migrate, &r[i]), 0);
    int total = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(r[i].err == EXECREC_OK, "migrator %d: %s", i, r[i].errstr);
        total += r[i].applied;
    }
    ck_assert_int_eq(total, n_embedded());
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM execution.schema_migrations"),
                     n_embedded());
    ck_assert_int_eq(tu_pg_count(conn, "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                       "'execution.tradests'::regclass"),
                     EXECREC_MIGRATE_MONTHS_BACK + 1 + EXECREC_CONFIG_MONTHS_AHEAD + 1);
}
END_TEST

/* ---- pg helpers ---- */

START_TEST(test_pg_helpers) {
    char errstr[512];
    ck_assert_int_eq(execrec_pg_exec(conn, "SELECT 1; SELECT 2", errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(execrec_pg_exec(conn, "SELECT * FROM no_such_table", errstr, sizeof(errstr)),
                     EXECREC_ERR_PG);
    ck_assert_msg(strstr(errstr, "42P01") && strstr(errstr, "no_such_table"), "%s", errstr);
    PGresult *res = PQexec(conn, "SELECT 1/0");
    ck_assert_int_eq(execrec_pg_error_retryable(conn, res), 0);
    PQclear(res);

    /* A failed connection names no password. */
    PGconn *c = execrec_pg_connect("host=127.0.0.1 port=1 password=hunter2 connect_timeout=2",
                                   errstr, sizeof(errstr));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(errstr, "hunter2") == NULL, "%s", errstr);
    ck_assert_int_eq(execrec_pg_error_retryable(NULL, NULL), 1);

    char *s = execrec_pg_redact_conninfo("host=db user=rec password=hunter2 dbname=x");
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(!strstr(s, "hunter2") && strstr(s, "password=***") && strstr(s, "host=db"), "%s",
                  s);
    free(s);
    s = execrec_pg_redact_conninfo("postgresql://rec:hunter2@db:5433/x?sslmode=disable");
    ck_assert_msg(s && !strstr(s, "hunter2") && strstr(s, "port=5433"), "%s", s);
    free(s);
    s = execrec_pg_redact_conninfo("host='unterminated password=hunter2");
    ck_assert_msg(s && !strstr(s, "hunter2"), "%s", s);
    free(s);
    s = execrec_pg_redact_conninfo(NULL);
    ck_assert_str_eq(s, "(PG* environment)");
    free(s);
}
END_TEST

/* ---- what a role that may not migrate reads ---- */

START_TEST(test_check_and_missing_months) {
    char errstr[1024], months[256];
    int owner = -1;
    /* Before the schema exists, anyone may create it. */
    ck_assert_int_eq(execrec_migrate_is_owner(conn, &owner, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_int_eq(owner, 1);
    ck_assert_int_eq(execrec_migrate_check(conn, NULL, errstr, sizeof(errstr)),
                     EXECREC_ERR_MIGRATE);
    ck_assert_msg(strstr(errstr, "run execrec migrate as the owner"), "%s", errstr);

    /* All files but the last applied: "at version <previous>, needs <last>". */
    int n = n_embedded();
    char version[2][16], want[256], sql[256], path[1200];
    for (int i = 0; i < 2; i++) {
        const char *name = execrec_migrations_embedded[n - 2 + i].name;
        snprintf(version[i], sizeof(version[i]), "%.*s", (int)strcspn(name, "_"), name);
    }
    char *dir = copy_migrations();
    snprintf(path, sizeof(path), "%s/%s", dir, execrec_migrations_embedded[n - 1].name);
    ck_assert_int_eq(unlink(path), 0);
    migrate_ok(dir, n - 1);
    remove_dir(dir);
    ck_assert_int_eq(execrec_migrate_check(conn, NULL, errstr, sizeof(errstr)),
                     EXECREC_ERR_MIGRATE);
    snprintf(want, sizeof(want),
             "schema execution is at version %s, this execrec needs %s: run execrec migrate as "
             "the owner",
             version[0], version[1]);
    ck_assert_str_eq(errstr, want);
    migrate_ok(NULL, 1);
    ck_assert_int_eq(execrec_migrate_check(conn, NULL, errstr, sizeof(errstr)), EXECREC_OK);

    /* Partitions: migrate made this month through EXECREC_CONFIG_MONTHS_AHEAD. */
    ck_assert_int_eq(execrec_migrate_missing_months(conn, EXECREC_CONFIG_MONTHS_AHEAD, months,
                                                    sizeof(months), errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_str_eq(months, "");
    char *next = tu_pg_scalar(conn, "SELECT to_char(date_trunc('month', now() AT TIME ZONE "
                                    "'UTC') + interval '1 month', 'YYYY-MM')");
    char *after = tu_pg_scalar(conn, "SELECT to_char(date_trunc('month', now() AT TIME ZONE "
                                     "'UTC') + interval '4 months', 'YYYY-MM')");
    /* One table's partition of next month is enough to name the month. */
    snprintf(sql, sizeof(sql), "DROP TABLE execution.ordereventsts_y%.4sm%.2s", next, next + 5);
    tu_pg_exec(conn, sql);
    ck_assert_int_eq(execrec_migrate_missing_months(conn, EXECREC_CONFIG_MONTHS_AHEAD + 1, months,
                                                    sizeof(months), errstr, sizeof(errstr)),
                     EXECREC_OK);
    snprintf(want, sizeof(want), "%s, %s", next, after);
    ck_assert_str_eq(months, want);
    ck_assert_int_eq(
        execrec_migrate_missing_months(conn, 0, months, sizeof(months), errstr, sizeof(errstr)),
        EXECREC_OK);
    ck_assert_str_eq(months, "");
    free(next);
    free(after);
}
END_TEST

/* ---- command line ---- */

START_TEST(test_cli) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof(cmd), "'%s' migrate --help", tu_bin());
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "usage: execrec migrate") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof(cmd), "'%s' migrate --no-such-option 2>&1", tu_bin());
    ck_assert_int_eq(tu_run(cmd, &out), 2);
    ck_assert_msg(strstr(out, "--no-such-option") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof(cmd), "'%s' migrate --dsn 2>&1", tu_bin());
    ck_assert_int_eq(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof(cmd), "'%s' migrate extra 2>&1", tu_bin());
    ck_assert_int_eq(tu_run(cmd, NULL), 2);

    /* From another directory, with the embedded files; DSN from EXECREC_DSN. */
    snprintf(cmd, sizeof(cmd), "cd / && EXECREC_DSN='%s' '%s' migrate 2>&1", dsn, tu_bin());
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "applied ") && strstr(out, "migration(s)"), "%s", out);
    free(out);
    snprintf(cmd, sizeof(cmd), "'%s' migrate --dsn '%s' 2>&1", tu_bin(), dsn);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "database is up to date") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof(cmd), "'%s' migrate --dsn '%s' --status 2>&1", tu_bin(), dsn);
    ck_assert_int_eq(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "applied") && strstr(out, "0 pending"), "%s", out);
    free(out);
    /* A server that is not there: exit 1, a reason, no password. */
    snprintf(cmd, sizeof(cmd), "'%s' migrate --dsn 'host=127.0.0.1 port=1 password=hunter2' 2>&1",
             tu_bin());
    ck_assert_int_eq(tu_run(cmd, &out), 1);
    ck_assert_msg(strstr(out, "hunter2") == NULL && strstr(out, "cannot connect"), "%s", out);
    free(out);
}
END_TEST

static Suite *migrate_suite(void) {
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_apply_empty);
    tcase_add_test(tc, test_reapply_noop);
    tcase_add_test(tc, test_columns_match_record);
    tcase_add_test(tc, test_unquoted_identifiers);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_edited_file_refused);
    tcase_add_test(tc, test_failing_file_rolled_back);
    tcase_add_test(tc, test_commit_in_file_refused);
    tcase_add_test(tc, test_unknown_version_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_exact_decimals);
    tcase_add_test(tc, test_default_partition);
    tcase_add_test(tc, test_ensure_partitions_moves_rows);
    tcase_add_test(tc, test_check_and_missing_months);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_concurrent_migrate);
    suite_add_tcase(s, tc);

    tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pg_helpers);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(migrate_suite)
