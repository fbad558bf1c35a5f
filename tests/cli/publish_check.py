#!/usr/bin/env python3
"""Compares the rows execrec recorded with the JSON lines that were published.

    publish_check.py KIND FILE DECODED ROWS

FILE holds the published JSON lines, DECODED the output of `execrec decode --kind
KIND FILE` (the normaliser's columns for each line), ROWS one JSON object per table
row (psql: SELECT row_to_json(t) ...). Checks, for every line, that a row exists
whose columns equal the decoded ones (times compared as instants, decimals as exact
decimals and as text), and independently that every decimal and every plain text
field of the line itself equals the row's column exactly. For order managers, only
the newest line of each unique_identifier has a row. Prints one line per mismatch,
then "N compared"; exits 1 on any mismatch. Not a test itself.
"""
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal

KEYS = {"order": ("order_id",), "order_event": ("order_id", "event_key"),
        "trade": ("trade_id",), "order_manager": ("unique_identifier",)}
DECIMALS = {"quantity", "limit_price", "stop_price", "reference_price", "filled_quantity",
            "remaining_quantity", "avg_fill_price", "price", "fee"}
ENUMS = {"side", "order_type", "time_in_force", "status", "event_type", "liquidity"}
TIMES = {"order_time", "event_time", "trade_time", "target_time", "created_at", "updated_at"}


def instant(s):
    s = s.replace(" ", "T")
    if s.endswith("+00"):
        s += ":00"
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)


def same(col, want, got):
    if want is None or got is None:
        return want is None and got is None
    if col in TIMES:
        return instant(str(want)) == instant(str(got))
    if col in DECIMALS:
        return Decimal(str(want)) == Decimal(str(got))
    return str(want) == str(got)


def main():
    kind, file, decoded, rows = sys.argv[1:5]
    lines = [json.loads(l, parse_float=str, parse_int=str)
             for l in open(file, encoding="utf-8") if l.strip()]
    dec = [json.loads(l)["columns"] for l in open(decoded, encoding="utf-8") if l.strip()]
    # Numbers as their text: NUMERIC 67250.50 must come back as "67250.50".
    table = [json.loads(l, parse_float=str, parse_int=str)
             for l in open(rows, encoding="utf-8") if l.strip()]
    assert len(lines) == len(dec), "decode printed %d records for %d lines" % (len(dec), len(lines))
    key = KEYS[kind]
    by_key = {}
    for r in table:
        k = tuple(r[c] for c in key)
        if k in by_key:
            print("row key %s twice" % (k,))
        by_key[k] = r
    pairs = list(zip(lines, dec))
    if kind == "order_manager":  # the newest line of each intent
        newest = {}
        for line, cols in pairs:
            k = cols["unique_identifier"]
            if k not in newest or instant(cols["updated_at"]) >= instant(newest[k][1]["updated_at"]):
                newest[k] = (line, cols)
        pairs = list(newest.values())
    bad = 0
    for line, cols in pairs:
        k = tuple(cols[c] for c in key)
        row = by_key.pop(k, None)
        if row is None:
            print("no row for %s" % (k,))
            bad += 1
            continue
        for col, want in cols.items():
            if not same(col, want, row.get(col)):
                print("%s %s: row %r, decoded %r" % (k, col, row.get(col), want))
                bad += 1
            # Decimals keep the writer's text (scale included).
            if col in DECIMALS and want is not None and want != row.get(col):
                print("%s %s: row text %r, decoded text %r" % (k, col, row.get(col), want))
                bad += 1
        for col, v in line.items():
            if col not in cols or v is None:
                continue
            if col in DECIMALS and Decimal(v) != Decimal(row[col]):
                print("%s %s: row %r, published %r" % (k, col, row[col], v))
                bad += 1
            elif col not in DECIMALS | ENUMS | TIMES and col != "sequence" and v != row[col]:
                print("%s %s: row %r, published %r" % (k, col, row[col], v))
                bad += 1
    for k in by_key:
        print("row %s was not published" % (k,))
        bad += 1
    print("%d compared" % len(pairs))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
