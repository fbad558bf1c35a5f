#!/usr/bin/env bash
# Fencing: a recorder whose partition was taken over cannot move that partition's
# stored offset. Recorder A records trades on partitions 0 and 1; then a takeover by
# another recorder is simulated by moving partition 0's stored offset (+1000) behind
# A's back. Messages produced afterwards to partition 0 must not be written by A,
# the stored offset must stay where the "other recorder" put it, A must log the
# conflict naming the partition, and A must go on recording partition 1.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db fencing
rl_start_broker --partitions 4
# Batches close after 1.5 s (or 1000 messages), so that the messages produced to both
# partitions right after the takeover most likely share one batch: its rollback must
# then replay partition 1's part of it and drop only partition 0.
rl_start_recorder a --group fence --batch-size 1000 --batch-ms 1500 --batch-idle-ms 1500 --log-level debug

# produce_to PARTITION PREFIX START COUNT: unkeyed trades to one partition of trades.
produce_to() {
    python3 "$gen_trades" --no-key "$2" "$3" "$4" >"$work/$2.jsonl"
    rl_produce trades "$work/$2.jsonl" -p "$1"
}
stored() { # PARTITION: the stored next_offset of trades[PARTITION] for the group
    q "SELECT next_offset FROM execution.ingest_offsets
       WHERE consumer_group = 'fence' AND topic = 'trades' AND partition = $1"
}
stored_is() { [ "$(stored "$1" 2>/dev/null)" == "$2" ]; }
rows() { rl_count "execution.TradesTS WHERE trade_id LIKE '$1-%'"; }

produce_to 0 P0A 0 20
produce_to 1 P1A 0 20
rl_wait_for 60 "A to record the first 40 trades" stored_is 0 20 || die "first trades not recorded"
rl_wait_for 20 "A to record partition 1" stored_is 1 20 || die "first trades not recorded"
rl_check_trades P0A 0 20 "partition 0 before the takeover"
rl_check_trades P1A 0 20 "partition 1 before the takeover"

# The takeover: another recorder moved partition 0 on.
check "$(q "UPDATE execution.ingest_offsets SET next_offset = next_offset + 1000
            WHERE consumer_group = 'fence' AND topic = 'trades' AND partition = 0 RETURNING next_offset")" \
    1020 "simulated takeover of trades[0]"

# New messages on both partitions, back to back, so they likely share A's batch.
produce_to 0 P0B 0 15
produce_to 1 P1B 0 15
rl_wait_for 30 "A to record partition 1's new trades" stored_is 1 35 ||
    die "A stopped recording partition 1 after the conflict on partition 0"
conflict_logged() { grep -E ' ERROR ' "$work/a.log" | grep -F trades | grep -qE '(\[0\]|/0\b|:0\b|partition 0\b)'; }
rl_wait_for 20 "A to log the conflict on trades[0] as an ERROR" conflict_logged
grep -qE 'trades \[1\].*replay' "$work/a.log" &&
    note "the conflicting batch also held partition 1's messages: they were replayed" ||
    note "the conflicting batch held only partition 0's messages (timing)"
rl_check_trades P1B 0 15 "partition 1 after the takeover"
check "$(rows P0B)" 0 "A wrote none of partition 0's messages after the takeover"
check "$(stored 0)" 1020 "partition 0's stored offset is the one the other recorder set"
check "$(rl_count "execution.ingest_rejects")" 0 "no rejects"

# Later messages: partition 1 still lands, partition 0 still does not.
produce_to 0 P0C 0 10
produce_to 1 P1C 0 10
rl_wait_for 30 "A to record partition 1's later trades" stored_is 1 45 ||
    die "A stopped recording partition 1"
sleep 1
rl_check_trades P1C 0 10 "partition 1, later"
check "$(rows P0C)" 0 "A writes nothing more for partition 0"
check "$(stored 0)" 1020 "partition 0's stored offset never moved by A"
rl_alive "${rec_pid[a]}" && pass || fail "A died after the conflict"
grep -E ' ERROR ' "$work/a.log" | grep -F trades | head -3 >&2

rl_stop a TERM
check "$RL_RC" 0 "A exits 0 on SIGTERM"
check "$(stored 0)" 1020 "partition 0's stored offset untouched by A's shutdown"
check "$(stored 1)" 45 "partition 1's stored offset after A's shutdown"
check "$(rl_count "execution.TradesTS")" 65 "trades recorded in all"

cli_finish
