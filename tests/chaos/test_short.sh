#!/usr/bin/env bash
# ctest chaos_test_short: the chaos test (run.sh) for two fixed seeds of 40 s each,
# so that CI runs combined faults on every change within a bounded time (each run:
# ~10 s of set-up, 40 s of faults, the catch-up, a few seconds of checks; about
# 75-90 s each on the test build). Longer runs and more seeds: docs/testing.md.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for seed in 1 2; do
    bash "$here/run.sh" --seed "$seed" --seconds 40 --recorders 3 --catchup 60 || rc=1
done
exit $rc
