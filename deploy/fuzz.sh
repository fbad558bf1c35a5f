#!/usr/bin/env bash
# Coverage-guided fuzzing (docs/fuzzing.md): builds the libFuzzer targets in build/fuzz
# with clang (ASan + UBSan) and runs each for SECONDS (default 300), one job, over its
# committed corpus and bug reproducers. Exits 1 if a fuzzer found anything: a crash,
# a timeout (> 1 s), running out of memory, or a violated invariant.
#
#   deploy/fuzz.sh [--ci] [SECONDS] [TARGET]
#
# TARGET: decode (default): the whole decode path;
#         avro: execrec_avro_to_json with the test schemas of tests/fuzz/avro_schemas/;
#         config: the configuration parser (properties file, -X, command line);
#         registry: the Schema Registry client's answers (HTTP status + body);
#         all: each of them in turn, SECONDS each.
# Corpus: tests/fuzz/corpus/ (decode) or tests/fuzz/corpus_<target>/, reproducers:
# tests/fuzz/regress/ (decode) or tests/fuzz/regress/<target>/.
#
# Without --ci (a fuzzing campaign): the log is shown as it goes and kept in
# build/fuzz/fuzz[_<target>].log; afterwards the corpus, the seeds and the new inputs
# are merged (minimised) back into the committed corpus directory, to commit when the
# edge count grew. With --ci (.ci/run): nothing in tests/ is rewritten, each target
# prints one summary line, and a finding prints the fuzzer's report and every input
# it saved, in base64, so that the CI output alone reproduces it (the files are in
# build/fuzz/crashes/<target>/). A finding becomes a regression test once its input
# is committed to the target's regress directory (ctest replays those).
set -euo pipefail

usage() {
    echo "usage: $0 [--ci] [SECONDS] [decode|avro|config|registry|all]" >&2
    exit 2
}
CI=0
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
if [ "${1:-}" = "--ci" ]; then
    CI=1
    shift
fi
(($# <= 2)) || usage
SECONDS_TO_RUN=${1:-300}
TARGET=${2:-decode}
[[ "$SECONDS_TO_RUN" =~ ^[1-9][0-9]*$ ]] || usage
ALL=(decode avro config registry)
case "$TARGET" in
decode | avro | config | registry) TARGETS=("$TARGET") ;;
all) TARGETS=("${ALL[@]}") ;;
*) usage ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/fuzz

# deploy/setup.sh installs clang and libFuzzer's runtime (libclang-rt-14-dev); run
# alone, this script installs them the same idempotent way.
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
build=()
for t in "${TARGETS[@]}"; do
    build+=("fuzz_$t")
    [ "$t" = avro ] && build+=(fuzz_avro_seeds)
done
if ((CI)); then
    cmake --build "$BUILD" --target "${build[@]}" -j"$(nproc)" >"$BUILD/build.log" 2>&1 ||
        { cat "$BUILD/build.log"; exit 1; }
else
    cmake --build "$BUILD" --target "${build[@]}" -j2
fi

export EXECREC_SOURCE_DIR=$ROOT
# detect_leaks=0: the set-up (schemas, codecs) lives as long as the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# Runs one target for SECONDS_TO_RUN. @returns 1 when it found something.
fuzz_one() {
    local target=$1 fuzzer=fuzz_$1 corpus regress log
    if [ "$target" = decode ]; then
        corpus=$ROOT/tests/fuzz/corpus regress=$ROOT/tests/fuzz/regress log=$BUILD/fuzz.log
    else
        corpus=$ROOT/tests/fuzz/corpus_$target regress=$ROOT/tests/fuzz/regress/$target
        log=$BUILD/fuzz_$target.log
    fi
    # Seeds join the corpus on every run, so a new sample, case or schema is fuzzed at
    # once: decode: sample lines, table cases, Avro trades; avro: datums of every test
    # schema written by avro-c; config and registry: their corpus is their seeds.
    local seeds=$BUILD/seeds-$target new=$BUILD/new-$target crashes=$BUILD/crashes/$target
    rm -rf "$seeds" "$new" "$crashes"
    mkdir -p "$corpus" "$regress" "$new" "$seeds" "$crashes"
    if [ "$target" = avro ]; then
        "$BUILD/tests/fuzz/fuzz_avro_seeds" "$ROOT" "$seeds" >&2
    elif [ "$target" = decode ]; then
        python3 "$ROOT/tests/fuzz/seed_corpus.py" "$ROOT" "$seeds" >&2
    fi

    local rc=0 args=(-max_total_time="$SECONDS_TO_RUN" -timeout=1 -max_len=4096
        -print_final_stats=1 -artifact_prefix="$crashes/")
    # One process, one job (no -jobs: that forks workers logging to ./fuzz-N.log).
    if ((CI)); then
        "$BUILD/tests/fuzz/$fuzzer" "${args[@]}" "$new" "$corpus" "$regress" "$seeds" \
            >"$log" 2>&1 || rc=$?
    else
        "$BUILD/tests/fuzz/$fuzzer" "${args[@]}" "$new" "$corpus" "$regress" "$seeds" 2>&1 |
            tee "$log" || rc=$?
    fi
    # Under tee, libFuzzer's own status is lost; its report is in the log.
    if grep -aqE "^==[0-9]+==ERROR|^SUMMARY: |$fuzzer: invariant violated|ALARM: working on the last Unit" \
            "$log" || ls "$crashes"/* >/dev/null 2>&1; then
        rc=1
    fi
    local runs cov
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -aoE '^#[0-9]+[[:space:]]+(DONE|INITED)[[:space:]]+cov: [0-9]+' "$log" | tail -1 | sed 's/.*cov: //' || true)
    if ((CI)); then
        if ((rc)); then
            echo "fuzz: $target: FOUND A PROBLEM within ${SECONDS_TO_RUN}s; the fuzzer's report:" >&2
            grep -avE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -80 >&2
            for f in "$crashes"/*; do
                [ -e "$f" ] || continue
                echo "fuzz: $target: input $f (base64; replay with" \
                    "build/fuzz/tests/fuzz/$fuzzer FILE, keep it in ${regress#$ROOT/}/):" >&2
                base64 -w0 "$f" >&2
                echo >&2
            done
        else
            echo "fuzz: $target: nothing found in ${SECONDS_TO_RUN}s (${runs:-?} inputs, ${cov:-?} edges)" >&2
        fi
        return "$rc"
    fi

    # Minimise: corpus + what this run found, keeping only inputs that reach new edges
    # (-use_counters=0: hit counts would keep twice the files for the same edges; the
    # fuzzer rediscovers those variants within seconds).
    local merged=$BUILD/merged-$target
    rm -rf "$merged"
    mkdir -p "$merged"
    "$BUILD/tests/fuzz/$fuzzer" -merge=1 -use_counters=0 -timeout=1 "$merged" "$corpus" "$new" \
        "$seeds" 2>"$BUILD/merge-$target.log" ||
        { echo "fuzz: merge failed, see $BUILD/merge-$target.log" >&2; return 1; }
    rm -f "$corpus"/*
    cp "$merged"/* "$corpus"/
    echo "fuzz: $target: corpus now $(ls "$corpus" | wc -l) files, $(du -sh "$corpus" | cut -f1)" >&2
    if ((rc)); then
        echo "fuzz: $target: found a problem; reproducers in $crashes/, log in $log" >&2
        return 1
    fi
    echo "fuzz: $target: nothing found in ${SECONDS_TO_RUN}s (${runs:-?} inputs, ${cov:-?} edges)" >&2
}

status=0
for t in "${TARGETS[@]}"; do
    fuzz_one "$t" || status=1
done
exit "$status"
