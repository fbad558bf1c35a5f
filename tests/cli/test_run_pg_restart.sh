#!/usr/bin/env bash
# A PostgreSQL outage is waited out: the recorder keeps running while its server is
# stopped for a few seconds mid-stream (messages still arriving), reconnects, and
# records every trade exactly once; a restart while it is idle costs nothing; a
# SIGTERM during an outage waits for PostgreSQL to commit the open batch and exits
# 0; a second SIGTERM stops it at once without committing anything half. This test starts its own PostgreSQL server
# (deploy/pg.sh), so that stopping it disturbs no other test; the shared server of
# deploy/test.sh is not used. Needs deploy/setup.sh's packages.
source "$(dirname "$0")/run_lib.sh"

n=2000
rl_private_pg
rl_db pgrestart
rl_start_broker --partitions 4
rl_gen_trades R 0 "$n" >"$work/trades.keyed"

args=(--group pgr --batch-size 20 --batch-ms 100 --log-level debug)
rl_start_recorder rec "${args[@]}"
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

# SIGTERM while PostgreSQL is down and a batch is open: the recorder waits for
# PostgreSQL, commits the batch, and exits 0.
m=$((n + 200))
pg_stop() { bash "$src/deploy/pg.sh" stop "$pgdir"; }
pg_start() { bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot start the private PostgreSQL"; }
warnings() { grep -c ' WARN ' "$work/$1.log"; }
warned_since() { [ "$(warnings "$1")" -gt "$2" ]; }

pg_stop
w=$(warnings rec)
rl_gen_trades R "$m" 100 >"$work/down1.keyed"
rl_produce trades "$work/down1.keyed" -K '|'
rl_wait_for 30 "rec to warn that it cannot write its batch" warned_since rec "$w" ||
    die "rec does not notice that PostgreSQL is down"
kill -TERM "${rec_pid[rec]}"
note "rec sent SIGTERM while PostgreSQL is down"
sleep 3
rl_alive "${rec_pid[rec]}" && pass ||
    fail "rec did not wait for PostgreSQL to commit its open batch after SIGTERM"
pg_start
rl_wait_exit rec 60
check "$RL_RC" 0 "exit status after SIGTERM during the outage, once PostgreSQL is back"
c=$(rl_count "$trades")
note "rec exited with $c trades recorded"
[ "$c" -gt "$m" ] && pass || fail "SIGTERM during the outage: the open batch was not committed ($c trades)"
check "$(rl_offsets_match_rows pgr trades "$trades")" ok "after the shutdown: stored offsets = rows per partition"

# A second signal while waiting for PostgreSQL: the recorder stops at once; the
# batch it gives up was never committed, and the next recorder records it.
rl_start_recorder rec2 "${args[@]}"
rl_wait_for 60 "rec2 to record the rest of the trades" rl_count_is $((m + 100)) "$trades" ||
    die "rec2 recorded nothing"
pg_stop
w=$(warnings rec2)
rl_gen_trades R $((m + 100)) 100 >"$work/down2.keyed"
rl_produce trades "$work/down2.keyed" -K '|'
rl_wait_for 30 "rec2 to warn that it cannot write its batch" warned_since rec2 "$w" ||
    die "rec2 does not notice that PostgreSQL is down"
kill -TERM "${rec_pid[rec2]}"
sleep 1
kill -TERM "${rec_pid[rec2]}"
note "rec2 sent SIGTERM twice while PostgreSQL is down"
rl_wait_exit rec2 5
note "rec2 exited with $RL_RC"
[ "$RL_RC" != 124 ] && pass || fail "rec2 did not stop within 5 s of a second SIGTERM"
pg_start
check "$(rl_count "$trades")" $((m + 100)) "nothing of the given-up batch was committed"
check "$(rl_offsets_match_rows pgr trades "$trades")" ok "after the given-up batch: stored offsets = rows per partition"

rl_run_to_end final 90 "${args[@]}"
rl_check_trades R 0 $((m + 200)) "in the end"
check "$(rl_offsets pgr)" "$(rl_hw trades)" "ingest_offsets = high watermarks in the end"
check "$(rl_count execution.ingest_rejects)" 0 "no rejects"

cli_finish
