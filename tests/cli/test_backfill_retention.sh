#!/usr/bin/env bash
# A backfill of offsets that retention has deleted is an error naming what the
# broker still has, with a non-zero exit, and writes nothing. librdkafka's mock
# cluster (2.0.2, rdkafka_mock.c) keeps at most 5 MiB of message sets per
# partition and drops whole message sets from the front past that, moving the
# partition's log start (low watermark): 7 MiB of 1 KiB lines to partition 0
# moves it well past 0. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db retention
rl_start_broker --partitions 2

python3 -c 'import sys
for n in range(7000):
    sys.stdout.write("%06d %s\n" % (n, "x" * 1017))' >"$work/big.txt"
rl_produce trades "$work/big.txt" -p 0
# The oldest message still there, and the end, as kcat (not execrec) sees them.
low=$(kcat -C -b "$BROKER" -t trades -p 0 -o beginning -c 1 -e -q -f '%o\n' 2>>"$work/kcat.log")
high=$(rl_hw trades | awk '$2 == 0 {print $3}')
check "$high" 7000 "partition 0 ends at 7000"
if [ -z "$low" ] || [ "$low" -le 100 ]; then
    die "retention did not move partition 0's start past 100 (low '$low'): the mock cluster's limit changed?"
fi
note "partition 0 holds offsets $low-$((high - 1))"
"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"

backfill() { expect_status "$1" "backfill ${*:2}" "$bin" backfill --brokers "$BROKER" --topic trades "${@:2}"; }
backfill 1 --partition 0 --from-offset 0 --to-offset 100
expect_out "trades [0]: offsets 0-99 requested, but the broker has $low-$((high - 1)) (older messages deleted by retention)" \
    "the error names the range asked for and the range the broker has"
# Every partition is checked before anything is read: partition 1 is empty.
backfill 1 --from-offset 0
expect_out "trades [0]: offsets 0-6999 requested, but the broker has $low-$((high - 1))" \
    "a range over all partitions fails on the one retention cut"
backfill 1 --partition 0 --to-offset 50
expect_out "trades [0]: offsets 0-49 requested, but the broker has $low-$((high - 1)) (older messages deleted by retention)" \
    "only a to, below the oldest message"
backfill 1 --partition 0 --from-offset 7001
expect_out "trades [0]: offsets 7001-6999 requested, but the broker has $low-6999 (the range starts past the partition's end)" \
    "a range past the end"
check "$(rl_count execution.TradesTS) $(rl_count execution.ingest_rejects)" "0 0" \
    "nothing written by the refused backfills"

# What is still there can be replayed (these lines are not JSON: rejects).
backfill 0 --partition 0 --from-offset "$low" --to-offset $((low + 10))
expect_out "backfill: read 10 messages (10 offsets in 1 partitions), inserted 0" "the retained range replays"
expect_out "rejected 10 (0 already recorded)" "as 10 rejects"
check "$(q "SELECT min(kafka_offset) || '-' || max(kafka_offset) || ' ' || count(*) || ' ' || min(reason)
            FROM execution.ingest_rejects")" "$low-$((low + 9)) 10 json_syntax" "the rejects' offsets and reason"

cli_finish
