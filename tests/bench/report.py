#!/usr/bin/env python3
"""The benchmark's report (tests/bench/run.sh): reads the figures of one run, prints
the table and the summary against issue 14's targets (met / not met, never asserted)
and writes every figure to a JSON file.

    report.py RESULTS_JSON FIGURES_TSV key=value...

FIGURES_TSV holds "<run>.<figure>\\t<value>" lines; the key=value arguments describe
the run (n, partitions, rss_small, rss_large, rate, writers_ok, commit, ...).
"""
import json
import os
import platform
import subprocess
import sys

# Issue 14's targets.
STEADY_X, WALL_X, PYTHON_X, KCAT_X = 1.4, 1.1, 3.0, 1.5
P99_MS, RSS_MIB, RSS_GROWTH = 100.0, 128.0, 0.10


def number(v):
    try:
        return float(v) if "." in v else int(v)
    except ValueError:
        return v


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    pg = subprocess.run(["psql", "-X", "-t", "-A", "-d", "postgres", "-c", "SHOW server_version"],
                        capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "kernel": platform.release(), "postgresql": pg,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}


def main(argv):
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        sys.exit(__doc__)
    out, tsv = argv[0], argv[1]
    meta = {k: number(v) for k, v in (a.split("=", 1) for a in argv[2:])}
    r = {}
    for line in open(tsv):
        k, v = line.rstrip("\n").split("\t")
        run, _, fig = k.partition(".")
        r.setdefault(run, {})[fig] = number(v)

    def run(name):
        """One run's figures with its rates, or None when it was not run."""
        f = r.get(name)
        if not f or "rows" not in f:
            return None
        f = dict(f)
        rows = f["rows"]
        f["rows_per_s"] = round(rows / f["steady_s"]) if f["steady_s"] > 0 else None
        f["rows_per_s_wall"] = round(rows / f["wall_s"])
        f["client_cpu_us_per_row"] = round(f["client_cpu_s"] * 1e6 / rows, 1)
        f["pg_cpu_us_per_row"] = round(f["pg_cpu_s"] * 1e6 / rows, 1)
        f["wal_bytes_per_row"] = round(f["wal_bytes"] / rows)
        f["peak_rss_mib"] = round(f["rss_kib"] / 1024, 1)
        return f

    res = {"machine": machine(), "run": meta}
    for name in ("copy1", "copy2", "copy4", "json", "w1", "w2", "w4", "avro", "python", "kcat",
                 "mcopy1", "mcopy2", "mcopy4", "mixed", "rss_small", "rss_large"):
        res[name] = run(name)
    copy1, mcopy1 = res["copy1"], res["mcopy1"]
    for name, limit in (("copy2", copy1), ("copy4", copy1), ("json", copy1), ("w1", copy1),
                        ("w2", copy1), ("w4", copy1), ("avro", copy1), ("python", copy1),
                        ("kcat", copy1), ("mcopy2", mcopy1), ("mcopy4", mcopy1),
                        ("mixed", mcopy1)):
        f = res[name]
        if f:
            if f["rows_per_s"] is not None:
                f["steady_x_copy1"] = round(f["rows_per_s"] / limit["rows_per_s"], 3)
            f["wall_x_copy1"] = round(f["rows_per_s_wall"] / limit["rows_per_s"], 3)
    js = res["json"]
    res["execrec_vs_python"] = {"wall": round(res["python"]["wall_s"] / js["wall_s"], 3),
                                "steady": round(js["rows_per_s"] / res["python"]["rows_per_s"], 3)}
    res["execrec_vs_kcat"] = {"wall": round(res["kcat"]["wall_s"] / js["wall_s"], 3)}
    res["decode_normalise_per_s_one_core"] = {"json_trade": r["decode"]["json"],
                                              "avro_trade": r["decode"]["avro"]}
    lat = r["latency"]
    res["latency_ms"] = {"rate_per_s": meta["rate"], "rows": lat["rows"], "p50": lat["p50_ms"],
                         "p99": lat["p99_ms"], "max": lat["max_ms"]}
    small, large = res["rss_small"], res["rss_large"]
    growth = large["rss_kib"] / small["rss_kib"] - 1
    res["rss_growth"] = round(growth, 3)

    n = meta["n"]
    print("\nexecrec benchmark: N = %d trades, %d partitions, commit %s%s" % (
        n, meta["partitions"], meta["commit"], " (--quick: small sizes, noisy)" if meta["quick"] else ""))
    m = res["machine"]
    print("machine: %s, %d cores, %.1f GiB, Linux %s, PostgreSQL %s; load at end %s" % (
        m["cpu"], m["cores"], m["memory_gib"], m["kernel"], m["postgresql"],
        " ".join("%.2f" % x for x in m["load_average_at_end"])))
    head = "%-46s %9s %8s %8s %8s %9s %8s %8s" % ("", "rows/s", "x COPY1", "wall s", "wall x", "client",
                                                 "PG", "WAL")
    print("\n" + head)
    print("%-46s %9s %8s %8s %8s %9s %8s %8s" % ("", "(steady)", "", "", "COPY1", "us/row", "us/row",
                                             "B/row"))

    def line(label, f, steady=True):
        if f is None:
            print("%-46s %9s" % (label, "n/a"))
            return
        print("%-46s %9s %8s %8.2f %8s %9.1f %8.1f %8d" % (
            label, f["rows_per_s"] if steady else "-",
            "%.2f" % f["steady_x_copy1"] if steady and "steady_x_copy1" in f else ("1.00" if steady else "-"),
            f["wall_s"], "%.2f" % f.get("wall_x_copy1", 1.0),
            f["client_cpu_us_per_row"], f["pg_cpu_us_per_row"], f["wal_bytes_per_row"]))

    print("trades, %d JSON rows into execution.TradesTS" % n)
    line("  COPY, 1 connection (the limit)", copy1)
    line("  COPY, 2 connections (split by partition)", res["copy2"])
    line("  COPY, 4 connections (split by partition)", res["copy4"])
    line("  execrec run (default settings), JSON", js)
    for w in (1, 2, 4):
        line("  execrec run --writers %d, JSON" % w, res["w%d" % w] if meta["writers_ok"] else None)
    line("  execrec run, Avro (schema id 3)", res["avro"])
    line("  Python peer (confluent-kafka + psycopg2)", res["python"])
    line("  kcat -C -e | psql \\copy; INSERT ... SELECT", res["kcat"], steady=False)
    print("orders + order events + trades, %d rows into three tables" % mcopy1["rows"])
    line("  COPY, 1 connection (the limit)", mcopy1)
    line("  COPY, 2 connections (split by partition)", res["mcopy2"])
    line("  COPY, 4 connections (split by partition)", res["mcopy4"])
    line("  execrec run, mixed", res["mixed"])
    print("\nexecrec against the peers (same rows, same topic): %.2f x the Python peer (wall; "
          "steady %.2f x), %.2f x kcat | psql (wall)" % (
              res["execrec_vs_python"]["wall"], res["execrec_vs_python"]["steady"],
              res["execrec_vs_kcat"]["wall"]))
    print("decode + normalise, one core: JSON trade %d msg/s, Avro trade %d msg/s" % (
        r["decode"]["json"], r["decode"]["avro"]))
    la = res["latency_ms"]
    print("latency at %d msg/s (%d rows): p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        la["rate_per_s"], la["rows"], la["p50"], la["p99"], la["max"]))
    print("peak RSS (%d partitions): %.1f MiB at %dk, %.1f MiB at %dk (%+.1f%%)" % (
        meta["rss_partitions"], small["peak_rss_mib"], meta["rss_small"] // 1000,
        large["peak_rss_mib"], meta["rss_large"] // 1000, 100 * growth))

    checks = []

    def target(text, value, fmt, ok):
        checks.append({"target": text, "value": value, "met": bool(ok)})
        print("  %-52s %12s  %s" % (text, fmt % value if value is not None else "n/a",
                                    "met" if ok else "NOT MET"))

    print("\nsummary against issue 14's targets (printed, never asserted):")
    for label, f in (("JSON", js), ("Avro", res["avro"]), ("mixed", res["mixed"])):
        target("%s steady >= %.1f x single COPY" % (label, STEADY_X), f["steady_x_copy1"],
               "%.2f x", f["steady_x_copy1"] >= STEADY_X)
    for label, f in (("JSON", js), ("Avro", res["avro"]), ("mixed", res["mixed"])):
        target("%s wall incl. start-up >= %.1f x single COPY" % (label, WALL_X),
               f["wall_x_copy1"], "%.2f x", f["wall_x_copy1"] >= WALL_X)
    v = res["execrec_vs_python"]["wall"]
    target(">= %.0f x the Python peer (wall)" % PYTHON_X, v, "%.2f x", v >= PYTHON_X)
    v = res["execrec_vs_kcat"]["wall"]
    target(">= %.1f x kcat | psql (wall)" % KCAT_X, v, "%.2f x", v >= KCAT_X)
    target("p99 latency < %.0f ms at %d msg/s" % (P99_MS, la["rate_per_s"]), la["p99"], "%.1f ms",
           la["p99"] < P99_MS)
    worst = max(small["peak_rss_mib"], large["peak_rss_mib"])
    target("peak RSS < %.0f MiB (both lengths)" % RSS_MIB, worst, "%.1f MiB", worst < RSS_MIB)
    target("peak RSS flat: %dk vs %dk within +%.0f%%" % (
        meta["rss_large"] // 1000, meta["rss_small"] // 1000, 100 * RSS_GROWTH), 100 * growth,
        "%+.1f%%", growth <= RSS_GROWTH)
    res["targets"] = checks
    print("\n%d of %d targets met; run took %d s; results: %s" % (
        sum(c["met"] for c in checks), len(checks), r["run"]["seconds"], out))
    json.dump(res, open(out, "w"), indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
