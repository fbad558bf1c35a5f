#!/usr/bin/env bash
# Coverage-guided fuzzing (docs/fuzzing.md): builds a libFuzzer target in build/fuzz
# with clang and runs it for SECONDS (default 300), one job, over its corpus and the
# bug reproducers. New interesting inputs are merged (minimised) back into the
# corpus; crashes, timeouts (> 1 s) and invariant violations are written to
# build/fuzz/crashes/. Exits non-zero if the fuzzer found anything.
#   deploy/fuzz.sh [SECONDS] [decode|avro]
# decode (default): the whole decode path, tests/fuzz/corpus/ + tests/fuzz/regress/;
# avro: execrec_avro_to_json with the test schemas of tests/fuzz/avro_schemas/,
#       tests/fuzz/corpus_avro/ + tests/fuzz/regress/avro/.
set -euo pipefail

SECONDS_TO_RUN=${1:-300}
TARGET=${2:-decode}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/fuzz
case "$TARGET" in
decode)
    FUZZER=fuzz_decode
    CORPUS=$ROOT/tests/fuzz/corpus
    REGRESS=$ROOT/tests/fuzz/regress
    LOG=$BUILD/fuzz.log ;;
avro)
    FUZZER=fuzz_avro
    CORPUS=$ROOT/tests/fuzz/corpus_avro
    REGRESS=$ROOT/tests/fuzz/regress/avro
    LOG=$BUILD/fuzz_avro.log ;;
*)
    echo "usage: $0 [SECONDS] [decode|avro]" >&2
    exit 2 ;;
esac

# Fuzzing is optional, so deploy/setup.sh does not install libFuzzer's runtime
# (clang it does); do it here, the same idempotent way.
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
targets=("$FUZZER")
[ "$TARGET" = avro ] && targets+=(fuzz_avro_seeds)
cmake --build "$BUILD" --target "${targets[@]}" -j2

# Seeds join the corpus on every run, so a new sample, case or schema is fuzzed at
# once; -merge=1 keeps only inputs adding coverage. decode: sample lines, table
# cases, Avro trades; avro: datums of every test schema written by avro-c.
SEEDS=$BUILD/seeds-$TARGET NEW=$BUILD/new-$TARGET
rm -rf "$SEEDS" "$NEW"
mkdir -p "$CORPUS" "$REGRESS" "$NEW" "$SEEDS" "$BUILD/crashes"
if [ "$TARGET" = avro ]; then
    ASAN_OPTIONS=detect_leaks=0 "$BUILD/tests/fuzz/fuzz_avro_seeds" "$ROOT" "$SEEDS"
else
    python3 "$ROOT/tests/fuzz/seed_corpus.py" "$ROOT" "$SEEDS"
fi

export EXECREC_SOURCE_DIR=$ROOT
# detect_leaks=0: the set-up (schemas, codecs) lives as long as the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
rc=0
# One process, one job (no -jobs: that forks workers logging to ./fuzz-N.log).
"$BUILD/tests/fuzz/$FUZZER" -max_total_time="$SECONDS_TO_RUN" -timeout=1 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$BUILD/crashes/" \
    "$NEW" "$CORPUS" "$REGRESS" "$SEEDS" 2>&1 | tee "$LOG" || rc=$?
# ${PIPESTATUS} is lost after `|| rc=$?`; libFuzzer's own status is in the log.
if grep -qE "^==[0-9]+==ERROR|^SUMMARY: |$FUZZER: invariant violated|ALARM: working on the last Unit" \
        "$LOG"; then
    rc=1
fi

# Minimise: corpus + what this run found, keeping only inputs that reach new edges
# (-use_counters=0: hit counts would keep twice the files for the same edges; the
# fuzzer rediscovers those variants within seconds).
MERGED=$BUILD/merged-$TARGET
rm -rf "$MERGED"
mkdir -p "$MERGED"
"$BUILD/tests/fuzz/$FUZZER" -merge=1 -use_counters=0 -timeout=1 "$MERGED" "$CORPUS" "$NEW" "$SEEDS" \
    2>"$BUILD/merge-$TARGET.log" || { echo "fuzz: merge failed, see $BUILD/merge-$TARGET.log" >&2; exit 1; }
rm -f "$CORPUS"/*
cp "$MERGED"/* "$CORPUS"/
echo "fuzz: corpus now $(ls "$CORPUS" | wc -l) files, $(du -sh "$CORPUS" | cut -f1)" >&2
if ((rc)); then
    echo "fuzz: found a problem; reproducers in $BUILD/crashes/, log in $LOG" >&2
    exit 1
fi
echo "fuzz: $TARGET: nothing found in ${SECONDS_TO_RUN}s" >&2
