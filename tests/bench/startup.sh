#!/usr/bin/env bash
# Where the time before the first row goes in `execrec run --exit-at-end` against the
# embedded broker (docs/performance.md, "Start-up"). Not part of the test run: timings
# are printed, never asserted.
#
#     bash tests/bench/startup.sh [--runs N] [--partitions P] [--messages M] [--bin PATH]
#                                 [-- RUN ARGS...]
#
# One `execrec broker` with the four topics of P partitions each (default 32: 128
# partitions), M trades (default 2000) spread over the trades topic, one database
# migrated beforehand. Then N times (default 5) each of:
#   cold     a group the broker has never seen (its first join), nothing stored yet
#   restart  the same group again right after `cold` left it, everything stored, nothing
#            new: what a second run of a demo or a test pays
# (each run's group is its own, so runs do not wait for one another). Every run is
# `execrec run --exit-at-end --log-level debug -X debug=cgrp -X session.timeout.ms=6000`
# (the tests' session timeout) plus RUN ARGS, and its phases are read from its log:
#   connect    process start -> "connected to PostgreSQL"
#   subscribe  -> "subscribed" (migrations check, Kafka client, topics check)
#   coord      -> "Joining group" (the group coordinator found, JoinGroup sent)
#   join       -> the JoinGroup response (the broker's wait before it answers)
#   assign     -> the last "assigned" line (SyncGroup, stored offsets, Kafka's committed
#                 offsets, watermarks of every partition)
#   first      -> the first "batch committed" line (first fetch, decode, first commit)
#   end        -> "every assigned partition reached the end"
#   exit       -> the process has exited (close: revoke, leave the group)
# and the medians (ms) are printed, with the librdkafka round-trip times of the
# JoinGroup. PostgreSQL: the server given by PG* when PGHOST is set, else a throwaway
# one (deploy/pg.sh). Builds build/release when --bin is not given.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
RUNS=5
PARTS=32
MSGS=2000
bin=
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --messages) MSGS=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "startup.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
for v in "$RUNS" "$PARTS" "$MSGS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "startup.sh: --runs, --partitions, --messages take positive integers (--help)" >&2; exit 2; }
done
XTRA=("$@")
if [ -z "$bin" ]; then
    cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build/release -j2 --target execrec >/dev/null
    bin=$root/build/release/execrec
fi
[ -x "$bin" ] || { echo "startup.sh: no executable $bin" >&2; exit 2; }

work=$(mktemp -d /tmp/execrec-startup.XXXXXX)
pgdir=
broker_pid=
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    [ -n "$pgdir" ] && bash "$root/deploy/pg.sh" destroy "$pgdir" >/dev/null 2>&1
    [ -n "${db:-}" ] && [ -z "$pgdir" ] && psql -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "startup: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

if [ -z "${PGHOST:-}" ]; then
    pgdir=$(mktemp -d /tmp/execrec-startup-pg.XXXXXX)
    eval "$(bash deploy/pg.sh start "$pgdir")"
fi
db=execrec_startup_$$
psql -X -q -c "CREATE DATABASE $db" postgres || die "cannot create database $db"
"$bin" migrate --dsn "dbname=$db" >/dev/null 2>&1 || die "execrec migrate"

"$bin" broker --partitions "$PARTS" --address-file "$work/broker.addr" >/dev/null 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 300); do grep -qE ':[0-9]+$' "$work/broker.addr" 2>/dev/null && break; sleep 0.1; done
BROKER=$(head -1 "$work/broker.addr") || die "no broker address"
python3 tests/data/run/gen_trades.py S 0 "$MSGS" >"$work/trades.txt"
kcat -P -b "$BROKER" -t trades -K '|' -l "$work/trades.txt" 2>"$work/kcat.log" || die "kcat: $(cat "$work/kcat.log")"
say "broker at $BROKER: 4 topics x $PARTS partitions, $MSGS trades; $RUNS runs of each case"

ms_now() { date +%s%3N; }
# ms_at PATTERN LOG [last]: epoch ms of the first (or last) log line matching PATTERN.
ms_at() {
    local ts
    if [ "${3:-}" == last ]; then ts=$(grep -E "$1" "$2" | tail -1 | cut -d' ' -f1)
    else ts=$(grep -m1 -E "$1" "$2" | cut -d' ' -f1); fi
    [ -n "$ts" ] || { echo -1; return; }
    date -d "$ts" +%s%3N
}

phases=(connect subscribe coord join assign first end exit)
# run CASE GROUP I: one run; appends "CASE phase ms" lines to $work/figures.
run() {
    local name=$1 group=$2 i=$3 log="$work/$1.$3.log" t0 t1 rc
    t0=$(ms_now)
    rc=0
    "$bin" run --brokers "$BROKER" --dsn "dbname=$db" --group "$group" --exit-at-end --log-level debug \
        -X debug=cgrp -X session.timeout.ms=6000 --stats-interval-ms 0 "${XTRA[@]}" >/dev/null 2>"$log" || rc=$?
    t1=$(ms_now)
    [ "$rc" -eq 0 ] || { tail -20 "$log" >&2; die "$name run $i: exit $rc"; }
    local -a at=(
        "$(ms_at 'connected to PostgreSQL' "$log")"
        "$(ms_at ' subscribed to ' "$log")"
        "$(ms_at 'Joining group' "$log")"
        "$(ms_at 'JoinGroup response' "$log")"
        "$(ms_at 'INFO  assigned ' "$log" last)"
        "$(ms_at 'batch committed' "$log")"
        "$(ms_at 'reached the end' "$log")"
        "$t1")
    local prev=$t0 k
    for k in "${!phases[@]}"; do
        if [ "${at[$k]}" -lt 0 ]; then
            echo "$name ${phases[$k]} n/a" >>"$work/figures"
            continue
        fi
        echo "$name ${phases[$k]} $((at[k] - prev))" >>"$work/figures"
        prev=${at[$k]}
    done
    echo "$name total $((t1 - t0))" >>"$work/figures"
}

for i in $(seq "$RUNS"); do
    run cold "startup-$i" "$i"
    run restart "startup-$i" "$i"
    say "run $i: cold $(grep -c . "$work/cold.$i.log") log lines, restart done"
done

python3 - "$work/figures" "$RUNS" "$PARTS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
order = ["connect", "subscribe", "coord", "join", "assign", "first", "end", "exit", "total"]
print("execrec run --exit-at-end, 4 topics x %s partitions: median (min-max) ms over %s runs"
      % (sys.argv[3], sys.argv[2]))
print("%-14s %22s %22s" % ("phase", "cold (first join)", "restart (same group)"))
for ph in order:
    cells = []
    for case in ("cold", "restart"):
        v = [float(r[2]) for r in rows if r[0] == case and r[1] == ph and r[2] != "n/a"]
        cells.append("%.0f (%.0f-%.0f)" % (statistics.median(v), min(v), max(v)) if v else "n/a")
    print("%-14s %22s %22s" % (ph, cells[0], cells[1]))
PY
