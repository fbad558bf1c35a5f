#!/usr/bin/env bash
# The metrics and health endpoint (docs/metrics.md): `execrec run --metrics-listen`
# serves a Prometheus exposition that promtool accepts and whose counters equal the
# rows, rejects and messages in PostgreSQL, read back through a real Prometheus
# server's query API after it scraped the recorder; /readyz turns 503 within 5 s of
# PostgreSQL stopping and 200 again within 5 s of its return; 50 half-open requests
# and a client reading /metrics one byte a second neither slow the recording nor
# stop /healthz from answering, and the half-open ones are dropped after the
# connection timeout; bad and busy addresses fail as documented; backfill serves
# the same endpoint. Starts its own PostgreSQL server (it stops it).
source "$(dirname "$0")/run_lib.sh"

for tool in promtool prometheus curl; do
    command -v "$tool" >/dev/null || die "$tool is required (deploy/setup.sh)"
done
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# http PATH: the body of GET /PATH from the recorder (at most 3 s); http_code PATH: its status.
http() { curl -s --max-time 3 "http://127.0.0.1:$mport$1"; }
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$mport$1"; }
# metric 'NAME{LABELS}': its value in the recorder's exposition (empty: no such series).
metric() { http /metrics | awk -v s="$1" '$1 == s {print $2}'; }
# prom_query EXPR: the value of a PromQL instant query through Prometheus's HTTP API.
prom_query() {
    curl -s --max-time 3 -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
prom_is() { [ "$(prom_query "$1")" == "$2" ]; }
code_is() { [ "$(http_code "$1")" == "$2" ]; }
facts() {
    q "SELECT (SELECT count(*) FROM execution.OrdersTS) + (SELECT count(*) FROM execution.OrderEventsTS)
            + (SELECT count(*) FROM execution.TradesTS) + (SELECT count(*) FROM execution.OrderManager)"
}

rl_private_pg
rl_db metrics
rl_start_broker --partitions 4
sample=$src/tests/data/sample
mport=$(free_port)

# Usage: a listen address that is not HOST:PORT is exit 2, naming the flag.
expect_status 2 "--metrics-listen without a port" "$bin" run --brokers "$BROKER" --metrics-listen nonsense
expect_out "--metrics-listen" "the usage error names the flag"

# Phase 1: the sample stream (good and bad messages of every kind, the first
# version of each order-manager intent) and 2000 generated trades.
n=2000
rl_gen_trades M 0 "$n" >"$work/trades.keyed"
cat "$sample/orders.jsonl" "$sample/bad_orders.jsonl" >"$work/orders"
cat "$sample/order_events.jsonl" "$sample/bad_order_events.jsonl" >"$work/events"
cat "$sample/trades.jsonl" "$sample/bad_trades.jsonl" >"$work/trades"
{ head -2 "$sample/order_managers.jsonl"; cat "$sample/bad_order_managers.jsonl"; } >"$work/managers"
# A trade PostgreSQL refuses (a check constraint of this test): a pg_refused reject.
"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
q "ALTER TABLE execution.TradesTS ADD CONSTRAINT test_refuse CHECK (venue IS DISTINCT FROM 'REFUSE')" ||
    die "cannot add the check constraint"
rl_gen_trades RX 0 1 | cut -d'|' -f2- | sed 's/"venue":"TEST"/"venue":"REFUSE"/' >>"$work/trades"
rl_produce orders "$work/orders" -p 0
rl_produce order-events "$work/events" -p 0
rl_produce trades "$work/trades" -p 0
rl_produce order-managers "$work/managers" -p 0
t0=$SECONDS
rl_produce trades "$work/trades.keyed" -K '|'
produced=$(cat "$work/orders" "$work/events" "$work/trades" "$work/managers" "$work/trades.keyed" | wc -l)

rl_start_recorder rec --group metrics --batch-size 200 --metrics-listen "127.0.0.1:$mport" \
    --ready-max-age 5
rl_wait_for 30 "the metrics endpoint" code_is /healthz 200 || die "no /healthz"
rl_wait_for 90 "every message consumed" rl_count_is "$produced" \
    "(SELECT kafka_offset FROM execution.OrdersTS UNION ALL SELECT kafka_offset FROM execution.OrderEventsTS
      UNION ALL SELECT kafka_offset FROM execution.TradesTS UNION ALL SELECT kafka_offset FROM execution.OrderManager
      UNION ALL SELECT kafka_offset FROM execution.ingest_rejects) s" || die "the stream was not recorded"
base_secs=$((SECONDS - t0))
note "phase 1 recorded in ${base_secs}s"
lag_zero() { [ "$(http /metrics | awk '$1 ~ /^execrec_consumer_lag_messages\{/ {s += $2} END {print s + 0}')" == 0 ]; }
rl_wait_for 10 "the lag gauges to reach 0" lag_zero
check "$(http /readyz)" ready "ready once caught up"

# Once its batch committed, the exposition is exact. promtool finds nothing wrong with it.
http /metrics >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1
check "$?" 0 "promtool check metrics exit status"
check "$(cat "$work/promtool.out")" "" "promtool check metrics finds no problem"
grep -q '^execrec_build_info{version="[0-9.]*",commit="[^"]*"} 1$' "$work/metrics.txt" && pass ||
    fail "execrec_build_info{version,commit} 1 missing"
for name in execrec_process_start_time_seconds execrec_messages_consumed_total execrec_messages_skipped_total \
    execrec_rows_inserted_total execrec_rows_duplicate_total execrec_rows_updated_total \
    execrec_rows_refused_total execrec_rejects_total execrec_batches_committed_total \
    execrec_batch_commit_duration_seconds execrec_batch_rows execrec_end_to_end_latency_seconds \
    execrec_consumer_lag_messages execrec_assigned_partitions execrec_blocked_partitions \
    execrec_retries_total execrec_retry_backoff_seconds execrec_postgres_up execrec_kafka_up \
    execrec_last_commit_timestamp_seconds; do
    grep -q "^# TYPE $name " "$work/metrics.txt" && pass || fail "no metric $name"
done
sumof() { awk -v p="$1" 'index($1, p) == 1 {s += $2} END {printf "%.17g\n", s + 0}' "$work/metrics.txt"; }
check "$(sumof 'execrec_rows_inserted_total{')" "$(facts)" "rows inserted = rows in the four tables"
check "$(sumof 'execrec_rows_inserted_total{kind="trade"}')" "$(rl_count execution.TradesTS)" "trades inserted"
check "$(sumof 'execrec_rows_inserted_total{kind="order_manager"}')" 2 "order managers inserted"
check "$(sumof 'execrec_rejects_total{')" "$(rl_count execution.ingest_rejects)" "rejects = ingest_rejects rows"
check "$(awk '$1 ~ /^execrec_rejects_total\{/ {print}' "$work/metrics.txt" | sed 's/.*reason="\([^"]*\)"} /\1 /' | sort)" \
    "$(q "SELECT reason || ' ' || count(*) FROM execution.ingest_rejects GROUP BY reason" | sort)" \
    "rejects by reason = ingest_rejects by reason"
check "$(sumof 'execrec_rows_refused_total{')" "$(rl_count "execution.ingest_rejects WHERE reason = 'pg_refused'")" \
    "rows refused = pg_refused rejects"
check "$(sumof 'execrec_rows_refused_total{kind="trade"}')" 1 "the refused trade"
check "$(sumof 'execrec_messages_consumed_total{')" "$produced" "messages consumed = messages produced"
check "$(sumof 'execrec_messages_consumed_total{topic="trades"}')" $((n + $(wc -l <"$work/trades"))) "trades consumed"
check "$(sumof 'execrec_rows_duplicate_total{')" 0 "no duplicates"
check "$(sumof 'execrec_assigned_partitions')" 16 "assigned partitions"
check "$(sumof 'execrec_consumer_lag_messages{')" 0 "no lag once recorded"
check "$(sumof 'execrec_postgres_up')" 1 "PostgreSQL up"
check "$(sumof 'execrec_kafka_up')" 1 "Kafka up"
check "$(sumof 'execrec_end_to_end_latency_seconds_count')" "$produced" "one latency observation per message"
check "$(sumof 'execrec_batch_rows_sum')" "$produced" "rows per batch sum to the messages"
batches=$(sumof 'execrec_batches_committed_total')
check "$(sumof 'execrec_batch_commit_duration_seconds_count')" "$batches" "one commit duration per batch"
[ "$batches" -ge $((n / 200)) ] && pass || fail "$batches batches for $produced messages in batches of 200"
last=$(sumof 'execrec_last_commit_timestamp_seconds')
now=$(date +%s)
python3 -c "import sys; sys.exit(0 if $now - 120 < $last <= $now + 1 else 1)" && pass ||
    fail "last commit time $last is not within the last 2 minutes of $now"
check "$(code_is /nowhere 404 && echo 404)" 404 "an unknown path is 404"
check "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST "http://127.0.0.1:$mport/metrics")" 405 \
    "POST is 405"

# An order-manager intent updated in a later batch counts as updated, not inserted.
tail -2 "$sample/order_managers.jsonl" >"$work/managers2"
rl_produce order-managers "$work/managers2" -p 0
rl_wait_for 30 "the two intent updates" eval '[ "$(metric "execrec_rows_updated_total{kind=\"order_manager\"}")" == 2 ]' ||
    fail "execrec_rows_updated_total{kind=\"order_manager\"} is '$(metric 'execrec_rows_updated_total{kind="order_manager"}')'"
check "$(metric 'execrec_rows_inserted_total{kind="order_manager"}')" 2 "an update is not an insert"
check "$(q "SELECT string_agg(status, ',' ORDER BY unique_identifier) FROM execution.OrderManager")" \
    "completed,paused" "the updates are recorded"

# A real Prometheus scrapes the recorder every second; PromQL sums equal PostgreSQL's counts.
pport=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: execrec
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
promtool check config "$work/prometheus.yml" >"$work/promtool-config.out" 2>&1 ||
    die "promtool rejects the test's config: $(cat "$work/promtool-config.out")"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
rl_bg+=($!)
rl_wait_for 60 "Prometheus to start" eval 'curl -sf --max-time 2 "http://127.0.0.1:$pport/-/ready" >/dev/null' ||
    die "Prometheus did not start"
rl_wait_for 60 "Prometheus to scrape the recorder" prom_is 'up{job="execrec"}' 1 ||
    die "Prometheus did not scrape the recorder"
rows=$(facts)
rl_wait_for 30 "Prometheus to hold the final counters" prom_is 'sum(execrec_rows_inserted_total)' "$rows"
check "$(prom_query 'sum(execrec_rows_inserted_total)')" "$rows" "PromQL: rows inserted = rows in PostgreSQL"
check "$(prom_query 'sum(execrec_rejects_total)')" "$(rl_count execution.ingest_rejects)" \
    "PromQL: rejects = ingest_rejects rows"
check "$(prom_query 'sum(execrec_rejects_total{reason="json_syntax"})')" \
    "$(rl_count "execution.ingest_rejects WHERE reason = 'json_syntax'")" "PromQL: json_syntax rejects"
check "$(prom_query 'sum(execrec_rows_updated_total)')" 2 "PromQL: rows updated"
check "$(prom_query 'sum(execrec_messages_consumed_total)')" $((produced + 2)) "PromQL: messages consumed"

# /readyz follows PostgreSQL: 503 within 5 s of it stopping (idle: the recorder
# probes its connection every second), 200 within 5 s of its return.
check "$(http /readyz)" ready "ready before PostgreSQL stops"
bash "$src/deploy/pg.sh" stop "$pgdir"
t1=$SECONDS
rl_wait_for 5 "/readyz 503 with PostgreSQL stopped" code_is /readyz 503
note "/readyz 503 after $((SECONDS - t1))s"
check "$(http /readyz)" "PostgreSQL unreachable" "the not-ready reason"
check "$(metric execrec_postgres_up)" 0 "execrec_postgres_up with PostgreSQL stopped"
check "$(http_code /healthz)" 200 "/healthz while PostgreSQL is down"
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
t1=$SECONDS
rl_wait_for 5 "/readyz 200 with PostgreSQL back" code_is /readyz 200
note "/readyz 200 again after $((SECONDS - t1))s"
check "$(metric execrec_postgres_up)" 1 "execrec_postgres_up with PostgreSQL back"

# A batch waiting for PostgreSQL: retries are counted and the current backoff shown,
# back to 0 once the batch commits.
retries0=$(metric execrec_retries_total)
bash "$src/deploy/pg.sh" stop "$pgdir"
rl_gen_trades RB 0 10 >"$work/retry.keyed"
rl_produce trades "$work/retry.keyed" -K '|'
retrying() { [ "$(metric execrec_retries_total)" -gt "$retries0" ] && [ "$(metric execrec_retry_backoff_seconds)" != 0 ]; }
rl_wait_for 20 "retries and a backoff while PostgreSQL is down" retrying
check "$(http /readyz)" "PostgreSQL unreachable" "not ready while a batch waits for PostgreSQL"
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
rl_wait_for 30 "the batch that waited" rl_count_is 10 "execution.TradesTS WHERE trade_id LIKE 'RB-%'"
rl_wait_for 5 "the backoff back to 0" eval '[ "$(metric execrec_retry_backoff_seconds)" == 0 ]'
rl_wait_for 5 "/readyz 200 after the batch committed" code_is /readyz 200

# Hostile clients: 50 connections that send half a request and hold it, and one that
# reads /metrics one byte a second. The recorder records the next 2000 trades as
# fast as the first (bounded by 3x + 15 s), /healthz answers within 2 s meanwhile,
# and the half-open connections are closed by the server after its 10 s timeout.
python3 - "$mport" >"$work/hostile.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(50):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    held.append(s)
slow = socket.socket()
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
slow.connect(("127.0.0.1", port))
slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
print("holding", len(held), flush=True)
start, closed, got, last_close = time.time(), set(), 0, 0
for s in held:
    s.setblocking(False)
while time.time() - start < 25:
    for i, s in enumerate(held):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(i)
                last_close = time.time() - start
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
            last_close = time.time() - start
    slow.settimeout(1)
    try:
        got += len(slow.recv(1))
    except socket.timeout:
        pass
    if time.time() - start < 12:
        time.sleep(1)
print("closed", len(closed), "by", round(last_close), flush=True)
print("slow read", got, flush=True)
PY
hostile=$!
rl_bg+=("$hostile")
rl_wait_for 10 "the hostile clients to connect" grep -q '^holding 50' "$work/hostile.out" ||
    die "the hostile clients did not connect: $(cat "$work/hostile.out")"
t2=$SECONDS
trades1=$(rl_count execution.TradesTS)
rl_gen_trades M "$n" "$n" >"$work/trades2.keyed"
rl_produce trades "$work/trades2.keyed" -K '|'
for i in 1 2 3; do
    check "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$mport/healthz")" 200 \
        "/healthz answers within 2 s while 51 hostile connections are open ($i)"
    sleep 1
done
limit=$((3 * base_secs + 15))
rl_wait_for "$limit" "the next $n trades with hostile clients connected" rl_count_is $((trades1 + n)) \
    execution.TradesTS ||
    die "recording stalled with hostile clients connected"
note "phase 2 recorded in $((SECONDS - t2))s (phase 1: ${base_secs}s, limit ${limit}s)"
wait "$hostile"
closed_by=$(awk '/^closed 50 by/ {print $4}' "$work/hostile.out")
[ -n "$closed_by" ] && [ "$closed_by" -le 16 ] && pass ||
    fail "the server did not close the 50 half-open connections within 16 s: $(cat "$work/hostile.out")"
got=$(awk '/^slow read/ {print $3}' "$work/hostile.out")
[ "${got:-0}" -ge 5 ] && pass || fail "the slow reader was not served ($got bytes)"
check "$(http_code /healthz)" 200 "/healthz after the hostile clients"
rows=$(facts)
rl_wait_for 30 "Prometheus to hold the counters after phase 2" prom_is 'sum(execrec_rows_inserted_total)' "$rows"

# A second process cannot take a busy address: exit 1, naming the flag.
expect_status 1 "--metrics-listen on a busy port" "$bin" run --brokers "$BROKER" --group other \
    --metrics-listen "127.0.0.1:$mport"
expect_out "--metrics-listen" "the busy-port error names the flag"

# backfill serves the same endpoint while it replays (slowed down by a trigger so
# that it can be scraped mid-way): progress gauges and the rows it read.
rl_slow_inserts TradesTS 0.005
bport=$(free_port)
"$bin" backfill --brokers "$BROKER" --topic trades --batch-size 100 --metrics-listen "127.0.0.1:$bport" \
    >"$work/backfill.out" 2>"$work/backfill.log" &
bf=$!
rl_bg+=("$bf")
bmetric() { curl -s --max-time 3 "http://127.0.0.1:$bport/metrics" | awk -v s="$1" '$1 == s {print $2}'; }
bf_progress() { local d; d=$(bmetric execrec_backfill_offsets_done); [ -n "$d" ] && [ "$d" -gt 0 ]; }
rl_wait_for 60 "backfill progress on its endpoint" bf_progress
check "$(bmetric execrec_backfill_offsets_requested)" $((2 * n + $(wc -l <"$work/trades") + 10)) \
    "execrec_backfill_offsets_requested"
check "$(curl -s --max-time 3 "http://127.0.0.1:$bport/readyz")" ready "backfill /readyz"
wait "$bf"
check "$?" 0 "backfill exit status"

# A clean shutdown stops the endpoint (and frees it: ASan checks leaks at exit).
rl_stop rec TERM 30
check "$RL_RC" 0 "the recorder's exit status"
check "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$mport/healthz")" 000 \
    "the endpoint is gone once the recorder exited"

# The broker goes away: execrec_kafka_up turns 0 (librdkafka's all-brokers-down).
mport=$(free_port)
rl_start_recorder rec2 --group metrics2 --metrics-listen "127.0.0.1:$mport"
rl_wait_for 30 "execrec_kafka_up 1" eval '[ "$(metric execrec_kafka_up)" == 1 ]'
kill -KILL "$broker_pid"
rl_wait_for 30 "execrec_kafka_up 0 with the broker gone" eval '[ "$(metric execrec_kafka_up)" == 0 ]'
check "$(http_code /healthz)" 200 "/healthz with the broker gone"
rl_kill9 rec2

cli_finish
