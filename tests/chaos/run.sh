#!/usr/bin/env bash
# The chaos test: one seeded, time-bounded run of several recorders under combined
# faults, checked against the producer's own record (docs/testing.md).
#
#   bash tests/chaos/run.sh --seed N --seconds S [--recorders K] [--writers W]
#        [--partitions P] [--rate MSGS_PER_S] [--catchup S] [--build DIR] [--keep]
#
# Needs the build's execrec and chaos_driver (EXECREC_BIN and CHAOS_DRIVER, as ctest
# sets them, or --build DIR, default build/test), PostgreSQL's server binaries
# (deploy/pg.sh starts a private server that the run stops and restarts), psql and
# python3. Exit 0: every check held; 1: a finding or a recorder's wrong exit status
# (the seed, the fault log and the command that replays it are printed); 2: usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${EXECREC_SOURCE_DIR:-$(cd "$here/../.." && pwd)}

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'TXT'

Options:
  --seed N          the seed: the stream, the recorders' batch size and the fault
                    schedule all come from it (required)
  --seconds S       how long faults are injected and messages produced (required);
                    the run then heals every fault, waits for the recorders to catch
                    up (at most --catchup seconds), stops them and checks
  --recorders K     recorders started at the beginning (default 3)
  --writers W       passed to every recorder as --writers W when `execrec run --help`
                    lists it (otherwise the run says "n/a")
  --partitions P    partitions of each of the four topics (default 6)
  --rate R          messages produced per second (default 150; the mock cluster keeps
                    only 5 MiB per partition: rate x seconds x ~300 B / (4 x P) must
                    stay well under that)
  --catchup S       the bound on catching up at the end (default 150)
  --build DIR       the build directory holding execrec and tests/chaos_driver
                    (default build/test; EXECREC_BIN and CHAOS_DRIVER override)
  --keep            keep the work directory (logs, stream, record) even on success
TXT
}

args=()
build=$src/build/test
keep=
have_seed= have_secs=
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --build) [ $# -ge 2 ] || { usage >&2; exit 2; }; build=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --seed | --seconds | --recorders | --writers | --partitions | --rate | --catchup)
            [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "run.sh: $1 needs a number" >&2; usage >&2; exit 2; }
            [ "$1" == --seed ] && have_seed=1
            [ "$1" == --seconds ] && have_secs=1
            args+=("$1" "$2"); shift 2 ;;
        *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
[ -n "$have_seed" ] && [ -n "$have_secs" ] || { echo "run.sh: --seed and --seconds are required" >&2; usage >&2; exit 2; }

bin=${EXECREC_BIN:-$build/execrec}
driver=${CHAOS_DRIVER:-$build/tests/chaos_driver}
[ -x "$bin" ] || { echo "run.sh: no execrec at $bin (build first, or --build DIR)" >&2; exit 2; }
[ -x "$driver" ] || { echo "run.sh: no chaos_driver at $driver (build first, or --build DIR)" >&2; exit 2; }

work=$(mktemp -d /tmp/execrec-chaos.XXXXXX)
pgdir=$(mktemp -d /tmp/execrec-chaos-pg.XXXXXX) # its own: pg.sh hands it to the server's user
cleanup() {
    bash "$src/deploy/pg.sh" destroy "$pgdir" >/dev/null 2>&1
    if [ -n "$keep" ] || [ "${rc:-1}" -ne 0 ]; then
        echo "chaos: work directory kept: $work (recorders' logs r*.log, driver.log, stream, record)" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
# The sanitizers' settings of deploy/test.sh: a leak or UB report fails the recorder's exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
python3 "$here/chaos.py" "${args[@]}" --bin "$bin" --driver "$driver" --src "$src" \
    --workdir "$work" --pgdir "$pgdir"
rc=$?
exit $rc
