#!/usr/bin/env bash
# End-to-end checks of the execrec binary as a user runs it: --help and exit codes
# of every command, migrate twice, load twice (nothing recorded twice, every bad
# line in ingest_rejects), decode. Needs PostgreSQL through PG* (deploy/test.sh).
set -uo pipefail
bin=${EXECREC_BIN:?EXECREC_BIN not set: run under ctest}
failures=0
passes=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }
expect_status() { # expected, description, command...
    local want=$1 what=$2
    shift 2
    "$@" >/tmp/cli_out.$$ 2>&1
    local got=$?
    if [ "$got" -eq "$want" ]; then pass; else fail "$what: exit $got, expected $want: $(head -c 300 /tmp/cli_out.$$)"; fi
}
expect_eq() { # got, want, description
    if [ "$1" == "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi
}

# --help everywhere, misuse is exit 2 with a reason.
expect_status 0 "execrec --help" "$bin" --help
expect_status 0 "execrec --version" "$bin" --version
expect_status 2 "no command" "$bin"
expect_status 2 "unknown command" "$bin" frobnicate
for cmd in $("$bin" --help | awk '/^commands:/{on=1; next} on && !NF {exit} on {print $1}'); do
    expect_status 0 "execrec $cmd --help" "$bin" "$cmd" --help
    grep -q "^usage: execrec $cmd" /tmp/cli_out.$$ || fail "execrec $cmd --help prints no usage line"
    expect_status 2 "execrec $cmd --no-such-option" "$bin" "$cmd" --no-such-option
    grep -q "no-such-option" /tmp/cli_out.$$ || fail "execrec $cmd: misuse message does not name the option"
done
expect_status 2 "load without --kind" "$bin" load /dev/null
expect_status 2 "load with a bad kind" "$bin" load --kind fills /dev/null

# A database of our own.
db="execrec_cli_$$"
psql -X -q -c "CREATE DATABASE $db" postgres || { echo "FAIL: PostgreSQL is required" >&2; exit 1; }
trap 'psql -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres; rm -f /tmp/cli_*.$$' EXIT
export PGDATABASE=$db

expect_status 0 "migrate" "$bin" migrate
grep -q "applied" /tmp/cli_out.$$ || fail "first migrate does not say what it applied"
expect_status 0 "migrate again" "$bin" migrate
grep -q "up to date" /tmp/cli_out.$$ || fail "second migrate is not a no-op: $(cat /tmp/cli_out.$$)"

cat >/tmp/cli_trades.$$ <<'JSON'
{"trade_id":"T1","order_id":"O1","quantity":"0.1","price":123456789.12345678,"trade_time":"2026-11-21T09:30:00.123456Z"}
{"trade_id":"T2","order_id":"O1","quantity":1e-8,"price":"64000.5","trade_time":1795253400000,"side":"BUY"}

{"trade_id":"T1","order_id":"O1","quantity":"0.1","price":123456789.12345678,"trade_time":"2026-11-21T09:30:00.123456Z"}
{"trade_id":"T3","order_id":"O2","quantity":"NaN","price":"1","trade_time":"2026-11-21T09:30:00Z"}
{"trade_id":"T4","order_id":"O2","quantity":"2","price":"1","trade_time":"2026-11-21T09:30:00"}
not json at all
{"trade_id":"T5","order_id":"O2","quantity":"3","price":"1"}
JSON
expect_status 0 "load trades" "$bin" load --kind trade /tmp/cli_trades.$$
grep -q "read 7, inserted 2, duplicates 1, rejected 4" /tmp/cli_out.$$ || fail "load summary: $(cat /tmp/cli_out.$$)"
expect_status 0 "load trades again" "$bin" load --kind trade /tmp/cli_trades.$$
grep -q "read 7, inserted 0, duplicates 3, rejected 0 (4 already recorded)" /tmp/cli_out.$$ || fail "second load summary: $(cat /tmp/cli_out.$$)"

q() { psql -X -A -t -c "$1"; }
expect_eq "$(q 'SELECT count(*) FROM execution.TradesTS')" 2 "trade rows"
expect_eq "$(q "SELECT quantity || ' ' || price FROM execution.TradesTS WHERE trade_id = 'T1'")" \
    "0.1 123456789.12345678" "exact decimals of T1"
expect_eq "$(q "SELECT quantity || ' ' || side || ' ' || trade_time FROM execution.TradesTS WHERE trade_id = 'T2'")" \
    "0.00000001 buy 2026-11-21 09:30:00+00" "T2 normalised"
expect_eq "$(q "SELECT string_agg(kafka_offset || ':' || reason, ',' ORDER BY kafka_offset) FROM execution.ingest_rejects")" \
    "5:bad_decimal,6:bad_time,7:json_syntax,8:missing_field" "rejects with line numbers and reasons"

# decode shows records and reasons; exit 1 when a line is rejected.
expect_status 1 "decode with rejects" "$bin" decode --kind trade /tmp/cli_trades.$$
grep -q '"reject":"bad_decimal"' /tmp/cli_out.$$ || fail "decode does not print the reject reason"
head -2 /tmp/cli_trades.$$ >/tmp/cli_good.$$
expect_status 0 "decode good lines" "$bin" decode --kind trade /tmp/cli_good.$$
grep -q '123456789.12345678' /tmp/cli_out.$$ || fail "decode does not print the exact price"

# run: misuse, an unreachable database, and passwords never in the logs.
expect_status 2 "run with a stray argument" "$bin" run extra
expect_status 2 "run with one topic for two kinds" "$bin" run --topic-orders x --topic-trades x
expect_status 1 "run against an unreachable database" "$bin" run --brokers 127.0.0.1:1 \
    --dsn "host=127.0.0.1 port=1 user=u password=s3cret-dsn connect_timeout=2"
grep -q "cannot connect to PostgreSQL" /tmp/cli_out.$$ || fail "run: no clear error for a dead database"
grep -q "s3cret" /tmp/cli_out.$$ && fail "run printed the password of --dsn"
# No --brokers: the embedded broker starts in-process; its topics are empty, so
# --exit-at-end stops once the group has assigned them. Trust authentication
# ignores the password; the log must show the conninfo without it.
expect_status 0 "run with the in-process embedded broker" "$bin" run --exit-at-end \
    --dsn "dbname=$db password=s3cret-dsn" -X session.timeout.ms=6000 --partitions 2
grep -q "started the embedded broker at 127.0.0.1:" /tmp/cli_out.$$ || fail "run does not say it started an embedded broker"
grep -q "connected to PostgreSQL" /tmp/cli_out.$$ || fail "run does not log its database"
grep -q "s3cret" /tmp/cli_out.$$ && fail "run logged the password: $(grep s3cret /tmp/cli_out.$$)"
grep -q "assigned orders \[1\]" /tmp/cli_out.$$ || fail "run: no assignment of orders [1] logged"
expect_status 1 "run with a bad secret kafka property" "$bin" run --brokers 127.0.0.1:1 \
    -X sasl.password=s3cret-kafka -X no.such.property=1
grep -q "s3cret" /tmp/cli_out.$$ && fail "run printed a kafka password"

# broker: prints its address and writes it to a file; SIGTERM stops it with 0.
"$bin" broker --partitions 2 --address-file /tmp/cli_addr.$$ >/tmp/cli_broker.$$ 2>&1 &
bpid=$!
for _ in $(seq 100); do [ -s /tmp/cli_addr.$$ ] && break; sleep 0.1; done
addr=$(cat /tmp/cli_addr.$$ 2>/dev/null)
[[ "$addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "broker address file holds '$addr'"
kcat -L -b "$addr" -t trades 2>/dev/null | grep -q "2 partitions" || fail "broker: trades has not 2 partitions"
kill -TERM "$bpid"; wait "$bpid"; bst=$?
expect_eq "$bst" 0 "broker exit status after SIGTERM"
expect_eq "$(head -1 /tmp/cli_broker.$$)" "$addr" "broker prints its address first"
expect_status 2 "broker with 0 partitions" "$bin" broker --partitions 0

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
