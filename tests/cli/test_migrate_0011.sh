#!/usr/bin/env bash
# Migration 0011 (less server work per row) applied to a database that already has
# rows, as an upgrade meets it: the schema up to 0010 with rows in a monthly and in
# the DEFAULT partition, then `execrec migrate`. After it:
#   - raw_payload is json on the three fact tables, their partitions included, and
#     jsonb on OrderManager; the stored rows are still there with the same JSON;
#   - the (account_uid, time) and (asset, time) indexes of TradesTS and OrdersTS are
#     gone from the parents and every partition, the others are on every partition;
#   - the writer and the reader keep exactly their privileges (0009);
#   - a message recorded afterwards keeps its text byte for byte (jsonb rewrote it).
# Needs PostgreSQL through PG* (deploy/test.sh). About 3 s on a quiet machine.
source "$(dirname "$0")/cli_lib.sh"
cli_scratch
cli_db db migrate_0011
export PGDATABASE=$db

mkdir "$tmp/upto0010"
for f in "$src"/migrations/00[0-9][0-9]_*.sql; do
    case "$(basename "$f")" in 000[1-9]_* | 0010_*) cp "$f" "$tmp/upto0010/" ;; esac
done
check "$(ls "$tmp/upto0010" | wc -l)" 10 "ten migration files before 0011"
expect_status 0 "migrate up to 0010" "$bin" migrate --dsn "dbname=$db" --dir "$tmp/upto0010"
check "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'execution.tradests'::regclass AND attname = 'raw_payload'")" jsonb \
    "raw_payload is jsonb up to 0010"

# Rows in November 2026's partition and in the DEFAULT partition (1999 has none).
q "SELECT execution.ensure_partitions('2026-11-01', '2026-11-01')" >/dev/null
for t in "2026-11-03 10:00:00+00" "1999-01-05 10:00:00+00"; do
    y=${t:0:4}
    q "INSERT INTO execution.OrdersTS (order_id, account_uid, asset, side, quantity, order_time,
           raw_payload, kafka_topic, kafka_partition, kafka_offset)
       VALUES ('O-$y', 'ACC-1', 'BTC', 'buy', 1, '$t', '{\"order_id\": \"O-$y\", \"x\": 1e-8}', 'orders', 0, $y);
       INSERT INTO execution.OrderEventsTS (order_id, event_type, event_time, event_key, raw_payload,
           kafka_topic, kafka_partition, kafka_offset)
       VALUES ('O-$y', 'new', '$t', 'k', '{\"order_id\": \"O-$y\"}', 'order-events', 0, $y);
       INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, trade_time, account_uid,
           asset, raw_payload, kafka_topic, kafka_partition, kafka_offset)
       VALUES ('T-$y', 'O-$y', 1, 100, '$t', 'ACC-1', 'BTC', '{\"trade_id\": \"T-$y\", \"b\": 2, \"a\": 1}',
           'trades', 0, $y)"
done
q "INSERT INTO execution.OrderManager (unique_identifier, target_account_uid, target_time, status, as_of,
       raw_payload, kafka_topic, kafka_partition, kafka_offset)
   VALUES ('M-1', 'ACC-1', now(), 'active', now(), '{\"unique_identifier\": \"M-1\"}', 'order-managers', 0, 1)"
check "$(q "SELECT count(*) FROM execution.tradests_default")" 1 "a trade in the DEFAULT partition"
payloads() {
    q "SELECT string_agg(raw_payload::jsonb::text, ' ' ORDER BY trade_id) FROM execution.TradesTS"
    q "SELECT string_agg(raw_payload::jsonb::text, ' ' ORDER BY order_id) FROM execution.OrdersTS"
    q "SELECT string_agg(raw_payload::jsonb::text, ' ' ORDER BY order_id) FROM execution.OrderEventsTS"
}
before=$(payloads)

expect_status 0 "migrate applies 0011 on a database with rows" "$bin" migrate --dsn "dbname=$db"
check "$(q "SELECT count(*) FROM execution.schema_migrations WHERE name = '0011_server_cost.sql'")" 1 \
    "0011 recorded"

# Types: every relation of the three tables (parents, monthly and DEFAULT partitions).
type_of() {
    q "SELECT t || ' ' || count(*) FROM (SELECT format_type(a.atttypid, a.atttypmod) AS t
         FROM pg_inherits i JOIN pg_attribute a ON a.attrelid = i.inhrelid AND a.attname = 'raw_payload'
        WHERE i.inhparent = 'execution.$1'::regclass) x GROUP BY t ORDER BY t"
}
parts=$(q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'execution.tradests'::regclass")
[ "$parts" -ge 3 ] && pass || fail "TradesTS has $parts partitions, expected the DEFAULT and months"
for t in tradests ordersts ordereventsts; do
    check "$(type_of "$t")" "json $parts" "raw_payload of every $t partition is json"
    check "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                WHERE attrelid = 'execution.$t'::regclass AND attname = 'raw_payload'")" json \
        "raw_payload of $t is json"
done
check "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'execution.ordermanager'::regclass AND attname = 'raw_payload'")" jsonb \
    "OrderManager keeps jsonb"
check "$(payloads)" "$before" "the stored payloads are the same JSON after 0011"
check "$(q "SELECT count(*) FROM execution.TradesTS") $(q "SELECT count(*) FROM execution.OrdersTS") $(q "SELECT count(*) FROM execution.OrderEventsTS") $(q "SELECT count(*) FROM execution.OrderManager")" \
    "2 2 2 1" "every row kept"

# Indexes: none on (account_uid, time) or (asset, time) anywhere; every partition has
# the parent's indexes (4 on TradesTS, 4 on OrdersTS, 3 on OrderEventsTS, keys included).
check "$(q "SELECT count(*) FROM pg_indexes WHERE schemaname = 'execution'
              AND indexdef ~ 'btree \((account_uid|asset), (trade|order)_time\)'")" 0 \
    "no (account_uid, time) or (asset, time) index left on any partition"
for tn in tradests:4 ordersts:4 ordereventsts:3; do
    t=${tn%:*} n=${tn#*:}
    check "$(q "SELECT DISTINCT count(x.indexrelid) FROM pg_inherits i LEFT JOIN pg_index x ON x.indrelid = i.inhrelid
                 WHERE i.inhparent = 'execution.$t'::regclass GROUP BY i.inhrelid")" "$n" \
        "each $t partition has $n indexes"
    check "$(q "SELECT count(*) FROM pg_index WHERE indrelid = 'execution.$t'::regclass")" "$n" \
        "$t has $n indexes"
done

# Privileges, as 0009 gives them (migrate calls grant_roles after the files).
priv() { q "SELECT has_table_privilege('$1', 'execution.$2', '$3')"; }
check "$(priv execrec_writer tradests INSERT) $(priv execrec_writer ordersts INSERT) $(priv execrec_writer ordereventsts INSERT)" \
    "t t t" "the writer inserts into the fact tables"
check "$(priv execrec_writer tradests SELECT) $(priv execrec_reader tradests SELECT) $(priv execrec_reader tradests_default SELECT)" \
    "f t t" "the writer does not read the facts, the reader does (partitions too)"

# A message recorded now keeps its exact text: spaces, key order, 1e-8, an escape.
line='{"trade_id": "T-exact",  "order_id":"O-2026","quantity":"1.50","price":"100","trade_time":"2026-11-03T10:00:01Z", "note": 1e-8, "z": "caf\u00e9", "a": [1, 2 ]}'
printf '%s\n' "$line" >"$tmp/trades.jsonl"
expect_status 0 "load a trade after 0011" "$bin" load --dsn "dbname=$db" --kind trade "$tmp/trades.jsonl"
check "$(q "SELECT raw_payload::text FROM execution.TradesTS WHERE trade_id = 'T-exact'")" "$line" \
    "raw_payload is the message byte for byte"
check "$(q "SELECT (raw_payload->>'note') || ' ' || (raw_payload->>'z') || ' ' || (raw_payload::jsonb ? 'a')::text
            FROM execution.TradesTS WHERE trade_id = 'T-exact'")" "1e-8 café true" \
    "json operators, and jsonb's through a cast"

expect_status 0 "migrate again" "$bin" migrate --dsn "dbname=$db" --status
expect_out "0 pending migration(s)" "nothing left to apply"
cli_finish
