# Shared by the command-line tests (tests/cli/test_*.sh, and run_lib.sh for the
# recorder's): counters and assertions, psql, and a scratch directory and private
# databases removed at exit. Not a test itself: tests/CMakeLists.txt registers only
# test_*.sh. A missing server is a failure, never a skip.
set -uo pipefail
bin=${EXECREC_BIN:?EXECREC_BIN not set: run under ctest}
src=${EXECREC_SOURCE_DIR:?EXECREC_SOURCE_DIR not set: run under ctest}
failures=0
passes=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { passes=$((passes + 1)); }
check() { # got, want, what
    if [ "$1" == "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi
}
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

# Prints the summary line and returns the test's status; the last command of a test.
cli_finish() {
    echo "$passes passed, $failures failed"
    [ "$failures" -eq 0 ]
}

# cli_scratch: makes the scratch directory $tmp ($out in it holds the output of the
# last expect_status) and removes it, with every database made by cli_db, at exit.
cli_dbs=()
cli_scratch() {
    tmp=$(mktemp -d /tmp/execrec_cli.XXXXXX)
    out=$tmp/out
    trap cli_cleanup EXIT
}
cli_cleanup() {
    local d
    for d in "${cli_dbs[@]}"; do
        psql -X -q -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" postgres
    done
    rm -rf "$tmp"
}

# cli_db VAR NAME: creates database execrec_NAME_<pid> on the PG* server (from
# deploy/test.sh), sets VAR to its name, and drops it at exit (after cli_scratch).
cli_db() {
    local -n cli_db_var=$1
    cli_db_var="execrec_$2_$$"
    psql -X -q -c "CREATE DATABASE $cli_db_var" postgres ||
        { echo "FAIL: PostgreSQL is required (PG* from deploy/test.sh)" >&2; exit 1; }
    cli_dbs+=("$cli_db_var")
}

expect_status() { # expected, description, command...: output in $out
    local want=$1 what=$2
    shift 2
    "$@" >"$out" 2>&1
    local got=$?
    if [ "$got" -eq "$want" ]; then pass; else fail "$what: exit $got, expected $want: $(head -c 600 "$out")"; fi
}
expect_out() { # text, description: the text is in $out
    if grep -qF -- "$1" "$out"; then pass; else fail "$2: no '$1' in: $(head -c 1500 "$out")"; fi
}
