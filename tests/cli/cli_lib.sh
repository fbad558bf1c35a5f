# Shared by the command-line tests (tests/cli/test_*.sh, and run_lib.sh for the
# recorder's): counters and assertions, psql, and the one implementation of the
# scratch directory, private databases and the cleanup at exit. Not a test itself:
# tests/CMakeLists.txt registers only test_*.sh. A missing server is a failure,
# never a skip.
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

# cli_scratch [PREFIX]: makes the scratch directory $tmp (/tmp/PREFIX.XXXXXX, default
# execrec_cli; $out in it holds the output of the last expect_status) and sets the
# EXIT trap to cli_cleanup, which, in this order: runs the cli_exit_first commands
# (run_lib.sh kills its processes there), drops every database made by cli_db,
# runs the cli_exit_hooks commands (e.g. destroy a private server), runs
# cli_on_failure if a check failed and that function exists, and removes $tmp
# (unless CLI_KEEP or RL_KEEP is set). Cleanup commands' output is discarded.
cli_exit_first=()
cli_drop_db=()
cli_exit_hooks=()
cli_scratch() {
    tmp=$(mktemp -d "/tmp/${1:-execrec_cli}.XXXXXX") ||
        { echo "FAIL: cannot make a scratch directory in /tmp" >&2; exit 1; }
    out=$tmp/out
    trap cli_cleanup EXIT
}
cli_cleanup() {
    local cmd
    for cmd in "${cli_exit_first[@]}" "${cli_drop_db[@]}" "${cli_exit_hooks[@]}"; do
        eval "$cmd" >/dev/null 2>&1
    done
    if [ "$failures" -gt 0 ] && declare -F cli_on_failure >/dev/null; then
        cli_on_failure
    fi
    if [ -n "${CLI_KEEP:-${RL_KEEP:-}}" ]; then
        echo "scratch directory kept in $tmp (CLI_KEEP/RL_KEEP)" >&2
    else
        rm -rf "$tmp"
    fi
}

# cli_db VAR NAME: creates database execrec_NAME_<pid> on the current PG* server
# (from deploy/test.sh), sets VAR to its name, and drops it at exit, on the server
# it was made on (after cli_scratch). No server is a failure: the test stops.
cli_db() {
    local -n cli_db_var=$1
    cli_db_var="execrec_$2_$$"
    psql -X -q -c "CREATE DATABASE $cli_db_var" postgres ||
        { fail "PostgreSQL is required (PG* from deploy/test.sh)"; exit 1; }
    cli_drop_db+=("PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} psql -X -q -c 'DROP DATABASE IF EXISTS $cli_db_var WITH (FORCE)' postgres")
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
