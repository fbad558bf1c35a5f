#!/usr/bin/env bash
# The benchmark: execrec against its limits and its peers, in one run (not part of the
# test run; speed is printed, never asserted). One command from a fresh clone:
#
#     bash tests/bench/run.sh [options] [N]
#
#   -n, --trades N         trades per run (default 300000; a positional N is the same)
#   -p, --partitions P     partitions per topic (default 32; each must stay well under
#                          the embedded broker's 5 MiB: 300k trades of ~340 bytes over
#                          32 partitions is ~3.2 MB each)
#   --rss SMALL,LARGE      the two stream lengths of the peak-RSS runs (default
#                          250000,1000000; their partitions are computed so that each
#                          holds at most ~4 MB)
#   --rate R               messages per second of the latency run (default 5000)
#   --latency-seconds S    length of the latency run (default 20)
#   --quick                small sizes for a smoke test, ~2 minutes: -n 30000 -p 16
#                          --rss 50000,200000 --latency-seconds 5 (figures are noisy)
#   -h, --help             this text
#   Environment: EXECREC_BENCH_X (extra -X for every execrec run),
#   EXECREC_BENCH_PYTHON (the Python peer's interpreter, default /usr/bin/python3:
#   Debian's python3-confluent-kafka and python3-psycopg2 live there).
#
# In one run, on one throwaway PostgreSQL server (deploy/pg.sh) and the embedded broker:
#   COPY 1/2/4   the rows the JSON run recorded (same columns, same payload text) copied
#                into a fresh database with the same tables and indexes by 1, 2 and 4
#                concurrent psql \copy sessions (rows split by Kafka partition): the limits
#   execrec      `execrec run --exit-at-end` over N JSON trades, N Avro trades, and N/3
#                each of orders, order events and trades (against COPY of those rows);
#                steady = first partition assignment (its log line) to the commit time of
#                the last batch (pg_xact_commit_timestamp); wall = process start to exit
#   writers      the JSON run with --writers 1, 2 and 4 (n/a if the binary lacks it)
#   Python peer  tests/bench/peer_python.py on the same topic (confluent-kafka consumer,
#                psycopg2 execute_values, a commit per batch, ON CONFLICT DO NOTHING)
#   kcat | psql  tests/bench/peer_kcat.sh on the same topic (staging table + INSERT)
#   WAL          bytes of WAL per row (pg_current_wal_insert_lsn before and after)
#   CPU          per row: the client process (getrusage of the child: utime + stime) and
#                PostgreSQL (every server process, /proc/<postmaster>/stat: its own and
#                its reaped children's time, plus each live child's, before and after)
#   decode       decode + normalise alone, one core (bench_tool decode)
#   latency      a recorder with default settings while trades arrive at R msg/s: commit
#                time of each row (track_commit_timestamp) minus its Kafka timestamp
#   memory       peak RSS of the recorder at the two --rss lengths
# It checks that the peers and every writer count stored the same rows as execrec's
# JSON run (count and a digest of every column but ingested_at), prints one table and
# a summary against the targets of issue 14 (met / not met), and writes every figure
# to build/bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }
N=300000 PARTS=32 RSS_SMALL=250000 RSS_LARGE=1000000 RATE=5000 SECONDS_LAT=20 QUICK=0
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    -n | --trades) N=${2:?}; shift ;;
    -p | --partitions) PARTS=${2:?}; shift ;;
    --rss) RSS_SMALL=${2%%,*} RSS_LARGE=${2#*,}; shift ;;
    --rate) RATE=${2:?}; shift ;;
    --latency-seconds) SECONDS_LAT=${2:?}; shift ;;
    --quick) QUICK=1 N=30000 PARTS=16 RSS_SMALL=50000 RSS_LARGE=200000 SECONDS_LAT=5 ;;
    [0-9]*) N=$1 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done
for v in "$N" "$PARTS" "$RSS_SMALL" "$RSS_LARGE" "$RATE" "$SECONDS_LAT"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: not a positive integer: '$v'" >&2; usage >&2; exit 2; }
done
[ "$N" -ge 3000 ] || { echo "run.sh: N must be at least 3000" >&2; exit 2; }
# ~340 bytes a message on the broker; at most ~4 MB a partition (the mock keeps 5 MiB).
RSS_PARTS=$(((RSS_LARGE * 340 + 4000000 - 1) / 4000000))
[ "$RSS_PARTS" -ge "$PARTS" ] || RSS_PARTS=$PARTS
[ $((N * 340 / PARTS)) -le 4000000 ] || { echo "run.sh: $N trades need more than $PARTS partitions (at most ~4 MB each)" >&2; exit 2; }
PY=${EXECREC_BENCH_PYTHON:-/usr/bin/python3}
read -r -a XTRA <<<"${EXECREC_BENCH_X:-}"

bash deploy/setup.sh
"$PY" -c 'import confluent_kafka, psycopg2' || { echo "run.sh: $PY lacks confluent_kafka or psycopg2 (python3-confluent-kafka, python3-psycopg2)" >&2; exit 1; }
command -v kcat >/dev/null || { echo "run.sh: kcat is missing" >&2; exit 1; }
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
started=$(date +%s)

eval "$(bash deploy/pg.sh start "$pgdir")"
# Commit times are what the latency and the recording window are measured by.
# autovacuum off: one run's ANALYZE of its fresh table would land in the next run's
# CPU and time (every run writes a fresh database; no run updates or deletes).
printf 'track_commit_timestamp = on\nautovacuum = off\n' >>"$pgdir/data/postgresql.conf"
bash deploy/pg.sh restart "$pgdir"
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
now() { date +%s.%N; }
fresh_db() { q postgres "CREATE DATABASE $1" && "$bin" migrate --dsn "dbname=$1" >/dev/null 2>&1; }
calc() { python3 -c "import sys; print(eval(sys.argv[1]))" "$1"; }

# pg_cpu: CPU seconds PostgreSQL has used so far, every process of the server: the
# postmaster's own and its reaped children's (cutime, cstime: backends that exited)
# plus each live child's utime + stime. A difference of two readings is the server's
# CPU in between (backends that exit in between are counted once, in cutime).
pg_cpu() {
    python3 - "$pgdir/data/postmaster.pid" <<'PY'
import os, sys
pm = int(open(sys.argv[1]).readline())
def stat(pid):
    s = open("/proc/%d/stat" % pid).read()
    f = s[s.rindex(")") + 2:].split()  # f[0] is field 3 (state)
    return int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])
_, own, reaped = stat(pm)
total = own + reaped
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            ppid, t, _ = stat(int(d))
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pm:
            total += t
print("%.2f" % (total / os.sysconf("SC_CLK_TCK")))
PY
}

# measure NAME CMD...: runs CMD (stdout NAME.out, stderr NAME.log) and writes NAME.wall
# (seconds), NAME.rss (peak KiB), NAME.cpu (client CPU seconds: the command and every
# process it waited for), NAME.pgcpu (PostgreSQL's CPU seconds meanwhile) and NAME.wal
# (bytes of WAL the server wrote meanwhile).
measure() {
    local name=$1 rc=0 before lsn
    shift
    lsn=$(q postgres "SELECT pg_current_wal_insert_lsn()")
    before=$(pg_cpu)
    python3 - "$work/$name" "$@" <<'PY' >"$work/$name.out" 2>"$work/$name.log" || rc=$?
import resource, subprocess, sys, time
out = sys.argv[1]
t = time.time()
rc = subprocess.call(sys.argv[2:])
open(out + ".wall", "w").write("%.3f\n" % (time.time() - t))
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(out + ".rss", "w").write("%d\n" % u.ru_maxrss)
open(out + ".cpu", "w").write("%.3f\n" % (u.ru_utime + u.ru_stime))
sys.exit(rc)
PY
    sleep 0.3 # the server reaps the exited backends
    calc "round($(pg_cpu) - $before, 2)" >"$work/$name.pgcpu"
    q postgres "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn')::bigint" >"$work/$name.wal"
    return $rc
}

say "generating $N trades (JSON and Avro), $((N / 3)) orders, events and trades, $((RATE * SECONDS_LAT)) paced trades, $RSS_SMALL and $RSS_LARGE trades for memory"
gen() { python3 tests/bench/gen.py "$@"; }
gen trades-json "$N" "$work/trades.json.bin"
gen trades-avro "$N" "$work/trades.avro.bin"
gen trades-avro 100000 "$work/trades.avro.small.bin"
gen orders-json $((N / 3)) "$work/orders.bin"
gen events-json $((N / 3)) "$work/events.bin"
gen trades-json $((N / 3)) "$work/trades.mixed.bin"
gen trades-json $((RATE * SECONDS_LAT)) "$work/trades.paced.bin"
gen trades-json "$RSS_SMALL" "$work/trades.rss_small.bin"
gen trades-json "$RSS_LARGE" "$work/trades.rss_large.bin"

# --writers exists once parallel writers are merged; without it those figures are n/a.
WRITERS_OK=0
run_help=$("$bin" run --help 2>&1 || true)
grep -q -- '--writers' <<<"$run_help" && WRITERS_OK=1

# start_broker [PARTITIONS]: a fresh embedded broker with the four topics.
start_broker() {
    rm -f "$work/broker.addr"
    "$bin" broker --partitions "${1:-$PARTS}" --address-file "$work/broker.addr" >/dev/null 2>"$work/broker.log" &
    broker_pid=$!
    pids+=("$broker_pid")
    for _ in $(seq 300); do grep -qE ':[0-9]+$' "$work/broker.addr" 2>/dev/null && break; sleep 0.1; done
    BROKER=$(head -1 "$work/broker.addr") || die "no broker address"
}
stop_broker() { kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; }
produce() { "$tool" produce "$BROKER" "$1" "$2" >/dev/null || die "produce $2"; }

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
# rows_digest DB: every stored column of TradesTS but ingested_at, as one md5.
TRADE_COLS="trade_id, order_id, quantity, price, trade_time, account_uid, asset, side, fee, fee_currency, liquidity, venue, raw_payload, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, kafka_key"
rows_digest() {
    q "$1" "SELECT md5(string_agg(md5(t::text), '' ORDER BY trade_id, trade_time)) FROM (SELECT $TRADE_COLS FROM execution.tradests) t"
}

declare -A R
# figures NAME DB ROWS T0 T1: the rates of a finished run from its measure files.
figures() {
    local name=$1 db=$2 rows=$3 t0=$4 t1=$5
    R[$name.rows]=$rows
    R[$name.steady_s]=$(calc "round($t1 - $t0, 3)")
    R[$name.wall_s]=$(cat "$work/$name.wall")
    R[$name.rss_kib]=$(cat "$work/$name.rss")
    R[$name.client_cpu_s]=$(cat "$work/$name.cpu")
    R[$name.pg_cpu_s]=$(cat "$work/$name.pgcpu")
    R[$name.wal_bytes]=$(cat "$work/$name.wal")
    say "$name: $rows rows, steady ${R[$name.steady_s]} s, wall ${R[$name.wall_s]} s, client CPU ${R[$name.client_cpu_s]} s, PostgreSQL CPU ${R[$name.pg_cpu_s]} s, peak RSS $((R[$name.rss_kib] / 1024)) MiB"
}

# record NAME EXPECTED [RUN ARGS]: execrec run --exit-at-end into a fresh database
# bench_NAME, consumer group bench-NAME, from the broker as it is.
record() {
    local name=$1 want=$2 db="bench_$1" total=0 tables=() t c
    shift 2
    fresh_db "$db"
    say "$name: execrec run $*"
    measure "$name" "$bin" run --brokers "$BROKER" --dsn "dbname=$db" --group "bench-$name" --exit-at-end \
        --stats-interval-ms 0 -X session.timeout.ms=6000 "${XTRA[@]}" "$@" ||
        { tail -20 "$work/$name.log" >&2; die "$name: execrec run failed"; }
    for t in ordersts ordereventsts tradests; do
        c=$(count_rows "$db" "$t")
        [ "$c" -gt 0 ] && { total=$((total + c)); tables+=("$t"); }
    done
    [ "$total" -eq "$want" ] || die "$name: $total rows, expected $want (a partition past the broker's retention?)"
    R[$name.tables]="${tables[*]}"
    figures "$name" "$db" "$total" "$(first_assigned "$name")" "$(last_commit "$db" "${tables[@]}")"
}

# copy_limit NAME FROM_DB TABLES CONNS: the rows of FROM_DB (same columns, same payload
# text) into a fresh database by CONNS concurrent psql \copy sessions, session i taking
# the Kafka partitions p with p % CONNS = i of every table; timed from the first
# session's start to the last one's exit.
copy_limit() {
    local name=$1 from=$2 tables=$3 conns=$4 db="bench_$1" t i total=0
    local -A cols
    fresh_db "$db"
    for t in $tables; do
        # Every column the recorder writes (ingested_at is the table's default).
        cols[$t]=$(q "$from" "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'execution' AND table_name = '$t' AND column_name <> 'ingested_at'")
        for i in $(seq 0 $((conns - 1))); do
            q "$from" "\\copy (SELECT ${cols[$t]} FROM execution.$t WHERE kafka_partition % $conns = $i ORDER BY kafka_partition, kafka_offset) TO '$work/$name.$t.$i.copy'"
        done
    done
    {
        echo 'set -e'
        for i in $(seq 0 $((conns - 1))); do
            echo "{ $(for t in $tables; do printf 'psql -X -q -v ON_ERROR_STOP=1 -d %s -c "\\\\copy execution.%s (%s) FROM %s"; ' "$db" "$t" "${cols[$t]}" "'$work/$name.$t.$i.copy'"; done) } &"
        done
        echo 'for j in $(jobs -p); do wait $j; done'
    } >"$work/$name.sh"
    say "$name: COPY by $conns connection(s)"
    measure "$name" bash "$work/$name.sh" || { cat "$work/$name.log" >&2; die "$name: COPY failed"; }
    for t in $tables; do total=$((total + $(count_rows "$db" "$t"))); done
    figures "$name" "$db" "$total" 0 "$(cat "$work/$name.wall")"
    rm -f "$work/$name".*.copy
}

# same_rows NAME DB: DB's TradesTS holds exactly the rows of the JSON run.
same_rows() {
    local d1 d2 s1 s2
    d1=$(rows_digest bench_json) d2=$(rows_digest "$2")
    s1=$(q bench_json "SELECT quantity || ' ' || price FROM execution.tradests WHERE trade_id = 'TR-000000007'")
    s2=$(q "$2" "SELECT quantity || ' ' || price FROM execution.tradests WHERE trade_id = 'TR-000000007'")
    [ "$d1" = "$d2" ] && [ "$s1" = "$s2" ] ||
        die "$1 stored other rows than execrec's JSON run (digest $d2 vs $d1; TR-000000007 quantity, price: '$s2' vs '$s1')"
    say "$1: the same ${R[$1.rows]} rows as execrec's JSON run (TR-000000007: $s2)"
}

NONE=(--topic-orders '' --topic-events '' --topic-managers '')

# ---- JSON trades: one topic, every consumer reads it from the beginning -------------
start_broker
produce trades "$work/trades.json.bin"
record json "$N" "${NONE[@]}"
if [ "$WRITERS_OK" -eq 1 ]; then
    for w in 1 2 4; do
        record "w$w" "$N" "${NONE[@]}" --writers "$w"
        same_rows "w$w" "bench_w$w"
    done
fi

say "python: tests/bench/peer_python.py"
fresh_db bench_python
measure python "$PY" tests/bench/peer_python.py --brokers "$BROKER" --dsn "dbname=bench_python" \
    --topic trades --group bench-python -X session.timeout.ms=6000 \
    -X fetch.wait.max.ms=50 -X queued.max.messages.kbytes=16384 -X fetch.max.bytes=8388608 ||
    { tail -20 "$work/python.log" >&2; die "python peer failed"; }
read -r _ prows _ passigned _ <"$work/python.out"
[ "$prows" -eq "$N" ] || die "python peer: $prows rows, expected $N"
figures python bench_python "$prows" "$passigned" "$(last_commit bench_python tradests)"
same_rows python bench_python

say "kcat: tests/bench/peer_kcat.sh"
fresh_db bench_kcat
measure kcat bash tests/bench/peer_kcat.sh "$BROKER" trades bench_kcat fetch.wait.max.ms=50 ||
    { tail -20 "$work/kcat.log" >&2; die "kcat | psql failed"; }
krows=$(tail -1 "$work/kcat.out")
[ "$krows" -eq "$N" ] || die "kcat | psql: $krows rows, expected $N"
figures kcat bench_kcat "$krows" 0 "$(cat "$work/kcat.wall")"
same_rows kcat bench_kcat
stop_broker

for c in 1 2 4; do copy_limit "copy$c" bench_json tradests "$c"; done

# ---- Avro trades, and the mixed stream ----------------------------------------------
start_broker
produce trades "$work/trades.avro.bin"
record avro "$N" "${NONE[@]}" --registry "$root/schemas/registry.map"
stop_broker

start_broker
produce orders "$work/orders.bin"
produce order-events "$work/events.bin"
produce trades "$work/trades.mixed.bin"
record mixed $((N / 3 * 3)) --topic-managers ''
stop_broker
for c in 1 2 4; do copy_limit "mcopy$c" bench_mixed "${R[mixed.tables]}" "$c"; done

# ---- memory at two lengths, the same partitions -------------------------------------
for s in rss_small rss_large; do
    start_broker "$RSS_PARTS"
    produce trades "$work/trades.$s.bin"
    if [ $s = rss_small ]; then want=$RSS_SMALL; else want=$RSS_LARGE; fi
    record "$s" "$want" "${NONE[@]}"
    stop_broker
done

say "decode + normalise, one core"
read -r _ _ R[decode.json] < <(taskset -c 0 "$tool" decode trade "$work/trades.json.bin" "" 5)
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

# ---- report -------------------------------------------------------------------------
R[run.seconds]=$(($(date +%s) - started))
results=$root/$build/results.json
for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done >"$work/figures.tsv"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+changes"
python3 tests/bench/report.py "$results" "$work/figures.tsv" n="$N" partitions="$PARTS" \
    rss_partitions="$RSS_PARTS" rate="$RATE" latency_seconds="$SECONDS_LAT" quick="$QUICK" \
    writers_ok="$WRITERS_OK" commit="$commit" \
    rss_small="$RSS_SMALL" rss_large="$RSS_LARGE"
