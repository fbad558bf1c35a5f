#!/usr/bin/env bash
# Least privilege (docs/roles.md): the owner migrates and maintains partitions, a
# writer login role records, a reader login role reads.
#   1. `execrec migrate` as a role with CREATEROLE creates the NOLOGIN group roles;
#      as an owner without it, prints the SQL a superuser runs and exits 0.
#   2. The whole recorder path (`execrec run --exit-at-end`, the embedded broker) as
#      a writer login role, with trades of a month whose partitions are missing and
#      of a far month: every row recorded, those in the DEFAULT partition, a WARN
#      naming the missing month and `execrec partitions`; no migration attempted.
#      `execrec load` and `execrec backfill` as the writer too.
#   3. The writer cannot CREATE, ALTER, DROP, TRUNCATE, DELETE (42501).
#   4. The reader can SELECT every table and view and call every function of schema
#      execution but the owner's maintenance ones (enumerated from pg_catalog, so a
#      new view is covered), and cannot INSERT/UPDATE/DELETE/TRUNCATE any table;
#      `status` and `reconcile` work as the reader, with the owner's output.
#   5. `execrec partitions` as the owner moves the DEFAULT rows (exact counts); the
#      new partitions are readable by the reader (default privileges).
#   6. A writer against an older schema is refused, exit 1, with the fix.
# Roles belong to the whole server: this test runs its own PostgreSQL, where the
# group roles do not exist yet.
source "$(dirname "$0")/run_lib.sh"
rl_private_pg
export PGDATABASE=postgres
sup=$PGUSER

# role_sqlstate ROLE SQL: the SQLSTATE of SQL run as ROLE ("ok" when it succeeds).
role_sqlstate() {
    local o
    if o=$(PGUSER=$1 psql -X -A -t -q -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -c "$2" 2>&1); then
        echo ok
    else
        echo "$o" | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1
    fi
}
# where_trades: "PREFIX:PARTITION:COUNT" of the RC-, RN- and RF- trades.
where_trades() {
    q "SELECT string_agg(p || ':' || t || ':' || n, ' ' ORDER BY p) FROM (SELECT left(trade_id, 2) AS p,
       tableoid::regclass::text AS t, count(*) AS n FROM execution.TradesTS WHERE trade_id LIKE 'R%' GROUP BY 1, 2) s"
}
month() { q "SELECT to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '$1 months', '$2')"; }
roles_exist() { q "SELECT count(*) FROM pg_roles WHERE rolname IN ('execrec_writer', 'execrec_reader') AND NOT rolcanlogin"; }

# ---- 1. who creates the group roles ----
cli_db db0 roles_admin
q "CREATE ROLE radmin LOGIN CREATEROLE; GRANT CREATE ON DATABASE $db0 TO radmin" >/dev/null
check "$(roles_exist)" 0 "no group roles on a new server"
expect_status 0 "migrate as a role with CREATEROLE" "$bin" migrate --dsn "dbname=$db0 user=radmin"
expect_out "roles execrec_writer and execrec_reader granted" "migrate with CREATEROLE grants"
check "$(roles_exist)" 2 "migrate with CREATEROLE created both NOLOGIN roles"
check "$(PGDATABASE=$db0 q "SELECT has_table_privilege('execrec_writer', 'execution.TradesTS', 'INSERT')")" t \
    "migrate with CREATEROLE granted the writer"
# Start again without them: drop the database, then the roles.
psql -X -q -c "DROP DATABASE $db0 WITH (FORCE)" postgres
q "DROP ROLE execrec_writer; DROP ROLE execrec_reader; DROP ROLE radmin" >/dev/null
check "$(roles_exist)" 0 "group roles dropped"

cli_db db roles
export PGDATABASE=$db
q "CREATE ROLE rowner LOGIN; GRANT CREATE ON DATABASE $db TO rowner" >/dev/null
"$bin" migrate --dsn "user=rowner" >"$work/m1.out" 2>"$work/m1.err"
check "$?" 0 "migrate as an owner without CREATEROLE exits 0"
check "$(grep -c '^applied [0-9]* migration' "$work/m1.out")" 1 "migrate applied the files"
check "$(grep -v '^--' "$work/m1.out" | grep -v '^applied')" \
    "$(printf 'CREATE ROLE execrec_writer NOLOGIN;\nCREATE ROLE execrec_reader NOLOGIN;\nSELECT execution.grant_roles();')" \
    "migrate prints the SQL for a superuser"
if grep -q "WARNING: the schema is migrated, but the group roles are missing and role rowner may not create them" "$work/m1.err"; then
    pass
else
    fail "migrate without CREATEROLE warns: $(cat "$work/m1.err")"
fi
check "$(roles_exist)" 0 "migrate without CREATEROLE created no role"
# The administrator runs what was printed.
sed -n '/^-- execrec migrate/,$p' "$work/m1.out" | psql -X -q -v ON_ERROR_STOP=1 >"$work/admin.out" 2>&1 ||
    fail "the printed SQL failed: $(cat "$work/admin.out")"
check "$(roles_exist)" 2 "the printed SQL created both NOLOGIN roles"
expect_status 0 "migrate again as the owner" "$bin" migrate --dsn "user=rowner"
expect_out "roles execrec_writer and execrec_reader granted" "migrate again grants"
if grep -q "CREATE ROLE" "$out"; then fail "migrate printed SQL once the roles exist"; else pass; fi
check "$(q "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'execution'")" rowner "rowner owns the schema"

q "CREATE ROLE rwriter LOGIN IN ROLE execrec_writer; CREATE ROLE rreader LOGIN IN ROLE execrec_reader" >/dev/null

# Next month's partitions go missing (as when nobody ran `execrec partitions`).
m1=$(month 1 YYYY-MM)
m1s=$(month 1 '"y"YYYY"m"MM')
PGUSER=rowner q "DROP TABLE execution.ordersts_$m1s, execution.ordereventsts_$m1s, execution.tradests_$m1s" >/dev/null ||
    fail "the owner drops next month's partitions"

# ---- 2. the recorder path as the writer ----
rl_start_broker --partitions 2
data=$src/tests/data/views
rl_produce orders "$data/orders.jsonl" -p 0
rl_produce order-events "$data/order_events.jsonl" -p 0
rl_produce order-managers "$data/order_managers.jsonl" -p 0
# Trades: the views' 9, then 4 this month, 5 next month (no partition), 3 in
# May 2041 (no partition), and one that is not JSON (a reject).
trade() { # ID TIME
    printf '{"trade_id":"%s","order_id":"RO-%s","quantity":"1.5","price":"10","trade_time":"%s","venue":"TEST"}\n' "$1" "$1" "$2"
}
{
    cat "$data/trades.jsonl"
    for i in 1 2 3 4; do trade "RC-$i" "$(month 0 YYYY-MM)-0${i}T12:00:00Z"; done
    for i in 1 2 3 4 5; do trade "RN-$i" "$m1-0${i}T08:00:00Z"; done
    for i in 1 2 3; do trade "RF-$i" "2041-05-0${i}T00:00:00Z"; done
    echo 'not json'
} >"$work/trades.jsonl"
rl_produce trades "$work/trades.jsonl" -p 1

rl_run_to_end w1 120 --dsn "user=rwriter" --group roles
log=$work/w1.log
if grep -q "role rwriter is not the owner of schema execution: no migrations" "$log"; then pass; else
    fail "the writer says it does not migrate"; fi
if grep -q "WARN .*monthly partitions are missing for $m1 (this month through 2 months ahead).*'execrec partitions'" "$log"; then
    pass
else
    fail "the writer warns that $m1 has no partitions and names the command"
fi
check "$(grep -c 'monthly partitions are missing' "$log")" 1 "the warning is logged once"
check "$(q "SELECT (SELECT count(*) FROM execution.OrdersTS) || ' ' || (SELECT count(*) FROM execution.OrderEventsTS)
            || ' ' || (SELECT count(*) FROM execution.TradesTS) || ' ' || (SELECT count(*) FROM execution.OrderManager)
            || ' ' || (SELECT count(*) FROM execution.ingest_rejects)")" "9 19 21 3 1" \
    "the writer recorded every orders, events, trades (9 + 12), managers, and the reject"
check "$(where_trades)" \
    "RC:execution.tradests_$(month 0 '"y"YYYY"m"MM'):4 RF:execution.tradests_default:3 RN:execution.tradests_default:5" \
    "trades of months without partitions are in the DEFAULT partition"
check "$(rl_offsets roles)" "$(printf 'order-events 0 19\norder-managers 0 3\norders 0 9\ntrades 1 22')" "the writer stored its offsets"
check "$(q "SELECT count(*) FROM execution.schema_migrations")" "$(ls "$src"/migrations/[0-9]*.sql | wc -l)" "no migration by the writer"

# load and backfill as the writer: exit 0, no migration. M1 again, newer: the
# OrderManager upsert updates the stored row.
echo '{"unique_identifier":"M1","target_account_uid":"A1","target_time":"2026-03-02T10:00:00Z","status":"paused","strategy":"alpha","created_at":"2026-03-02T09:55:00Z","updated_at":"2026-03-03T09:00:00Z"}' >"$work/m1.jsonl"
expect_status 0 "load an order manager as the writer" "$bin" load --kind order_manager --dsn "user=rwriter" "$work/m1.jsonl"
expect_out "load order_manager: read 1, inserted 1, duplicates 0" "the writer's upsert of a newer M1"
check "$(q "SELECT status || ' ' || count(*) OVER () FROM execution.OrderManager WHERE unique_identifier = 'M1'")" "paused 1" \
    "the writer upserted the newer M1"
expect_status 0 "load as the writer" "$bin" load --kind trade --dsn "user=rwriter" "$work/trades.jsonl"
expect_out "load trade: read 22, inserted 0, duplicates 21, rejected 1" "load as the writer: duplicates"
expect_status 0 "backfill as the writer" "$bin" backfill --brokers "$BROKER" --dsn "user=rwriter" --topic trades
expect_out "inserted 0 (orders 0, order events 0, trades 0, order managers 0), duplicates 21, rejected 0 (1 already recorded)" \
    "backfill as the writer: duplicates"
check "$(q "SELECT count(*) FROM execution.TradesTS")" 21 "nothing twice after load and backfill"

# ---- 3. the writer never does DDL ----
for sql in "CREATE TABLE execution.evil (x int)" \
    "CREATE TABLE public.evil (x int)" \
    "CREATE SCHEMA evil" \
    "ALTER TABLE execution.TradesTS ADD COLUMN evil int" \
    "DROP TABLE execution.tradests_default" \
    "CREATE TABLE execution.tradests_y2041m05 PARTITION OF execution.TradesTS FOR VALUES FROM ('2041-05-01') TO ('2041-06-01')" \
    "CREATE INDEX evil ON execution.TradesTS (venue)" \
    "SELECT execution.ensure_partitions('2041-05-01', '2041-05-01')" \
    "SELECT * FROM execution.apply_partitions()" \
    "SELECT execution.grant_roles()" \
    "SELECT execution.delete_rejects(now(), 10)" \
    "TRUNCATE execution.TradesTS" \
    "DELETE FROM execution.TradesTS" \
    "DELETE FROM execution.ingest_offsets" \
    "SELECT count(*) FROM execution.TradesTS" \
    "GRANT execrec_reader TO rwriter"; do
    check "$(role_sqlstate rwriter "$sql")" 42501 "as the writer: $sql"
done

# ---- 4. the reader reads everything, writes nothing ----
reader_check="
DO \$\$
DECLARE
    c record;
    f record;
    args text;
    nts int;
    sql text;
    n_rel int := 0;
    n_fn int := 0;
    n_write int := 0;
BEGIN
    FOR c IN SELECT relname, relkind FROM pg_class
              WHERE relnamespace = 'execution'::regnamespace AND relkind IN ('r', 'p', 'v', 'm')
              ORDER BY relname LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT * FROM execution.%I LIMIT 1) s', c.relname);
        n_rel := n_rel + 1;
        IF c.relkind IN ('r', 'p') THEN
            FOREACH sql IN ARRAY ARRAY[
                format('INSERT INTO execution.%I DEFAULT VALUES', c.relname),
                format('UPDATE execution.%I SET %I = %2\$I WHERE false', c.relname,
                       (SELECT attname FROM pg_attribute
                         WHERE attrelid = ('execution.' || quote_ident(c.relname))::regclass
                           AND attnum = 1)),
                format('DELETE FROM execution.%I WHERE false', c.relname),
                format('TRUNCATE execution.%I', c.relname)] LOOP
                BEGIN
                    EXECUTE sql;
                    RAISE WARNING 'WRITABLE: %', sql;
                EXCEPTION WHEN insufficient_privilege THEN
                    n_write := n_write + 1;
                END;
            END LOOP;
        END IF;
    END LOOP;
    FOR f IN SELECT p.oid, p.proname, p.prokind, p.proargtypes FROM pg_proc p
              WHERE p.pronamespace = 'execution'::regnamespace
                AND has_function_privilege(p.oid, 'EXECUTE') ORDER BY p.proname LOOP
        nts := 0;
        SELECT coalesce(string_agg(CASE format_type(t, NULL)
                   WHEN 'timestamp with time zone' THEN
                       CASE WHEN i = 1 THEN 'now() - interval ''400 days''' ELSE 'now() + interval ''1 day''' END
                   WHEN 'interval' THEN 'interval ''1 hour'''
                   WHEN 'numeric' THEN '1::numeric'
                   WHEN 'integer' THEN '3'
                   WHEN 'text' THEN '''buy'''
                   WHEN 'date' THEN 'current_date'
                   WHEN 'boolean' THEN 'true'
                   ELSE 'NULL::' || format_type(t, NULL) END, ', ' ORDER BY i), '')
          INTO args
          FROM unnest(f.proargtypes::oid[]) WITH ORDINALITY AS a(t, i);
        IF f.prokind = 'a' THEN
            sql := format('SELECT execution.%I(%s)', f.proname, args);
        ELSE
            sql := format('SELECT count(*) FROM execution.%I(%s)', f.proname, args);
        END IF;
        BEGIN
            EXECUTE sql;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'DENIED: %: %', sql, SQLERRM;
        WHEN OTHERS THEN
            -- The function ran and raised its own error (invalid_argument does).
            NULL;
        END;
        n_fn := n_fn + 1;
    END LOOP;
    RAISE NOTICE 'relations % functions % refused-writes %', n_rel, n_fn, n_write;
END \$\$;"
PGUSER=rreader psql -X -q -v ON_ERROR_STOP=1 -c "$reader_check" >"$work/reader.out" 2>&1 ||
    fail "the reader's check failed: $(cat "$work/reader.out")"
n_rel=$(q "SELECT count(*) FROM pg_class WHERE relnamespace = 'execution'::regnamespace AND relkind IN ('r', 'p', 'v', 'm')")
n_tab=$(q "SELECT count(*) FROM pg_class WHERE relnamespace = 'execution'::regnamespace AND relkind IN ('r', 'p')")
n_fn=$(q "SELECT count(*) FROM pg_proc WHERE pronamespace = 'execution'::regnamespace")
check "$(grep -o 'relations .*' "$work/reader.out")" "relations $n_rel functions $((n_fn - 4)) refused-writes $((n_tab * 4))" \
    "the reader reads every table and view, calls every function but the 4 maintenance ones, and every write is refused"
check "$(grep -c 'WRITABLE\|DENIED' "$work/reader.out")" 0 "the reader: nothing writable, nothing denied ($(grep 'WRITABLE\|DENIED' "$work/reader.out" | head -3))"
check "$(q "SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'execution'::regnamespace
            AND NOT has_function_privilege('rreader', oid, 'EXECUTE')")" "apply_partitions,delete_rejects,ensure_partitions,grant_roles" \
    "the reader may not call the maintenance functions"
check "$(role_sqlstate rreader "SELECT nextval('execution.ingest_rejects_id_seq')")" 42501 "the reader cannot take a sequence value"
check "$(role_sqlstate rreader "CREATE TABLE execution.evil (x int)")" 42501 "the reader cannot create"

# status and reconcile as the reader print what they print for the owner.
expect_status 0 "status as the reader" "$bin" status --brokers "$BROKER" --group roles --dsn "user=rreader"
cp "$out" "$work/status.reader"
expect_status 0 "status as the owner" "$bin" status --brokers "$BROKER" --group roles --dsn "user=rowner"
check "$(cat "$work/status.reader")" "$(cat "$out")" "status as the reader = as the owner"
expect_out "trades" "status lists the trades topic"
expect_status 1 "reconcile as the reader (findings)" "$bin" reconcile --dsn "user=rreader"
cp "$out" "$work/reconcile.reader"
expect_out "trades whose order was never seen: 13" "reconcile as the reader finds the orphan trades"
expect_status 1 "reconcile as the owner (findings)" "$bin" reconcile --dsn "user=rowner"
# (without the "as of" and "stuck for" times, which move)
check "$(grep -v 'as of\| days ' "$work/reconcile.reader")" "$(grep -v 'as of\| days ' "$out")" \
    "reconcile as the reader = as the owner"

# ---- 5. the owner's partitions move the DEFAULT rows ----
expect_status 0 "partitions as the owner" "$bin" partitions --dsn "user=rowner"
expect_out "created execution.tradests_$m1s for [$m1-01, " "next month's partition created"
expect_out "moved 5 row(s) out of execution.tradests_default" "next month's 5 trades moved"
expect_out "created execution.tradests_y2041m05 for [2041-05-01, 2041-06-01), moved 3 row(s) out of execution.tradests_default" \
    "May 2041's 3 trades moved"
check "$(where_trades)" \
    "RC:execution.tradests_$(month 0 '"y"YYYY"m"MM'):4 RF:execution.tradests_y2041m05:3 RN:execution.tradests_$m1s:5" \
    "the DEFAULT rows are in their months' partitions"
check "$(PGUSER=rreader q "SELECT count(*) FROM execution.tradests_y2041m05")" 3 \
    "the reader reads a partition created after migrate (default privileges)"
expect_status 0 "the writer's next run" "$bin" load --kind trade --dsn "user=rwriter" "$work/trades.jsonl"
if grep -q "monthly partitions are missing" "$out"; then fail "no warning once the partitions exist: $(cat "$out")"; else pass; fi

# ---- 6. a writer against an empty database, and an older schema ----
cli_db empty roles_empty
expect_status 1 "load as a writer on a database without the schema" \
    "$bin" load --kind trade --dsn "dbname=$empty user=rwriter" "$work/trades.jsonl"
expect_out "permission denied for database $empty (run execrec migrate as the owner first, docs/roles.md)" \
    "a writer on an empty database is told who goes first"
cli_db old roles_old
q "GRANT CREATE ON DATABASE $old TO rowner" >/dev/null
mkdir "$work/old"
for f in "$src"/migrations/000[1-8]_*.sql; do cp "$f" "$work/old/"; done
expect_status 0 "migrate the old schema" "$bin" migrate --dir "$work/old" --dsn "dbname=$old user=rowner"
need=$(basename "$(ls "$src"/migrations/[0-9]*.sql | tail -1)" | cut -d_ -f1)
expect_status 1 "load as a writer that may not read the old schema" \
    "$bin" load --kind trade --dsn "dbname=$old user=rwriter" "$work/trades.jsonl"
expect_out "role rwriter may not read execution.schema_migrations: grant it execrec_writer" "the ungranted writer is told why"
PGDATABASE=$old q "GRANT USAGE ON SCHEMA execution TO execrec_writer; GRANT SELECT ON execution.schema_migrations TO execrec_writer" >/dev/null
expect_status 1 "load as a writer on an old schema" "$bin" load --kind trade --dsn "dbname=$old user=rwriter" "$work/trades.jsonl"
expect_out "execrec load: schema execution is at version 0008, this execrec needs $need: run execrec migrate as the owner" \
    "load as a writer on an old schema: refused with the fix"
expect_status 1 "run as a writer on an old schema" "$bin" run --brokers "$BROKER" --exit-at-end --dsn "dbname=$old user=rwriter"
expect_out "schema execution is at version 0008, this execrec needs $need: run execrec migrate as the owner" \
    "run as a writer on an old schema: refused with the fix"
expect_status 1 "backfill as a writer on an old schema" "$bin" backfill --brokers "$BROKER" --topic trades --dsn "dbname=$old user=rwriter"
expect_out "execrec backfill: schema execution is at version 0008, this execrec needs $need: run execrec migrate as the owner" \
    "backfill as a writer on an old schema: refused with the fix"
check "$(PGDATABASE=$old q "SELECT max(version) || ' ' || count(*) FROM execution.schema_migrations")" "0008 8" \
    "the writer applied nothing"
# The owner's migrate brings it up; the writer then records.
expect_status 0 "migrate the old schema as the owner" "$bin" migrate --dsn "dbname=$old user=rowner"
expect_status 0 "load as the writer once migrated" "$bin" load --kind trade --dsn "dbname=$old user=rwriter" "$work/trades.jsonl"
expect_out "inserted 21" "the writer records once migrated"

cli_finish
