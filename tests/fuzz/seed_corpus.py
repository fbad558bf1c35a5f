#!/usr/bin/env python3
"""Writes the fuzzer's seed inputs into a directory (deploy/fuzz.sh merges them into
tests/fuzz/corpus/): every line of tests/data/sample/*.jsonl, every case of
tests/data/normalise_cases.txt, and Confluent-framed and plain Avro trades built as
tests/unit/test_codec.c builds them. Byte 0 of an input selects kind and format
(tests/fuzz/fuzz_check.h): kind | format << 2, format 0 auto, 1 json, 2 plain Avro."""
import hashlib
import os
import re
import struct
import sys

KINDS = {"order": 0, "order_event": 1, "trade": 2, "order_manager": 3}
ALIASES = {"orders": "order", "order_events": "order_event", "order-events": "order_event",
           "trades": "trade", "order_managers": "order_manager",
           "order-managers": "order_manager"}
AUTO, JSON, AVRO = 0, 1, 2


def kind_of(name):
    name = ALIASES.get(name, name)
    return KINDS[name]


def put(out, kind, fmt, value):
    # The corpus stays small: huge cases (the 1 MiB limit) are left out; the fuzzer
    # reaches message_too_large through its 256-byte-limit codec instead.
    if len(value) > 65536:
        return
    data = bytes([kind | fmt << 2]) + value
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def expand(s):
    """The \\xHH and @{N*TEXT} escapes of normalise_cases.txt."""
    s = re.sub(r"@\{(\d+)\*([^}]*)\}", lambda m: m.group(2) * int(m.group(1)), s)
    out = bytearray()
    i = 0
    raw = s.encode("utf-8")
    while i < len(raw):
        m = re.match(rb"\\x([0-9a-fA-F]{2})", raw[i:i + 4])
        if m:
            out.append(int(m.group(1), 16))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def zigzag(v):
    u = (v << 1) ^ (v >> 63)
    u &= (1 << 64) - 1
    b = bytearray()
    while u >= 0x80:
        b.append((u & 0x7F) | 0x80)
        u >>= 7
    b.append(u)
    return bytes(b)


def avro_str(s):
    s = s.encode()
    return zigzag(len(s)) + s


def trade_body(quantity="1.50", price="0.00000001", t=1795247483123456, side="BUY"):
    """A datum of schemas/trade.avsc, as test_codec.c's trade_body()."""
    b = avro_str("T-1") + avro_str("O-1") + avro_str(quantity) + avro_str(price)
    b += zigzag(t)
    b += b"\x02" + avro_str("acc-7")  # account_uid
    b += b"\x00"                      # asset null
    b += b"\x02" + avro_str(side)     # side
    b += b"\x02" + avro_str("-0.25")  # fee
    b += b"\x00\x00\x00"              # fee_currency, liquidity, venue
    return b


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    sample = os.path.join(src, "tests/data/sample")
    for name in sorted(os.listdir(sample)):
        if not name.endswith(".jsonl"):
            continue
        kind = kind_of(name[:-6].removeprefix("bad_"))
        with open(os.path.join(sample, name), "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                if line:
                    put(out, kind, AUTO, line)
                    put(out, kind, JSON, line)
    with open(os.path.join(src, "tests/data/normalise_cases.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#") or " => " not in line:
                continue
            head = line[:line.rindex(" => ")]
            kind_name, _, value = head.partition(" ")
            put(out, kind_of(kind_name.strip()), AUTO, expand(value))
    trade = KINDS["trade"]
    for body in (trade_body(), trade_body("1e-8", "123456789.12345678", 0, "sell"),
                 trade_body("-1", "NaN", -1, "x"), trade_body()[:-3]):
        put(out, trade, AUTO, b"\x00" + struct.pack(">i", 3) + body)
        put(out, trade, AVRO, body)
    put(out, trade, AUTO, b"\x00" + struct.pack(">i", 1) + trade_body())  # wrong schema id
    put(out, trade, AUTO, b"\x00\x00\x00")                                 # short header


if __name__ == "__main__":
    main()
