#!/usr/bin/python3
"""The benchmark's Python peer (tests/bench/run.sh): what a user would write instead of
execrec, with Debian's python3-confluent-kafka and python3-psycopg2.

    peer_python.py --brokers HOST:PORT --dsn DSN [--topic trades] [--group G]
                   [--batch 5000] [-X key=value ...]

Consumes the trades topic from the beginning in a consumer group, maps each JSON
trade to execution.TradesTS's columns (the same rows execrec writes: the contract's
fields, the payload as jsonb, the Kafka coordinates), inserts each batch of up to
--batch messages with psycopg2.extras.execute_values (one statement per 1,000 rows)
and INSERT ... ON CONFLICT (trade_id, trade_time) DO NOTHING, commits the database
transaction, then commits the batch's offsets to Kafka (at least once; the natural
key absorbs a replay). It stops once every assigned partition has reached its end
(enable.partition.eof) and prints one line to stdout:

    rows <inserted> assigned <epoch of the first assignment> consumed <messages>

Run it with Debian's interpreter (/usr/bin/python3): the modules are Debian's.
"""
import argparse
import decimal
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError
import psycopg2
import psycopg2.extras

COLUMNS = ("trade_id", "order_id", "quantity", "price", "trade_time", "account_uid", "asset",
           "side", "fee", "fee_currency", "liquidity", "venue")
INSERT = ("INSERT INTO execution.tradests (%s, raw_payload, kafka_topic, kafka_partition, "
          "kafka_offset, kafka_timestamp, kafka_key) VALUES %%s "
          "ON CONFLICT (trade_id, trade_time) DO NOTHING") % ", ".join(COLUMNS)
# Decimals and times travel as text and PostgreSQL casts them (no float on the way);
# the Kafka timestamp is milliseconds since the epoch.
TEMPLATE = ("(" + ", ".join(["%s"] * (len(COLUMNS) + 4)) +
            ", timestamptz 'epoch' + %s * interval '1 millisecond', %s)")


def enum(v):
    """side and liquidity as execrec stores the plain vocabulary: trimmed, lower case."""
    return v.strip().lower() if isinstance(v, str) else v


def row(msg):
    text = msg.value().decode("utf-8")
    t = json.loads(text, parse_float=decimal.Decimal)  # exact: 1.50 stays 1.50
    vals = [t.get(c) for c in COLUMNS]
    vals[7] = enum(vals[7])
    vals[10] = enum(vals[10])
    ts_type, ts = msg.timestamp()
    key = msg.key()
    return vals + [text, msg.topic(), msg.partition(), msg.offset(),
                   ts if ts_type else None, key.decode("utf-8") if key is not None else None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--topic", default="trades")
    ap.add_argument("--group", default="peer-python")
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("-X", action="append", default=[], metavar="KEY=VALUE",
                    help="librdkafka property")
    a = ap.parse_args()

    conf = {"bootstrap.servers": a.brokers, "group.id": a.group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "enable.partition.eof": True}
    for kv in a.X:
        k, _, v = kv.partition("=")
        conf[k] = v
    assigned = set()
    at_end = set()
    first_assign = []

    def on_assign(consumer, parts):
        if not first_assign:
            first_assign.append(time.time())
        for p in parts:
            assigned.add(p.partition)

    def on_revoke(consumer, parts):
        for p in parts:
            assigned.discard(p.partition)
            at_end.discard(p.partition)

    db = psycopg2.connect(a.dsn)
    consumer = Consumer(conf)
    consumer.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    consumed = 0
    with db.cursor() as cur:
        while True:
            msgs = consumer.consume(num_messages=a.batch, timeout=0.5)
            rows = []
            for m in msgs:
                err = m.error()
                if err is None:
                    rows.append(row(m))
                    at_end.discard(m.partition())
                elif err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(m.partition())
                else:
                    sys.exit("peer_python: %s" % err)
            if rows:
                psycopg2.extras.execute_values(cur, INSERT, rows, template=TEMPLATE,
                                               page_size=1000)
                db.commit()
                consumer.commit(asynchronous=False)
                consumed += len(rows)
            elif assigned and at_end >= assigned:
                break
    consumer.close()
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM execution.tradests")
        inserted = cur.fetchone()[0]
    db.close()
    print("rows %d assigned %.6f consumed %d" % (inserted, first_assign[0], consumed))


if __name__ == "__main__":
    main()
