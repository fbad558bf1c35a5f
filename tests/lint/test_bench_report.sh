#!/usr/bin/env bash
# The benchmark's scripts without running the benchmark (it is not part of the test
# run, ~10 minutes): each parses and answers --help; and tests/bench/report.py turns
# known figures into the exact ratios, CPU per row and met / not met of issue 14's
# targets, with and without the --writers figures. Cost: about a second.
set -uo pipefail
root=${EXECREC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bench=$root/tests/bench
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
tmp=$(mktemp -d /tmp/execrec-bench-report.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for f in run.sh peer_kcat.sh; do
    bash -n "$bench/$f" || fail "$f does not parse"
done
for f in peer_python.py report.py gen.py; do
    python3 -m py_compile "$bench/$f" 2>"$tmp/err" || fail "$f does not compile: $(cat "$tmp/err")"
done
find "$bench" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null
bash "$bench/run.sh" --help | grep -q -- '--quick' || fail "run.sh --help does not offer --quick"
rc=0; bash "$bench/run.sh" --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "run.sh --bogus exits $rc, expected 2"
rc=0; bash "$bench/run.sh" --trades 12x >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "run.sh --trades 12x exits $rc, expected 2"
bash "$bench/peer_kcat.sh" --help | grep -q 'INSERT ... SELECT' || fail "peer_kcat.sh --help"
rc=0; bash "$bench/peer_kcat.sh" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "peer_kcat.sh without arguments exits $rc, expected 2"

# Figures of a made-up run: COPY 300k rows in 6 s (50,000/s); execrec JSON steady 5 s
# (1.20 x), wall 8 s (0.75 x); Avro steady 4 s (1.50 x), wall 6 s (1.00 x); mixed
# against its own COPY (4 s): steady 2.5 s (1.60 x), wall 3.2 s (1.25 x); Python
# wall 30 s (3.75 x execrec), steady 20 s (4.00 x), kcat 10 s (1.25 x); p99 80 ms;
# RSS 60 -> 63 MiB (+5 %): 7 of the 11 targets met.
fig() { printf '%s.rows\t%s\n%s.steady_s\t%s\n%s.wall_s\t%s\n%s.rss_kib\t%s\n%s.client_cpu_s\t%s\n%s.pg_cpu_s\t%s\n%s.wal_bytes\t%s\n' \
    "$1" "$2" "$1" "$3" "$1" "$4" "$1" "$5" "$1" "$6" "$1" "$7" "$1" "${8:-360000000}"; }
{
    fig copy1 300000 6.0 6.0 13000 0.9 9.9
    fig copy2 300000 4.0 4.0 13000 1.0 10.5
    fig copy4 300000 4.0 4.0 13000 1.2 11.0
    fig json 300000 5.0 8.0 70000 1.5 10.2
    fig w1 300000 6.0 9.0 70000 1.5 10.2
    fig w2 300000 4.0 7.0 70000 1.6 10.8
    fig w4 300000 3.0 6.0 70000 1.8 11.4
    fig avro 300000 4.0 6.0 70000 1.8 10.2
    fig python 300000 20.0 30.0 60000 9.0 15.0
    fig kcat 300000 10.0 10.0 20000 2.4 18.0 450000000
    fig mcopy1 300000 4.0 4.0 13000 1.0 9.0
    fig mcopy2 300000 3.0 3.0 13000 1.0 9.5
    fig mcopy4 300000 3.0 3.0 13000 1.0 9.9
    fig mixed 300000 2.5 3.2 70000 1.5 9.3
    fig rss_small 250000 4.0 7.0 61440 1.2 8.0
    fig rss_large 1000000 16.0 19.0 64512 4.8 32.0
    printf 'decode.json\t1000000\ndecode.avro\t800000\nlatency.p50_ms\t40.0\nlatency.p99_ms\t80.0\n'
    printf 'latency.max_ms\t95.0\nlatency.rows\t100000\nrun.seconds\t500\n'
} >"$tmp/figures.tsv"
args=(n=300000 partitions=32 rss_partitions=85 rate=5000 latency_seconds=20 quick=0 commit=abc1234
    rss_small=250000 rss_large=1000000)
python3 "$bench/report.py" "$tmp/r.json" "$tmp/figures.tsv" "${args[@]}" writers_ok=1 >"$tmp/out" 2>&1 ||
    fail "report.py failed: $(cat "$tmp/out")"
expect() { grep -qF -- "$1" "$tmp/out" || fail "report: no '$1' in:
$(cat "$tmp/out")"; }
expect "  COPY, 1 connection (the limit)                   50000     1.00     6.00     1.00       3.0     33.0     1200"
expect "  execrec run (default settings), JSON             60000     1.20     8.00     0.75       5.0     34.0     1200"
expect "  execrec run --writers 4, JSON                   100000     2.00     6.00     1.00       6.0     38.0     1200"
expect "  kcat -C -e | psql \\copy; INSERT ... SELECT           -        -    10.00     0.60       8.0     60.0     1500"
expect "  execrec run, mixed                              120000     1.60     3.20     1.25       5.0     31.0     1200"
expect "3.75 x the Python peer (wall; steady 4.00 x), 1.25 x kcat | psql (wall)"
expect "peak RSS (85 partitions): 60.0 MiB at 250k, 63.0 MiB at 1000k (+5.0%)"
expect "  JSON steady >= 1.4 x single COPY                           1.20 x  NOT MET"
expect "  Avro steady >= 1.4 x single COPY                           1.50 x  met"
expect "  mixed wall incl. start-up >= 1.1 x single COPY             1.25 x  met"
expect "  JSON wall incl. start-up >= 1.1 x single COPY              0.75 x  NOT MET"
expect "  >= 3 x the Python peer (wall)                              3.75 x  met"
expect "  >= 1.5 x kcat | psql (wall)                                1.25 x  NOT MET"
expect "  p99 latency < 100 ms at 5000 msg/s                        80.0 ms  met"
expect "  peak RSS flat: 1000k vs 250k within +10%                    +5.0%  met"
expect "7 of 11 targets met"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["w2"]["steady_x_copy1"] == 1.5, r["w2"]; assert r["python"]["pg_cpu_us_per_row"] == 50.0' \
    "$tmp/r.json" || fail "results.json lacks the figures"

python3 "$bench/report.py" "$tmp/r.json" "$tmp/figures.tsv" "${args[@]}" writers_ok=0 >"$tmp/out" 2>&1 ||
    fail "report.py (no --writers) failed: $(cat "$tmp/out")"
expect "  execrec run --writers 2, JSON                      n/a"

[ "$failures" -eq 0 ] && echo "bench scripts and report: ok"
[ "$failures" -eq 0 ]
