#!/usr/bin/env bash
# Bounded under a flood. First, rejects: 16 partitions of trades, each holding one
# 3,000,030-byte message (over max.message.bytes: message_too_large) and one of
# 900,000 bytes (under it, valid JSON without trade_id: missing_field), 62 MB in
# all, read in batches that only the byte budget closes (--batch-size, --batch-ms
# and --batch-idle-ms far out of reach; --batch-bytes 1 MiB). The recorder must:
#   - record every message as a reject with its partition and offset (32, exact);
#   - store only the head of each payload (reject.payload.max, 64 KiB by default:
#     65536 bytes of the ASCII one, 65535 of the other, whose cut falls inside a
#     two-byte character), with payload_text, the whole length and the SHA-256 of
#     the whole payload (tests/data/run/gen_flood.py computes them with hashlib);
#   - commit exactly 2 batches of 16 rejects: a reject's COPY text is its 64 KiB
#     head and about 200 bytes more, so the 16th reaches 1 MiB and the 15th not.
# Then rows: 128 valid trades of 1,000,000 bytes with the default budget (below).
# Each time the peak RSS (/usr/bin/time's maximum resident set, VmHWM) must stay
# under FLOOD_RSS_MAX_KB, 128 MiB, the figure the benchmark holds the recorder to.
# Measured (this build, Debug + ASan, quarantine 16 MiB as set below; Release in
# brackets): rejects 66 MiB (48), rows 88 MiB (75). The code before the byte budget
# and the head: rejects 424 MiB (390), one batch of 190 MB of COPY text; rows 206
# MiB (169), one batch of 128 MB.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

FLOOD_RSS_MAX_KB=${FLOOD_RSS_MAX_KB:-131072}
parts=16
# AddressSanitizer's quarantine keeps freed memory resident, up to 256 MiB: with
# 1 MB messages parsed and freed one after another it fills, whatever the recorder
# holds. 16 MiB of it still catches a use after free of the last messages, and
# leaves the RSS to what the recorder keeps (a build without ASan ignores this).
asan_options="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16"

rl_db flood
rl_start_broker --partitions "$parts"
mkdir "$work/flood"
python3 "$src/tests/data/run/gen_flood.py" "$work/flood" "$parts" 65536 | sort >"$work/expected" ||
    die "gen_flood.py failed"
check "$(wc -l <"$work/expected")" $((parts * 2)) "messages generated"

# One message per file (kcat -P without -l); the producer's message.max.bytes must
# let 3 MB through (default 1,000,000).
for ((p = 0; p < parts; p++)); do
    kcat -P -b "$BROKER" -t trades -p "$p" -X message.max.bytes=4000000 \
        "$work/flood/big-$p.msg" "$work/flood/near-$p.msg" 2>>"$work/kcat.log" ||
        die "kcat could not produce to trades [$p] (see kcat.log)"
done
# Every partition holds both messages, from offset 0 (nothing dropped by the mock
# cluster's 5 MiB per partition).
check "$(rl_hw trades | awk '{print $3}' | sort | uniq -c | awk '{print $1 "x" $2}')" "${parts}x2" \
    "each partition ends at offset 2"
check "$(kcat -C -b "$BROKER" -t trades -o beginning -e -q -f '%p %o %S\n' 2>>"$work/kcat.log" |
    sort -n | awk '{print $2 ":" $3}' | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')" \
    "${parts}x0:3000030 ${parts}x1:900000 " "the broker holds every message whole"

"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
ASAN_OPTIONS=$asan_options /usr/bin/time -f '%M' -o "$work/rss" "$bin" run --brokers "$BROKER" -X session.timeout.ms=6000 \
    -X heartbeat.interval.ms=500 --exit-at-end --log-level debug --batch-size 1000000 \
    --batch-ms 600000 --batch-idle-ms 600000 --batch-bytes 1048576 --writers 1 \
    >"$work/flood.out" 2>"$work/flood.log" &
rec_pid[flood]=$!
rl_bg+=("$!")
note "recorder flood started (pid $!) under /usr/bin/time"
rl_wait_exit flood 300
check "$RL_RC" 0 "execrec run --exit-at-end exit status (124: did not stop within 300s)"

check "$(q "SELECT kafka_partition || ' ' || kafka_offset || ' ' || reason || ' ' || payload_length || ' ' ||
                   octet_length(payload) || ' ' || encode(payload_sha256, 'hex') || ' ' || md5(payload)
            FROM execution.ingest_rejects WHERE kafka_topic = 'trades'" | sort)" \
    "$(cat "$work/expected")" \
    "every message a reject: partition, offset, reason, whole length, stored length, sha256, stored bytes"
check "$(rl_count "execution.ingest_rejects")" $((parts * 2)) "rejects in all"
check "$(rl_count "execution.ingest_rejects WHERE payload_text IS NULL
                   OR convert_to(payload_text, 'UTF8') <> payload")" 0 \
    "payload_text is the stored head, for every reject"
check "$(rl_count "execution.TradesTS")" 0 "no trade rows yet"
check "$(q "SELECT string_agg(partition || ':' || next_offset, ' ' ORDER BY partition)
            FROM execution.ingest_offsets WHERE topic = 'trades'")" \
    "$(seq 0 $((parts - 1)) | sed 's/$/:2/' | paste -sd ' ')" \
    "every partition's stored offset is 2"
check "$(grep -o 'batch committed: [0-9]* messages' "$work/flood.log" | sort | uniq -c |
    awk '{print $1 "x" $4}')" "2x16" "the byte budget closed 2 batches of 16 rejects"

# check_rss WHAT FILE: the recorder's peak RSS in FILE is under the bound.
check_rss() {
    local rss
    rss=$(tail -1 "$2")
    note "$1: peak RSS ${rss} KiB (bound ${FLOOD_RSS_MAX_KB} KiB)"
    [[ "$rss" =~ ^[0-9]+$ ]] || die "no maximum RSS from /usr/bin/time: '$(cat "$2")'"
    if [ "$rss" -ge "$FLOOD_RSS_MAX_KB" ]; then
        fail "$1: peak RSS ${rss} KiB is over the bound of ${FLOOD_RSS_MAX_KB} KiB"
    else
        pass
    fi
}
check_rss "rejects" "$work/rss"

# Rows: 32 partitions of 4 valid trades of 1,000,000 bytes (128 MB), on a new broker
# (the first one's partitions are full), read with the default byte budget (16 MiB)
# and nothing else to close a batch. A row's COPY text is its raw JSON and under
# 1,000 bytes of columns, so the 17th row reaches 16 MiB and the 16th cannot:
# 7 batches of 17 and the last 9 (at the end). Before, one batch held all 128.
# One writer: with N, each holds 1/N of the budget and the batches' sizes follow
# how the partitions fall to the writers (the bound on memory is the same).
rows_parts=32
rm -f "$work/broker.addr" "$work/broker.out"
rl_start_broker --partitions "$rows_parts"
python3 "$src/tests/data/run/gen_flood.py" --rows "$work/flood" "$rows_parts" 4 | sort >"$work/rows" ||
    die "gen_flood.py --rows failed"
for ((p = 0; p < rows_parts; p++)); do
    kcat -P -b "$BROKER" -t trades -p "$p" -X message.max.bytes=4000000 \
        "$work/flood/row-$p-"{0,1,2,3}.msg 2>>"$work/kcat.log" ||
        die "kcat could not produce to trades [$p] (see kcat.log)"
done
ASAN_OPTIONS=$asan_options /usr/bin/time -f '%M' -o "$work/rss-rows" "$bin" run --brokers "$BROKER" --group rows \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 --exit-at-end --log-level debug \
    --batch-size 1000000 --batch-ms 600000 --batch-idle-ms 600000 --writers 1 \
    >"$work/rows.out" 2>"$work/rows.log" &
rec_pid[rows]=$!
rl_bg+=("$!")
note "recorder rows started (pid $!) under /usr/bin/time"
rl_wait_exit rows 300
check "$RL_RC" 0 "execrec run --exit-at-end (rows) exit status (124: did not stop within 300s)"
check "$(q "SELECT trade_id || ' ' || octet_length(raw_payload->>'note') FROM execution.TradesTS" | sort)" \
    "$(cat "$work/rows")" "every row recorded once, whole (its note's length)"
check "$(rl_count "execution.ingest_rejects")" $((parts * 2)) "no new rejects"
check "$(grep -o 'batch committed: [0-9]* messages' "$work/rows.log" | awk '{print $3}' | paste -sd ' ')" \
    "17 17 17 17 17 17 17 9" "the default byte budget closed batches of 17 rows"
check_rss "rows" "$work/rss-rows"
cli_finish
