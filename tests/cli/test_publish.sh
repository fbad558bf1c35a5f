#!/usr/bin/env bash
# execrec publish (JSON): usage errors; deliveries that fail; the sample stream
# published, recorded by execrec run --exit-at-end, and every row equal to its
# published line field by field with exact decimals; bad lines refused with file, line and reason, not
# produced, while the good lines around them are; every message keyed by its
# natural key, so one order's orders, events and trades share a partition.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/publish_lib.sh" # run_lib.sh, sample, pl_compare_sample

rl_db publish
rl_start_broker --partitions 4

# --- usage
expect_status 0 "publish --help" "$bin" publish --help
expect_out "natural key" "publish --help describes the key"
expect_status 2 "publish without --brokers" "$bin" publish --kind trade "$sample/trades.jsonl"
expect_out "execrec broker" "without --brokers, the error points at execrec broker"
expect_status 2 "publish without a kind" "$bin" publish --brokers "$BROKER" "$sample/trades.jsonl"
expect_status 2 "publish --topic of no kind" "$bin" publish --brokers "$BROKER" --topic nokind "$sample/trades.jsonl"
expect_out "is not one of the --topic-* keys" "an unknown topic names the keys"
expect_status 2 "publish --format xml" "$bin" publish --brokers "$BROKER" --kind trade --format xml
expect_status 2 "publish --format avro without a registry" "$bin" publish --brokers "$BROKER" --kind trade --format avro
expect_out "--format avro needs --registry" "avro without a registry says what is missing"
expect_status 2 "publish --bogus" "$bin" publish --bogus
check "$(rl_hw trades)" "" "nothing produced by the usage errors"

# --- deliveries that fail: no broker listens on port 1; each message times out
expect_status 1 "publish to an unreachable broker exits 1" "$bin" publish --brokers 127.0.0.1:1 \
    -X message.timeout.ms=1500 --kind trade "$sample/trades.jsonl"
expect_out "9 read, 0 produced, 0 refused, 9 failed (topic trades, json)" "undelivered messages count as failed"
expect_out "publish: delivery to trades failed: Local: Message timed out (key ORD-1)" "each failure is logged with its key"

# --- bad lines between good ones: trades.jsonl with bad_trades.jsonl interleaved
python3 - "$sample/trades.jsonl" "$sample/bad_trades.jsonl" >"$work/mixed.jsonl" <<'PY'
import sys
good = open(sys.argv[1], "rb").read().splitlines()
bad = open(sys.argv[2], "rb").read().splitlines()
out = []
for i in range(max(len(good), len(bad))):
    out += good[i:i + 1] + bad[i:i + 1]
sys.stdout.buffer.write(b"\n".join(out) + b"\n")
PY
expect_status 1 "publish with bad lines exits 1" "$bin" publish --brokers "$BROKER" --kind trade "$work/mixed.jsonl"
# Line 2k of mixed.jsonl is bad line k; bad_trades' reasons in order (README).
reasons=(bad_decimal bad_decimal bad_time missing_field duplicate_field bad_enum decimal_out_of_range json_syntax invalid_utf8)
for i in "${!reasons[@]}"; do
    expect_out "$work/mixed.jsonl:$((2 * i + 2)): ${reasons[$i]}: " "bad line $((2 * i + 2)) refused with its reason"
done
check "$(grep -c '^execrec publish: .*mixed.jsonl:[0-9]*: ' "$out")" 9 "exactly the 9 bad lines are reported"
expect_out "execrec publish: 18 read, 9 produced, 9 refused, 0 failed (topic trades, json)" "summary"
check "$(rl_hw trades | awk '{n += $3} END {print n + 0}')" 9 "only the 9 good trades are on the topic"

# --- the rest of the sample stream; kind from --topic, stdin as input
expect_status 0 "publish orders" "$bin" publish --brokers "$BROKER" --kind order "$sample/orders.jsonl"
expect_out "7 read, 7 produced, 0 refused, 0 failed (topic orders, json)" "orders summary"
expect_status 0 "publish events by --topic from stdin" \
    sh -c "\"$bin\" publish --brokers \"$BROKER\" --topic order-events - <\"$sample/order_events.jsonl\""
expect_out "16 read, 16 produced, 0 refused, 0 failed (topic order-events, json)" "events summary"
expect_status 0 "publish managers" "$bin" publish --brokers "$BROKER" --kind order_manager "$sample/order_managers.jsonl"

rl_run_to_end rec 90 --group publish -X session.timeout.ms=6000

check "$(rl_count execution.ingest_rejects)" 0 "no rejects: nothing bad was produced"
check "$(q "SELECT (SELECT count(*) FROM execution.OrdersTS) || ' ' || (SELECT count(*) FROM execution.OrderEventsTS)
            || ' ' || (SELECT count(*) FROM execution.TradesTS) || ' ' || (SELECT count(*) FROM execution.OrderManager)")" \
    "7 16 9 2" "rows per table"
pl_compare_sample
check "$(q "SELECT quantity || ' ' || price FROM execution.TradesTS WHERE trade_id = 'TR-8'")" \
    "123456789.12345678 0.00000001" "exact decimals"

# --- keys and partitions
check "$(q "SELECT count(*) FROM (SELECT kafka_key, order_id FROM execution.OrdersTS UNION ALL
                                  SELECT kafka_key, order_id FROM execution.OrderEventsTS UNION ALL
                                  SELECT kafka_key, order_id FROM execution.TradesTS) f
            WHERE kafka_key IS DISTINCT FROM order_id")" 0 "every order, event and trade is keyed by its order_id"
check "$(q "SELECT count(*) FROM execution.OrderManager WHERE kafka_key IS DISTINCT FROM unique_identifier")" 0 \
    "order managers are keyed by unique_identifier"
check "$(q "SELECT coalesce(string_agg(order_id, ' '), 'none') FROM (
                SELECT order_id FROM (SELECT order_id, kafka_partition FROM execution.OrdersTS UNION ALL
                                      SELECT order_id, kafka_partition FROM execution.OrderEventsTS UNION ALL
                                      SELECT order_id, kafka_partition FROM execution.TradesTS) f
                GROUP BY order_id HAVING count(DISTINCT kafka_partition) > 1) s")" none \
    "each order's orders, events and trades are on one partition"
check "$(q "SELECT count(DISTINCT kafka_partition) > 1 FROM execution.OrdersTS")" t \
    "orders are spread over more than one partition"

cli_finish
