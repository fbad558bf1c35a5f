#!/usr/bin/env python3
"""Message streams for the benchmark (tests/bench/run.sh).

Writes a framed file: per message a 4-byte big-endian key length, the key, a 4-byte
big-endian value length, the value. Framing (not lines) because Avro bodies hold any
byte; tests/bench/bench_tool.c reads it to produce or to decode.

    gen.py trades-json  COUNT FILE     trades as JSON (keyed by order_id)
    gen.py trades-avro  COUNT FILE     the same trades, Confluent Avro, schema id 3
    gen.py orders-json  COUNT FILE     orders as JSON
    gen.py events-json  COUNT FILE     order events as JSON (one per order above)

Trades look like a venue's fills: ~300 bytes of JSON, 8-decimal quantities,
every field of the contract filled, times 1 ms apart within one month, so that
COPY and the recorder write the same partitions.
"""
import datetime
import os
import struct
import sys

# The few lines of Avro encoding the tests already have (zig-zag varints, strings).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "run"))
from avro_trades import string, varint  # noqa: E402

BASE = datetime.datetime(2026, 11, 2, 9, 0, 0, tzinfo=datetime.timezone.utc)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
ASSETS = ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT", "EURUSD", "ES-DEC26", "CL-JAN27"]
VENUES = ["XNAS", "XNYS", "BATS", "COINBASE", "KRAKEN", "CME"]


def when(n):
    return BASE + datetime.timedelta(milliseconds=n)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def trade_fields(n):
    return {
        "trade_id": "TR-%09d" % n,
        "order_id": "ORD-%08d" % (n // 3),
        "quantity": "%d.%08d" % (n % 1000 + 1, (n * 7919) % 100000000),
        "price": "%d.%04d" % (100 + n % 5000, (n * 31) % 10000),
        "trade_time": when(n),
        "account_uid": "ACC-%05d" % (n % 977),
        "asset": ASSETS[n % len(ASSETS)],
        "side": "buy" if n % 2 else "sell",
        "fee": "0.%06d" % ((n * 13) % 1000000),
        "fee_currency": "USD",
        "liquidity": "maker" if n % 3 else "taker",
        "venue": VENUES[n % len(VENUES)],
    }


def trade_json(n):
    f = trade_fields(n)
    return ('{"trade_id":"%s","order_id":"%s","quantity":"%s","price":"%s",'
            '"trade_time":"%s","account_uid":"%s","asset":"%s","side":"%s","fee":"%s",'
            '"fee_currency":"%s","liquidity":"%s","venue":"%s"}') % (
        f["trade_id"], f["order_id"], f["quantity"], f["price"], iso(f["trade_time"]),
        f["account_uid"], f["asset"], f["side"], f["fee"], f["fee_currency"],
        f["liquidity"], f["venue"])


def trade_avro(n):
    """schemas/trade.avsc field order; optional fields are ["null", T] branch 1."""
    f = trade_fields(n)
    micros = (f["trade_time"] - EPOCH) // datetime.timedelta(microseconds=1)
    body = string(f["trade_id"]) + string(f["order_id"]) + string(f["quantity"]) + \
        string(f["price"]) + varint(micros)
    for name in ("account_uid", "asset", "side", "fee", "fee_currency", "liquidity", "venue"):
        body += varint(1) + string(f[name])
    return b"\x00" + struct.pack(">I", 3) + body


def order_json(n):
    return ('{"order_id":"ORD-%08d","client_order_id":"C-%08d","account_uid":"ACC-%05d",'
            '"asset":"%s","side":"%s","quantity":"%d.%04d","order_type":"limit",'
            '"time_in_force":"day","limit_price":"%d.%02d","currency":"USD",'
            '"order_time":"%s","status":"new","venue":"%s"}') % (
        n, n, n % 977, ASSETS[n % len(ASSETS)], "buy" if n % 2 else "sell", n % 500 + 1,
        n % 10000, 100 + n % 5000, n % 100, iso(when(3 * n)), VENUES[n % len(VENUES)])


def event_json(n):
    return ('{"order_id":"ORD-%08d","event_type":"partially_filled","event_time":"%s",'
            '"event_id":"EV-%09d","sequence":%d,"filled_quantity":"%d.%04d",'
            '"remaining_quantity":"%d.%04d","avg_fill_price":"%d.%04d"}') % (
        n, iso(when(3 * n + 1)), n, n % 100 + 1, n % 250, n % 10000, n % 250 + 1,
        n % 10000, 100 + n % 5000, (n * 31) % 10000)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    what, count, path = argv[0], int(argv[1]), argv[2]
    make = {
        "trades-json": lambda n: ("ORD-%08d" % (n // 3), trade_json(n).encode()),
        "trades-avro": lambda n: ("ORD-%08d" % (n // 3), trade_avro(n)),
        "orders-json": lambda n: ("ORD-%08d" % n, order_json(n).encode()),
        "events-json": lambda n: ("ORD-%08d" % n, event_json(n).encode()),
    }.get(what)
    if not make:
        sys.exit(__doc__)
    with open(path, "wb") as out:
        for n in range(count):
            key, value = make(n)
            key = key.encode()
            out.write(struct.pack(">I", len(key)) + key + struct.pack(">I", len(value)) + value)


if __name__ == "__main__":
    main(sys.argv[1:])
