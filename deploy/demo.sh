#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install the packages, build execrec,
# start a throwaway PostgreSQL, apply the migrations, decode the sample stream in
# tests/data/sample/, record it into the tables, and show what landed.
#
#   bash deploy/demo.sh          run the demo and remove the database afterwards
#   bash deploy/demo.sh --keep   leave the database running and print how to reach it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash deploy/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
bin=$PWD/build/release/execrec
sample=tests/data/sample

pgdir=/tmp/execrec-demo-pg
bash deploy/pg.sh destroy "$pgdir"
eval "$(bash deploy/pg.sh start "$pgdir")"
if [ $keep -eq 0 ]; then
    trap 'bash "$root/deploy/pg.sh" destroy "$pgdir"' EXIT
fi

section() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
q() { psql -X -q -P pager=off -c "$1"; }

section "execrec $($bin --version | cut -d' ' -f2): migrate a throwaway database ($PGHOST:$PGPORT)"
$bin migrate

section "decode: three sample trades, normalised (exact decimals, UTC times)"
head -3 "$sample/trades.jsonl" | $bin decode --kind trade

section "decode: malformed messages get a stable reason code"
$bin decode --kind trade "$sample/bad_trades.jsonl" || true

section "load the sample stream (same decoder and batch writer as the recorder)"
$bin load --kind order_manager "$sample/order_managers.jsonl" "$sample/bad_order_managers.jsonl"
$bin load --kind order "$sample/orders.jsonl" "$sample/bad_orders.jsonl"
$bin load --kind order_event "$sample/order_events.jsonl" "$sample/bad_order_events.jsonl"
$bin load --kind trade "$sample/trades.jsonl" "$sample/bad_trades.jsonl"

section "load it again: nothing is recorded twice"
$bin load --kind trade "$sample/trades.jsonl" "$sample/bad_trades.jsonl"

section "rows per table"
q "SELECT 'OrdersTS' AS table, count(*) FROM execution.OrdersTS
   UNION ALL SELECT 'OrderEventsTS', count(*) FROM execution.OrderEventsTS
   UNION ALL SELECT 'TradesTS', count(*) FROM execution.TradesTS
   UNION ALL SELECT 'OrderManager', count(*) FROM execution.OrderManager
   UNION ALL SELECT 'ingest_rejects', count(*) FROM execution.ingest_rejects"

section "SELECT ... FROM execution.TradesTS (exact NUMERIC, as published)"
q "SELECT trade_id, order_id, side, quantity, price, fee, liquidity, trade_time
   FROM execution.TradesTS ORDER BY trade_time LIMIT 8"

section "orders with their manager's strategy"
q "SELECT o.order_id, o.account_uid, o.asset, o.side, o.quantity, o.limit_price,
          o.order_manager_uid, m.strategy, m.status AS manager_status
   FROM execution.OrdersTS o LEFT JOIN execution.OrderManager m
     ON m.unique_identifier = o.order_manager_uid ORDER BY o.order_time"

section "order events, in event time"
q "SELECT order_id, event_type, sequence, filled_quantity, remaining_quantity, event_time
   FROM execution.OrderEventsTS ORDER BY order_id, event_time, sequence LIMIT 12"

section "rejects, with their reasons"
q "SELECT kafka_topic, kafka_offset AS line, reason, left(message, 70) AS message
   FROM execution.ingest_rejects ORDER BY kafka_topic, kafka_offset"

if [ $keep -eq 1 ]; then
    section "the database is still running"
    echo "  $(bash deploy/pg.sh start "$pgdir")"
    echo "  psql -c 'SELECT * FROM execution.TradesTS'"
    echo "  stop it with: bash deploy/pg.sh destroy $pgdir"
fi
