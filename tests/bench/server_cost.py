#!/usr/bin/env python3
"""PostgreSQL's cost per row of each fact-table index and of raw_payload's type.

Driven by tests/bench/server_cost.sh, which starts the server and migrates two
databases: BEFORE (migrations up to 0010) and AFTER (every migration). This script
measures in BEFORE only: for each configuration it reshapes the (empty) table --
drops every index that does not back a constraint, creates the configuration's,
sets raw_payload's type -- then TRUNCATEs it, CHECKPOINTs, and times one COPY of
ROWS realistic rows (tests/bench/gen.py's messages, with the columns the recorder
writes) sent from this client as the recorder sends them. Configurations
alternate within each run, so a busy neighbour slows them all alike.

    server_cost.py BEFORE_DSN AFTER_DSN ROWS RUNS WORKDIR [TABLE...]

Per configuration, medians over the runs:
  wall s      the COPY statement, client side, to its commit
  cpu us/row  user + system CPU of the server process that ran the COPY
              (/proc/<pid>/stat), the figure least moved by other load
  WAL B/row   pg_current_wal_lsn() before and after
  disk B/row  the month's partition: heap, TOAST and indexes (pg_total_relation_size)
and the difference against the first configuration ("0010", the schema before
migration 0011).
"""
import json
import os
import statistics
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

MONTH = "y2026m11"  # gen.py's times start 2026-11-02 09:00 UTC, 1 ms apart
TICK = os.sysconf("SC_CLK_TCK")

COLUMNS = {
    "tradests": "trade_id, order_id, quantity, price, trade_time, account_uid, asset, side, fee, "
                "fee_currency, liquidity, venue, raw_payload, kafka_topic, kafka_partition, "
                "kafka_offset, kafka_timestamp, kafka_key",
    "ordersts": "order_id, account_uid, asset, side, quantity, order_time, client_order_id, "
                "order_manager_uid, strategy, venue, order_type, time_in_force, limit_price, "
                "currency, status, raw_payload, kafka_topic, kafka_partition, kafka_offset, "
                "kafka_timestamp, kafka_key",
    "ordereventsts": "order_id, event_type, event_time, event_id, sequence, filled_quantity, "
                     "remaining_quantity, avg_fill_price, event_key, raw_payload, kafka_topic, "
                     "kafka_partition, kafka_offset, kafka_timestamp, kafka_key",
}
PARTITIONS = 64


def esc(v):
    """A COPY text field."""
    if v is None:
        return "\\N"
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def coords(n, topic):
    ts = gen.iso(gen.when(n))
    return [topic, str(n % PARTITIONS), str(n // PARTITIONS), ts]


def trade_row(n):
    f = gen.trade_fields(n)
    return [f["trade_id"], f["order_id"], f["quantity"], f["price"], gen.iso(f["trade_time"]),
            f["account_uid"], f["asset"], f["side"], f["fee"], f["fee_currency"], f["liquidity"],
            f["venue"], gen.trade_json(n)] + coords(n, "trades") + [f["order_id"]]


def order_row(n):
    # gen.py's orders name no manager; here every order does (50 managers), so that
    # the partial index on order_manager_uid costs what it costs when in use.
    raw = json.loads(gen.order_json(n))
    raw["order_manager_uid"] = "OM-%03d" % (n % 50)
    raw["strategy"] = "twap"
    text = json.dumps(raw, separators=(",", ":"))
    return [raw["order_id"], raw["account_uid"], raw["asset"], raw["side"], raw["quantity"],
            raw["order_time"], raw["client_order_id"], raw["order_manager_uid"], raw["strategy"],
            raw["venue"], raw["order_type"], raw["time_in_force"], raw["limit_price"],
            raw["currency"], raw["status"], text] + coords(3 * n, "orders") + [raw["order_id"]]


def event_row(n):
    text = gen.event_json(n)
    e = json.loads(text)
    return [e["order_id"], e["event_type"], e["event_time"], e["event_id"], str(e["sequence"]),
            e["filled_quantity"], e["remaining_quantity"], e["avg_fill_price"], e["event_id"],
            text] + coords(3 * n + 1, "order-events") + [e["order_id"]]


ROW = {"tradests": trade_row, "ordersts": order_row, "ordereventsts": event_row}


def write_rows(table, rows, path):
    if os.path.exists(path):
        return
    with open(path + ".tmp", "w") as out:
        for n in range(rows):
            out.write("\t".join(esc(v) for v in ROW[table](n)) + "\n")
    os.rename(path + ".tmp", path)


def one(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchone()[0]


def indexes(cur, table):
    """{name: CREATE INDEX statement} of the parent's indexes that back no constraint."""
    cur.execute("""
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = ('execution.' || %s)::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
         ORDER BY 1""", (table,))
    return {name: ddl.replace(" ON ONLY ", " ON ") for name, ddl in cur.fetchall()}


def payload_type(cur, table):
    return one(cur, """SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                        WHERE attrelid = ('execution.' || %s)::regclass
                          AND attname = 'raw_payload'""", (table,))


def reshape(cur, table, want_indexes, want_type):
    for name in indexes(cur, table):
        cur.execute("DROP INDEX execution.%s" % name)
    for ddl in want_indexes.values():
        cur.execute(ddl)
    if payload_type(cur, table) != want_type:
        cur.execute("ALTER TABLE execution.%s ALTER COLUMN raw_payload TYPE %s USING raw_payload::%s"
                    % (table, want_type, want_type))


def backend_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def measure(conn, table, path):
    cur = conn.cursor()
    conn.autocommit = True
    cur.execute("TRUNCATE execution.%s" % table)
    cur.execute("CHECKPOINT")
    pid = one(cur, "SELECT pg_backend_pid()")
    lsn0 = one(cur, "SELECT pg_current_wal_lsn()")
    conn.autocommit = False
    cpu0 = backend_cpu(pid)
    t0 = time.monotonic()
    with open(path) as f:
        cur.copy_expert("COPY execution.%s (%s) FROM STDIN" % (table, COLUMNS[table]), f)
    conn.commit()
    wall = time.monotonic() - t0
    cpu = backend_cpu(pid) - cpu0
    conn.autocommit = True
    wal = one(cur, "SELECT pg_current_wal_lsn() - %s::pg_lsn", (lsn0,))
    disk = one(cur, "SELECT pg_total_relation_size(%s::regclass)",
               ("execution.%s_%s" % (table, MONTH),))
    return wall, cpu, float(wal), float(disk)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    before_dsn, after_dsn, rows, runs, work = argv[0], argv[1], int(argv[2]), int(argv[3]), argv[4]
    tables = argv[5:] or ["tradests", "ordersts", "ordereventsts"]
    conn = psycopg2.connect(before_dsn)
    conn.autocommit = True
    cur = conn.cursor()
    after = psycopg2.connect(after_dsn)
    acur = after.cursor()
    cur.execute("SELECT execution.ensure_partitions('2026-11-01', '2026-11-01')")
    results = {}
    for table in tables:
        path = os.path.join(work, table + ".copy")
        write_rows(table, rows, path)
        base_idx, base_type = indexes(cur, table), payload_type(cur, table)
        configs = [("0010: as before 0011", base_idx, base_type)]
        for name in base_idx:
            configs.append(("0010 without %s" % name,
                            {k: v for k, v in base_idx.items() if k != name}, base_type))
        configs.append(("0010, natural key only", {}, base_type))
        for t in ("json", "text"):
            if t != base_type:
                configs.append(("0010, raw_payload %s" % t, base_idx, t))
        configs.append(("0011: after (every migration)", indexes(acur, table),
                        payload_type(acur, table)))
        figures = {c[0]: [] for c in configs}
        for r in range(runs):
            for label, idx, typ in configs:
                reshape(cur, table, idx, typ)
                figures[label].append(measure(conn, table, path))
                print("  %s run %d/%d: %-45s %.2f s" % (table, r + 1, runs, label,
                                                         figures[label][-1][0]),
                      file=sys.stderr, flush=True)
        # Leave the table as it was migrated.
        reshape(cur, table, base_idx, base_type)
        results[table] = (configs, figures)

    print("\nPostgreSQL's cost per row: COPY of %d rows, median of %d runs" % (rows, runs))
    for table in tables:
        configs, figures = results[table]
        med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in figures.items()}
        base = med[configs[0][0]]
        print("\n%s (%d bytes of COPY text per row)" % (
            table, os.path.getsize(os.path.join(work, table + ".copy")) // rows))
        print("%-58s %7s %9s %8s %8s %8s   %s" % ("configuration", "wall s", "rows/s", "cpu us",
                                               "WAL B", "disk B", "cpu vs first"))
        for label, _, _ in configs:
            wall, cpu, wal, disk = med[label]
            print("%-58s %7.2f %9.0f %8.1f %8.0f %8.0f   %+6.1f%%" % (
                label, wall, rows / wall, 1e6 * cpu / rows, wal / rows, disk / rows,
                100 * (cpu / base[1] - 1) if base[1] else 0))
    print("\n(cpu us, WAL B and disk B are per row; cpu is the server process's user+system "
          "time; disk is the month's partition with its indexes and TOAST)")


if __name__ == "__main__":
    main(sys.argv[1:])
