#!/usr/bin/env bash
# PostgreSQL's cost per row of each index of the fact tables and of raw_payload's
# type (issue 14, item 3; not part of the test run: printed, never asserted).
#
#     bash tests/bench/server_cost.sh [--rows N] [--runs R] [--quick] [--tables LIST]
#
#   --rows N      rows per COPY, default 100000
#   --runs R      runs of every configuration (the figures are medians), default 5
#   --quick       --rows 20000 --runs 3 (a check that it works, about a minute)
#   --tables LIST comma-separated, of tradests, ordersts, ordereventsts (default all)
#
# Starts a throwaway PostgreSQL server (deploy/pg.sh: fsync off, as the benchmark),
# builds the Release binary, migrates one database up to migration 0010 (the schema
# before 0011) and one with every migration, and runs tests/bench/server_cost.py:
# for each table, one COPY of realistic rows (tests/bench/gen.py's messages) into
# the table as migrated up to 0010, without each of its indexes in turn, with the
# natural key alone, with raw_payload as json and as text, and as every migration
# leaves it. Prints wall time, the server process's CPU per row, WAL and disk
# bytes per row. docs/performance.md, "Server cost per row", records a run.
# With the defaults it takes about 8 minutes on 2 cores.
set -euo pipefail
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
ROWS=100000
RUNS=5
TABLES=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) ROWS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --tables) TABLES=${2:?}; shift 2 ;;
    --quick) ROWS=20000; RUNS=3; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[[ "$ROWS" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
for t in ${TABLES//,/ }; do
    case "$t" in tradests | ordersts | ordereventsts) ;; *) usage >&2; exit 2 ;; esac
done

cd "$(dirname "$0")/../.."
root=$PWD
build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
bin=$root/$build/execrec

work=$(mktemp -d /tmp/execrec-server-cost.XXXXXX)
pgdir=$(mktemp -d /tmp/execrec-server-cost-pg.XXXXXX)
cleanup() {
    bash "$root/deploy/pg.sh" destroy "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
eval "$(bash deploy/pg.sh start "$pgdir")"
# No autovacuum: it would VACUUM and ANALYZE a loaded table during the next COPY.
psql -X -q -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null

# The schema before 0011: the migration files up to 0010.
mkdir "$work/upto0010"
for f in migrations/[0-9][0-9][0-9][0-9]_*.sql; do
    n=$(basename "$f" | cut -c1-4)
    [ "$((10#$n))" -le 10 ] && cp "$f" "$work/upto0010/"
done
psql -X -q -d postgres -c "CREATE DATABASE cost_before" -c "CREATE DATABASE cost_after"
"$bin" migrate --dsn dbname=cost_before --dir "$work/upto0010" >/dev/null 2>&1
"$bin" migrate --dsn dbname=cost_after >/dev/null 2>&1

echo "server_cost: $ROWS rows per COPY, $RUNS runs; commit $(git rev-parse --short HEAD)," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(psql -X -t -A -d postgres -c 'SHOW server_version')"
# Debian's python3 has python3-psycopg2 (a python3 earlier on PATH may not).
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
# shellcheck disable=SC2086
"$py" tests/bench/server_cost.py dbname=cost_before dbname=cost_after "$ROWS" "$RUNS" "$work" ${TABLES//,/ }
