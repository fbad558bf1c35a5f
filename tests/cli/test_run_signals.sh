#!/usr/bin/env bash
# SIGINT and SIGTERM make a running recorder flush its open batch, commit it with
# its offsets, and exit 0. Batches close at 5 messages or after 60 s, so of 12
# messages the first 10 are committed by size and the last 2 only by the signal.
# A signal before the first assignment also stops it cleanly.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db signals
rl_start_broker --partitions 4
args=(--group sig --batch-size 5 --batch-ms 60000 --batch-idle-ms 60000 --log-level debug)
stored() {
    q "SELECT next_offset FROM execution.ingest_offsets
       WHERE consumer_group = 'sig' AND topic = 'trades' AND partition = 0"
}

start=0
for sig in INT TERM; do
    prefix=S$sig
    rl_start_recorder "rec$sig" "${args[@]}"
    python3 "$gen_trades" --no-key "$prefix" 0 12 >"$work/$prefix.jsonl"
    rl_produce trades "$work/$prefix.jsonl" -p 0
    rl_wait_for 60 "two full batches of 5 recorded" rl_count_is 10 "execution.TradesTS WHERE trade_id LIKE '$prefix-%'" ||
        die "the recorder did not record two batches"
    sleep 1.5
    check "$(rl_count "execution.TradesTS WHERE trade_id LIKE '$prefix-%'")" 10 \
        "SIG$sig: the last 2 messages wait in the open batch (batch.ms 60000)"
    rl_stop "rec$sig" "$sig"
    check "$RL_RC" 0 "exit status after SIG$sig"
    rl_check_trades "$prefix" 0 12 "after SIG$sig"
    start=$((start + 12))
    check "$(stored)" "$start" "stored offset of trades[0] after SIG$sig"
done
check "$(rl_count execution.TradesTS)" 24 "trades recorded in all"

# A signal before the group has assigned anything (joining takes ~3 s): exit 0.
rl_start_recorder early --group sig-early --log-level debug
sleep 1
rl_stop early TERM
check "$RL_RC" 0 "exit status after SIGTERM before any assignment"
check "$(q "SELECT count(*) FROM execution.ingest_offsets WHERE consumer_group = 'sig-early'")" 0 \
    "nothing stored by a recorder stopped before its assignment"
check "$(rl_count execution.TradesTS)" 24 "trades recorded in all, in the end"

cli_finish
