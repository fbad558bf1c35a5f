#!/usr/bin/env bash
# kill -9 mid-stream loses nothing and records nothing twice. 3000 trades (unique
# trade_ids, keyed by order over 4 partitions) are produced over ~15 s while a
# recorder with batches of 50 runs; it is killed with SIGKILL once some rows are
# committed but not all, a second recorder is started and killed the same way, and
# a last one runs to the end. Every trade must then be recorded exactly once, with
# the exact sum of quantities, and the stored offsets must be the high watermarks.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

n=3000
rl_db kill9
rl_start_broker --partitions 4
rl_gen_trades K 0 "$n" >"$work/trades.keyed"

# A killed member stays in the group until its session times out, 6 s here
# (rl_start_recorder), so each next recorder is assigned within ~10 s.
# Batches close at 50 messages or after 1 s, and messages arrive in chunks of 37:
# most of the time a batch is open, so a kill usually abandons one.
args=(--group kill9 --batch-size 50 --batch-ms 1000 --batch-idle-ms 1000 --log-level debug)

rl_start_recorder rec1 "${args[@]}"
rl_produce_paced trades "$work/trades.keyed" 37 0.1 &
rl_bg+=($!)

trades="execution.TradesTS"
rl_wait_for 60 "rec1 to record 600 trades" rl_count_at_least 600 "$trades" || die "rec1 recorded too little"
rl_kill9 rec1
check "$RL_RC" 137 "rec1 killed by SIGKILL"
c1=$(rl_count "$trades")
note "rec1 killed with $c1 trades recorded, $(rl_paced_sent) produced"
[ "$c1" -lt "$n" ] && pass || fail "rec1 recorded all $n trades before it was killed: nothing was interrupted"
check "$(rl_offsets_match_rows kill9 trades "$trades")" ok "after rec1's kill: stored offsets = rows per partition"

# rec2 is assigned once rec1's session has timed out, usually after production has
# ended: it catches up a backlog of ~2000 in batches of 10, polled every 20 ms, and
# is killed on the way.
rl_start_recorder rec2 --group kill9 --batch-size 10 --batch-ms 1000 --batch-idle-ms 1000 --log-level debug
# While rec2 catches up, rows and offsets agree in every snapshot (each poll).
mismatch=
consistent_and_at_least() {
    local m
    m=$(rl_offsets_match_rows kill9 trades "$trades")
    [ "$m" == ok ] || [ -n "$mismatch" ] || mismatch=$m
    rl_count_at_least "$1" "$trades"
}
RL_POLL=0.02 rl_wait_for 60 "rec2 to record 200 more trades" consistent_and_at_least $((c1 + 200)) ||
    die "rec2 recorded too little"
check "$mismatch" "" "while rec2 ran: partitions whose stored offset differed from their rows (stored/rows)"
rl_kill9 rec2
check "$RL_RC" 137 "rec2 killed by SIGKILL"
c2=$(rl_count "$trades")
note "rec2 killed with $c2 trades recorded, $(rl_paced_sent) produced"
[ "$c2" -lt "$n" ] && pass || fail "rec2 recorded all $n trades before it was killed: nothing was interrupted"
check "$(rl_offsets_match_rows kill9 trades "$trades")" ok "after rec2's kill: stored offsets = rows per partition"

rl_wait_paced 60
hw=$(rl_hw trades)
check "$(echo "$hw" | awk '{s += $3} END {print s}')" "$n" "messages in the broker"
check "$(echo "$hw" | wc -l)" 4 "trades spread over 4 partitions"

rl_run_to_end final 90 "${args[@]}"
rl_check_trades K 0 "$n" "after two kill -9"
check "$(rl_offsets kill9)" "$hw" "ingest_offsets = high watermarks"
check "$(rl_count execution.ingest_rejects)" 0 "no rejects"

cli_finish
