#!/usr/bin/env bash
# The shutdown deadline holds in every state (--shutdown-timeout, docs/recorder.md):
#  1. PostgreSQL up but refusing the batch (a trigger raising 42501): a SIGTERM is
#     logged, the batch is retried until the deadline, then the recorder exits 1
#     saying PostgreSQL refused it (not "unreachable") and that the batch is consumed
#     again; nothing of it is committed, and the next run records it exactly once.
#  2. PostgreSQL stopped: the same, worded "unreachable".
#  3. A flush blocked inside libpq (a lock held on TradesTS): only the watchdog can
#     end it; the process exits 1 by the deadline, the blocked batch rolled back.
#  4. SIGHUP is logged and ignored: the recorder keeps recording and exits 0 on
#     SIGTERM (it used to die of the signal, status 129, without a flush).
# Each exit must come within the timeout plus a small slack for the process to end.
# Runs its own PostgreSQL server (it stops it). Needs deploy/setup.sh's packages.
source "$(dirname "$0")/run_lib.sh"

timeout_s=4
slack_ms=2500
rl_private_pg
rl_db shutdown
"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
rl_refuse_offsets_when_blocked
rl_start_broker --partitions 2
args=(--group sd --batch-size 50 --batch-ms 100 --shutdown-timeout "$timeout_s")
trades=execution.TradesTS

# rl_stop_timed NAME SIGNAL: rl_stop, and sets STOP_MS to how long it took.
rl_stop_timed() {
    local t0
    t0=$(date +%s%N)
    rl_stop "$1" "$2" 30
    STOP_MS=$((($(date +%s%N) - t0) / 1000000))
    note "recorder $1 took $STOP_MS ms to exit after SIG$2"
}
within_deadline() {
    [ "$STOP_MS" -le $((timeout_s * 1000 + slack_ms)) ] && pass ||
        fail "$1: exited $STOP_MS ms after the signal, past the ${timeout_s} s deadline (+${slack_ms} ms)"
}

# ---- 1. refused -----------------------------------------------------------------
rl_start_recorder rec1 "${args[@]}"
rl_gen_trades SD 0 200 >"$work/a.keyed"
rl_produce trades "$work/a.keyed" -K '|'
rl_wait_for 60 "the first 200 trades" rl_count_is 200 "$trades" || die "nothing recorded"
q "INSERT INTO public.block VALUES ('grant revoked')"
rl_gen_trades SD 200 100 >"$work/b.keyed"
rl_produce trades "$work/b.keyed" -K '|'
refused_logged() { grep ' ERROR ' "$work/rec1.log" | grep -q 'refused the batch.*grant revoked'; }
rl_wait_for 60 "rec1 to log that PostgreSQL refused the batch" refused_logged || die "no refusal logged"
rl_stop_timed rec1 TERM
check "$RL_RC" 1 "refused batch: exit status after SIGTERM (124: the signal was ignored)"
within_deadline "refused batch"
grep -q 'SIGTERM received' "$work/rec1.log" && pass || fail "the SIGTERM is not logged"
final=$(grep 'could not commit the open batch' "$work/rec1.log" || true)
[ -n "$final" ] && pass || fail "no final line about the uncommitted batch"
grep -q 'PostgreSQL refused it' <<<"$final" && pass ||
    fail "the final line does not say PostgreSQL refused the batch: $final"
grep -q 'unreachable' <<<"$final" && fail "the final line says unreachable for a refusal: $final" || pass
grep -q 'consumed again on the next start' <<<"$final" && pass ||
    fail "the final line does not say the batch is replayed: $final"
check "$(rl_count "$trades")" 200 "nothing of the refused batch is committed"
q "DELETE FROM public.block"
rl_run_to_end rec1b 90 "${args[@]}"
rl_check_trades SD 0 300 "after the refused shutdown"
check "$(rl_offsets_match_rows sd trades "$trades")" ok "stored offsets = rows after the refused shutdown"

# ---- 2. unreachable -------------------------------------------------------------
rl_start_recorder rec2 "${args[@]}"
rl_wait_for 60 "rec2 to be assigned" grep -q 'assigned trades' "$work/rec2.log" || die "rec2 not assigned"
bash "$src/deploy/pg.sh" stop "$pgdir"
rl_gen_trades SD 300 100 >"$work/c.keyed"
rl_produce trades "$work/c.keyed" -K '|'
down_logged() { grep -q 'PostgreSQL unavailable' "$work/rec2.log"; }
rl_wait_for 60 "rec2 to warn that PostgreSQL is unavailable" down_logged || die "no outage logged"
rl_stop_timed rec2 TERM
check "$RL_RC" 1 "PostgreSQL down: exit status after SIGTERM (124: the signal was ignored)"
within_deadline "PostgreSQL down"
final=$(grep 'could not commit the open batch' "$work/rec2.log" || true)
grep -q 'PostgreSQL unreachable' <<<"$final" && pass ||
    fail "the final line does not say PostgreSQL was unreachable: $final"
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
check "$(rl_count "$trades")" 300 "nothing of the unreachable batch is committed"
rl_run_to_end rec2b 90 "${args[@]}"
rl_check_trades SD 0 400 "after the unreachable shutdown"

# ---- 3. blocked inside libpq: the watchdog ---------------------------------------
rl_start_recorder rec3 "${args[@]}"
rl_wait_for 60 "rec3 to be assigned" grep -q 'assigned trades' "$work/rec3.log" || die "rec3 not assigned"
psql -X -q -v ON_ERROR_STOP=1 \
    -c "BEGIN" -c "LOCK TABLE execution.tradests IN ACCESS EXCLUSIVE MODE" \
    -c "SELECT pg_sleep(120)" >"$work/lock.log" 2>&1 &
lock_pid=$!
rl_bg+=("$lock_pid")
lock_held() {
    [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'tradests' AND l.mode = 'AccessExclusiveLock' AND l.granted")" -ge 1 ]
}
rl_wait_for 30 "the lock on TradesTS" lock_held || die "the lock was not taken: $(cat "$work/lock.log")"
rl_gen_trades SD 400 100 >"$work/d.keyed"
rl_produce trades "$work/d.keyed" -K '|'
waiting() {
    [ "$(q "SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'")" -ge 1 ]
}
rl_wait_for 60 "rec3's flush to wait for the lock" waiting || die "rec3 never waited for the lock"
rl_stop_timed rec3 TERM
check "$RL_RC" 1 "blocked flush: exit status after SIGTERM (124: the deadline did not hold)"
within_deadline "blocked flush"
grep -q 'shutdown deadline (--shutdown-timeout) passed' "$work/rec3.log" && pass ||
    fail "the watchdog's line is not in the log"
kill "$lock_pid" 2>/dev/null
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
   WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep%'" >/dev/null
lock_gone() { ! lock_held; }
rl_wait_for 30 "the lock to go" lock_gone || die "the lock on TradesTS stays"
check "$(rl_count "$trades")" 400 "nothing of the blocked batch is committed"
rl_run_to_end rec3b 90 "${args[@]}"
rl_check_trades SD 0 500 "after the watchdog"

# ---- 4. SIGHUP --------------------------------------------------------------------
rl_start_recorder rec4 "${args[@]}"
rl_wait_for 60 "rec4 to be assigned" grep -q 'assigned trades' "$work/rec4.log" || die "rec4 not assigned"
kill -HUP "${rec_pid[rec4]}"
rl_wait_for 10 "rec4 to log the SIGHUP" grep -q 'SIGHUP received: ignored' "$work/rec4.log" ||
    die "rec4 did not log the SIGHUP"
rl_alive "${rec_pid[rec4]}" && pass || fail "rec4 died of SIGHUP"
rl_gen_trades SD 500 100 >"$work/e.keyed"
rl_produce trades "$work/e.keyed" -K '|'
rl_wait_for 60 "the trades produced after the SIGHUP" rl_count_is 600 "$trades"
rl_stop rec4 TERM
check "$RL_RC" 0 "exit status after SIGHUP then SIGTERM"
rl_check_trades SD 0 600 "in the end"
check "$(rl_offsets_match_rows sd trades "$trades")" ok "stored offsets = rows in the end"
check "$(rl_count execution.ingest_rejects)" 0 "no rejects"

cli_finish
