#!/usr/bin/env bash
# The benchmark's shell peer (tests/bench/run.sh): the pipeline a user could write with
# kcat and psql instead of execrec. Not streaming and not exactly once: it reads the
# topic once, to its end.
#
#     bash tests/bench/peer_kcat.sh BROKERS TOPIC DBNAME [KCAT -X KEY=VALUE...]
#
#   1. kcat -C -e -f (every partition from the beginning to its end, one line a
#      message: topic, partition, offset, timestamp, key, payload) | psql \copy into
#      an UNLOGGED staging table whose payload column is jsonb (CSV with a quote and
#      a delimiter that never occur: backslashes and quotes arrive intact; a payload
#      with a raw line break would not, and the benchmark's have none);
#   2. one INSERT ... SELECT ... ON CONFLICT DO NOTHING into execution.TradesTS that
#      maps a trade as execrec does (docs/contract.md): the contract's fields, decimals
#      and times cast from their text, side and liquidity trimmed and lower-cased,
#      the payload as received (in raw_payload's type), the Kafka coordinates; then
#      drops the staging table.
# PG* environment variables select the server. Prints "<rows inserted>" on stdout.
set -euo pipefail
if [ $# -lt 3 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] && exit 0
    exit 2
fi
brokers=$1 topic=$2 db=$3
shift 3
kx=()
for kv in "$@"; do kx+=(-X "$kv"); done

# raw_payload is the payload as received, in the column's type (jsonb today: then the
# staged jsonb is stored as it is, parsed once; otherwise the text is staged and cast).
payload_type=$(psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'execution.tradests'::regclass AND attname = 'raw_payload'")
if [ "$payload_type" = jsonb ]; then
    stage_type=jsonb p=payload raw=payload
else
    stage_type=text p=payload::jsonb raw="payload::$payload_type"
fi
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE UNLOGGED TABLE bench_stage (topic text, part int, off bigint, ts bigint, key text, payload $stage_type)"
# Fields apart by \x02, CSV quoting by \x01: neither occurs in JSON text or in the
# keys, so every byte arrives as sent; an empty (null) key is a NULL, as in execrec.
kcat -C -q -e -o beginning -b "$brokers" -t "$topic" "${kx[@]}" -f $'%t\x02%p\x02%o\x02%T\x02%k\x02%s\n' |
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
        -c "\\copy bench_stage FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" <<SQL
WITH ins AS (
    INSERT INTO execution.tradests (trade_id, order_id, quantity, price, trade_time,
                                    account_uid, asset, side, fee, fee_currency, liquidity,
                                    venue, raw_payload, kafka_topic, kafka_partition,
                                    kafka_offset, kafka_timestamp, kafka_key)
    SELECT p->>'trade_id', p->>'order_id', (p->>'quantity')::numeric, (p->>'price')::numeric,
           (p->>'trade_time')::timestamptz, p->>'account_uid', p->>'asset',
           lower(btrim(p->>'side')), (p->>'fee')::numeric, p->>'fee_currency',
           lower(btrim(p->>'liquidity')), p->>'venue', $raw, topic, part, off,
           timestamptz 'epoch' + ts * interval '1 millisecond', key
    FROM (SELECT *, $p AS p FROM bench_stage) s
    ON CONFLICT DO NOTHING
    RETURNING 1)
SELECT count(*) FROM ins;
DROP TABLE bench_stage;
SQL
