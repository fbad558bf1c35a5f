#!/usr/bin/env bash
# The benchmark (issue 6; not part of the test run). One command from a fresh clone:
#
#     bash tests/bench/run.sh [N]          N trades per run, default 500000
#
# In one run, on one throwaway PostgreSQL server and the embedded broker, it measures:
#   limit       COPY of the recorded trade rows (same columns, same payload text) into
#               a fresh database with the same tables and indexes: PostgreSQL's own rate
#   json, avro  `execrec run --exit-at-end` over N JSON / Confluent Avro trades already
#               on the broker, until every row is committed
#   mixed       the same over orders, order events and trades (N/3 each), against the
#               COPY of those rows into the three tables
#   decode      decode + normalise alone, one core (bench_tool decode)
#   latency     a recorder with default settings while trades arrive at RATE msg/s:
#               commit time of each row (track_commit_timestamp) minus its Kafka
#               timestamp, p50 / p99 / max
#   memory      peak RSS of the recorder for 100k and for N messages
# and prints a table and writes every figure to build/bench/results.json.
#
# Rates are rows per second over the recording window: from the recorder's first
# partition assignment to the commit of its last batch (process start, the group
# join and the leave are fixed costs, reported apart as wall time).
# Environment: EXECREC_BENCH_RATE (5000), EXECREC_BENCH_SECONDS (20) for the latency
# run, EXECREC_BENCH_PARTITIONS (64: 500k trades of ~300 bytes stay well under the
# embedded broker's 5 MiB per partition), EXECREC_BENCH_X (extra -X for execrec run).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
N=${1:-500000}
SMALL=100000
RATE=${EXECREC_BENCH_RATE:-5000}
SECONDS_LAT=${EXECREC_BENCH_SECONDS:-20}
PARTS=${EXECREC_BENCH_PARTITIONS:-64}
read -r -a XTRA <<<"${EXECREC_BENCH_X:-}"

bash deploy/setup.sh
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEXECREC_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
bin=$root/$build/execrec
tool=$root/$build/tests/bench_tool

work=$(mktemp -d /tmp/execrec-bench.XXXXXX)
pgdir=$(mktemp -d /tmp/execrec-bench-pg.XXXXXX) # apart: its owner is the server's user
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    bash "$root/deploy/pg.sh" destroy "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "bench: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

eval "$(bash deploy/pg.sh start "$pgdir")"
# Commit times are what the latency and the recording window are measured by.
echo "track_commit_timestamp = on" >>"$pgdir/data/postgresql.conf"
bash deploy/pg.sh restart "$pgdir"
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
now() { date +%s.%N; }
fresh_db() { q postgres "CREATE DATABASE $1" && "$bin" migrate --dsn "dbname=$1" >/dev/null 2>&1; }

say "generating $N trades (JSON and Avro), $((N / 3)) orders, events and trades, $((RATE * SECONDS_LAT)) paced trades"
gen() { python3 tests/bench/gen.py "$@"; }
gen trades-json "$N" "$work/trades.json.bin"
gen trades-json "$SMALL" "$work/trades.small.bin"
gen trades-avro "$N" "$work/trades.avro.bin"
gen trades-avro "$SMALL" "$work/trades.avro.small.bin"
gen orders-json $((N / 3)) "$work/orders.bin"
gen events-json $((N / 3)) "$work/events.bin"
gen trades-json $((N / 3)) "$work/trades.mixed.bin"
gen trades-json $((RATE * SECONDS_LAT)) "$work/trades.paced.bin"

# start_broker: a fresh embedded broker with the four topics, $PARTS partitions each.
start_broker() {
    rm -f "$work/broker.addr"
    "$bin" broker --partitions "$PARTS" --address-file "$work/broker.addr" >/dev/null 2>"$work/broker.log" &
    broker_pid=$!
    pids+=("$broker_pid")
    for _ in $(seq 300); do grep -qE ':[0-9]+$' "$work/broker.addr" 2>/dev/null && break; sleep 0.1; done
    BROKER=$(head -1 "$work/broker.addr") || die "no broker address"
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; }

# record NAME DB [RUN ARGS]: execrec run --exit-at-end into DB; writes NAME.{wall,rss,log}
record() {
    local name=$1 db=$2
    shift 2
    python3 - "$work/$name" "$bin" run --brokers "$BROKER" --dsn "dbname=$db" --exit-at-end \
        --stats-interval-ms 0 -X session.timeout.ms=6000 "${XTRA[@]}" "$@" <<'PY' 2>"$work/$name.log"
import resource, subprocess, sys, time
out = sys.argv[1]
t = time.time()
rc = subprocess.call(sys.argv[2:])
open(out + ".wall", "w").write("%.3f\n" % (time.time() - t))
open(out + ".rss", "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)
PY
}

# first_assigned NAME: epoch seconds of the recorder's first assignment log line.
first_assigned() {
    local ts
    ts=$(grep -m1 ' assigned ' "$work/$1.log" | cut -d' ' -f1) || die "$1: no assignment logged"
    date -d "$ts" +%s.%N
}
# last_commit DB TABLE...: epoch seconds of the last commit that wrote a row.
last_commit() {
    local db=$1 sql="" t
    shift
    for t in "$@"; do sql+="${sql:+ UNION ALL }SELECT max(pg_xact_commit_timestamp(xmin)) m FROM execution.$t"; done
    q "$db" "SELECT extract(epoch FROM max(m)) FROM ($sql) x"
}
count_rows() { q "$1" "SELECT count(*) FROM execution.$2"; }
rate() { python3 -c "import sys; print('%.0f' % (int(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
span() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# e2e NAME TOPIC:FILE... -- RUN ARGS: fresh broker and database, produce, record.
declare -A R
e2e() {
    local name=$1 db="bench_$1" tf total=0 tables=()
    shift
    start_broker
    fresh_db "$db"
    while [ "$1" != "--" ]; do
        tf=$1
        shift
        "$tool" produce "$BROKER" "${tf%%:*}" "${tf#*:}" >/dev/null || die "produce ${tf#*:}"
    done
    shift
    say "$name: recording"
    record "$name" "$db" "$@" || { tail -20 "$work/$name.log" >&2; die "$name: execrec run failed"; }
    stop_broker
    for t in ordersts ordereventsts tradests; do
        local c
        c=$(count_rows "$db" "$t")
        [ "$c" -gt 0 ] && { total=$((total + c)); tables+=("$t"); }
    done
    local t0 t1
    t0=$(first_assigned "$name")
    t1=$(last_commit "$db" "${tables[@]}")
    R[$name.rows]=$total
    R[$name.seconds]=$(span "$t0" "$t1")
    R[$name.rate]=$(rate "$total" "${R[$name.seconds]}")
    R[$name.wall]=$(cat "$work/$name.wall")
    R[$name.rss_kib]=$(cat "$work/$name.rss")
    R[$name.tables]="${tables[*]}"
    say "$name: ${R[$name.rows]} rows in ${R[$name.seconds]} s = ${R[$name.rate]} rows/s (wall ${R[$name.wall]} s, peak RSS $((R[$name.rss_kib] / 1024)) MiB)"
}

# copy_limit NAME FROM: COPY FROM's recorded rows (same columns, same payload text)
# into a fresh database, one COPY per table, timed from psql's start to its exit.
copy_limit() {
    local name=$1 from=$2 db="bench_copy_$1" t total=0 t0 t1
    local -A cols
    fresh_db "$db"
    for t in ${R[$from.tables]}; do
        # Every column the recorder writes (ingested_at is the table's default).
        cols[$t]=$(q "$from_db" "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'execution' AND table_name = '$t' AND column_name <> 'ingested_at'")
        q "$from_db" "\\copy (SELECT ${cols[$t]} FROM execution.$t ORDER BY kafka_partition, kafka_offset) TO '$work/$t.copy'"
    done
    t0=$(now)
    for t in ${R[$from.tables]}; do
        q "$db" "\\copy execution.$t (${cols[$t]}) FROM '$work/$t.copy'"
        total=$((total + $(count_rows "$db" "$t")))
    done
    t1=$(now)
    R[$name.rows]=$total
    R[$name.seconds]=$(span "$t0" "$t1")
    R[$name.rate]=$(rate "$total" "${R[$name.seconds]}")
    say "$name: COPY of $total rows in ${R[$name.seconds]} s = ${R[$name.rate]} rows/s"
}

NONE=(--topic-orders '' --topic-events '' --topic-managers '')
e2e json "trades:$work/trades.json.bin" -- "${NONE[@]}"
from_db=bench_json copy_limit copy_json json
e2e avro "trades:$work/trades.avro.bin" -- "${NONE[@]}" --registry "$root/schemas/registry.map"
e2e mixed "orders:$work/orders.bin" "order-events:$work/events.bin" "trades:$work/trades.mixed.bin" -- --topic-managers ''
from_db=bench_mixed copy_limit copy_mixed mixed
e2e small "trades:$work/trades.small.bin" -- "${NONE[@]}"

say "decode + normalise, one core"
read -r _ _ R[decode.json] < <(taskset -c 0 "$tool" decode trade "$work/trades.small.bin" "" 5)
read -r _ _ R[decode.avro] < <(taskset -c 0 "$tool" decode trade "$work/trades.avro.small.bin" "$root/schemas/registry.map" 5)

say "latency: $RATE trades/s for $SECONDS_LAT s, default settings"
start_broker
fresh_db bench_latency
"$bin" run --brokers "$BROKER" --dsn "dbname=bench_latency" -X session.timeout.ms=6000 "${NONE[@]}" 2>"$work/latency.log" &
rec_pid=$!
pids+=("$rec_pid")
for _ in $(seq 600); do grep -q ' assigned ' "$work/latency.log" && break; sleep 0.1; done
grep -q ' assigned ' "$work/latency.log" || die "latency: no assignment"
"$tool" produce "$BROKER" trades "$work/trades.paced.bin" "$RATE" >/dev/null || die "paced produce"
want=$((RATE * SECONDS_LAT))
for _ in $(seq 600); do [ "$(count_rows bench_latency tradests)" -ge "$want" ] && break; sleep 0.1; done
kill -TERM "$rec_pid"; wait "$rec_pid" || die "latency: recorder exit status $?"
stop_broker
read -r R[latency.p50_ms] R[latency.p99_ms] R[latency.max_ms] R[latency.rows] < <(q bench_latency "
    WITH l AS (SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - kafka_timestamp) * 1000 AS ms
               FROM execution.tradests)
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
           round(max(ms)::numeric, 1), count(*) FROM l" | tr '|' ' ')
[ "${R[latency.rows]}" -eq "$want" ] || die "latency: ${R[latency.rows]} rows, expected $want"

# ---- report ------------------------------------------------------------------------
results=$root/$build/results.json
for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done >"$work/figures.tsv"
python3 - "$results" "$N" "$RATE" "$PARTS" "$work/figures.tsv" <<'PY'
import json, os, platform, subprocess, sys
out, n, rate, parts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = {}
for line in open(sys.argv[5]):
    k, v = line.rstrip("\n").split("\t")
    try:
        v = float(v) if "." in v else int(v)
    except ValueError:
        pass
    r[k] = v
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
res = {
    "machine": {"cpu": cpu(), "cores": os.cpu_count(),
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "kernel": platform.release(),
                "postgresql": subprocess.run(["psql", "-X", "-t", "-A", "-d", "postgres", "-c", "SHOW server_version"],
                                             capture_output=True, text=True).stdout.strip()},
    "n": n, "partitions": parts,
    "copy_json_trades": {"rows": r["copy_json.rows"], "seconds": r["copy_json.seconds"], "rows_per_s": r["copy_json.rate"]},
    "execrec_json_trades": {"rows": r["json.rows"], "seconds": r["json.seconds"], "rows_per_s": r["json.rate"],
                            "wall_s": r["json.wall"], "ratio_to_copy": round(r["json.rate"] / r["copy_json.rate"], 3)},
    "execrec_avro_trades": {"rows": r["avro.rows"], "seconds": r["avro.seconds"], "rows_per_s": r["avro.rate"],
                            "wall_s": r["avro.wall"], "ratio_to_copy": round(r["avro.rate"] / r["copy_json.rate"], 3)},
    "copy_mixed": {"rows": r["copy_mixed.rows"], "seconds": r["copy_mixed.seconds"], "rows_per_s": r["copy_mixed.rate"]},
    "execrec_mixed": {"rows": r["mixed.rows"], "seconds": r["mixed.seconds"], "rows_per_s": r["mixed.rate"],
                      "wall_s": r["mixed.wall"], "ratio_to_copy": round(r["mixed.rate"] / r["copy_mixed.rate"], 3)},
    "decode_normalise_per_s_one_core": {"json_trade": r["decode.json"], "avro_trade": r["decode.avro"]},
    "latency_ms_at_rate": {"rate_per_s": rate, "rows": r["latency.rows"], "p50": r["latency.p50_ms"],
                           "p99": r["latency.p99_ms"], "max": r["latency.max_ms"]},
    "peak_rss_mib": {"100k": round(r["small.rss_kib"] / 1024, 1), "%dk" % (n // 1000): round(r["json.rss_kib"] / 1024, 1),
                     "growth": round(r["json.rss_kib"] / r["small.rss_kib"] - 1, 3)},
}
json.dump(res, open(out, "w"), indent=2)
rows = [
    ("COPY, trades (the limit)", res["copy_json_trades"]["rows_per_s"], ""),
    ("execrec run, JSON trades", res["execrec_json_trades"]["rows_per_s"], "%.2f x COPY" % res["execrec_json_trades"]["ratio_to_copy"]),
    ("execrec run, Avro trades", res["execrec_avro_trades"]["rows_per_s"], "%.2f x COPY" % res["execrec_avro_trades"]["ratio_to_copy"]),
    ("COPY, orders+events+trades", res["copy_mixed"]["rows_per_s"], ""),
    ("execrec run, orders+events+trades", res["execrec_mixed"]["rows_per_s"], "%.2f x COPY" % res["execrec_mixed"]["ratio_to_copy"]),
    ("decode+normalise JSON trade, 1 core", r["decode.json"], "msg/s"),
    ("decode+normalise Avro trade, 1 core", r["decode.avro"], "msg/s"),
]
print("\n%-38s %12s  %s" % ("rows per second (N=%d)" % n, "rate", ""))
for name, v, note in rows:
    print("%-38s %12.0f  %s" % (name, v, note))
l = res["latency_ms_at_rate"]
print("latency at %d msg/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d rows)" % (rate, l["p50"], l["p99"], l["max"], l["rows"]))
m = res["peak_rss_mib"]
print("peak RSS: %.1f MiB at 100k, %.1f MiB at %dk (%+.1f%%)" % (m["100k"], m["%dk" % (n // 1000)], n // 1000, 100 * m["growth"]))
print("results: %s" % out)
PY
