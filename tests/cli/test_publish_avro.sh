#!/usr/bin/env bash
# execrec publish --format avro through a Schema Registry over HTTP
# (tests/registry/registry_server.py): the four subjects registered, Confluent
# framing with the registry's ids, the sample stream recorded by execrec run
# --registry URL (ids resolved over HTTP, no map) equal to its lines field by
# field, raw_payload holding the Avro rendered as JSON, and execrec decode through
# the URL. Then the registry is stopped: publish refuses every line with the HTTP
# error and produces nothing; a recorder that cannot resolve the ids keeps every
# message as an avro_unknown_schema reject carrying the HTTP error and the bytes,
# quickly (one timeout, not one per message).
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/publish_lib.sh" # run_lib.sh, sample, pl_compare_sample

rl_db publish_avro
rl_start_broker --partitions 4

python3 "$src/tests/registry/registry_server.py" --map "$src/schemas/registry.map" \
    --port-file "$work/registry.port" 2>"$work/registry.log" &
registry_pid=$!
rl_bg+=("$registry_pid")
rl_wait_for 15 "the registry's port" test -s "$work/registry.port" || die "registry_server.py did not start"
REGISTRY=http://127.0.0.1:$(cat "$work/registry.port")
note "registry at $REGISTRY"

declare -A file=([order]=orders [order_event]=order_events [trade]=trades [order_manager]=order_managers)
for kind in order order_event trade order_manager; do
    expect_status 0 "publish --format avro $kind" "$bin" publish --brokers "$BROKER" --kind "$kind" \
        --format avro --registry "$REGISTRY" "$sample/${file[$kind]}.jsonl"
    expect_out " produced, 0 refused, 0 failed (topic " "$kind summary"
done
check "$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + "/subjects").read().decode())' "$REGISTRY")" \
    '["order-events-value", "order-managers-value", "orders-value", "trades-value"]' "one subject per topic"
# The registry gives the schemas of registry.map their ids: trades carry id 3.
check "$(kcat -C -b "$BROKER" -t trades -e -q -f '%s\n' 2>>"$work/kcat.log" | head -c 5 | od -An -tx1 | tr -d ' ')" \
    0000000003 "Confluent framing: magic 0, schema id 3 (big-endian)"
check "$(kcat -C -b "$BROKER" -t trades -e -q -f '%k\n' 2>>"$work/kcat.log" | sort | uniq | tr '\n' ' ')" \
    "ORD-1 ORD-2 ORD-3 ORD-5 ORD-7 ORD-X9 " "Avro trades keyed by order_id"

# execrec decode resolves a Confluent message through the URL.
kcat -C -b "$BROKER" -t trades -e -q -f '%s' -c 1 -o beginning -p "$(kcat -C -b "$BROKER" -t trades -e -q -f '%p\n' | head -1)" \
    2>>"$work/kcat.log" | od -An -v -tx1 | tr -d ' \n' >"$work/one.hex"
echo >>"$work/one.hex"
expect_status 0 "decode --registry URL" "$bin" decode --kind trade --registry "$REGISTRY" "$work/one.hex"
expect_out '"kind":"trade","columns":{"trade_id":"TR-' "decode prints the trade"

gets=$(grep -c 'GET /schemas/ids/' "$work/registry.log")
rl_run_to_end rec 90 --group avro --registry "$REGISTRY"
check "$(rl_count execution.ingest_rejects)" 0 "no rejects"
check "$(($(grep -c 'GET /schemas/ids/' "$work/registry.log") - gets))" 4 \
    "the recorder asked the registry once per id (then its cache answers)"
pl_compare_sample
check "$(q "SELECT (raw_payload->>'quantity') || ' ' || (raw_payload->>'trade_time') || ' ' || json_typeof(raw_payload->'fee')
            FROM execution.TradesTS WHERE trade_id = 'TR-8'")" \
    "123456789.12345678 2026-11-03T14:32:00.000000Z string" "raw_payload is the Avro rendered as JSON"
check "$(q "SELECT (raw_payload::jsonb ? 'desk')::text || ' ' || json_typeof(raw_payload->'stop_price') FROM execution.OrdersTS WHERE order_id = 'ORD-5'")" \
    "false null" "raw_payload holds the schema's fields (desk, outside the contract, is not in Avro)"

# --- the registry goes away
kill -TERM "$registry_pid"
rl_wait_for 10 "the registry to stop" sh -c "! kill -0 $registry_pid 2>/dev/null" || die "registry did not stop"
before=$(rl_hw trades)
expect_status 1 "publish --format avro with the registry down" "$bin" publish --brokers "$BROKER" --kind trade \
    --format avro --registry "$REGISTRY" "$sample/trades.jsonl"
expect_out "trades.jsonl:1: schema registry $REGISTRY/subjects/trades-value/versions: Couldn't connect to server" \
    "the line names the registry and the HTTP error"
check "$(grep -c 'trades.jsonl:[0-9]*: schema registry' "$out")" 9 "every line refused"
expect_out "9 read, 0 produced, 9 refused, 0 failed" "summary with the registry down"
check "$(rl_hw trades)" "$before" "nothing produced with the registry down"

# A map beside the URL answers its ids without a request; a map given twice is misuse.
expect_status 0 "decode --registry URL --registry-map MAP with the registry down" "$bin" decode --kind trade \
    --registry "$REGISTRY" --registry-map "$src/schemas/registry.map" "$work/one.hex"
expect_status 1 "decode --registry URL with the registry down" "$bin" decode --kind trade \
    --registry "$REGISTRY" "$work/one.hex"
expect_out '"reject":"avro_unknown_schema","message":"schema id 3: schema registry '"$REGISTRY"'/schemas/ids/3: ' \
    "decode names the registry and the error"
expect_status 2 "--registry MAP --registry-map MAP" "$bin" decode --kind trade \
    --registry "$src/schemas/registry.map" --registry-map "$src/schemas/registry.map" "$work/one.hex"

rl_db publish_avro_down
start=$SECONDS
rl_run_to_end down 90 --group down --registry "$REGISTRY" --registry-timeout-ms 2000
note "recorder with the registry down took $((SECONDS - start)) s"
check "$(rl_count "execution.ingest_rejects WHERE reason = 'avro_unknown_schema'
                   AND message LIKE 'schema id _: schema registry $REGISTRY/schemas/ids/_: Couldn''t connect to server%'
                   AND get_byte(payload, 0) = 0 AND octet_length(payload) > 5")" 36 \
    "every message kept as avro_unknown_schema with the HTTP error and its bytes"
check "$(q "SELECT (SELECT count(*) FROM execution.OrdersTS) + (SELECT count(*) FROM execution.TradesTS)")" 0 \
    "no rows without a schema"
check "$(q "SELECT sum(next_offset) FROM execution.ingest_offsets WHERE consumer_group = 'down'")" 36 \
    "every offset accounted for"
check "$([ $((SECONDS - start)) -lt 45 ] && echo fast)" fast "an unreachable registry costs no timeout per message"

cli_finish
