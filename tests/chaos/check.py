#!/usr/bin/env python3
"""The chaos test's checker: the database against what the producer sent.

    check.py WORKDIR        (PG* in the environment name the database)

Independent of execrec's code: it reads the chaos driver's own record of where each
message landed (record.tsv: id, topic, partition, offset), the generator's description
of each message (meta.jsonl: kind, natural key, version, valid or malformed), the
watermarks the driver read at the end (watermarks.tsv), the log as the driver read it
back at the end (dump.tsv: the mock cluster can hold a retried batch twice), and the
tables, in plain SQL.
It checks:

  1. every produced offset is exactly one row or one reject: a malformed message is
     a reject at its own offset and nothing else; a valid one is the row at its own
     offset, or a duplicate of a fact whose one row sits at another offset that
     carried the same natural key (an exact copy re-sent, an older OrderManager
     version); no valid message is a reject;
  2. no row or reject claims an offset that was not produced with that content;
  3. every natural key exactly once (orders, events, trades; one OrderManager row per
     identifier);
  4. OrderManager holds the newest version per identifier;
  5. the stored offsets (execution.ingest_offsets) equal the high watermarks, and no
     partition lost messages to the mock cluster's retention (low watermark 0);
  6. the audit trail of ingest_offsets shows each partition's offset moving in one
     unbroken chain, never backwards, ending at the stored offset.

Exit 0 when all hold, 1 with a line per finding (the first 20 of each kind), 3 when
the inputs are inconsistent (a produce error in the record: the harness failed).
"""
import collections
import json
import os
import subprocess
import sys

GROUP = "chaos"
TABLES = {  # kind -> (table, natural-key column)
    "order": ("execution.OrdersTS", "order_id"),
    "event": ("execution.OrderEventsTS", "event_id"),
    "trade": ("execution.TradesTS", "trade_id"),
    "manager": ("execution.OrderManager", "unique_identifier"),
}


def sql(query):
    r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("check: psql: %s" % r.stderr.strip())
        sys.exit(3)
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def main(work):
    findings = collections.defaultdict(list)

    def find(kind, what):
        findings[kind].append(what)

    meta = {}
    with open(os.path.join(work, "meta.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            meta[m["id"]] = m
    at = {}  # (topic, partition, offset) -> meta
    with open(os.path.join(work, "record.tsv")) as f:
        for line in f:
            i, topic, part, off, err = line.rstrip("\n").split("\t")
            if err != "-":
                print("check: message %s was not produced (%s): the harness failed" % (i, err))
                return 3
            at[(topic, int(part), int(off))] = meta[int(i)]
    if len(at) != len(meta):
        print("check: %d messages generated, %d acknowledged at distinct offsets" % (len(meta), len(at)))
        return 3
    # What the log really holds (dump.tsv, read back by the driver at the end): the
    # mock cluster can append a batch the producer retried twice, the second copy at
    # offsets no delivery report names. Each copy is a message to record (the same
    # value, hence the same kind, natural key and version).
    by_value = {}
    with open(os.path.join(work, "stream.tsv")) as f:
        for line in f:
            i, topic, _, _, value = line.rstrip("\n").split("\t")
            by_value[(topic, value)] = meta[int(i)]
    copies = 0
    held = {}
    with open(os.path.join(work, "dump.tsv")) as f:
        for line in f:
            topic, part, off, value = line.rstrip("\n").split("\t")
            c = (topic, int(part), int(off))
            m = by_value.get((topic, value))
            if m is None:
                print("check: %s [%d] @%d holds a message that was never produced: the harness failed" % c)
                return 3
            if c in at and at[c] is not m and (at[c]["kind"], at[c]["key"], at[c]["valid"]) != (m["kind"], m["key"], m["valid"]):
                print("check: %s [%d] @%d: delivery report and log disagree: the harness failed" % c)
                return 3
            if c not in at:
                copies += 1
            held[c] = m
    missing = [c for c in at if c not in held]
    if missing:
        print("check: %d acknowledged offsets are not in the log (e.g. %s [%d] @%d): the harness failed"
              % (len(missing), *missing[0]))
        return 3
    at = held
    if copies:
        print("check: the log holds %d message(s) twice (a retried produce appended again by the mock "
              "cluster): each copy counts as produced" % copies)
    wm = {}
    with open(os.path.join(work, "watermarks.tsv")) as f:
        for line in f:
            t, p, lo, hi = line.split("\t")
            wm[(t, int(p))] = (int(lo), int(hi))
    per_part = collections.Counter((t, p) for t, p, _ in at)
    for k, (lo, hi) in sorted(wm.items()):
        if lo != 0:
            find("retention", "%s [%d]: low watermark %d: the mock cluster dropped messages (run smaller)" % (k[0], k[1], lo))
        if hi != per_part.get(k, 0):
            find("watermark", "%s [%d]: high watermark %d, but %d messages in the log" % (k[0], k[1], hi, per_part.get(k, 0)))

    # The tables.
    rows = {}  # (topic, partition, offset) -> (kind, natural key, version or None)
    keys = collections.defaultdict(list)  # (kind, key) -> [coordinates]
    for kind, (table, col) in TABLES.items():
        extra = ", (raw_payload->>'version')" if kind == "manager" else ", NULL"
        for t, p, o, key, ver in sql("SELECT kafka_topic, kafka_partition, kafka_offset, %s%s FROM %s"
                                     % (col, extra, table)):
            c = (t, int(p), int(o))
            if c in rows:
                find("row twice", "%s [%s] @%s holds two rows" % c)
            rows[c] = (kind, key, int(ver) if ver else None)
            keys[(kind, key)].append(c)
    rejects = {}
    for t, p, o, reason in sql("SELECT kafka_topic, kafka_partition, kafka_offset, reason FROM execution.ingest_rejects"):
        rejects[(t, int(p), int(o))] = reason

    # 2. Nothing claims an offset it does not own.
    for c, (kind, key, ver) in rows.items():
        m = at.get(c)
        if m is None:
            find("unknown row", "%s row %s at %s [%d] @%d: nothing was produced there" % (kind, key, *c))
        elif not m["valid"] or m["kind"] != kind or m["key"] != key or m.get("version") != ver:
            find("wrong row", "%s row %s v%s at %s [%d] @%d, but what was produced there is %s" % (kind, key, ver, *c, m))
    for c in rejects:
        if c not in at:
            find("unknown reject", "reject at %s [%d] @%d: nothing was produced there" % c)

    # 3 and 4. Natural keys, and the newest OrderManager version.
    want_keys = collections.defaultdict(list)  # (kind, key) -> [(coordinates, version)]
    for c, m in at.items():
        if m["valid"]:
            want_keys[(m["kind"], m["key"])].append((c, m.get("version")))
    for k, produced in want_keys.items():
        got = keys.get(k, [])
        if len(got) != 1:
            find("key count", "%s %s: %d rows (produced at %s)" % (k[0], k[1], len(got), [p for p, _ in produced]))
            continue
        if k[0] == "manager":
            newest = max(v for _, v in produced)
            ver = rows[got[0]][2]
            if ver != newest:
                find("manager version", "%s holds version %s, the newest produced is %d" % (k[1], ver, newest))
    for k in keys:
        if k not in want_keys:
            find("unknown key", "%s %s is in the tables but was never produced valid" % k)

    # 1. Each produced offset: exactly one row or one reject (or a duplicate).
    for c, m in sorted(at.items()):
        in_rows, in_rejects = c in rows, c in rejects
        if not m["valid"]:
            if not in_rejects or in_rows:
                find("malformed", "%s [%d] @%d (malformed %s): reject %s, row %s" % (*c, m["kind"], in_rejects, in_rows))
            continue
        if in_rejects:
            find("valid rejected", "%s [%d] @%d (%s %s) is a reject: %s" % (*c, m["kind"], m["key"], rejects[c]))
        if not in_rows and len(keys.get((m["kind"], m["key"]), [])) != 1:
            find("lost", "%s [%d] @%d (%s %s): no row here and no single row elsewhere" % (*c, m["kind"], m["key"]))

    # 5. Stored offsets are the high watermarks.
    stored = {(t, int(p)): int(o) for t, p, o in
              sql("SELECT topic, partition, next_offset FROM execution.ingest_offsets WHERE consumer_group = '%s'" % GROUP)}
    for k, (lo, hi) in sorted(wm.items()):
        if stored.get(k, 0) != hi:
            find("stored offset", "%s [%d]: stored %s, high watermark %d" % (k[0], k[1], stored.get(k), hi))
    for k in stored:
        if k not in wm:
            find("stored offset", "%s [%d]: stored, but no such partition" % k)

    # 6. The audit chain.
    audit = collections.defaultdict(list)
    for t, p, old, new, backend in sql("SELECT topic, partition, old_offset, new_offset, backend "
                                       "FROM public.offset_audit ORDER BY id"):
        audit[(t, int(p))].append((int(old) if old else None, int(new), backend))
    changes = 0
    for k, chain in sorted(audit.items()):
        prev = None
        for old, new, backend in chain:
            changes += 1
            if old != prev or new < (old or 0):
                find("offset chain", "%s [%d]: backend %s moved %s -> %d after the chain ended at %s"
                     % (k[0], k[1], backend, old, new, prev))
            prev = new
        if prev != stored.get(k):
            find("offset chain", "%s [%d]: the chain ends at %s, stored %s" % (k[0], k[1], prev, stored.get(k)))

    nvalid = sum(1 for m in at.values() if m["valid"])
    print("check: %d messages produced (%d valid, %d malformed, %d natural keys); %d rows, %d rejects; "
          "%d stored offset changes audited over %d partitions"
          % (len(at), nvalid, len(at) - nvalid, len(want_keys), len(rows), len(rejects), changes, len(audit)))
    if not findings:
        print("check: every check holds")
        return 0
    for kind, lines in findings.items():
        print("check: FINDING %s: %d" % (kind, len(lines)))
        for line in lines[:20]:
            print("check:   " + line)
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    sys.exit(main(sys.argv[1]))
