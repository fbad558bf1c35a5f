#!/usr/bin/env python3
"""Trades for the recorder's end-to-end tests (tests/cli/test_run_*.sh).

Prints COUNT trades, one `key|json` line each (for `kcat -P -K '|' -l`), numbered
from START: trade_id PREFIX-<n>, keyed by order_id (ORD-<n mod ORDERS>) so that each
order's trades share a partition, each with its own trade_time, and quantities with
up to 8 decimals written as JSON strings, JSON numbers and exponents, so that a sum
read back from PostgreSQL is exact only if every digit survived.

    gen_trades.py PREFIX START COUNT            the lines
    gen_trades.py --sum PREFIX START COUNT      the exact sum of their quantities
    gen_trades.py --no-key PREFIX START COUNT   the JSON only (for kcat -p N)
"""
import datetime
import decimal
import json
import sys

ORDERS = 97
BASE = datetime.datetime(2026, 11, 3, 10, 0, 0, tzinfo=datetime.timezone.utc)


def quantity(n):
    """Quantity text of trade n, > 0, and the way it is written in the JSON."""
    whole = n % 1000 + 1
    frac = (n * 7919) % 100000000
    text = "%d.%08d" % (whole, frac)
    style = n % 3
    if style == 0:
        return text, json.dumps(text)          # "12.00345678"
    if style == 1:
        return text, text                      # 12.00345678 (JSON number)
    # exponent: 1200345678e-8 is the same value with the same scale
    mantissa = "%d%08d" % (whole, frac)
    return text, json.dumps(mantissa + "e-8")  # "1200345678e-8"


def trade(prefix, n):
    qty, qty_json = quantity(n)
    order_id = "ORD-%d" % (n % ORDERS)
    when = BASE + datetime.timedelta(milliseconds=n)
    body = ('{"trade_id":%s,"order_id":%s,"quantity":%s,"price":"%d.%02d",'
            '"trade_time":"%s","side":"%s","venue":"TEST"}') % (
        json.dumps("%s-%d" % (prefix, n)), json.dumps(order_id), qty_json,
        100 + n % 50, n % 100, when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "buy" if n % 2 else "sell")
    return order_id, qty, body


def main(argv):
    mode = "lines"
    if argv and argv[0] in ("--sum", "--no-key"):
        mode = argv.pop(0)
    if len(argv) != 3:
        sys.exit(__doc__)
    prefix, start, count = argv[0], int(argv[1]), int(argv[2])
    total = decimal.Decimal(0)
    out = []
    for n in range(start, start + count):
        key, qty, body = trade(prefix, n)
        total += decimal.Decimal(qty)
        if mode == "lines":
            out.append("%s|%s" % (key, body))
        elif mode == "--no-key":
            out.append(body)
    if mode == "--sum":
        print(format(total, "f"))
    else:
        sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
