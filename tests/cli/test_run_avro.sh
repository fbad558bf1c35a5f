#!/usr/bin/env bash
# execrec run with Confluent Avro from Kafka: Avro trades (tests/data/run/
# avro_trades.py: schema id 3 of schemas/registry.map) and JSON on the same topic,
# all to partition 0 in a known order. Good Avro lands with exact decimals and
# microsecond times, its raw_payload is the Avro rendered as JSON, the repeated
# message is a duplicate, and each bad message (truncated, unknown schema id, NaN,
# neither JSON nor Avro, a tombstone, one over --max-message-bytes) is a reject
# with its reason, offset and exact bytes.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db avro
rl_start_broker --partitions 4

# Offsets 0..5: the Avro messages, one file each, one kcat call each (in order).
python3 "$src/tests/data/run/avro_trades.py" "$work/avro" >"$work/avro.list" || die "avro_trades.py failed"
check "$(wc -l <"$work/avro.list")" 6 "Avro messages generated"
while read -r file _ _; do
    kcat -P -b "$BROKER" -t trades -p 0 "$file" 2>>"$work/kcat.log" || die "kcat could not produce $file"
done <"$work/avro.list"
# Offsets 6 and 7: a JSON trade, and a message that is neither JSON nor Avro.
printf '%s\n' '{"trade_id":"JS-1","order_id":"ORD-AV","quantity":"7.000","price":"0.1","trade_time":"2026-11-03T14:30:03Z"}' \
    '<xml/>' >"$work/json.txt"
rl_produce trades "$work/json.txt" -p 0
# Offset 8: a tombstone (key, NULL value). Offset 9: a trade over --max-message-bytes.
printf 'TOMB|\n' | kcat -P -b "$BROKER" -t trades -p 0 -K '|' -Z 2>>"$work/kcat.log" || die "kcat: tombstone"
python3 -c 'print("{\"trade_id\":\"BIG-1\",\"order_id\":\"O\",\"quantity\":1,\"price\":1,\"trade_time\":1793700000,\"pad\":\"" + "x" * 5000 + "\"}")' >"$work/big.txt"
rl_produce trades "$work/big.txt" -p 0
check "$(kcat -C -b "$BROKER" -t trades -p 0 -e -q -f '%o:%S\n' 2>>"$work/kcat.log" | tr '\n' ' ')" \
    "0:$(stat -c %s "$work"/avro/00-*) 1:$(stat -c %s "$work"/avro/01-*) 2:$(stat -c %s "$work"/avro/02-*) 3:$(stat -c %s "$work"/avro/03-*) 4:$(stat -c %s "$work"/avro/04-*) 5:$(stat -c %s "$work"/avro/05-*) 6:$(head -1 "$work/json.txt" | head -c -1 | wc -c) 7:6 8:-1 9:$(head -c -1 "$work/big.txt" | wc -c) " \
    "messages on trades [0] in the produced order (offset:size)"

rl_run_to_end rec 90 --group avro --registry "$src/schemas/registry.map" --batch-size 3 --max-message-bytes 4096 --log-level debug

check "$(q "SELECT string_agg(concat_ws(' ', trade_id, kafka_partition || ':' || kafka_offset, quantity, price,
                                        trade_time, account_uid, asset, side, fee, fee_currency, liquidity, venue),
                              E'\n' ORDER BY trade_id)
            FROM execution.TradesTS")" \
    "AV-1 0:0 0.00000001 123456789.12345678 2026-11-03 14:30:02.123456+00 ACC-9 BTC-USD buy -0.50 USD taker XAVRO
AV-2 0:1 1.50 100 2026-11-03 14:30:02.123457+00
JS-1 0:6 7.000 0.1 2026-11-03 14:30:03+00" \
    "trades from Avro and JSON, exactly (the repeated AV-1 at offset 2 is a duplicate)"
check "$(q "SELECT raw_payload->>'trade_time' || ' ' || (raw_payload->>'quantity') || ' ' ||
                   coalesce(raw_payload->>'fee', 'null') || ' ' || (raw_payload::jsonb ? 'venue')::text
            FROM execution.TradesTS WHERE trade_id = 'AV-2'")" \
    "2026-11-03T14:30:02.123457Z 1.50 null true" "raw_payload is the Avro rendered as JSON"

md5() { md5sum | cut -d' ' -f1; }
want_rejects=$(awk '$3 != "row" && $3 != "dup" {print NR - 1 ":" $3 ":" $2}' "$work/avro.list"
               echo "7:unknown_format:$(printf '<xml/>' | md5)"
               echo "8:empty_message:$(printf '' | md5)"
               echo "9:message_too_large:$(head -c -1 "$work/big.txt" | md5)")
check "$(q "SELECT kafka_offset || ':' || reason || ':' || coalesce(md5(payload), md5('')) FROM execution.ingest_rejects
            WHERE kafka_topic = 'trades' AND kafka_partition = 0 ORDER BY kafka_offset")" \
    "$want_rejects" "rejects: offset, reason and exact bytes (a tombstone's: none)"
check "$(q "SELECT string_agg(kafka_offset || '=' || coalesce(payload_text, 'NULL'), ' ' ORDER BY kafka_offset)
            FROM execution.ingest_rejects WHERE kafka_offset < 8")" \
    "3=NULL 4=NULL 5=NULL 7=<xml/>" "payload_text only for text payloads (Avro holds a zero byte)"
check "$(q "SELECT string_agg(kafka_offset || '=' || coalesce(convert_from(kafka_key, 'UTF8'), 'NULL'), ' '
                              ORDER BY kafka_offset) FROM execution.ingest_rejects")" \
    "3=NULL 4=NULL 5=NULL 7=NULL 8=TOMB 9=NULL" "reject keys"
check "$(rl_count execution.ingest_rejects)" 6 "rejects in all"
check "$(rl_offsets avro)" "trades 0 10" "ingest_offsets"

cli_finish
