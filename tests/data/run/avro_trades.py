#!/usr/bin/env python3
"""Confluent-framed Avro trades (schemas/trade.avsc, id 3 in schemas/registry.map)
for tests/cli/test_run_avro.sh, one message per file: `kcat -P` sends each file
named on its command line as one message, whatever bytes it holds.

    avro_trades.py DIR     writes DIR/NN-<what>.bin and prints, per file, a line
                           "<file> <md5 of its bytes> <expected outcome>"

The outcome is "row" (a new trade), "dup" (same trade again) or the reject code.
The encoder is the few lines of the Avro spec the schema needs: zig-zag varint
longs, length-prefixed strings, and ["null", T] unions (branch index first).
"""
import hashlib
import os
import struct
import sys

SCHEMA_ID = 3
FIELDS = ["trade_id", "order_id", "quantity", "price", "trade_time", "account_uid",
          "asset", "side", "fee", "fee_currency", "liquidity", "venue"]
REQUIRED_STRINGS = {"trade_id", "order_id", "quantity", "price"}


def varint(n):
    z = (n << 1) ^ (n >> 63)  # zig-zag
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def string(s):
    b = s.encode("utf-8")
    return varint(len(b)) + b


def trade(**f):
    body = b""
    for name in FIELDS:
        v = f.get(name)
        if name == "trade_time":
            body += varint(v)
        elif name in REQUIRED_STRINGS:
            body += string(v)
        elif v is None:
            body += varint(0)
        else:
            body += varint(1) + string(v)
    return body


def framed(body, schema_id=SCHEMA_ID):
    return b"\x00" + struct.pack(">I", schema_id) + body


# 2026-11-03T14:30:02.123456Z in microseconds
T0 = 1793716202123456

AV1 = trade(trade_id="AV-1", order_id="ORD-AV", quantity="0.00000001",
            price="123456789.12345678", trade_time=T0, account_uid="ACC-9",
            asset="BTC-USD", side="Buy", fee="-0.50", fee_currency="USD",
            liquidity="T", venue="XAVRO")
AV2 = trade(trade_id="AV-2", order_id="ORD-AV", quantity="1.50", price="100",
            trade_time=T0 + 1)
AV3 = trade(trade_id="AV-3", order_id="ORD-AV", quantity="2", price="3",
            trade_time=T0 + 2)
AV4 = trade(trade_id="AV-4", order_id="ORD-AV", quantity="NaN", price="3",
            trade_time=T0 + 3)

MESSAGES = [
    ("av1", framed(AV1), "row"),
    ("av2", framed(AV2), "row"),
    ("av1-again", framed(AV1), "dup"),
    ("av3-truncated", framed(AV3)[:-3], "avro_truncated"),
    ("av3-unknown-id", framed(AV3, 7), "avro_unknown_schema"),
    ("av4-nan", framed(AV4), "bad_decimal"),
]


def main(argv):
    if len(argv) != 1:
        sys.exit(__doc__)
    os.makedirs(argv[0], exist_ok=True)
    for i, (what, data, outcome) in enumerate(MESSAGES):
        path = os.path.join(argv[0], "%02d-%s.bin" % (i, what))
        with open(path, "wb") as f:
            f.write(data)
        print(path, hashlib.md5(data).hexdigest(), outcome)


if __name__ == "__main__":
    main(sys.argv[1:])
