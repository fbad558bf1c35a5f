#!/usr/bin/env bash
# Offsets that retention removed before the recorder read them are counted and
# logged with their coordinates, never passed over silently (docs/offsets.md):
# at assignment (the stored offset is below the log's start), and while running
# (a fetch out of range: librdkafka's own reset is off, auto.offset.reset=error,
# so the recorder sees the event, logs the gap and goes on from the log's start).
# In both cases the accounting is exact: recorded + rejected + skipped = the end.
# librdkafka's mock cluster keeps at most 5 MiB of message sets per partition
# (test_backfill_retention.sh), so 1 KiB lines move the log's start.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db retention_gap
rl_start_broker --partitions 2

big() { # START COUNT > FILE: 1 KiB lines that are not JSON (each one a reject)
    python3 -c 'import sys
start, count = int(sys.argv[1]), int(sys.argv[2])
for n in range(start, start + count):
    sys.stdout.write("%07d %s\n" % (n, "x" * 1016))' "$1" "$2"
}
stored() { q "SELECT next_offset FROM execution.ingest_offsets WHERE consumer_group = '$1' AND topic = 'trades' AND partition = 0"; }
low() { kcat -C -b "$BROKER" -t trades -p 0 -o beginning -c 1 -e -q -f '%o\n' 2>>"$work/kcat.log"; }
rejects() { rl_count "execution.ingest_rejects WHERE kafka_topic = 'trades' AND kafka_partition = 0"; }
totals() { grep -F 'final totals' "$work/$1.log" | tail -1; }

# 1. At assignment: 10 trades recorded, then 7000 KiB lines; the start passes 10.
python3 "$gen_trades" --no-key T 0 10 >"$work/t.jsonl"
rl_produce trades "$work/t.jsonl" -p 0
rl_run_to_end first 90 --group a
check "$(stored a)" 10 "10 trades recorded"
big 10 7000 >"$work/big1.txt"
rl_produce trades "$work/big1.txt" -p 0
lo=$(low)
[ -n "$lo" ] && [ "$lo" -gt 10 ] || die "retention did not move the log's start past 10 (low '$lo')"
note "partition 0 holds $lo..7009"
rl_run_to_end second 120 --group a --batch-size 1000
check "$(stored a)" 7010 "recorded to the end"
check "$(rejects)" $((7010 - lo)) "every message still on the broker rejected once"
grep -F ' ERROR ' "$work/second.log" |
    grep -qF "trades [0]: offsets 10..$((lo - 1)) are no longer on the broker (retention): those $((lo - 10)) messages were never recorded" &&
    pass || fail "the gap is logged with its coordinates: $(grep -F 'retention' "$work/second.log")"
totals second | grep -qF "skipped $((lo - 10)) (never recorded)" && pass ||
    fail "the totals count the $((lo - 10)) skipped offsets: $(totals second)"
check "$((10 + $(rejects) + lo - 10))" 7010 "recorded + rejected + skipped = the end"

# 2. While running: the recorder is held in a flush (a lock on ingest_rejects) with
# a small fetch queue, while 9000 more KiB lines push the log's start past where
# its fetcher stopped; once let go, the fetch is out of range.
q "DELETE FROM execution.ingest_rejects" >/dev/null
rl_start_recorder third --group a --batch-size 50 -X queued.max.messages.kbytes=64 \
    -X fetch.max.bytes=65536 -X max.partition.fetch.bytes=65536 -X message.max.bytes=32768 --log-level debug
rl_wait_for 60 "the recorder's assignment" grep -qF 'assigned trades [0]' "$work/third.log" ||
    die "not assigned"
# The lock is held by a psql session fed through a FIFO, until this test commits.
mkfifo "$work/lock.fifo"
psql -X -q <"$work/lock.fifo" >/dev/null 2>&1 &
locker=$!
rl_bg+=("$locker")
exec 7>"$work/lock.fifo"
echo "BEGIN; LOCK TABLE execution.ingest_rejects IN ACCESS EXCLUSIVE MODE;" >&7
locked() { [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                    WHERE c.relname = 'ingest_rejects' AND l.mode = 'AccessExclusiveLock' AND l.granted")" == 1 ]; }
rl_wait_for 10 "the lock on ingest_rejects" locked || die "no lock"
big 7010 300 >"$work/big2.txt"
rl_produce trades "$work/big2.txt" -p 0
sleep 2 # the recorder consumes the first of them and waits in its flush; its queue fills
big 7310 9000 >"$work/big3.txt"
rl_produce trades "$work/big3.txt" -p 0
lo2=$(low)
note "partition 0 now holds $lo2..16309"
echo "COMMIT;" >&7
exec 7>&-
wait "$locker"
stored_is() { [ "$(stored a 2>/dev/null)" == "$1" ]; }
rl_wait_for 120 "the recorder to reach the end" stored_is 16310 ||
    die "the recorder did not reach the end"
rl_stop third TERM
check "$RL_RC" 0 "the recorder stops on SIGTERM"
gap=$(grep -F ' ERROR ' "$work/third.log" | grep -oE 'trades \[0\]: offsets [0-9]+\.\.[0-9]+ are no longer on the broker' | head -1)
from=$(echo "$gap" | sed -E 's/.*offsets ([0-9]+)\.\..*/\1/')
to=$(echo "$gap" | sed -E 's/.*\.\.([0-9]+) are.*/\1/')
[ -n "$gap" ] && pass || fail "the running recorder logs the gap as an ERROR with its coordinates: $(grep -F 'trades [0]' "$work/third.log" | grep -v assigned | head -5)"
if [ -n "$gap" ]; then
    note "gap $from..$to"
    check "$((from >= 7010 && to >= from))" 1 "the gap is within what was produced after the first run"
    totals third | grep -qF "skipped $((to - from + 1)) (never recorded)" && pass ||
        fail "the totals count the $((to - from + 1)) skipped offsets: $(totals third)"
    check "$(($(rejects) + to - from + 1))" $((16310 - 7010)) "rejected + skipped = what was produced"
    check "$(q "SELECT count(*) FROM execution.ingest_rejects WHERE kafka_offset BETWEEN $from AND $to")" 0 \
        "nothing recorded inside the gap"
fi

cli_finish
