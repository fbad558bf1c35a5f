#!/usr/bin/env bash
# execrec reconcile as a user runs it: exit 0 on a clean database, 1 with the
# findings of tests/data/views (see its README: fill mismatch O6, orphan trade F8,
# orphan events O99, stuck orders, idle manager M3), what the options change, 2 on
# misuse, 3 with a clear reason before migrate or when the database is unreachable. Needs PostgreSQL through PG*.
source "$(dirname "$0")/cli_lib.sh"
cli_scratch
data=$src/tests/data/views

cli_db db reconcile
cli_db clean reconcile_clean
export PGDATABASE=$db

# Misuse: exit 2 with a reason, before touching the database.
expect_status 2 "bad tolerance" "$bin" reconcile --tolerance abc
expect_out "--tolerance 'abc'" "bad tolerance is named"
expect_status 2 "negative tolerance" "$bin" reconcile --tolerance -1
expect_status 2 "NaN tolerance" "$bin" reconcile --tolerance NaN
expect_status 2 "bad interval" "$bin" reconcile --stuck-after soon
expect_out "--stuck-after 'soon'" "bad interval is named"
expect_status 2 "zero interval" "$bin" reconcile --stuck-after '0 seconds'
expect_status 2 "negative interval" "$bin" reconcile --stuck-after '-1 hour'
expect_status 2 "stray argument" "$bin" reconcile extra
expect_status 2 "bad tolerance from the environment" env EXECREC_TOLERANCE=x "$bin" reconcile
expect_status 2 "-X (reconcile does not use Kafka)" "$bin" reconcile -X linger.ms=5
expect_out "does not use Kafka" "-X refused with a reason"
expect_status 3 "unreachable database" "$bin" reconcile --dsn "host=127.0.0.1 port=1 connect_timeout=2"
expect_out "execrec reconcile:" "unreachable database: a reason"

# Before migrate: exit 3 (the checks could not run, not findings), saying what to do.
expect_status 3 "before migrate" "$bin" reconcile
expect_out "execrec migrate" "before migrate: names the fix"

expect_status 0 "migrate" "$bin" migrate
expect_status 0 "empty database is clean" "$bin" reconcile
expect_out "clean: no findings in 5 checks" "clean summary"

for k in order_manager:order_managers order:orders order_event:order_events trade:trades; do
    "$bin" load --kind "${k%%:*}" "$data/${k#*:}.jsonl" >/dev/null 2>&1 || fail "load ${k#*:}"
done
expect_status 1 "findings" "$bin" reconcile
expect_out "tolerance 0, stuck after 1 hour" "header names the options"
expect_out "differs from their trades by more than 0: 1" "fill mismatch counted"
expect_out "O6       partially_filled 1.5                   1                     0.5" "fill mismatch row"
expect_out "trades whose order was never seen: 1" "orphan trade counted"
expect_out "F8       OX" "orphan trade row"
expect_out "orders with events but no order message: 1" "orphan events counted"
expect_out "O99" "orphan events row"
expect_out "orders in a non-terminal state for more than 1 hour: 4" "stuck orders (O6, O8, O9, O99)"
expect_out "order managers with no orders: 1" "idle manager counted"
expect_out "M3" "idle manager row"
expect_out "8 finding(s) in 5 of 5 checks" "summary"

# The options move the thresholds: 0.5 is within tolerance; nothing is stuck for
# a century. The options also come from the environment.
expect_status 1 "with tolerance and a long stuck-after" "$bin" reconcile --tolerance 0.5 --stuck-after '100 years'
expect_out "differs from their trades by more than 0.5: none" "tolerance applied"
expect_out "for more than 100 years: none" "stuck-after applied"
expect_out "3 finding(s) in 3 of 5 checks" "summary with options"
expect_status 1 "options from the environment" env EXECREC_TOLERANCE=0.4 EXECREC_STUCK_AFTER='100 years' "$bin" reconcile
expect_out "by more than 0.4: 1" "tolerance from EXECREC_TOLERANCE"

# A consistent stream is clean: O1 (filled, its two trades) and its manager.
grep '"M1"' "$data/order_managers.jsonl" >$tmp/m.jsonl
grep '"O1"' "$data/orders.jsonl" >$tmp/o.jsonl
grep '"O1"' "$data/order_events.jsonl" >$tmp/e.jsonl
grep '"O1"' "$data/trades.jsonl" >$tmp/t.jsonl
export PGDATABASE=$clean
"$bin" load --kind order_manager $tmp/m.jsonl >/dev/null 2>&1 &&
    "$bin" load --kind order $tmp/o.jsonl >/dev/null 2>&1 &&
    "$bin" load --kind order_event $tmp/e.jsonl >/dev/null 2>&1 &&
    "$bin" load --kind trade $tmp/t.jsonl >/dev/null 2>&1 || fail "load the clean stream"
expect_status 0 "consistent stream" "$bin" reconcile
expect_out "clean: no findings" "consistent stream is clean"

cli_finish
