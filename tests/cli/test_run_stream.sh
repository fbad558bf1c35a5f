#!/usr/bin/env bash
# execrec run records the sample stream (tests/data/sample) from Kafka exactly once.
# The bad files go to partition 0 of their topics first, in file order, so each bad
# line's offset is known; then every good file twice (keyed: the second copy is a
# duplicate of the first). One `run --exit-at-end` must leave: the rows of the
# sample README, each fact row carrying the coordinates of its first copy; exact
# decimals; every bad line in ingest_rejects with its reason, topic, partition,
# offset and exact bytes; ingest_offsets = high watermark of every partition.
# Running again in the same group reads nothing; in another group it re-reads all
# of it and changes nothing. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"
sample=$src/tests/data/sample

rl_db stream
rl_start_broker --partitions 4

topic_of() {
    case $1 in
    orders) echo orders ;; order_events) echo order-events ;;
    trades) echo trades ;; order_managers) echo order-managers ;;
    esac
}
key_of() {
    case $1 in order_managers) echo unique_identifier ;; *) echo order_id ;; esac
}
kinds="orders order_events trades order_managers"

# 1. The bad lines, to partition 0, in file order: line n has offset n - 1.
for k in $kinds; do
    rl_produce "$(topic_of "$k")" "$sample/bad_$k.jsonl" -p 0
done
# Expected rejects: topic:partition:offset:reason:md5 of the exact line bytes.
expected_rejects=$(
    awk '/^`bad_.*\.jsonl`/ { file = $1; gsub(/`/, "", file) }
         /^[0-9]+\. .*\[[a-z_0-9]+\]$/ { n = $1; sub(/\./, "", n); r = $NF; gsub(/[\[\]]/, "", r);
                                         print file, n, r }' "$sample/README.md" |
    while read -r file n reason; do
        k=${file#bad_}
        k=${k%.jsonl}
        sum=$(sed -n "${n}p" "$sample/$file" | head -c -1 | md5sum | cut -d' ' -f1)
        echo "$(topic_of "$k"):0:$((n - 1)):$reason:$sum"
    done | sort)
check "$(echo "$expected_rejects" | wc -l)" 23 "the sample README lists 23 bad lines"

# 2. The good lines keyed by order or intent, then all of them again.
for k in $kinds; do
    rl_key_by "$(key_of "$k")" <"$sample/$k.jsonl" >"$work/$k.keyed"
    rl_produce "$(topic_of "$k")" "$work/$k.keyed" -K '|'
done
# Coordinates of every message so far: the first copies (and the bad lines).
first_copies=$(for k in $kinds; do
    kcat -C -b "$BROKER" -t "$(topic_of "$k")" -e -q -f '%t %p %o\n'
done | sort)
check "$(echo "$first_copies" | wc -l)" 59 "messages produced in the first round"
for k in $kinds; do
    rl_produce "$(topic_of "$k")" "$work/$k.keyed" -K '|'
done
hw=$(for k in $kinds; do rl_hw "$(topic_of "$k")"; done | sort)
check "$(echo "$hw" | awk '{s += $3} END {print s}')" 95 "messages in the broker (23 bad + 2 x 36 good)"

# 3. Record everything, in batches of 10 so that duplicates meet within a batch and
# across batches.
rl_run_to_end first 90 --group stream --batch-size 10 --log-level debug

counts="SELECT (SELECT count(*) FROM execution.OrdersTS) || ' ' ||
               (SELECT count(*) FROM execution.OrderEventsTS) || ' ' ||
               (SELECT count(*) FROM execution.TradesTS) || ' ' ||
               (SELECT count(*) FROM execution.OrderManager) || ' ' ||
               (SELECT count(*) FROM execution.ingest_rejects)"
check "$(q "$counts")" "7 16 9 2 23" "rows in OrdersTS OrderEventsTS TradesTS OrderManager ingest_rejects"

# Every fact row was recorded from its first copy: the fact rows' coordinates are
# exactly the first round's good messages (its bad lines are the rejects).
bad_coords=$(echo "$expected_rejects" | awk -F: '{print $1, $2, $3}' | sort)
want_fact_coords=$(comm -23 <(echo "$first_copies" | grep -v '^order-managers ') <(echo "$bad_coords"))
got_fact_coords=$(q "SELECT kafka_topic || ' ' || kafka_partition || ' ' || kafka_offset FROM (
        SELECT kafka_topic, kafka_partition, kafka_offset FROM execution.OrdersTS UNION ALL
        SELECT kafka_topic, kafka_partition, kafka_offset FROM execution.OrderEventsTS UNION ALL
        SELECT kafka_topic, kafka_partition, kafka_offset FROM execution.TradesTS) c" | sort)
check "$got_fact_coords" "$want_fact_coords" "fact rows carry the coordinates of the first copies"
check "$(q "SELECT count(*) FROM execution.OrdersTS WHERE kafka_key IS DISTINCT FROM order_id")
$(q "SELECT count(*) FROM execution.OrderEventsTS WHERE kafka_key IS DISTINCT FROM order_id")
$(q "SELECT count(*) FROM execution.TradesTS WHERE kafka_key IS DISTINCT FROM order_id")
$(q "SELECT count(*) FROM execution.OrderManager WHERE kafka_key IS DISTINCT FROM unique_identifier")" \
    "0
0
0
0" "kafka_key of every row is its order_id / unique_identifier"
check "$(q "SELECT count(*) FROM execution.TradesTS WHERE kafka_timestamp IS NULL")" 0 \
    "trades carry the Kafka timestamp"

# Exact decimals, as written.
check "$(q "SELECT quantity || '@' || limit_price || ' ' || side FROM execution.OrdersTS WHERE order_id = 'ORD-4'")" \
    "0.00000001@123456789.12345678 sell" "ORD-4 exact decimals"
check "$(q "SELECT quantity || '@' || limit_price FROM execution.OrdersTS WHERE order_id = 'ORD-2'")" \
    "10@3500.25" "ORD-2 decimals from JSON numbers"
check "$(q "SELECT string_agg(trade_id || '=' || quantity || '@' || price || '/' || fee, ' ' ORDER BY trade_id)
            FROM execution.TradesTS")" \
    "TR-1=0.2@67250.00/0.00000001 TR-2=0.3@67250.50/6.05254500 TR-3=4@3500.25/5.60040 TR-4=100@189.38/0.35 TR-5=0.4@3499.75/-0.13999 TR-6=0.6@3499.65/-0.20998 TR-7=1.5@3499.70/1.05 TR-8=123456789.12345678@0.00000001/0 TR-9=100@189.52/0.35" \
    "every trade's quantity, price and fee exactly"
check "$(q "SELECT sum(quantity) || ' ' || sum(fee) FROM execution.TradesTS")" \
    "123456996.12345678 13.05297501" "sums of trade quantities and fees"
check "$(q "SELECT string_agg(order_id || ':' || filled_quantity || '/' || remaining_quantity, ' '
                              ORDER BY order_id, sequence)
            FROM execution.OrderEventsTS WHERE order_id IN ('ORD-2', 'ORD-5')")" \
    "ORD-2:0/10 ORD-2:4/6 ORD-2:4/0 ORD-5:0/2.5 ORD-5:0.4/2.1 ORD-5:1.0/1.5 ORD-5:2.5/0" \
    "order event quantities"
check "$(q "SELECT string_agg(unique_identifier || ':' || status || ':' || updated_at, ',' ORDER BY unique_identifier)
            FROM execution.OrderManager")" \
    "OM-ALPHA:completed:2026-11-03 15:10:00+00,OM-BETA:paused:2026-11-03 16:00:00+00" \
    "newest manager intent wins"
check "$(q "SELECT raw_payload->>'desk' FROM execution.OrdersTS WHERE order_id = 'ORD-5'")" london \
    "unknown field kept in raw_payload"

# Every bad line is a reject with its reason, its coordinates and its exact bytes.
check "$(q "SELECT kafka_topic || ':' || kafka_partition || ':' || kafka_offset || ':' || reason || ':' || md5(payload)
            FROM execution.ingest_rejects" | sort)" "$expected_rejects" \
    "rejects: topic, partition, offset, reason, payload bytes"
check "$(q "SELECT count(*) FROM execution.ingest_rejects
            WHERE message = '' OR kafka_key IS NOT NULL OR kafka_timestamp IS NULL")" 0 \
    "rejects have a message, no key (none was sent) and the Kafka timestamp"
check "$(q "SELECT count(*) FROM execution.ingest_rejects WHERE payload_text IS NULL")" 1 \
    "payload_text of every reject but the invalid UTF-8 one"

# The stored positions are the high watermarks, for this group only.
check "$(rl_offsets stream)" "$hw" "ingest_offsets = high watermark of every partition"
check "$(q "SELECT count(*) FROM execution.ingest_offsets WHERE consumer_group <> 'stream'")" 0 \
    "offsets stored only for the group"

# 4. Nothing changes when run again: the same group reads nothing; another group
# re-reads all 95 messages and records nothing twice.
snapshot() {
    local t
    for t in OrdersTS OrderEventsTS TradesTS OrderManager ingest_rejects; do
        q "SELECT '$t ' || count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), ''))
           FROM execution.$t x"
    done
}
before=$(snapshot)
offsets_before=$(q "SELECT string_agg(topic || ' ' || partition || ' ' || next_offset || ' ' || updated_at, ','
                    ORDER BY topic, partition) FROM execution.ingest_offsets")
rl_run_to_end again 90 --group stream --batch-size 10 --log-level debug
check "$(snapshot)" "$before" "a second run in the same group changes no row"
check "$(q "SELECT string_agg(topic || ' ' || partition || ' ' || next_offset || ' ' || updated_at, ','
            ORDER BY topic, partition) FROM execution.ingest_offsets")" "$offsets_before" \
    "a second run in the same group does not touch ingest_offsets"

rl_run_to_end replay 90 --group replay --batch-size 10 --log-level debug
check "$(snapshot)" "$before" "a replay of everything in another group changes no row"
check "$(rl_offsets replay)" "$hw" "the replaying group's offsets = high watermarks"

cli_finish
