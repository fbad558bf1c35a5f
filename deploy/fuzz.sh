#!/usr/bin/env bash
# Coverage-guided fuzzing of the decode path (docs/fuzzing.md): builds the libFuzzer
# target in build/fuzz with clang and runs it for SECONDS (default 300) over
# tests/fuzz/corpus/ (and the bug reproducers in tests/fuzz/regress/), one job. New interesting inputs are merged (minimised) back
# into the corpus; crashes, timeouts (> 1 s) and invariant violations are written to
# build/fuzz/crashes/. Exits non-zero if the fuzzer found anything.
#   deploy/fuzz.sh [SECONDS]
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/fuzz
CORPUS=$ROOT/tests/fuzz/corpus

# Fuzzing is optional, so deploy/setup.sh does not install clang; do it here, the
# same idempotent way.
missing=()
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "fuzz: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

CC=clang cmake -S "$ROOT" -B "$BUILD" -DEXECREC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target fuzz_decode -j2

# Seeds (sample lines, table cases, Avro trades) join the corpus on every run, so a
# new sample or case is fuzzed at once; -merge=1 keeps only inputs adding coverage.
SEEDS=$BUILD/seeds NEW=$BUILD/new
rm -rf "$SEEDS" "$NEW"
mkdir -p "$CORPUS" "$NEW" "$BUILD/crashes"
python3 "$ROOT/tests/fuzz/seed_corpus.py" "$ROOT" "$SEEDS"

export EXECREC_SOURCE_DIR=$ROOT
# detect_leaks=0: the set-up (schemas, codecs) lives as long as the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
rc=0
# One process, one job (no -jobs: that forks workers logging to ./fuzz-N.log).
"$BUILD/tests/fuzz/fuzz_decode" -max_total_time="$SECONDS_TO_RUN" -timeout=1 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$BUILD/crashes/" \
    "$NEW" "$CORPUS" "$ROOT/tests/fuzz/regress" "$SEEDS" 2>&1 | tee "$BUILD/fuzz.log" || rc=$?
# ${PIPESTATUS} is lost after `|| rc=$?`; libFuzzer's own status is in the log.
if grep -qE "^==[0-9]+==ERROR|^SUMMARY: |fuzz_decode: invariant violated|ALARM: working on the last Unit" \
        "$BUILD/fuzz.log"; then
    rc=1
fi

# Minimise: corpus + what this run found, keeping only inputs that reach new edges
# (-use_counters=0: hit counts would keep twice the files for the same edges; the
# fuzzer rediscovers those variants within seconds).
MERGED=$BUILD/merged
rm -rf "$MERGED"
mkdir -p "$MERGED"
"$BUILD/tests/fuzz/fuzz_decode" -merge=1 -use_counters=0 -timeout=1 "$MERGED" "$CORPUS" "$NEW" "$SEEDS" \
    2>"$BUILD/merge.log" || { echo "fuzz: merge failed, see $BUILD/merge.log" >&2; exit 1; }
rm -f "$CORPUS"/*
cp "$MERGED"/* "$CORPUS"/
echo "fuzz: corpus now $(ls "$CORPUS" | wc -l) files, $(du -sh "$CORPUS" | cut -f1)" >&2
if ((rc)); then
    echo "fuzz: found a problem; reproducers in $BUILD/crashes/, log in $BUILD/fuzz.log" >&2
    exit 1
fi
echo "fuzz: nothing found in ${SECONDS_TO_RUN}s" >&2
