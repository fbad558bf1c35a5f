#!/usr/bin/env bash
# Where each partition starts: the offset stored in PostgreSQL, else Kafka's
# committed offset for the group, else auto.offset.reset. One group records into a
# first database, then into a fresh one (nothing stored: it starts at Kafka's
# committed offset, so it records only what is new), then into the first again
# (PostgreSQL's offset wins over Kafka's, which is further on: nothing is skipped);
# a new group with auto.offset.reset=latest records only what arrives after it
# started. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_start_broker --partitions 4
produce() { # START COUNT: trades S-START.. to trades [0]
    python3 "$gen_trades" --no-key S "$1" "$2" >"$work/s$1.jsonl"
    rl_produce trades "$work/s$1.jsonl" -p 0
}
offsets_of_rows() { q "SELECT string_agg(kafka_offset::text, ',' ORDER BY kafka_offset) FROM execution.TradesTS"; }

rl_db start1
db1=$PGDATABASE
produce 0 12
rl_run_to_end r1 60 --group g
check "$(offsets_of_rows)" "0,1,2,3,4,5,6,7,8,9,10,11" "first database: offsets recorded"
check "$(rl_offsets g)" "trades 0 12" "first database: stored offset"

produce 12 5
rl_db start2
rl_run_to_end r2 60 --group g
check "$(offsets_of_rows)" "12,13,14,15,16" \
    "fresh database: starts at Kafka's committed offset (12), records only the new trades"
check "$(rl_offsets g)" "trades 0 17" "fresh database: stored offset"

export PGDATABASE=$db1
rl_run_to_end r3 60 --group g
check "$(offsets_of_rows)" "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16" \
    "first database again: starts at its stored offset (12), not Kafka's (17)"
check "$(rl_offsets g)" "trades 0 17" "first database: stored offset at the end"
rl_check_trades S 0 17 "first database"

rl_db start3
rl_start_recorder r4 --group g-latest -X auto.offset.reset=latest --batch-ms 100 --log-level debug
rl_wait_for 30 "r4 to be assigned trades [0]" grep -q 'assigned trades \[0\]' "$work/r4.log" ||
    die "r4 was not assigned"
sleep 1
produce 17 3
rl_wait_for 30 "r4 to record the 3 new trades" rl_count_is 3 execution.TradesTS
sleep 1
check "$(offsets_of_rows)" "17,18,19" "auto.offset.reset=latest: only what arrived after the start"
check "$(rl_offsets g-latest)" "trades 0 20" "auto.offset.reset=latest: stored offset"
rl_stop r4 TERM
check "$RL_RC" 0 "r4 exits 0 on SIGTERM"

cli_finish
