#!/usr/bin/env bash
# The sample stream of tests/data/sample (the demo's data) lands exactly as its
# README says: rows per table, exact decimals, normalised enums and times, the
# newest manager intent, every bad line in ingest_rejects with its reason, and
# nothing twice when loaded again. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch
sample=$src/tests/data/sample

cli_db db sample
export PGDATABASE=$db

load_all() {
    "$bin" load --kind order_manager "$sample/order_managers.jsonl" "$sample/bad_order_managers.jsonl" &&
    "$bin" load --kind order "$sample/orders.jsonl" "$sample/bad_orders.jsonl" &&
    "$bin" load --kind order_event "$sample/order_events.jsonl" "$sample/bad_order_events.jsonl" &&
    "$bin" load --kind trade "$sample/trades.jsonl" "$sample/bad_trades.jsonl"
}
load_all >$out 2>&1 || { echo "FAIL: load: $(cat $out)" >&2; exit 1; }

counts="SELECT (SELECT count(*) FROM execution.OrdersTS) || ' ' ||
               (SELECT count(*) FROM execution.OrderEventsTS) || ' ' ||
               (SELECT count(*) FROM execution.TradesTS) || ' ' ||
               (SELECT count(*) FROM execution.OrderManager) || ' ' ||
               (SELECT count(*) FROM execution.ingest_rejects)"
check "$(q "$counts")" "7 16 9 2 23" "rows in OrdersTS OrderEventsTS TradesTS OrderManager ingest_rejects"

check "$(q "SELECT quantity || '@' || limit_price || ' ' || side FROM execution.OrdersTS WHERE order_id = 'ORD-4'")" \
    "0.00000001@123456789.12345678 sell" "ORD-4 exact decimals"
check "$(q "SELECT quantity || '@' || price || ' fee ' || fee FROM execution.TradesTS WHERE trade_id = 'TR-8'")" \
    "123456789.12345678@0.00000001 fee 0" "TR-8 exact decimals"
check "$(q "SELECT fee FROM execution.TradesTS WHERE trade_id = 'TR-1'")" "0.00000001" "TR-1 fee"
check "$(q "SELECT string_agg(DISTINCT liquidity, ',') FROM execution.TradesTS")" "maker,taker" "liquidity normalised"
check "$(q "SELECT string_agg(side, ',' ORDER BY order_id) FROM execution.OrdersTS")" \
    "buy,sell,buy,sell,buy,sell_short,sell" "sides normalised"
check "$(q "SELECT raw_payload->>'desk' FROM execution.OrdersTS WHERE order_id = 'ORD-5'")" \
    "$(grep '"ORD-5"' "$sample/orders.jsonl" | sed -E 's/.*"desk" *: *"([^"]*)".*/\1/')" \
    "unknown field kept in raw_payload"
check "$(q "SELECT string_agg(unique_identifier || ':' || status, ',' ORDER BY unique_identifier) FROM execution.OrderManager")" \
    "OM-ALPHA:completed,OM-BETA:paused" "newest manager intent wins"
check "$(q "SELECT count(*) FROM execution.OrderEventsTS WHERE order_id = 'ORD-2' AND event_type = 'canceled'")" \
    "1" "cancel after a partial fill recorded"
check "$(q "SELECT reject_code FROM execution.OrderEventsTS WHERE order_id = 'ORD-4' AND event_type = 'rejected'")" \
    "PRICE_BAND" "rejected order keeps its reject code"

# Every bad line is a reject with the reason its README gives.
expected=$(awk '
    /^`bad_.*\.jsonl`/ { file = $1; gsub(/`/, "", file) }
    /^[0-9]+\. .*\[[a-z_0-9]+\]$/ { n = $1; sub(/\./, "", n); r = $NF; gsub(/[\[\]]/, "", r);
                                    print "file:" file ":" n ":" r }' "$sample/README.md" | sort)
got=$(q "SELECT kafka_topic || ':' || kafka_offset || ':' || reason FROM execution.ingest_rejects" | sort)
check "$got" "$expected" "rejects and their reasons (tests/data/sample/README.md)"
check "$(echo "$expected" | wc -l)" "23" "README lists every bad line"

# Loading everything again records nothing new.
load_all >$out 2>&1
check "$(grep -c 'inserted 0,' $out)" "4" "second load inserts nothing"
check "$(grep -c 'rejected 0 ' $out)" "4" "second load records no reject twice"
check "$(q "$counts")" "7 16 9 2 23" "rows after the second load"

cli_finish
