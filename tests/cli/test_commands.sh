#!/usr/bin/env bash
# End-to-end checks of the execrec binary as a user runs it: --help and exit codes
# of every command, migrate twice, load twice (nothing recorded twice, every bad
# line in ingest_rejects), decode. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch

# --help everywhere, misuse is exit 2 with a reason.
expect_status 0 "execrec --help" "$bin" --help
expect_status 0 "execrec --version" "$bin" --version
expect_status 2 "no command" "$bin"
expect_status 2 "unknown command" "$bin" frobnicate
for cmd in $("$bin" --help | awk '/^commands:/{on=1; next} on && !NF {exit} on {print $1}'); do
    expect_status 0 "execrec $cmd --help" "$bin" "$cmd" --help
    grep -q "^usage: execrec $cmd" $out || fail "execrec $cmd --help prints no usage line"
    expect_status 2 "execrec $cmd --no-such-option" "$bin" "$cmd" --no-such-option
    grep -q "no-such-option" $out || fail "execrec $cmd: misuse message does not name the option"
done
expect_status 2 "load without --kind" "$bin" load /dev/null
expect_status 2 "load with a bad kind" "$bin" load --kind fills /dev/null

# A database of our own.
cli_db db cli
export PGDATABASE=$db

expect_status 0 "migrate" "$bin" migrate
grep -q "applied" $out || fail "first migrate does not say what it applied"
expect_status 0 "migrate again" "$bin" migrate
grep -q "up to date" $out || fail "second migrate is not a no-op: $(cat $out)"

cat >$tmp/trades <<'JSON'
{"trade_id":"T1","order_id":"O1","quantity":"0.1","price":123456789.12345678,"trade_time":"2026-11-21T09:30:00.123456Z"}
{"trade_id":"T2","order_id":"O1","quantity":1e-8,"price":"64000.5","trade_time":1795253400000,"side":"BUY"}

{"trade_id":"T1","order_id":"O1","quantity":"0.1","price":123456789.12345678,"trade_time":"2026-11-21T09:30:00.123456Z"}
{"trade_id":"T3","order_id":"O2","quantity":"NaN","price":"1","trade_time":"2026-11-21T09:30:00Z"}
{"trade_id":"T4","order_id":"O2","quantity":"2","price":"1","trade_time":"2026-11-21T09:30:00"}
not json at all
{"trade_id":"T5","order_id":"O2","quantity":"3","price":"1"}
JSON
expect_status 0 "load trades" "$bin" load --kind trade $tmp/trades
grep -q "read 7, inserted 2, duplicates 1, rejected 4" $out || fail "load summary: $(cat $out)"
expect_status 0 "load trades again" "$bin" load --kind trade $tmp/trades
grep -q "read 7, inserted 0, duplicates 3, rejected 0 (4 already recorded)" $out || fail "second load summary: $(cat $out)"

check "$(q 'SELECT count(*) FROM execution.TradesTS')" 2 "trade rows"
check "$(q "SELECT quantity || ' ' || price FROM execution.TradesTS WHERE trade_id = 'T1'")" \
    "0.1 123456789.12345678" "exact decimals of T1"
check "$(q "SELECT quantity || ' ' || side || ' ' || trade_time FROM execution.TradesTS WHERE trade_id = 'T2'")" \
    "0.00000001 buy 2026-11-21 09:30:00+00" "T2 normalised"
check "$(q "SELECT string_agg(kafka_offset || ':' || reason, ',' ORDER BY kafka_offset) FROM execution.ingest_rejects")" \
    "5:bad_decimal,6:bad_time,7:json_syntax,8:missing_field" "rejects with line numbers and reasons"

# decode shows records and reasons; exit 1 when a line is rejected.
expect_status 1 "decode with rejects" "$bin" decode --kind trade $tmp/trades
grep -q '"reject":"bad_decimal"' $out || fail "decode does not print the reject reason"
head -2 $tmp/trades >$tmp/good
expect_status 0 "decode good lines" "$bin" decode --kind trade $tmp/good
grep -q '123456789.12345678' $out || fail "decode does not print the exact price"

# run: misuse, an unreachable database, and passwords never in the logs.
expect_status 2 "run with a stray argument" "$bin" run extra
expect_status 2 "run with one topic for two kinds" "$bin" run --topic-orders x --topic-trades x
expect_status 1 "run against an unreachable database" "$bin" run --brokers 127.0.0.1:1 \
    --dsn "host=127.0.0.1 port=1 user=u password=s3cret-dsn connect_timeout=2"
grep -q "cannot connect to PostgreSQL" $out || fail "run: no clear error for a dead database"
grep -q "s3cret" $out && fail "run printed the password of --dsn"
# --brokers embedded: the embedded broker starts in-process; its topics are empty,
# so --exit-at-end stops once the group has assigned them. Trust authentication
# ignores the password; the log must show the conninfo without it.
expect_status 0 "run with the in-process embedded broker" "$bin" run --exit-at-end \
    --brokers embedded --dsn "dbname=$db password=s3cret-dsn" -X session.timeout.ms=6000 --partitions 2
grep -q "started the embedded broker at 127.0.0.1:" $out || fail "run does not say it started an embedded broker"
grep -q "connected to PostgreSQL" $out || fail "run does not log its database"
grep -q "s3cret" $out && fail "run logged the password: $(grep s3cret $out)"
grep -q "assigned orders \[1\]" $out || fail "run: no assignment of orders [1] logged"
# -X is checked before anything connects: exit 2 naming the property.
expect_status 2 "run with a bad secret kafka property" "$bin" run --brokers 127.0.0.1:1 \
    -X sasl.password=s3cret-kafka -X no.such.property=1
expect_out "-X no.such.property" "run: the bad -X is named"
grep -q "s3cret" $out && fail "run printed a kafka password"

# broker: prints its address and writes it to a file; SIGTERM stops it with 0.
"$bin" broker --partitions 2 --address-file $tmp/addr >$tmp/broker 2>&1 &
bpid=$!
for _ in $(seq 100); do [ -s $tmp/addr ] && break; sleep 0.1; done
addr=$(cat $tmp/addr 2>/dev/null)
[[ "$addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "broker address file holds '$addr'"
kcat -L -b "$addr" -t trades 2>/dev/null | grep -q "2 partitions" || fail "broker: trades has not 2 partitions"
kill -TERM "$bpid"; wait "$bpid"; bst=$?
check "$bst" 0 "broker exit status after SIGTERM"
check "$(head -1 $tmp/broker)" "$addr" "broker prints its address first"
expect_status 2 "broker with 0 partitions" "$bin" broker --partitions 0

cli_finish
