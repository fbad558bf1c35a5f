#!/usr/bin/env bash
# The benchmark's peers (tests/bench/peer_python.py, tests/bench/peer_kcat.sh) store
# exactly the rows execrec stores: the benchmark races them on that premise. 300
# trades from tests/data/run/gen_trades.py (quantities as JSON strings, numbers and
# exponents), plus one with an upper-case side and liquidity and no fee, and one
# message repeated: execrec, the Python peer and the kcat | psql pipeline each write
# their own database; every column but ingested_at must match, row for row.
# Cost: ~10 s (three consumers of one small topic; the group joins dominate).
# Needs PostgreSQL through PG* (deploy/test.sh), kcat, and Debian's python3 with
# python3-confluent-kafka and python3-psycopg2.
source "$(dirname "$0")/run_lib.sh"
py=/usr/bin/python3
"$py" -c 'import confluent_kafka, psycopg2' || die "$py lacks python3-confluent-kafka or python3-psycopg2"

rl_db rec
cli_db pydb bench_py
cli_db kdb bench_kcat
for d in "$pydb" "$kdb"; do
    "$bin" migrate --dsn "dbname=$d" >"$work/migrate.log" 2>&1 || die "migrate $d: $(cat "$work/migrate.log")"
done
rl_start_broker --partitions 4

rl_gen_trades BP 0 300 >"$work/trades.txt"
printf '%s\n' \
    'ORD-X|{"trade_id":"BP-UP","order_id":"ORD-X","quantity":"2.50","price":1E+2,"trade_time":"2026-11-03T12:00:00.5+02:00","side":" SELL","liquidity":"Maker","fee":null}' \
    "$(sed -n 7p "$work/trades.txt")" >>"$work/trades.txt"
rl_produce trades "$work/trades.txt" -K '|'

rl_run_to_end rec 60 --group bench-peers --topic-orders '' --topic-events '' --topic-managers ''
"$py" "$src/tests/bench/peer_python.py" --brokers "$BROKER" --dsn "dbname=$pydb" --group bench-peers-py \
    -X session.timeout.ms=6000 -X fetch.wait.max.ms=50 >"$work/python.out" 2>"$work/python.log" ||
    die "peer_python.py failed: $(tail -5 "$work/python.log")"
check "$(cut -d' ' -f1,2,5,6 "$work/python.out")" "rows 301 consumed 302" "the Python peer's summary line"
bash "$src/tests/bench/peer_kcat.sh" "$BROKER" trades "$kdb" fetch.wait.max.ms=50 >"$work/kcat.out" 2>"$work/kcat.log" ||
    die "peer_kcat.sh failed: $(tail -5 "$work/kcat.log")"
check "$(cat "$work/kcat.out")" 301 "rows the kcat | psql pipeline inserted"

cols="trade_id, order_id, quantity, price, trade_time, account_uid, asset, side, fee, fee_currency, liquidity, venue, raw_payload, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, kafka_key"
rows() { psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "SELECT ($cols) FROM execution.tradests ORDER BY trade_id"; }
rows "$PGDATABASE" >"$work/rec.rows"
check "$(wc -l <"$work/rec.rows")" 301 "rows execrec stored"
check "$(q "SELECT quantity || ' ' || price || ' ' || side || ' ' || liquidity || ' ' || coalesce(fee::text, 'null') || ' ' || trade_time
            FROM execution.tradests WHERE trade_id = 'BP-UP'")" \
    "2.50 100 sell maker null 2026-11-03 10:00:00.5+00" "the odd trade as execrec stores it"
for peer in "$pydb" "$kdb"; do
    rows "$peer" >"$work/peer.rows"
    if cmp -s "$work/rec.rows" "$work/peer.rows"; then pass; else
        fail "$peer: rows differ from execrec's: $(diff "$work/rec.rows" "$work/peer.rows" | head -6)"
    fi
done
cli_finish
