#!/usr/bin/env bash
# Misconfiguration fails fast and clearly: run needs an explicit --brokers (or
# 'embedded'); a Kafka cluster that does not answer is given up after
# --broker-timeout-ms by run --exit-at-end, status, backfill and publish, naming the
# last transport error, while the daemon keeps retrying; -X is checked before
# anything connects; a missing topic is an error of run and status; integer bounds,
# flags named as typed, -b, per-command help; the run totals add up. Needs
# PostgreSQL through PG* (deploy/test.sh), kcat.
source "$(dirname "$0")/run_lib.sh"
rl_db misconfig
"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
out=$work/out
dead_dsn=(--dsn "host=127.0.0.1 port=1 connect_timeout=2")

# expect_within SECONDS STATUS WHAT COMMAND...: as expect_status, and the command
# must end within SECONDS (it is killed after twice that).
expect_within() {
    local secs=$1 want=$2 what=$3 t0 t1
    shift 3
    t0=$(date +%s%N)
    timeout -s KILL $((secs * 2)) "$@" >"$out" 2>&1
    local got=$?
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    if [ "$got" -eq "$want" ]; then pass; else fail "$what: exit $got, expected $want: $(head -c 800 "$out")"; fi
    if [ "$ms" -le $((secs * 1000)) ]; then pass; else fail "$what: took $ms ms, more than ${secs}s"; fi
}

# --- 1. run without --brokers refuses (it used to record an in-memory broker) ---
expect_status 2 "run without --brokers" timeout -s KILL 60 "$bin" run "${dead_dsn[@]}"
expect_out "--brokers is required" "run without --brokers: says what to give"
expect_out "'embedded'" "run without --brokers: names --brokers embedded"
expect_status 2 "run --brokers ''" timeout -s KILL 60 "$bin" run --brokers '' "${dead_dsn[@]}"
for args in "status --brokers embedded" "backfill --brokers embedded --topic trades" \
    "publish --brokers embedded --kind trade /dev/null"; do
    # shellcheck disable=SC2086 # the command and its arguments
    expect_status 2 "$args" "$bin" $args
    expect_out "--brokers embedded" "$args: the reason"
done

# --- 2. -X is checked before anything connects (the dsn is dead: exit 2, not 1) ---
expect_status 2 "run -X unknown property" timeout -s KILL 60 "$bin" run --brokers 127.0.0.1:1 "${dead_dsn[@]}" -X no.such.prop=1
expect_out "-X no.such.prop" "run -X unknown: names the key"
expect_status 2 "run -X bad value" timeout -s KILL 60 "$bin" run --brokers 127.0.0.1:1 "${dead_dsn[@]}" -X fetch.wait.max.ms=soon
expect_out "-X fetch.wait.max.ms" "run -X bad value: names the key"
expect_status 2 "run -X group.id" timeout -s KILL 60 "$bin" run --brokers 127.0.0.1:1 "${dead_dsn[@]}" -X group.id=other
expect_out "--group" "run -X group.id: names --group"
expect_status 2 "run -X enable.auto.commit" timeout -s KILL 60 "$bin" run --brokers 127.0.0.1:1 "${dead_dsn[@]}" -X enable.auto.commit=true
expect_out "-X enable.auto.commit" "run -X enable.auto.commit: named"
expect_status 2 "run -X bootstrap.servers" timeout -s KILL 60 "$bin" run --brokers 127.0.0.1:1 "${dead_dsn[@]}" -X bootstrap.servers=x:1
expect_out "--brokers" "run -X bootstrap.servers: names --brokers"
expect_status 2 "status -X unknown property" "$bin" status --brokers 127.0.0.1:1 "${dead_dsn[@]}" -X no.such.prop=1
expect_status 2 "publish -X bad value" "$bin" publish --brokers 127.0.0.1:1 --kind trade -X linger.ms=never /dev/null
expect_out "-X linger.ms" "publish -X bad value: named"
expect_status 2 "publish -X enable.idempotence" "$bin" publish --brokers 127.0.0.1:1 --kind trade -X enable.idempotence=false /dev/null
expect_status 2 "backfill -X auto.offset.reset" "$bin" backfill --brokers 127.0.0.1:1 --topic trades "${dead_dsn[@]}" -X auto.offset.reset=latest
expect_out "-X auto.offset.reset" "backfill -X auto.offset.reset: named"
# What librdkafka checks only when a client is made: before anything connects too.
expect_status 2 "backfill -X fetch.max.bytes below message.max.bytes" "$bin" backfill --brokers 127.0.0.1:1 \
    --topic trades "${dead_dsn[@]}" -X fetch.max.bytes=1024
expect_out "fetch.max.bytes" "-X properties that do not go together: named"
expect_status 2 "run -X ssl.ca.location missing" timeout -s KILL 60 "$bin" run --brokers 127.0.0.1:1 \
    "${dead_dsn[@]}" -X security.protocol=ssl -X ssl.ca.location=/nonexistent/ca.pem
expect_out "ssl.ca.location" "-X ssl.ca.location of a missing file: named"
expect_status 2 "publish -X acks=1 (the producer is idempotent)" "$bin" publish --brokers 127.0.0.1:1 \
    --kind trade -X acks=1 /dev/null
expect_out "acks" "publish -X acks=1: named"
for cmd in reconcile partitions migrate load decode; do
    expect_status 2 "$cmd -X (no Kafka)" "$bin" "$cmd" -X linger.ms=5 --kind trade /dev/null
    expect_out "does not use Kafka" "$cmd -X: the reason"
done

# --- 3. integer bounds; errors name the flag as typed, or the variable or file line ---
expect_status 2 "run --batch-size 0" timeout -s KILL 60 "$bin" run --brokers embedded --batch-size 0 "${dead_dsn[@]}"
check "$(cat "$out")" "execrec run: --batch-size must be at least 1, not '0'" "run --batch-size 0: message"
expect_status 2 "backfill --batch-size 0" "$bin" backfill --brokers 127.0.0.1:1 --topic trades --batch-size 0
expect_out "--batch-size must be at least 1" "backfill --batch-size 0: message"
expect_status 2 "load EXECREC_BATCH_SIZE=0" env EXECREC_BATCH_SIZE=0 "$bin" load --kind trade /dev/null
expect_out "EXECREC_BATCH_SIZE must be at least 1, not '0'" "EXECREC_BATCH_SIZE=0: names the variable"
printf 'batch.size = 0\n' >"$work/zero.conf"
expect_status 2 "load batch.size = 0 in a file" "$bin" load --kind trade --config "$work/zero.conf" /dev/null
expect_out "zero.conf:1: batch.size must be at least 1" "batch.size = 0 in a file: names the line"
expect_status 2 "run --max-message-bytes 0" timeout -s KILL 60 "$bin" run --brokers embedded --max-message-bytes 0 "${dead_dsn[@]}"
expect_status 2 "broker --partitions 1001" "$bin" broker --partitions 1001
expect_out "--partitions must be between 1 and 1000, not '1001'" "broker --partitions 1001: message"
expect_status 2 "status --broker-timeout-ms 0" "$bin" status --brokers 127.0.0.1:1 --broker-timeout-ms 0
expect_out "--broker-timeout-ms must be at least 1" "--broker-timeout-ms 0: message"
expect_status 2 "run --batch-ms x" timeout -s KILL 60 "$bin" run --brokers embedded --batch-ms x
check "$(cat "$out")" "execrec run: --batch-ms must be a non-negative integer, not 'x'" "run --batch-ms x: the flag as typed"

# --- 4. --help in each command's own words ---
expect_status 0 "status --help" "$bin" status --help
grep -q 'publish\|run starts' "$out" && fail "status --help talks about other commands: $(grep 'publish\|run starts' "$out")"
expect_out "-b, --brokers VALUE" "status --help: -b"
expect_status 0 "backfill --help" "$bin" backfill --help
grep -q 'publish' "$out" && fail "backfill --help talks about publish: $(grep publish "$out")"
expect_out "the topics to replay" "backfill --help: --topic in backfill's words"
expect_status 0 "publish --help" "$bin" publish --help
expect_out "the topic to produce to" "publish --help: --topic in publish's words"
grep -q 'replay' "$out" && fail "publish --help talks about backfill: $(grep replay "$out")"
expect_status 0 "run --help" timeout -s KILL 60 "$bin" run --help
expect_out "'embedded'" "run --help: --brokers embedded"
# load and backfill open a registry as decode and run do: they take its flags too.
for cmd in load backfill; do
    expect_status 0 "$cmd --help" "$bin" "$cmd" --help
    expect_out "--registry-map VALUE" "$cmd --help: --registry-map, which it uses"
    expect_out "--registry-timeout-ms VALUE" "$cmd --help: --registry-timeout-ms, which it uses"
done
for cmd in reconcile partitions migrate load decode broker; do
    expect_status 0 "$cmd --help" "$bin" "$cmd" --help
    grep -q -- '-X KEY' "$out" && fail "$cmd --help offers -X, and $cmd does not use Kafka"
done

# --- 5. a cluster that does not answer: given up after --broker-timeout-ms ---
for where in 127.0.0.1:1 nonexistent.invalid:9092; do
    want="Connection refused"
    [ "$where" == 127.0.0.1:1 ] || want="Failed to resolve"
    expect_within 20 1 "run --exit-at-end against $where" "$bin" run --brokers "$where" --exit-at-end --broker-timeout-ms 2000
    expect_out "no answer from the Kafka cluster within 2000 ms (--broker-timeout-ms); last error: " "run --exit-at-end $where: the give-up"
    grep "no answer from the Kafka cluster" "$out" | grep -qF "$want" || fail "run --exit-at-end $where: the error does not name '$want': $(cat "$out")"
    expect_within 20 1 "status against $where" "$bin" status --brokers "$where" --broker-timeout-ms 2000
    check "$(grep -c "^execrec status: .*no answer from the Kafka cluster within 2000 ms.*$want" "$out")" 1 "status $where: one error line naming '$want'"
    expect_within 20 1 "backfill against $where" "$bin" backfill --brokers "$where" --topic trades --broker-timeout-ms 2000
    check "$(grep -c "^execrec backfill: .*no answer from the Kafka cluster within 2000 ms.*$want" "$out")" 1 "backfill $where: one error line naming '$want'"
    echo '{"trade_id":"T1","order_id":"O1","quantity":"1","price":"1","trade_time":"2026-11-21T09:30:00Z"}' >"$work/one.json"
    expect_within 20 1 "publish against $where" "$bin" publish --brokers "$where" --kind trade --broker-timeout-ms 2000 "$work/one.json"
    check "$(grep -c "^execrec publish: 1 message(s) not delivered within 2000 ms (--broker-timeout-ms); last error from the cluster: .*$want" "$out")" 1 "publish $where: the give-up names '$want'"
done

# The daemon keeps retrying (a WARN with the cause), and stops cleanly on SIGTERM.
rl_start_recorder daemon --brokers 127.0.0.1:1 --broker-timeout-ms 1000
# rl_start_recorder gives --brokers $BROKER (empty: no broker yet) first; the later one wins.
sleep 5
rl_alive "${rec_pid[daemon]}" && pass || fail "the daemon gave up on an unreachable cluster"
grep -q "WARN .*Connection refused" "$work/daemon.log" && pass || fail "the daemon logs no WARN with the cause: $(tail -5 "$work/daemon.log")"
grep -q "WARN  the Kafka cluster does not answer" "$work/daemon.log" && pass || fail "the daemon does not say it keeps trying"
check "$(grep -c 'WARN  the Kafka cluster does not answer' "$work/daemon.log")" 1 "the daemon's own WARN: once per 10 s"
rl_stop daemon TERM 15
check "$RL_RC" 0 "the retrying daemon exits 0 on SIGTERM"

# --- 6. topics: run and status refuse a topic the cluster does not have ---
rl_start_broker --partitions 2
expect_within 30 1 "run with a mistyped topic" "$bin" run --brokers "$BROKER" --exit-at-end --topic-trades trdaes
expect_out "the Kafka cluster has no topic 'trdaes' (--topic-trades)" "run: names the missing topic and its flag"
expect_status 1 "status with a mistyped topic" "$bin" status --brokers "$BROKER" --topic-trades trdaes
expect_out "no topic 'trdaes' (--topic-trades)" "status: names the missing topic and its flag"
expect_out "orders " "status: the table of the other topics is still printed"
kcat -L --brokers "$BROKER" 2>/dev/null | grep -q '"trdaes"' && fail "the missing topic was created"
expect_status 0 "status with -b (as kcat)" "$bin" status -b "$BROKER"
expect_status 0 "backfill with -b and -t (as kcat)" "$bin" backfill -b "$BROKER" -t trades -t orders
expect_out "read 0 messages (0 offsets in 0 partitions)" "backfill -t trades -t orders: both topics, empty"

# --- 7. the run totals add up ---
{
    for i in 1 2 3; do
        echo "O$i|{\"trade_id\":\"MT$i\",\"order_id\":\"O$i\",\"quantity\":\"1\",\"price\":\"2\",\"trade_time\":\"2026-11-21T09:30:00Z\"}"
    done
    echo 'O1|{"trade_id":"MT1","order_id":"O1","quantity":"1","price":"2","trade_time":"2026-11-21T09:30:00Z"}'
    echo 'O9|not json'
} >"$work/trades.keyed"
rl_produce trades "$work/trades.keyed" -K '|'
rl_run_to_end totals 60 --topic-orders '' --topic-events '' --topic-managers ''
expect_out_file() { grep -qF -- "$1" "$work/$2.log" && pass || fail "$3: no '$1' in $(grep totals "$work/$2.log")"; }
expect_out_file "final totals: consumed 5 = inserted 3 (orders 0, events 0, trades 3, managers 0 of which 0 updated) + already recorded 1 + rejected 1 + rejects already recorded 0 + in the open batch 0 + rolled back or abandoned 0" \
    totals "the final totals add up"

# --- 8. the cluster goes away after the recorder subscribed: --exit-at-end gives up ---
# The mock cluster assigns about 3 s after the subscription; the broker is killed
# as soon as the recorder has subscribed, so nothing is ever assigned.
RL_POLL=0.05
rl_start_recorder gone --exit-at-end --broker-timeout-ms 2000 --group gone
rl_wait_for 30 "the recorder to subscribe" grep -q "subscribed to" "$work/gone.log" || die "no subscription"
kill -KILL "$broker_pid"
note "broker killed"
rl_wait_exit gone 40
check "$RL_RC" 1 "run --exit-at-end whose cluster went away: exit status (124: still running)"
grep -q "assigned " "$work/gone.log" && fail "the recorder was assigned before the broker was killed (the check raced)"
grep -q "ERROR --exit-at-end: no answer from the Kafka cluster within 2000 ms (--broker-timeout-ms); last error: .*Connection refused" \
    "$work/gone.log" && pass || fail "the give-up does not name the timeout and the transport error: $(tail -3 "$work/gone.log")"

# --- 9. the cluster goes away during a backfill: given up, what was read is written ---
# One partition, one message per fetch and a 1 KB prefetch queue, rows slowed down
# by a trigger: most of the range is still on the broker when it is killed.
rm -f "$work/broker.addr" "$work/broker.out" # the killed broker's
rl_start_broker --partitions 1
rl_gen_trades BG 1 2000 >"$work/bg.keyed"
rl_produce trades "$work/bg.keyed" -K '|' -X linger.ms=0 -X batch.num.messages=1
rl_slow_inserts TradesTS 0.005
"$bin" backfill -b "$BROKER" -t trades --batch-size 20 --batch-ms 100 --broker-timeout-ms 2000 \
    -X queued.max.messages.kbytes=1 -X fetch.max.bytes=1024 -X message.max.bytes=1000 -X max.partition.fetch.bytes=1024 \
    >"$work/bg.out" 2>"$work/bg.log" &
bg_pid=$!
rl_bg+=("$bg_pid")
rl_wait_for 30 "the backfill's first rows" rl_count_at_least 1 "execution.TradesTS WHERE trade_id LIKE 'BG-%'" ||
    die "the backfill wrote nothing"
kill -KILL "$broker_pid"
note "broker killed"
t0=$SECONDS
wait "$bg_pid"
check "$?" 1 "backfill whose cluster went away: exit status"
[ $((SECONDS - t0)) -le 30 ] && pass || fail "the backfill took $((SECONDS - t0)) s to give up"
grep -q "execrec backfill: the replay stopped: no answer from the Kafka cluster within 2000 ms (--broker-timeout-ms); last error: .*Connection refused" \
    "$work/bg.out" "$work/bg.log" && pass || fail "the give-up does not name the timeout and the transport error: $(tail -3 "$work/bg.log")"
read_n=$(sed -n 's/^backfill: read \([0-9]*\) messages.*/\1/p' "$work/bg.out")
rows=$(rl_count "execution.TradesTS WHERE trade_id LIKE 'BG-%'")
check "$read_n" "$rows" "what the backfill read before giving up is written"
[ "${rows:-0}" -lt 2000 ] && pass || fail "the whole range was read before the broker was killed (the check raced)"

cli_finish
