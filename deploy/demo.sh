#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install the packages, build execrec,
# start a throwaway PostgreSQL and the embedded broker, publish the sample stream
# in tests/data/sample/ to the four topics (the good lines with `execrec publish`,
# the malformed ones with kcat), record it with `execrec run --exit-at-end`, show
# `execrec status`, what landed, a backfill, and answers from the SQL views.
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
work=$(mktemp -d /tmp/execrec-demo.XXXXXX)
broker_pid=
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$work"
    if [ $keep -eq 0 ]; then bash "$root/deploy/pg.sh" destroy "$pgdir"; fi
}
trap cleanup EXIT
bash deploy/pg.sh destroy "$pgdir"
eval "$(bash deploy/pg.sh start "$pgdir")"

section() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
q() { psql -X -q -P pager=off -c "$1"; }

section "execrec $($bin --version | cut -d' ' -f2): a throwaway database ($PGHOST:$PGPORT) and the embedded broker"
# The embedded broker is librdkafka's in-memory mock cluster: a real Kafka-protocol
# server on loopback, for demos and tests. Production points --brokers at Kafka.
"$bin" broker --partitions 4 --address-file "$work/broker" >/dev/null 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/broker" ] && break; sleep 0.1; done
brokers=$(cat "$work/broker")
echo "broker at $brokers; topics orders, order-events, trades, order-managers (4 partitions each)"

section "execrec publish: validate each line against the contract, key it, produce it"
publish() { # topic file...: execrec publish (refuses what the contract refuses)
    local topic=$1 f
    shift
    for f in "$@"; do
        "$bin" publish --brokers "$brokers" --topic "$topic" "$f" 2>&1 | sed 's/^/  /'
    done
}
publish order-managers "$sample/order_managers.jsonl"
publish orders "$sample/orders.jsonl"
publish order-events "$sample/order_events.jsonl"
publish trades "$sample/trades.jsonl"
echo "  and the malformed lines? execrec publish refuses them, with line and reason:"
"$bin" publish --brokers "$brokers" --topic trades "$sample/bad_trades.jsonl" 2>&1 | head -4 | sed 's/^/  /' || true

section "a careless producer (kcat) publishes the malformed messages anyway"
raw_publish() { # topic file...: kcat, no validation
    local topic=$1 f
    shift
    for f in "$@"; do
        kcat -P -b "$brokers" -t "$topic" -l "$f"
        printf '  %-15s <- %-26s %3d messages\n' "$topic" "$(basename "$f")" "$(grep -c '' "$f")"
    done
}
raw_publish order-managers "$sample/bad_order_managers.jsonl"
raw_publish orders "$sample/bad_orders.jsonl"
raw_publish order-events "$sample/bad_order_events.jsonl"
raw_publish trades "$sample/bad_trades.jsonl"

# Short sessions so that the second run below joins the group at once.
kafka_opts=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

section "execrec run --exit-at-end: record everything published so far, then stop"
"$bin" run --brokers "$brokers" --exit-at-end "${kafka_opts[@]}" 2>&1 | grep -v ' \(assigned\|revoked\) '

section "execrec status: per partition, stored and committed offsets, watermarks, lag"
"$bin" status --brokers "$brokers"

section "publish the trades again (a producer retrying) and run again: nothing is recorded twice"
publish trades "$sample/trades.jsonl"
"$bin" run --brokers "$brokers" --exit-at-end --log-level debug "${kafka_opts[@]}" 2>&1 \
    | grep -E 'batch committed|final totals'

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

section "rejects, with their Kafka coordinates and reasons"
q "SELECT kafka_topic, kafka_partition AS part, kafka_offset AS offset, reason,
          left(message, 60) AS message
   FROM execution.ingest_rejects ORDER BY kafka_topic, kafka_partition, kafka_offset"

section "stored offsets (the recorder's position, committed with the rows)"
q "SELECT topic, partition, next_offset FROM execution.ingest_offsets
   ORDER BY topic, partition"

section "execrec backfill: delete the trades, replay the topic into the table"
q "DELETE FROM execution.TradesTS"
"$bin" backfill --brokers "$brokers" --topic trades 2>&1 | grep -v ' \(assigned\|partition\) ' | tail -3
q "SELECT count(*) AS trades_after_backfill, sum(quantity * price) AS notional FROM execution.TradesTS"
echo "  again: every message is already recorded"
"$bin" backfill --brokers "$brokers" --topic trades 2>&1 | tail -1

if [ -f deploy/demo_queries.sh ]; then
    source deploy/demo_queries.sh
fi

if [ $keep -eq 1 ]; then
    section "the database is still running"
    echo "  $(bash deploy/pg.sh start "$pgdir")"
    echo "  psql -c 'SELECT * FROM execution.TradesTS'"
    echo "  stop it with: bash deploy/pg.sh destroy $pgdir"
fi
