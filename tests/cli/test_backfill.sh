#!/usr/bin/env bash
# execrec backfill replays a range into the tables, idempotently, without moving the
# live group's positions. 900 trades go to 4 partitions in three rounds with
# distinct Kafka timestamps (A < t1 <= B < t3 <= C: the clock is waited past each
# round's end). `run --exit-at-end` records them; then rows are deleted and brought
# back by time and by offsets, each time identical to the snapshot; a second
# backfill inserts nothing; ingest_offsets and Kafka's committed offsets are
# untouched; the `to` bound and the partition filter hold; bad requests are usage
# errors that write nothing. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db backfill
rl_start_broker --partitions 4

now_ms() { date +%s%3N; }
clock_past() { [ "$(now_ms)" -gt "$1" ]; }
# rfc3339 MS: the epoch milliseconds as RFC 3339 UTC text with milliseconds.
rfc3339() { python3 -c 'import sys, datetime; print(datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")' "$1"; }

rl_gen_trades T 1 300 >"$work/a.keyed"
rl_gen_trades T 301 300 >"$work/b.keyed"
rl_gen_trades T 601 300 >"$work/c.keyed"
# next_round VAR: waits for the clock to pass the last round's messages' stamps,
# then sets VAR to the time: every later message is stamped at or after it.
next_round() {
    local -n next_round_var=$1
    local t
    t=$(now_ms)
    rl_wait_for 5 "the clock to pass $t" clock_past "$t" || die "the clock did not move"
    next_round_var=$(now_ms)
}
rl_produce trades "$work/a.keyed" -K '|'
next_round t1
rl_produce trades "$work/b.keyed" -K '|'
next_round t3
rl_produce trades "$work/c.keyed" -K '|'
check "$(kcat -C -b "$BROKER" -t trades -e -q -f '%T\n' | awk -v a="$t1" -v b="$t3" '$1 >= a && $1 < b' | wc -l)" \
    300 "messages stamped in [t1, t3): round B"
hw=$(rl_hw trades)

rl_run_to_end rec 90 --group live --batch-size 100
rl_check_trades T 1 900 "recorded"

snapshot() {
    q "SELECT count(*) || ' ' || md5(coalesce(string_agg((to_jsonb(x) - 'ingested_at')::text, E'\n'
                                                          ORDER BY trade_id), ''))
       FROM execution.TradesTS x"
}
offsets() {
    q "SELECT string_agg(consumer_group || ' ' || topic || ' ' || partition || ' ' || next_offset || ' ' || updated_at,
                         ',' ORDER BY consumer_group, topic, partition) FROM execution.ingest_offsets"
}
# committed: "partition committed" for group live on trades, from execrec status --json.
committed() {
    "$bin" status --brokers "$BROKER" --group live --json 2>>"$work/status.log" |
        python3 -c 'import json, sys
for p in json.load(sys.stdin)["partitions"]:
    if p["topic"] == "trades": print(p["partition"], p["committed"])'
}
backfill() { expect_status "$1" "backfill ${*:2}" "$bin" backfill --brokers "$BROKER" "${@:2}"; }

before=$(snapshot)
check "${before%% *}" 900 "snapshot rows"
offsets_before=$(offsets)
committed_before=$(committed)
check "$(echo "$committed_before" | awk '{print "trades", $1, $2}')" "$hw" \
    "Kafka's committed offsets of the live group = high watermarks"

# 1. By time: delete round B (by Kafka timestamp), backfill [t1, t3).
check "$(q "WITH d AS (DELETE FROM execution.TradesTS
                       WHERE kafka_timestamp >= to_timestamp($t1 / 1000.0)
                         AND kafka_timestamp < to_timestamp($t3 / 1000.0) RETURNING trade_id)
            SELECT count(*) || ' ' || min(substr(trade_id, 3)::int) || ' ' || max(substr(trade_id, 3)::int) FROM d")" \
    "300 301 600" "deleted round B by Kafka timestamp"
backfill 0 --topic trades --from-time "$(rfc3339 "$t1")" --to-time "$t3"
expect_out "backfill: read 300 messages (300 offsets in 4 partitions), inserted 300 (orders 0, order events 0, trades 300, order managers 0), duplicates 0, rejected 0 (0 already recorded)" \
    "summary of the backfill by time"
check "$(snapshot)" "$before" "after the backfill by time the table is the snapshot"

# 2. By offsets: delete offsets [100, 200) of every partition, backfill them.
check "$(q "WITH d AS (DELETE FROM execution.TradesTS WHERE kafka_offset >= 100 AND kafka_offset < 200 RETURNING 1)
            SELECT count(*) FROM d")" 400 "deleted offsets 100-199 of the 4 partitions"
backfill 0 --topic trades --from-offset 100 --to-offset 200 --batch-size 7
expect_out "backfill: read 400 messages (400 offsets in 4 partitions), inserted 400 (orders 0, order events 0, trades 400, order managers 0), duplicates 0, rejected 0" \
    "summary of the backfill by offsets"
check "$(snapshot)" "$before" "after the backfill by offsets the table is the snapshot"

# 3. Again: nothing new. And everything (two topics, repeated --topic): duplicates only.
backfill 0 --topic trades --from-offset 100 --to-offset 200
expect_out "inserted 0 (orders 0, order events 0, trades 0, order managers 0), duplicates 400, rejected 0" \
    "a second backfill of the same range inserts nothing"
backfill 0 --topic trades --topic orders
expect_out "backfill: read 900 messages (900 offsets in 4 partitions), inserted 0 (orders 0, order events 0, trades 0, order managers 0), duplicates 900" \
    "a backfill of everything inserts nothing"
check "$(snapshot)" "$before" "the table is still the snapshot"

# 4. The live group's positions did not move, in PostgreSQL or in Kafka.
check "$(offsets)" "$offsets_before" "ingest_offsets (offsets and updated_at) untouched by backfill"
check "$(q "SELECT count(*) FROM execution.ingest_offsets WHERE consumer_group <> 'live'")" 0 \
    "backfill stored no offsets of its own"
check "$(committed)" "$committed_before" "Kafka's committed offsets of the live group untouched"
check "$("$bin" status --brokers "$BROKER" --group execrec-backfill --json |
        python3 -c 'import json, sys; print(sum(p["committed"] is not None for p in json.load(sys.stdin)["partitions"]))')" \
    0 "the backfill consumer committed nothing to Kafka"

# 5. The `to` bound is exclusive and the partition filter holds: delete everything
# from offset 50 on in partitions 1 and 2, backfill [50, 60) of partition 2 only.
deleted=$(q "WITH d AS (DELETE FROM execution.TradesTS WHERE kafka_partition IN (1, 2) AND kafka_offset >= 50
                        RETURNING 1) SELECT count(*) FROM d")
backfill 0 --topic trades --partition 2 --from-offset 50 --to-offset 60
expect_out "backfill: read 10 messages (10 offsets in 1 partitions), inserted 10" "backfill of [50, 60) of partition 2"
check "$(q "SELECT string_agg(kafka_offset::text, ' ' ORDER BY kafka_offset) FROM execution.TradesTS
            WHERE kafka_partition = 2 AND kafka_offset >= 50")" "50 51 52 53 54 55 56 57 58 59" \
    "partition 2: offsets 50-59 back, nothing at or past --to-offset 60"
check "$(q "SELECT count(*) FROM execution.TradesTS WHERE kafka_partition = 1 AND kafka_offset >= 50")" 0 \
    "partition 1 (filtered out) not written"
backfill 0 --topic trades --partition 1,2
expect_out "inserted $((deleted - 10))" "the rest of partitions 1 and 2 comes back"
check "$(snapshot)" "$before" "after restoring, the table is the snapshot"

# 6. Bad requests: usage errors (exit 2) that write nothing.
q "TRUNCATE execution.TradesTS"
backfill 2 --topic trades --from-offset 200 --to-offset 100
expect_out "--from-offset 200 is after --to-offset 100" "from after to"
backfill 2 --topic nosuchtopic --kind trade
expect_out "the broker has no topic 'nosuchtopic'" "unknown topic"
backfill 2 --topic nosuchtopic
expect_out "give its --kind" "a topic without a kind"
backfill 2 --topic trades,orders --topic trades
expect_out "topic 'trades' is given twice" "a topic twice"
backfill 2 --topic trades --partition 9
expect_out "topic 'trades' has no partition 9" "unknown partition"
backfill 2 --topic trades --partition x
expect_out "--partition 'x' is not a partition number" "bad partition"
backfill 2 --topic trades --from-time 2026-11-03T25:00:00Z
expect_out "--from-time '2026-11-03T25:00:00Z' is not a time" "bad time"
backfill 2 --topic trades --from-time yesterday
expect_out "is not a time" "bad time word"
backfill 2 --topic trades --from-offset 1 --from-time "$t1"
expect_out "not both" "offset and time for one bound"
backfill 2 --topic trades --from-offset -1
backfill 2 --from-offset 1
expect_out "--topic is required" "no topic"
expect_status 2 "backfill without --brokers" "$bin" backfill --topic trades
expect_status 0 "backfill --help" "$bin" backfill --help
expect_out "EXCLUSIVE" "--help says that to is exclusive"
check "$(rl_count execution.TradesTS) $(rl_count execution.ingest_rejects)" "0 0" "bad requests wrote nothing"

# 7. SIGTERM writes the open batch and stops (exit 1: the range is incomplete); the
# same command then finishes the range. A trigger makes each row cost 5 ms, so the
# signal lands mid-range.
rl_slow_inserts TradesTS 0.005
"$bin" backfill --brokers "$BROKER" --topic trades --batch-size 20 >"$work/bg.out" 2>"$work/bg.log" &
bg=$!
rl_bg+=("$bg")
rl_wait_for 60 "the backfill to write 40 rows" rl_count_at_least 40 execution.TradesTS
kill -TERM "$bg"
wait "$bg"
check "$?" 1 "backfill stopped by SIGTERM exits 1"
first=$(sed -n 's/.*inserted \([0-9]*\) (.*/\1/p' "$work/bg.out")
check "$(grep -c 'interrupted before the end of the range' "$work/bg.out")" 1 "the summary says it was interrupted"
check "$(rl_count execution.TradesTS)" "$first" "the rows in the table are the ones the summary counts (open batch written)"
check "$((first > 0 && first < 900))" 1 "the signal landed mid-range ($first of 900)"
q "DROP TRIGGER slow_insert ON execution.TradesTS"
backfill 0 --topic trades
expect_out "inserted $((900 - first)) (orders 0, order events 0, trades $((900 - first)), order managers 0), duplicates $first" \
    "running it again finishes the range"
rl_check_trades T 1 900 "after the interrupted and the finishing backfill"

cli_finish
