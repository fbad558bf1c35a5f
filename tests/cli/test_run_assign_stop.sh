#!/usr/bin/env bash
# One SIGTERM while the recorder waits for PostgreSQL to read the stored offsets of a
# new assignment is a graceful stop: nothing was assigned or consumed, so it exits 0
# and says why, where it used to mark the run fatal and exit 1 ("giving up the
# assignment"). The window is made certain: a member killed with -9 stays in the
# group until its session times out (6 s here), so the next recorder connects to
# PostgreSQL, then waits for its assignment; PostgreSQL is stopped in that wait.
# Starts its own PostgreSQL server (deploy/pg.sh): stopping it disturbs no other test.
source "$(dirname "$0")/run_lib.sh"

rl_private_pg
rl_db assignstop
rl_start_broker --partitions 2
rl_gen_trades A 0 20 >"$work/trades.keyed"
rl_produce trades "$work/trades.keyed" -K '|'
args=(--group astop --log-level debug)

rl_start_recorder first "${args[@]}"
rl_wait_for 60 "the first recorder's 20 trades" rl_count_is 20 execution.TradesTS ||
    die "the first recorder recorded nothing"
rl_kill9 first

rl_start_recorder second "${args[@]}"
rl_wait_for 30 "the second recorder connected to PostgreSQL" \
    grep -q 'connected to PostgreSQL' "$work/second.log" || die "the second recorder did not connect"
grep -q 'assigned trades' "$work/second.log" &&
    die "the second recorder was assigned before the first one's session expired"
bash "$src/deploy/pg.sh" stop "$pgdir"
note "PostgreSQL stopped before the second recorder's assignment"
rl_wait_for 30 "the assignment waiting for PostgreSQL" \
    grep -q 'cannot read the stored offsets from PostgreSQL' "$work/second.log" ||
    die "the second recorder never waited for PostgreSQL on its assignment"
rl_stop second TERM 15
check "$RL_RC" 0 "exit status after one SIGTERM while the assignment waits for PostgreSQL"
grep -q 'giving up the assignment' "$work/second.log" &&
    fail "a graceful stop was logged as giving up the assignment"
grep -q 'stopping before the assignment' "$work/second.log" && pass ||
    fail "the recorder does not say it stopped before the assignment"

# Nothing was lost: with PostgreSQL back, the trades are all there once, and a new
# recorder resumes from the stored offsets.
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
rl_gen_trades A 20 10 >"$work/more.keyed"
rl_produce trades "$work/more.keyed" -K '|'
rl_run_to_end third 60 "${args[@]}"
rl_check_trades A 0 30 "after the stop and a new run"
check "$(rl_offsets astop)" "$(rl_hw trades)" "ingest_offsets = high watermarks"

cli_finish
