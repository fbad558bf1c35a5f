#!/usr/bin/env bash
# Soak (issue 15, item 3; not part of the test run: figures are printed, never
# asserted). One recorder records a long stream that is produced while it is
# consumed, and its memory, descriptors and PostgreSQL connections are sampled every
# second:
#
#     bash tests/bench/soak.sh [--messages N] [--rate R] [--partitions P]
#                              [--max-backlog B] [--writers W] [--quick] [--keep]
#
#   --messages N    messages in the stream, default 3000000: trades, orders and
#                   order events (3:1:1), unique natural keys, ~300-400 bytes each
#   --rate R        messages per second produced, default 20000 (at most: see
#                   --max-backlog)
#   --partitions P  partitions per topic of the embedded broker, default 32
#   --max-backlog B the producers wait while B messages are not yet recorded,
#                   default 200000 (about 1.3 MiB per trades partition, far from the
#                   broker's 5 MiB: retention is never the limit, on a busy machine
#                   the stream only takes longer)
#   --writers W     execrec run --writers W, when the binary has it (else n/a)
#   --quick         --messages 200000 (about half a minute: a check that it works)
#   --keep          keep the scratch directory (samples.tsv, logs)
#
# Starts a throwaway PostgreSQL server (deploy/pg.sh), builds the Release binary,
# starts `execrec broker`, the producers (`execrec publish`, one per kind, fed by
# tests/bench/gen.py's messages: the first 5 % at once, a backlog, then at the
# given rate), then `execrec run` (default settings) once the backlog is produced.
# Every second it samples the recorder's /proc/PID/status (VmRSS, VmHWM),
# /proc/PID/fd (descriptors), its sessions in pg_stat_activity and the stored
# offsets (progress). When every message is recorded it stops the
# recorder with SIGTERM, checks that each message is exactly one row, and prints:
#   memory flat     the peak RSS (VmHWM) at 100 % of the stream is within 10 % of the
#                   VmHWM at 10 %, and the RSS has no upward trend from 10 % on
#   descriptors     no more open descriptors in the second half of the stream
#                   than from 10 % to 50 %
#   connections     the same for the recorder's PostgreSQL sessions
# each as met / not met, with the figures. docs/performance.md, "Soak", records a run.
set -euo pipefail
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
MESSAGES=3000000
RATE=20000
PARTS=32
MAX_BACKLOG=200000
WRITERS=""
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
    --messages) MESSAGES=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --partitions) PARTS=${2:?}; shift 2 ;;
    --max-backlog) MAX_BACKLOG=${2:?}; shift 2 ;;
    --writers) WRITERS=${2:?}; shift 2 ;;
    --quick) MESSAGES=200000; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
for v in "$MESSAGES" "$RATE" "$PARTS" "$MAX_BACKLOG" ${WRITERS:+"$WRITERS"}; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
done
[ "$MESSAGES" -ge 1000 ] || { echo "soak: --messages must be at least 1000" >&2; exit 2; }
BACKLOG=$((MESSAGES / 20 < MAX_BACKLOG ? MESSAGES / 20 : MAX_BACKLOG))

cd "$(dirname "$0")/../.."
root=$PWD
build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
bin=$root/$build/execrec
# Debian's python3 (a python3 earlier on PATH may lack the distribution's modules).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

writers_arg=()
writers_note="n/a (this execrec has no --writers)"
if "$bin" run --help | grep -q -- --writers; then
    writers_note="default"
    if [ -n "$WRITERS" ]; then
        writers_arg=(--writers "$WRITERS")
        writers_note=$WRITERS
    fi
fi

work=$(mktemp -d /tmp/execrec-soak.XXXXXX)
pgdir=$(mktemp -d /tmp/execrec-soak-pg.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    bash "$root/deploy/pg.sh" destroy "$pgdir" >/dev/null 2>&1 || true
    if [ -n "$KEEP" ]; then echo "soak: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
say() { echo "soak: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

eval "$(bash deploy/pg.sh start "$pgdir")"
db=soak
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
psql -X -q -d postgres -c "CREATE DATABASE $db"
"$bin" migrate --dsn "dbname=$db" >/dev/null 2>&1 || die "migrate"

"$bin" broker --partitions "$PARTS" --topic-managers '' --address-file "$work/broker.addr" \
    >/dev/null 2>"$work/broker.log" &
pids+=($!)
for _ in $(seq 300); do grep -qE ':[0-9]+$' "$work/broker.addr" 2>/dev/null && break; sleep 0.1; done
BROKER=$(head -1 "$work/broker.addr") || die "no broker address"

# The producers: one `execrec publish` per kind, fed at RATE messages per second in
# total, trades:orders:events = 3:1:1 (ids from 0 up, so every natural key is new);
# the first BACKLOG messages as fast as they go, before the recorder starts.
"$py" - "$MESSAGES" "$RATE" "$work" "$bin" "$BROKER" "$BACKLOG" "$MAX_BACKLOG" >"$work/producer.log" 2>&1 <<'PY' &
import os, subprocess, sys, time
sys.path.insert(0, "tests/bench")
import gen
total, rate, work, binary, broker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
backlog, max_backlog = int(sys.argv[6]), int(sys.argv[7])
def recorded():
    try:
        return int(open(os.path.join(work, "recorded")).read())
    except (OSError, ValueError):
        return 0
throttled = 0.0
pubs = {k: subprocess.Popen([binary, "publish", "--brokers", broker, "--kind", k],
                            stdin=subprocess.PIPE, stderr=open(os.path.join(work, "publish_%s.log" % k), "w"))
        for k in ("trade", "order", "order_event")}
make = {"trade": gen.trade_json, "order": gen.order_json, "order_event": gen.event_json}
counts = {"trade": 0, "order": 0, "order_event": 0}
t0 = start = time.monotonic()
chunk = max(1, rate // 100)  # written every 10 ms
sent = 0
while sent < total:
    # Never more than max_backlog messages ahead of the recorder: the broker keeps
    # only 5 MiB per partition, and a recorder slowed down (a busy machine) must
    # not find its messages gone. Then the rate goes on from where it is.
    if sent > backlog and sent - recorded() > max_backlog:
        w = time.monotonic()
        while sent - recorded() > max_backlog:
            time.sleep(0.05)
        throttled += time.monotonic() - w
        t0 = time.monotonic() - (sent - backlog) / rate
    lines = {"trade": [], "order": [], "order_event": []}
    for i in range(min(chunk, total - sent)):
        k = ("trade", "trade", "trade", "order", "order_event")[(sent + i) % 5]
        lines[k].append(make[k](counts[k]))
        counts[k] += 1
    for k, ls in lines.items():
        if ls:
            pubs[k].stdin.write(("\n".join(ls) + "\n").encode())
    sent += min(chunk, total - sent)
    with open(os.path.join(work, "produced.tmp"), "w") as f:
        f.write("%d\n" % sent)
    os.replace(os.path.join(work, "produced.tmp"), os.path.join(work, "produced"))
    if sent <= backlog:  # the backlog as fast as it goes, then RATE from there
        t0 = time.monotonic() - (sent - backlog) / rate
    ahead = t0 + (sent - backlog) / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
rc = 0
for k, p in pubs.items():
    p.stdin.close()
    rc |= p.wait()
print("produced", counts, "in %.1f s, %.1f s of it waiting for the recorder" % (time.monotonic() - start, throttled))
sys.exit(rc)
PY
producer=$!
pids+=("$producer")
# The recorder starts once the backlog is on the broker, as after a restart: it
# reads at full speed first, so its prefetch queue reaches its bounds within the
# first 10 % of the stream, and what follows measures the stream's length alone.
for _ in $(seq 600); do [ "$(cat "$work/produced" 2>/dev/null || echo 0)" -ge "$BACKLOG" ] && break; sleep 0.1; done
"$bin" run --brokers "$BROKER" --dsn "dbname=$db" --topic-managers '' --stats-interval-ms 0 \
    -X session.timeout.ms=6000 "${writers_arg[@]}" 2>"$work/recorder.log" &
rec=$!
pids+=("$rec")
for _ in $(seq 600); do grep -q ' assigned ' "$work/recorder.log" && break; sleep 0.1; done
grep -q ' assigned ' "$work/recorder.log" || die "the recorder was not assigned its partitions"

say "$MESSAGES messages at $RATE/s into $PARTS partitions per topic; recorder pid $rec (writers: $writers_note)"

# Samples, one a second: seconds, produced, recorded (sum of the stored offsets),
# VmRSS kB, VmHWM kB, descriptors, PostgreSQL sessions of the recorder.
since() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
t_start=$(date +%s.%N)
printf 'seconds\tproduced\trecorded\trss_kb\thwm_kb\tfds\tpg_sessions\n' >"$work/samples.tsv"
recorded=0
producer_done=""
while :; do
    kill -0 "$rec" 2>/dev/null || die "the recorder exited early: $(tail -5 "$work/recorder.log")"
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$rec/status")
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$rec/status")
    fds=$(find "/proc/$rec/fd" -mindepth 1 -maxdepth 1 | wc -l)
    read -r recorded sessions < <(q "SELECT (SELECT coalesce(sum(next_offset), 0) FROM execution.ingest_offsets),
                                             (SELECT count(*) FROM pg_stat_activity
                                               WHERE datname = current_database() AND pid <> pg_backend_pid()
                                                 AND backend_type = 'client backend')" | tr '|' ' ')
    produced=$(cat "$work/produced" 2>/dev/null || echo 0)
    echo "$recorded" >"$work/recorded.tmp" && mv "$work/recorded.tmp" "$work/recorded"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(since "$t_start")" "$produced" \
        "$recorded" "$rss" "$hwm" "$fds" "$sessions" >>"$work/samples.tsv"
    if [ -z "$producer_done" ] && ! kill -0 "$producer" 2>/dev/null; then
        wait "$producer" || die "the producers failed: $(tail -5 "$work/producer.log" "$work"/publish_*.log)"
        producer_done=1
    fi
    [ -n "$producer_done" ] && [ "$recorded" -ge "$MESSAGES" ] && break
    sleep 1
done
elapsed=$(since "$t_start")
kill -TERM "$rec"
rec_status=0
wait "$rec" || rec_status=$?

rows=$(q "SELECT (SELECT count(*) FROM execution.tradests) + (SELECT count(*) FROM execution.ordersts)
              + (SELECT count(*) FROM execution.ordereventsts)")
rejects=$(q "SELECT count(*) FROM execution.ingest_rejects")
# Messages the recorder skipped (gone from the broker before it read them): its
# final totals line says "skipped N".
gaps=$(grep -o 'skipped [0-9]*' "$work/recorder.log" | awk '{ n += $2 } END { print n + 0 }')

"$py" - "$work/samples.tsv" "$MESSAGES" "$RATE" "$PARTS" "$writers_note" "$rows" "$rejects" \
    "$rec_status" "$gaps" "$elapsed" "$(git rev-parse --short HEAD)" "$(tail -1 "$work/producer.log")" <<'PY'
import csv, os, platform, sys
(path, n, rate, parts, writers, rows, rejects, status, gaps, secs, commit, producer) = sys.argv[1:]
n, rows, rejects, status, gaps = int(n), int(rows), int(rejects), int(status), int(gaps)
s = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(path), delimiter="\t")]
at10 = next(r for r in s if r["recorded"] >= 0.1 * n)
after = [r for r in s if r["recorded"] >= 0.1 * n]
last = s[-1]
mib = lambda kb: kb / 1024
# RSS trend from 10 % on: least-squares slope of RSS against messages recorded.
xs = [r["recorded"] for r in after]
ys = [r["rss_kb"] for r in after]
if len(xs) > 2 and max(xs) > min(xs):
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
else:
    slope = 0.0
trend_mib = mib(slope * (max(xs) - min(xs))) if len(xs) > 2 else 0.0
growth = last["hwm_kb"] / at10["hwm_kb"] - 1
lag = max(r["produced"] - r["recorded"] for r in s)
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
print("\nsoak: %d messages (trades:orders:events 3:1:1) at %d/s, %d partitions per topic, writers %s"
      % (n, int(rate), int(parts), writers))
print("machine: %d cores (%s), %.1f GiB, Linux %s; commit %s; %.0f s from the assignment to the last row"
      % (os.cpu_count(), cpu(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
         platform.release(), commit, float(secs)))
print("rows %d + rejects %d for %d messages (%s); recorder exit status %d; messages skipped (retention): %d"
      % (rows, rejects, n, "each message once" if rows + rejects == n else "MISMATCH", status, gaps))
print("largest backlog: %d messages (produced, not yet committed); producers: %s" % (lag, producer))
print("%-28s %12s %12s %12s" % ("", "at 10 %", "at 100 %", "max from 10 %"))
print("%-28s %12.1f %12.1f %12.1f" % ("RSS, MiB", mib(at10["rss_kb"]), mib(last["rss_kb"]),
                                      mib(max(r["rss_kb"] for r in after))))
print("%-28s %12.1f %12.1f %12s" % ("peak RSS (VmHWM), MiB", mib(at10["hwm_kb"]), mib(last["hwm_kb"]), ""))
print("%-28s %12d %12d %12d" % ("open descriptors", at10["fds"], last["fds"], max(r["fds"] for r in after)))
print("%-28s %12d %12d %12d" % ("PostgreSQL sessions", at10["pg_sessions"], last["pg_sessions"],
                                 max(r["pg_sessions"] for r in after)))
print("RSS trend from 10 %% to 100 %%: %+.1f MiB over the stream (least squares)" % trend_mib)
# RSS follows the backlog (librdkafka's prefetch fills to its bounds while the
# recorder is behind): compare like with like, the samples taken while caught up.
def caught_up(rows):
    v = sorted(r["rss_kb"] for r in rows if r["produced"] - r["recorded"] <= float(rate))
    return "%.1f MiB (%d samples)" % (mib(v[len(v) // 2]), len(v)) if v else "n/a (never caught up)"
print("RSS while caught up (backlog under 1 s of the stream), median: %s from 10 %% to 50 %%, %s from 50 %% on"
      % (caught_up([r for r in after if r["recorded"] < 0.5 * n]), caught_up([r for r in after if r["recorded"] >= 0.5 * n])))
# Per stretch of the stream: the RSS's spread, and the VmHWM at its end (a leak keeps
# raising it; a bounded process reaches its ceiling and stays there).
print("%-14s %8s %12s %10s %10s %16s" % ("stream", "samples", "RSS median", "RSS p90", "RSS max", "VmHWM at its end"))
for lo, hi in ((0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)):
    part = [r for r in s if lo * n <= r["recorded"] < hi * n or (hi == 1.0 and r["recorded"] >= n)]
    if part:
        v = sorted(mib(r["rss_kb"]) for r in part)
        print("%3d %% - %3d %% %8d %12.1f %10.1f %10.1f %16.1f" % (100 * lo, 100 * hi, len(v), v[len(v) // 2],
                                                           v[int(0.9 * (len(v) - 1))], v[-1], mib(part[-1]["hwm_kb"])))
half = next(r for r in s if r["recorded"] >= 0.5 * n)
print("VmHWM from 50 %% to 100 %%: %+.1f%%" % (100 * (last["hwm_kb"] / half["hwm_kb"] - 1)))
verdict = lambda ok: "met" if ok else "NOT MET"
print("memory flat (VmHWM +%.1f%% from 10 %% to 100 %%, within 10 %%; trend under 5 %%): %s"
      % (100 * growth, verdict(growth <= 0.10 and trend_mib <= 0.05 * mib(at10["rss_kb"]))))
first = [r for r in after if r["recorded"] < 0.5 * n] or after[:1]
second = [r for r in after if r["recorded"] >= 0.5 * n]
for what, key in (("descriptor", "fds"), ("PostgreSQL connection", "pg_sessions")):
    a, b = max(r[key] for r in first), max(r[key] for r in second)
    print("no %s growth (max %d from 50 %% on, %d from 10 %% to 50 %%): %s"
          % (what, b, a, verdict(b <= a)))
print("every message recorded once: %s" % verdict(rows + rejects == n and rejects == 0 and status == 0 and gaps == 0))
PY
