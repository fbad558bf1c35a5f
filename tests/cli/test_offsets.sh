#!/usr/bin/env bash
# A recreated topic: offsets never skip silently (docs/offsets.md).
#
# The group records 121 trades of trades[1] from one embedded broker; then a fresh
# broker (empty logs, same topic names) stands for the recreated topic: 18 trades
# on trades[1] (fewer than the stored 121) and 40 and 7 on trades[2] and [3].
# The recorder must block trades[1] (consume none of it, never move its stored
# offset), name it in an ERROR with the reset command, record the other
# partitions, and with --exit-at-end exit 1 naming it; status flags it (PAST-END)
# and --max-lag exits 1; `offsets list` flags it. `offsets reset --dry-run`
# changes nothing; a reset is refused while a recorder of the group runs; `--to
# earliest` then lets the recorder record each of the 18 exactly once; --to
# OFFSET, latest and a TIME (RFC 3339 and @epoch-ms) each set the exact offset.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db offsets
rl_start_broker --partitions 4

produce_to() { # PARTITION PREFIX START COUNT: unkeyed trades to one partition
    python3 "$gen_trades" --no-key "$2" "$3" "$4" >"$work/$2.jsonl"
    rl_produce trades "$work/$2.jsonl" -p "$1"
}
stored() { # PARTITION: trades[PARTITION]'s stored next_offset for group g ('' when none)
    q "SELECT next_offset FROM execution.ingest_offsets
       WHERE consumer_group = 'g' AND topic = 'trades' AND partition = $1"
}
rows() { rl_count "execution.TradesTS WHERE trade_id LIKE '$1-%'"; }
offsets() { expect_status "$1" "offsets ${*:2}" "$bin" offsets "${@:2}" --brokers "$BROKER"; }

# The first topic: 121 trades on trades[1].
produce_to 1 OLD 0 121
rl_run_to_end first 90 --group g --batch-size 50
check "$(stored 1)" 121 "the first topic's trades[1] recorded up to 121"
check "$(rows OLD)" 121 "121 trades of the first topic"

# The topic is recreated: a fresh broker, empty logs.
kill "$broker_pid" && wait "$broker_pid" 2>/dev/null
rm -f "$work/broker.addr"
rl_start_broker --partitions 4
produce_to 1 NEW1 0 18
produce_to 2 NEW2 0 40
produce_to 3 NEW3 0 7

# The recorder blocks trades[1], records [2] and [3], and exits 1 naming [1].
rl_start_recorder blocked --exit-at-end --group g --batch-size 50 --stats-interval-ms 500
rl_wait_exit blocked 90
check "$RL_RC" 1 "run --exit-at-end with a blocked partition exits 1"
check "$(rows NEW1)" 0 "none of the recreated trades[1] consumed while blocked"
rl_check_trades NEW2 0 40 "trades[2] recorded while trades[1] is blocked"
rl_check_trades NEW3 0 7 "trades[3] recorded while trades[1] is blocked"
check "$(stored 1)" 121 "trades[1]'s stored offset never moved by the recorder"
grep -E ' ERROR ' "$work/blocked.log" | grep -F 'trades [1]: blocked: the start offset 121' |
    grep -F 'end 18' | grep -F 'offsets 0..17' |
    grep -qF 'execrec offsets reset --group g --topic trades --partition 1 --to earliest' &&
    pass || fail "the ERROR names trades [1], offset 121, the log's range and the reset command: $(grep -F 'trades [1]' "$work/blocked.log")"
grep -F 'partition(s) blocked, not recorded: trades [1] (offset 121 past the end 18)' \
    "$work/blocked.log" | grep -q ' ERROR ' && pass ||
    fail "the exit names the blocked partition: $(tail -3 "$work/blocked.log")"
grep -F 'final totals' "$work/blocked.log" | grep -qF 'blocked 1, skipped 0 (never recorded)' &&
    pass || fail "the totals line counts the blocked partition: $(grep -F 'totals' "$work/blocked.log" | tail -1)"

# status: PAST-END, no lag for it; --max-lag N exits 1 because of it.
expect_status 0 "status" "$bin" status --brokers "$BROKER" --group g
check "$(awk '$1 == "trades" && $2 == 1 {print $3, $5, $6, $7, $NF}' "$out")" "121 0 18 - PAST-END" \
    "status: trades[1] stored 121, log 0..18, no lag, PAST-END"
check "$(awk '$1 == "trades" && $2 == 2 {print $3, $7, $NF}' "$out")" "40 0 ok" "status: trades[2] ok"
expect_out "trades [1]: the stored offset 121 is past the log's end 18" "status explains PAST-END"
expect_status 1 "status --max-lag 1000000 with a partition past the end" \
    "$bin" status --brokers "$BROKER" --group g --max-lag 1000000
expect_out "1 partition(s) have a position past the log's end (blocked)" "status --max-lag says why"
"$bin" status --brokers "$BROKER" --group g --json --max-lag 5 >"$work/status.json" 2>"$work/status.err"
check "$?" 1 "status --json --max-lag with a partition past the end exits 1"
check "$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = [p for p in d["partitions"] if p["topic"] == "trades" and p["partition"] == 1][0]
print(p["past_end"], p["lag"], d["total"]["past_end"], d["total"]["max_lag_exceeded"])' "$work/status.json")" \
    "True None 1 False" "status --json: past_end, no lag, max lag not exceeded"

# offsets list: the stored rows, flagged.
offsets 1 list --group g
check "$(awk '$2 == "trades" {print $1, $3, $4, $6, $7, $8, $9}' "$out")" \
    "g 1 121 0 18 - PAST-END
g 2 40 0 40 0 ok
g 3 7 0 7 0 ok" "offsets list: stored, watermarks, lag, state"
check "$(awk '$2 == "trades" && $3 == 1 {print $5}' "$out")" \
    "$(q "SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM execution.ingest_offsets
          WHERE consumer_group = 'g' AND topic = 'trades' AND partition = 1")" "offsets list: last commit"

# --dry-run prints the plan and changes nothing.
before=$(q "SELECT string_agg(partition || ':' || next_offset || '@' || updated_at, ' ' ORDER BY partition)
            FROM execution.ingest_offsets WHERE consumer_group = 'g'")
offsets 0 reset --group g --topic trades --partition 1 --to earliest --dry-run
expect_out "trades [1]: 121 -> 0 (was past the end) (log 0..18)" "dry run: the plan"
expect_out "dry run: nothing changed (1 partition(s) would move)" "dry run says so"
check "$(q "SELECT string_agg(partition || ':' || next_offset || '@' || updated_at, ' ' ORDER BY partition)
            FROM execution.ingest_offsets WHERE consumer_group = 'g'")" "$before" "dry run changed nothing"

# Refused while a recorder of the group runs.
rl_start_recorder live --group g --batch-size 50
rl_wait_for 60 "the live recorder's assignment" grep -qF 'assigned trades [3]' "$work/live.log" ||
    die "the live recorder was not assigned"
offsets 1 reset --group g --topic trades --partition 1 --to earliest
expect_out "refused: a recorder of group g is connected to PostgreSQL" "reset refused: says why"
check "$(stored 1)" 121 "a refused reset changes nothing"
rl_stop live TERM
check "$RL_RC" 0 "the live recorder stops on SIGTERM"
check "$(rows NEW1)" 0 "trades[1] still not consumed"

# The reset, then every message of the recreated trades[1] exactly once.
offsets 0 reset --group g --topic trades --partition 1 --to earliest
expect_out "trades [1]: 121 -> 0" "reset: the plan"
expect_out "reset 1 partition(s) of trades for group g" "reset: done"
check "$(stored 1)" 0 "trades[1]'s stored offset reset to 0"
check "$(stored 2) $(stored 3)" "40 7" "the other partitions untouched"
rl_run_to_end after 90 --group g --batch-size 50
rl_check_trades NEW1 0 18 "the recreated trades[1], after the reset"
check "$(stored 1)" 18 "trades[1] recorded to its end"
check "$(rows OLD) $(rows NEW2) $(rows NEW3)" "121 40 7" "nothing else recorded twice or lost"
grep -F 'final totals' "$work/after.log" | grep -qF 'blocked 0' && pass ||
    fail "no partition blocked after the reset: $(grep -F 'final totals' "$work/after.log")"

# --to OFFSET, latest, and a time.
offsets 0 reset --group g --topic trades --partition 2 --to 5
check "$(stored 2)" 5 "--to 5"
offsets 1 reset --group g --topic trades --partition 2 --to 41
expect_out "offset 41 is not in the log, which holds 0..39 (its end is 40)" "--to past the end refused"
check "$(stored 2)" 5 "a refused --to OFFSET changes nothing"
offsets 0 reset --group g --topic trades --partition 2 --to latest
check "$(stored 2)" 40 "--to latest"
produce_to 3 EARLY 0 5
sleep 1.5
t_ms=$(date +%s%3N)
t_rfc=$(date -u -d "@$((t_ms / 1000)).$(printf '%03d' $((t_ms % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
sleep 0.2
produce_to 3 LATE 0 6
offsets 0 reset --group g --topic trades --partition 3 --to "@$t_ms" --dry-run
expect_out "trades [3]: 7 -> 12 (log 0..18)" "--to @epoch-ms: the first message at or after it"
offsets 0 reset --group g --topic trades --partition 3 --to "$t_rfc"
expect_out "trades [3]: 7 -> 12 (log 0..18)" "--to RFC 3339: the same offset"
check "$(stored 3)" 12 "--to TIME sets the first offset at or after the time"
offsets 0 reset --group g --topic trades --partition 3 --to 2000-01-01T00:00:00Z
check "$(stored 3)" 0 "--to a time before every message: the log's start"
offsets 0 reset --group g --topic trades --partition 3 --to 2199-01-01T00:00:00Z
check "$(stored 3)" 18 "--to a time after every message: the log's end"

# A partition without a stored row: the reset creates it.
offsets 0 reset --group g2 --topic trades --partition 0,2 --to earliest
check "$(q "SELECT string_agg(partition || ':' || next_offset, ' ' ORDER BY partition) FROM execution.ingest_offsets
            WHERE consumer_group = 'g2'")" "0:0 2:0" "a reset of a group without positions creates them"

# --group '' lists every group.
offsets 0 list --group '' --topic trades
check "$(awk '$2 == "trades" {print $1}' "$out" | sort | uniq -c | awk '{print $2 ":" $1}' | xargs)" "g:3 g2:2" \
    "offsets list --group '': every group's rows"
expect_out "total: 5 stored positions, 0 past the log's end" "offsets list: the totals line"

# Usage.
offsets 2 reset --group g --topic trades --to sometime
offsets 2 reset --group g --to earliest
offsets 2 reset --group g --topic trades
offsets 2 reset --group g --topic trades --partition x --to earliest
offsets 1 reset --group g --topic trades --partition 9 --to earliest
offsets 1 reset --group g --topic nosuch --to earliest
expect_status 2 "offsets without a subcommand" "$bin" offsets
expect_status 0 "offsets --help" "$bin" offsets --help
expect_status 0 "offsets reset --help" "$bin" offsets reset --help
expect_out "--to VALUE" "offsets reset --help lists --to"

cli_finish
