#!/usr/bin/env bash
# --log-format json: every line the recorder and the embedded broker write to stderr
# is one JSON object (time, level, message), librdkafka's lines included (with
# facility and client), and the lines that name a partition, a batch or the totals
# carry topic, partition, offset, rows, duration_ms, consumed, inserted, ... as fields
# (backfill's range lines too). The text format stays the
# default; an unknown format is a usage error. Needs PostgreSQL through PG*.
source "$(dirname "$0")/run_lib.sh"
checker=$src/tests/cli/check_json_log.py

rl_db logjson
n=300
rl_start_broker --partitions 4 --log-format json
rl_gen_trades J 0 "$n" >"$work/trades.keyed"
rl_produce trades "$work/trades.keyed" -K '|'

rl_run_to_end rec 120 --group logjson --log-format json --log-level debug -X debug=cgrp \
    --batch-size 100 --topic-orders '' --topic-events '' --topic-managers ''
rl_check_trades J 0 "$n" "recorded with --log-format json"
python3 "$checker" "$work/rec.log" trades >"$work/rec.summary"
check "$?" 0 "every line of the recorder's log is a JSON object with time, level, message: $(grep '^bad' "$work/rec.summary" | head -3)"
grep -q '^lines [1-9]' "$work/rec.summary" && pass || fail "the recorder logged nothing: $(cat "$work/rec.summary")"
kafka_lines=$(awk '$1 == "kafka_lines" {print $2}' "$work/rec.summary")
[ "${kafka_lines:-0}" -gt 0 ] && pass || fail "no librdkafka line (debug=cgrp) with facility and client"
# The client's name: execrec#consumer-N, N counting the process's librdkafka clients
# (the -X check makes one that never connects, so the recorder's is not always 1).
check "$(awk '$1 == "kafka_client" {print $2}' "$work/rec.summary" | sed 's/-[0-9]*$/-N/')" \
    "execrec#consumer-N" "librdkafka's lines name their client"
check "$(awk '$1 == "assigned" {print $2}' "$work/rec.summary")" "0:0,1:0,2:0,3:0" \
    "the assigned lines carry topic, partition and offset"
check "$(awk '$1 == "batch_rows" {print $2}' "$work/rec.summary")" "$n" \
    "the batch committed lines' rows add up to the trades recorded"
check "$(awk '$1 == "totals" {print $2}' "$work/rec.summary")" "$n/$n/0/0/0" \
    "the final totals line carries consumed/inserted/duplicates/rejected/lag"
batch_lines=$(awk '$1 == "batch_lines" {print $2}' "$work/rec.summary")
[ "${batch_lines:-0}" -ge 3 ] && pass || fail "batches of 100: expected at least 3 batch lines, got $batch_lines"

# backfill: its per-partition range lines carry topic, partition and first offset.
"$bin" backfill --brokers "$BROKER" --topic trades --log-format json >"$work/backfill.out" \
    2>"$work/backfill.log"
check "$?" 0 "backfill --log-format json: exit status"
grep -q "duplicates 300" "$work/backfill.out" && pass ||
    fail "backfill's summary (stdout): $(cat "$work/backfill.out")"
python3 "$checker" "$work/backfill.log" trades >"$work/backfill.summary"
check "$?" 0 "every line of backfill's log is a JSON object: $(grep '^bad' "$work/backfill.summary" | head -3)"
check "$(awk '$1 == "ranges" {print $2}' "$work/backfill.summary")" "0:0,1:0,2:0,3:0" \
    "backfill's range lines carry topic, partition and offset"

# The broker's own lines too (stopped by SIGTERM: its last line is logged).
kill -TERM "$broker_pid"
wait "$broker_pid"
python3 "$checker" "$work/broker.log" >"$work/broker.summary"
check "$?" 0 "every line of the broker's log is a JSON object: $(grep '^bad' "$work/broker.summary" | head -3)"
check "$(awk '$1 == "lines" {print $2}' "$work/broker.summary")" 2 "the broker logs its start and its stop"

# EXECREC_LOG_FORMAT=json, and a connection failure's libpq message (several lines)
# is one JSON line.
expect_status 1 "EXECREC_LOG_FORMAT=json, PostgreSQL unreachable" \
    env EXECREC_LOG_FORMAT=json "$bin" run --brokers 127.0.0.1:1 \
    --dsn "host=127.0.0.1 port=1 connect_timeout=2" --exit-at-end
cp "$out" "$work/fail.log"
python3 "$checker" "$work/fail.log" >"$work/fail.summary"
check "$?" 0 "a failed run's log is JSON lines: $(cat "$work/fail.summary" | head -3)"
grep -q '"level":"error","message":"cannot connect to PostgreSQL' "$work/fail.log" && pass ||
    fail "the connection failure is not a JSON error line: $(cat "$out")"

# Text stays the default; an unknown format is misuse.
cli_db fresh logtext
expect_status 0 "migrate, text" env PGDATABASE="$fresh" "$bin" migrate
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z INFO  ' "$out" && pass ||
    fail "the default format is not text: $(cat "$out")"
grep -q '^{' "$out" && fail "the default format shows JSON: $(cat "$out")" || pass
expect_status 2 "--log-format xml" "$bin" migrate --log-format xml
expect_out "--log-format must be text or json, not 'xml'" "an unknown format is named"

cli_finish
