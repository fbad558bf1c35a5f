#!/usr/bin/env python3
"""Checks a --log-format json log (tests/cli/test_log_json.sh): every line is one JSON
object with time (RFC 3339 UTC, milliseconds), level and message, and the fields
that apply have their types. Prints a summary of what the lines carry, one
'name value' per line, for the shell test to compare:

    check_json_log.py LOG [TOPIC]

  lines N            lines in the log
  kafka_lines N      lines from librdkafka (facility and client set)
  kafka_client NAME  the client name of those lines (first one)
  assigned P:O,...   partition:offset of each 'assigned TOPIC [P]' line, sorted
  ranges P:O,...     partition:offset of each backfill range line 'TOPIC [P] (kind): ...'
  batch_rows N       sum of rows over the 'batch committed' lines
  batch_lines N      'batch committed' lines, each with rows and duration_ms
  totals C/I/D/R/L   consumed/inserted/duplicates/rejected/lag of the last totals line
A line that breaks the rules is printed as 'bad LINENO: reason' and the exit status
is 1.
"""
import json
import re
import sys

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"error", "warn", "info", "debug"}
TOTALS = ("consumed", "inserted", "duplicates", "rejected", "lag")
INTS = ("partition", "offset", "rows", "duration_ms") + TOTALS


def main():
    path = sys.argv[1]
    topic = sys.argv[2] if len(sys.argv) > 2 else None
    bad = 0
    lines = kafka = batch_lines = batch_rows = 0
    client = None
    totals = None
    assigned = []
    ranges = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            lines += 1
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                print("bad %d: not JSON (%s): %r" % (n, e, raw[:200]))
                bad += 1
                continue
            if not isinstance(obj, dict):
                print("bad %d: not an object" % n)
                bad += 1
                continue
            why = []
            if not TIME.match(str(obj.get("time", ""))):
                why.append("time %r" % obj.get("time"))
            if obj.get("level") not in LEVELS:
                why.append("level %r" % obj.get("level"))
            if not isinstance(obj.get("message"), str) or not obj["message"]:
                why.append("message %r" % obj.get("message"))
            for k in INTS:
                if k in obj and (not isinstance(obj[k], int) or isinstance(obj[k], bool)):
                    why.append("%s %r is not an integer" % (k, obj[k]))
            if why:
                print("bad %d: %s" % (n, "; ".join(why)))
                bad += 1
                continue
            msg = obj["message"]
            if "facility" in obj and "client" in obj:
                kafka += 1
                client = client or obj["client"]
            if topic and msg.startswith("assigned %s [" % topic):
                if obj.get("topic") != topic or "partition" not in obj or "offset" not in obj:
                    print("bad %d: assigned line without topic/partition/offset" % n)
                    bad += 1
                else:
                    assigned.append((obj["partition"], obj["offset"]))
            if all(k in obj for k in TOTALS):
                totals = "/".join(str(obj[k]) for k in TOTALS)
            if topic and re.match(r"^%s \[\d+\] \(" % re.escape(topic), msg):
                if obj.get("topic") != topic or "partition" not in obj or "offset" not in obj:
                    print("bad %d: range line without topic/partition/offset" % n)
                    bad += 1
                else:
                    ranges.append((obj["partition"], obj["offset"]))
            if msg.startswith("batch committed"):
                if "rows" not in obj or "duration_ms" not in obj or obj["duration_ms"] < 0:
                    print("bad %d: batch line without rows/duration_ms" % n)
                    bad += 1
                else:
                    batch_lines += 1
                    batch_rows += obj["rows"]
    print("lines %d" % lines)
    print("kafka_lines %d" % kafka)
    print("kafka_client %s" % client)
    print("assigned %s" % ",".join("%d:%d" % a for a in sorted(assigned)))
    print("ranges %s" % ",".join("%d:%d" % a for a in sorted(ranges)))
    print("batch_rows %d" % batch_rows)
    print("batch_lines %d" % batch_lines)
    print("totals %s" % totals)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
