#!/usr/bin/env bash
# execrec status: per topic-partition stored offset (PostgreSQL) and when it last
# moved, Kafka committed offset, watermarks, lag and state (PAST-END: the stored
# offset is past the log's end), and --max-lag N as a check (exit 1). After `run
# --exit-at-end` every lag is 0; after N more messages to a partition its lag is
# exactly N (stored and committed unchanged, high watermark moved); --json carries
# the same numbers; a group with no position shows '-'; an unreachable broker or
# PostgreSQL is an error. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db status
rl_start_broker --partitions 4

rl_gen_trades S 1 400 >"$work/s.keyed"
rl_produce trades "$work/s.keyed" -K '|'
rl_run_to_end rec 90 --group st --batch-size 50
hw=$(rl_hw trades)

status() { expect_status "$1" "status ${*:2}" "$bin" status --brokers "$BROKER" "${@:2}"; }
# trades_rows: "partition stored committed low high lag lag_from" of the table output.
trades_rows() { awk '$1 == "trades" {print $2, $3, $4, $5, $6, $7, $8}' "$out"; }
# want_rows EXTRA...: the expected trades rows from $hw, plus EXTRA "partition n" more messages.
want_rows() {
    echo "$hw" | while read -r _ p h; do
        local more=0 pair
        for pair in "$@"; do
            [ "${pair% *}" == "$p" ] && more=${pair#* }
        done
        echo "$p $h $h 0 $((h + more)) $more postgresql"
    done
}

status 0 --group st
check "$(trades_rows)" "$(want_rows)" "after run --exit-at-end: stored = committed = high, lag 0"
check "$(grep -c '^orders ' "$out")" 4 "the other configured topics are listed too"
expect_out "total: 16 partitions, lag 0 over the 4 with a known position" "totals line"

# 37 more messages to partition 1, 5 to partition 3.
rl_gen_trades --no-key S 401 37 >"$work/p1.json"
rl_gen_trades --no-key S 438 5 >"$work/p3.json"
rl_produce trades "$work/p1.json" -p 1
rl_produce trades "$work/p3.json" -p 3
status 0 --group st
check "$(trades_rows)" "$(want_rows "1 37" "3 5")" "lag 37 on partition 1 and 5 on partition 3, nothing else moved"
expect_out "total: 16 partitions, lag 42 over the 4 with a known position" "totals line counts 42"
table=$(trades_rows)
cp "$out" "$work/status.table"

status 0 --group st --json
check "$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for p in d["partitions"]:
    if p["topic"] == "trades":
        print(p["partition"], p["stored"], p["committed"], p["low"], p["high"], p["lag"], p["lag_from"])
print(d["group"], d["total"]["partitions"], d["total"]["lag"])' "$out")" "$table
st 16 42" "--json parses and has the table's numbers"

# When each stored offset last moved (UTC), as PostgreSQL has it; state ok.
check "$(awk '$1 == "trades" {print $2, $9, $10}' "$work/status.table")" \
    "$(q "SELECT partition || ' ' || to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ok'
          FROM execution.ingest_offsets WHERE consumer_group = 'st' AND topic = 'trades' ORDER BY partition")" \
    "last commit and state per partition"

# --max-lag N: exit 1 when a lag exceeds N (37 on partition 1, 5 on partition 3).
status 0 --group st --max-lag 37
status 1 --group st --max-lag 36
expect_out "execrec status: 1 partition(s) lag more than --max-lag 36" "--max-lag 36: partition 1"
status 1 --group st --max-lag 4
expect_out "execrec status: 2 partition(s) lag more than --max-lag 4" "--max-lag 4: partitions 1 and 3"
"$bin" status --brokers "$BROKER" --group st --json --max-lag 36 >"$work/ml.json" 2>/dev/null
check "$?" 1 "--json --max-lag 36 exits 1"
check "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["total"]["max_lag_exceeded"])' "$work/ml.json")" \
    True "--json: max_lag_exceeded"

# A stored offset past the log's end (a recreated topic): PAST-END, no lag, and
# --max-lag fails however large.
q "UPDATE execution.ingest_offsets SET next_offset = next_offset + 1000
   WHERE consumer_group = 'st' AND topic = 'trades' AND partition = 2" >/dev/null
status 0 --group st
h2=$(echo "$hw" | awk '$2 == 2 {print $3}')
check "$(awk '$1 == "trades" && $2 == 2 {print $3, $6, $7, $8, $10}' "$out")" "$((h2 + 1000)) $h2 - - PAST-END" \
    "partition 2 past the end: flagged, no lag"
expect_out "trades [2]: the stored offset $((h2 + 1000)) is past the log's end $h2" "the past-end line"
status 1 --group st --max-lag 1000000
expect_out "1 partition(s) have a position past the log's end (blocked)" "--max-lag fails on a past-end position"
q "UPDATE execution.ingest_offsets SET next_offset = next_offset - 1000
   WHERE consumer_group = 'st' AND topic = 'trades' AND partition = 2" >/dev/null

# A group with no position anywhere: '-' for what is not known.
status 0 --group nobody
check "$(trades_rows | awk '{print $2, $3, $6, $7}' | sort -u)" "- - - -" \
    "a group without positions: stored, committed, lag unknown"

# Only Kafka knows the position (rows removed from PostgreSQL): lag from committed.
q "DELETE FROM execution.ingest_offsets WHERE consumer_group = 'st' AND partition = 1"
status 0 --group st
check "$(trades_rows | awk '$1 == 1 {print $2, $3, $6, $7}')" \
    "- $(echo "$hw" | awk '$2 == 1 {print $3}') 37 kafka" "partition 1: lag from Kafka's committed offset"

# Unreachable: clear errors, exit 1, within the bounds.
expect_status 1 "status with no PostgreSQL" "$bin" status --brokers "$BROKER" --dsn "host=127.0.0.1 port=1 dbname=x"
expect_out "cannot connect to PostgreSQL" "PostgreSQL unreachable"
start=$SECONDS
expect_status 1 "status with no broker" "$bin" status --brokers 127.0.0.1:1 --group st --broker-timeout-ms 5000
expect_out "cannot read the topics: no answer from the Kafka cluster within 5000 ms" "broker unreachable"
expect_out "Connection refused" "broker unreachable: the transport error"
check "$(((SECONDS - start) <= 20))" 1 "an unreachable broker is reported within the --broker-timeout-ms bound"
expect_status 2 "status without --brokers" "$bin" status
expect_status 0 "status --help" "$bin" status --help

cli_finish
