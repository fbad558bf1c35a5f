#!/usr/bin/env bash
# A PostgreSQL outage is waited out: the recorder keeps running while its server is
# stopped for a few seconds mid-stream (messages still arriving), reconnects, and
# records every trade exactly once. This test starts its own PostgreSQL server
# (deploy/pg.sh), so that stopping it disturbs no other test; the shared server of
# deploy/test.sh is not used. Needs deploy/setup.sh's packages.
source "$(dirname "$0")/run_lib.sh"

n=2000
pgdir=$(mktemp -d /tmp/execrec-run-pg.XXXXXX)
rl_exit_hooks+=("bash '$src/deploy/pg.sh' destroy '$pgdir'")
pg_exports=$(bash "$src/deploy/pg.sh" start "$pgdir") || die "cannot start a private PostgreSQL in $pgdir"
eval "$pg_exports"
note "private PostgreSQL on $PGHOST:$PGPORT"
rl_db pgrestart
rl_start_broker --partitions 4
rl_gen_trades R 0 "$n" >"$work/trades.keyed"

rl_start_recorder rec --group pgr --batch-size 20 --batch-ms 100 --log-level debug
rl_produce_paced trades "$work/trades.keyed" 50 0.25 &
rl_bg+=($!)

trades="execution.TradesTS"
rl_wait_for 60 "200 trades recorded" rl_count_at_least 200 "$trades" || die "nothing recorded"
before=$(rl_count "$trades")
sent_before=$(rl_paced_sent)
bash "$src/deploy/pg.sh" stop "$pgdir"
psql -X -q -c 'SELECT 1' postgres >/dev/null 2>&1 && die "PostgreSQL still answers after pg.sh stop"
note "PostgreSQL stopped with $before trades recorded, $sent_before produced"
sleep 4
rl_alive "${rec_pid[rec]}" && pass || fail "the recorder died while PostgreSQL was down"
sent_during=$(rl_paced_sent)
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
note "PostgreSQL started again; $sent_during produced"
[ "$sent_during" -gt "$sent_before" ] && pass ||
    fail "no message was produced while PostgreSQL was down ($sent_before then $sent_during)"
[ "$before" -lt "$n" ] && pass || fail "all $n trades were recorded before the outage"

rl_wait_paced 60
rl_wait_for 90 "all $n trades recorded after the outage" rl_count_is "$n" "$trades"
rl_check_trades R 0 "$n" "after the outage"
check "$(rl_offsets pgr)" "$(rl_hw trades)" "ingest_offsets = high watermarks"
check "$(rl_count execution.ingest_rejects)" 0 "no rejects"
grep -qE ' (WARN|ERROR) .*PostgreSQL' "$work/rec.log" && pass ||
    fail "the outage is not logged as a warning or error naming PostgreSQL"
rl_alive "${rec_pid[rec]}" && pass || fail "the recorder is not running after the outage"

# A restart while the recorder is idle: its connection is dead when the next batch
# comes, and that batch must still be recorded, once.
bash "$src/deploy/pg.sh" restart "$pgdir" || die "cannot restart the private PostgreSQL"
note "PostgreSQL restarted while the recorder was idle"
rl_gen_trades R "$n" 200 >"$work/more.keyed"
rl_produce trades "$work/more.keyed" -K '|'
rl_wait_for 60 "the 200 trades produced after the restart" rl_count_is $((n + 200)) "$trades"
rl_check_trades R 0 $((n + 200)) "after the restart"
check "$(rl_offsets pgr)" "$(rl_hw trades)" "ingest_offsets = high watermarks after the restart"

rl_stop rec TERM
check "$RL_RC" 0 "exit status after SIGTERM"
rl_check_trades R 0 $((n + 200)) "after SIGTERM"

rl_finish
