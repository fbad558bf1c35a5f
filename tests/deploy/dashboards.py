#!/usr/bin/env python3
"""Checks the Grafana dashboards of deploy/grafana/dashboards against the real tools.

  dashboards.py sql DASHBOARD.json EXPECT.txt FROM TO
      Runs every PostgreSQL panel's rawSql through psql (PG* environment), with
      Grafana's macros and the dashboard's variables substituted as Grafana's
      PostgreSQL data source does, and compares each panel's result columns (and
      row count, where EXPECT says) with EXPECT: one line per panel,
      "title | col, col, ... | rows" (rows '*' = any). Every panel must be listed
      and every listed panel must exist (titles are unique). A time_series target must return a
      "time" column (timestamptz or a number) in ascending order, and numbers
      in every other column but "metric".

  dashboards.py promql URL DASHBOARD.json [RULES.yml ...]
      Sends every Prometheus expression (the dashboard's targets, then every
      alert or recording rule's expr) to a running Prometheus at URL through
      /api/v1/query: an expression it does not accept fails. Each execrec_*
      metric named must be one the recorder exports (METRICS below).

  dashboards.py cover DASHBOARD.json METRIC...
      Each METRIC is used by at least one expression of the dashboard.

  dashboards.py layout DASHBOARD.json...
      The dashboard model Grafana loads: uid, title, schemaVersion, unique
      panel ids, every panel inside the 24-column grid, no two overlapping,
      and each panel's data source one Grafana can resolve (type and uid).

Prints one line per failure and exits 1 if there was any, else 0.
"""
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

# What `execrec run --metrics-listen` exports (docs/operations.md, "Monitoring").
# Histograms also have _bucket, _sum and _count series.
COUNTERS_GAUGES = {
    "execrec_build_info", "execrec_process_start_time_seconds",
    "execrec_messages_consumed_total", "execrec_messages_skipped_total",
    "execrec_rows_inserted_total", "execrec_rows_duplicate_total",
    "execrec_rows_updated_total", "execrec_rows_refused_total",
    "execrec_rejects_total", "execrec_batches_committed_total",
    "execrec_consumer_lag_messages", "execrec_assigned_partitions",
    "execrec_blocked_partitions", "execrec_retries_total",
    "execrec_retry_backoff_seconds", "execrec_postgres_up", "execrec_kafka_up",
    "execrec_last_commit_timestamp_seconds",
}
HISTOGRAMS = {
    "execrec_batch_commit_duration_seconds", "execrec_batch_rows",
    "execrec_end_to_end_latency_seconds",
}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def panels_of(dash):
    """Every panel, rows' collapsed panels included, in order."""
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def variables(dash):
    """name -> value Grafana would interpolate (the current value; All -> '.+')."""
    out = {}
    for v in dash.get("templating", {}).get("list", []):
        cur = v.get("current", {}).get("value")
        if isinstance(cur, list):
            cur = cur[0] if cur else None
        if cur in (None, "", "$__all") or v.get("includeAll") and cur == "All":
            cur = ".+" if v.get("includeAll") else ""
        out[v["name"]] = str(cur)
    return out


def interpolate(text, vars_, builtins):
    """Dashboard and built-in variables: $name, ${name}, [[name]]."""
    allv = dict(builtins)
    allv.update(vars_)

    def sub(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in allv:
            return allv[name]
        return m.group(0)
    return re.sub(r"\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)\b(?!\s*\()", sub, text)


def seconds(spec):
    m = re.fullmatch(r"\s*'?(\d+)([smhdw])'?\s*", spec)
    if not m:
        raise ValueError("bad interval " + spec)
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]


def split_args(s):
    """Arguments of a macro call, split on top-level commas."""
    args, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def expand_macros(sql, t_from, t_to, epoch_from, epoch_to):
    """Grafana's PostgreSQL macros (docs: 'Macros' of the PostgreSQL data source)."""
    out, i = "", 0
    for m in re.finditer(r"\$__(\w+)\(", sql):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while j < len(sql) and depth:
            depth += sql[j] == "("
            depth -= sql[j] == ")"
            j += 1
        if depth:
            raise ValueError("unbalanced parentheses after $__" + m.group(1))
        name, args = m.group(1), split_args(sql[m.end():j - 1])
        if name == "time":
            rep = '%s AS "time"' % args[0]
        elif name == "timeEpoch":
            rep = 'extract(epoch from %s) AS "time"' % args[0]
        elif name == "timeFilter":
            rep = "%s BETWEEN '%s' AND '%s'" % (args[0], t_from, t_to)
        elif name == "timeFrom":
            rep = "'%s'" % t_from
        elif name == "timeTo":
            rep = "'%s'" % t_to
        elif name in ("timeGroup", "timeGroupAlias"):
            s = seconds(args[1])
            rep = "floor(extract(epoch from %s)/%d)*%d" % (args[0], s, s)
            if name == "timeGroupAlias":
                rep += ' AS "time"'
        elif name == "unixEpochFilter":
            rep = "%s >= %d AND %s <= %d" % (args[0], epoch_from, args[0], epoch_to)
        elif name == "unixEpochFrom":
            rep = str(epoch_from)
        elif name == "unixEpochTo":
            rep = str(epoch_to)
        else:
            raise ValueError("unknown macro $__" + name)
        out += sql[i:m.start()] + rep
        i = j
    out += sql[i:]
    if "$" in re.sub(r"\$(\w*)\$", "", out):  # dollar quoting aside
        left = re.findall(r"\$\{?\w+\}?", re.sub(r"\$(\w*)\$", "", out))
        raise ValueError("not substituted: " + ", ".join(left))
    return out


def psql(args, stdin):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] + args,
                          input=stdin, capture_output=True, text=True)


NUMERIC = {"numeric", "bigint", "integer", "smallint", "double precision", "real"}


def check_sql(dash_path, expect_path, t_from, t_to):
    dash = json.load(open(dash_path))
    vars_ = variables(dash)
    r = psql(["-A", "-t", "-c",
              "SELECT extract(epoch FROM '%s'::timestamptz)::bigint || ' ' || "
              "extract(epoch FROM '%s'::timestamptz)::bigint" % (t_from, t_to)], "")
    if r.returncode:
        fail("psql cannot reach PostgreSQL: " + r.stderr.strip())
        return
    epoch_from, epoch_to = (int(x) for x in r.stdout.split())
    expect = {}
    for n, line in enumerate(open(expect_path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [x.strip() for x in line.split("|")]
        if len(parts) != 3:
            fail("%s:%d: expected 'title | columns | rows'" % (expect_path, n))
            continue
        expect[parts[0]] = ([c.strip() for c in parts[1].split(",")], parts[2])
    seen = set()
    builtins = {"__interval": "1m", "__interval_ms": "60000"}
    for p in panels_of(dash):
        if p.get("type") == "row":
            continue
        title = p.get("title", "")
        targets = p.get("targets", [])
        if not targets:
            fail("panel '%s' has no query" % title)
        for t in targets:
            if "rawSql" not in t:
                fail("panel '%s' target %s: no rawSql" % (title, t.get("refId")))
                continue
            if title in seen:
                fail("two panels are titled '%s' (%s names panels by title)" % (title, expect_path))
            seen.add(title)
            fmt = t.get("format")
            if fmt not in ("table", "time_series"):
                fail("panel '%s': format %r is neither table nor time_series" % (title, fmt))
            try:
                sql = expand_macros(interpolate(t["rawSql"], vars_, builtins),
                                    t_from, t_to, epoch_from, epoch_to)
            except ValueError as e:
                fail("panel '%s': %s" % (title, e))
                continue
            sql = sql.rstrip().rstrip(";")
            d = psql(["-A", "-t", "-F", "\x1f"], sql + "\n\\gdesc\n")
            if d.returncode:
                fail("panel '%s': %s" % (title, d.stderr.strip()))
                continue
            desc = [l.split("\x1f") for l in d.stdout.splitlines() if l]
            cols = [c[0] for c in desc]
            types = {c[0]: c[1] for c in desc}
            r = psql(["-A", "-t", "-F", "\x1f", "-P", "footer=off"], sql + ";\n")
            if r.returncode:
                fail("panel '%s': %s" % (title, r.stderr.strip()))
                continue
            rows = [l.split("\x1f") for l in r.stdout.splitlines()]
            if title not in expect:
                fail("panel '%s' is not in %s (columns %s, %d rows)"
                     % (title, expect_path, ", ".join(cols), len(rows)))
                continue
            want_cols, want_rows = expect[title]
            if cols != want_cols:
                fail("panel '%s': columns %s, expected %s"
                     % (title, ", ".join(cols), ", ".join(want_cols)))
            if want_rows != "*" and str(len(rows)) != want_rows:
                fail("panel '%s': %d rows, expected %s" % (title, len(rows), want_rows))
            if fmt == "time_series":
                if "time" not in cols:
                    fail("panel '%s': a time_series query needs a column named time" % title)
                    continue
                if types["time"] not in NUMERIC | {"timestamp with time zone"}:
                    fail("panel '%s': column time is %s" % (title, types["time"]))
                ti = cols.index("time")
                times = [row[ti] for row in rows]
                if times != sorted(times):
                    fail("panel '%s': rows are not in time order" % title)
                for c in cols:
                    if c not in ("time", "metric") and types[c] not in NUMERIC:
                        fail("panel '%s': value column %s is %s, not a number"
                             % (title, c, types[c]))
    for title in expect:
        if title not in seen:
            fail("%s names panel '%s', which the dashboard does not have" % (expect_path, title))
    print("%s: %d panels with SQL checked" % (dash_path, len(seen)))


def expressions(dash_path):
    dash = json.load(open(dash_path))
    vars_ = variables(dash)
    builtins = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h",
                "__interval_ms": "60000", "__range_s": "3600"}
    for p in panels_of(dash):
        for t in p.get("targets", []):
            if "expr" in t:
                yield ("panel '%s' %s" % (p.get("title"), t.get("refId")),
                       interpolate(t["expr"], vars_, builtins))
    # Query variables: label_values(SELECTOR, label) is Grafana's; its selector
    # is PromQL.
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else q or ""
            m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", q)
            if m:
                yield ("variable %s" % v["name"], m.group(1))


def rule_expressions(path):
    import yaml
    doc = yaml.safe_load(open(path))
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            yield ("%s rule %s" % (path, r.get("alert") or r.get("record")), r["expr"])


def check_names(where, expr):
    for name in set(re.findall(r"\bexecrec_\w+", expr)):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name in COUNTERS_GAUGES or (base in HISTOGRAMS and base != name):
            continue
        fail("%s: %s is not a metric execrec exports" % (where, name))


def check_promql(url, dash_path, rule_paths):
    exprs = list(expressions(dash_path))
    for path in rule_paths:
        exprs += list(rule_expressions(path))
    if not exprs:
        fail("%s: no Prometheus expression" % dash_path)
    for where, expr in exprs:
        if "$" in expr:
            fail("%s: not substituted in %r" % (where, expr))
            continue
        check_names(where, expr)
        q = urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url + "/api/v1/query?" + q, timeout=10) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        except OSError as e:
            fail("%s: Prometheus at %s: %s" % (where, url, e))
            continue
        if body.get("status") != "success":
            fail("%s: Prometheus refused %r: %s: %s"
                 % (where, expr, body.get("errorType"), body.get("error")))
    print("%d Prometheus expressions checked" % len(exprs))


def check_cover(dash_path, metrics):
    exprs = [e for _, e in expressions(dash_path)]
    for m in metrics:
        if not any(re.search(r"\b%s(_bucket|_sum|_count)?\b" % re.escape(m), e) for e in exprs):
            fail("%s: no panel shows %s" % (dash_path, m))


def check_layout(paths):
    for path in paths:
        dash = json.load(open(path))
        name = os.path.basename(path)
        for key in ("uid", "title", "schemaVersion", "panels"):
            if key not in dash:
                fail("%s: no %s" % (name, key))
        ids, boxes = set(), []
        for p in panels_of(dash):
            if p.get("id") in ids:
                fail("%s: two panels have id %s" % (name, p.get("id")))
            ids.add(p.get("id"))
            g = p.get("gridPos") or {}
            x, y, w, h = (g.get(k) for k in ("x", "y", "w", "h"))
            if None in (x, y, w, h) or x < 0 or w <= 0 or h <= 0 or x + w > 24:
                fail("%s: panel '%s' is outside the grid: %s" % (name, p.get("title"), g))
                continue
            for (t, bx, by, bw, bh) in boxes:
                if x < bx + bw and bx < x + w and y < by + bh and by < y + h:
                    fail("%s: panels '%s' and '%s' overlap" % (name, t, p.get("title")))
            boxes.append((p.get("title"), x, y, w, h))
            if p.get("type") != "row":
                for ds in [p.get("datasource")] + [t.get("datasource") for t in p.get("targets", [])]:
                    if not isinstance(ds, dict) or not ds.get("uid") or not ds.get("type"):
                        fail("%s: panel '%s' has no data source type and uid" % (name, p.get("title")))
        print("%s: %d panels laid out" % (name, len(boxes)))


def main(argv):
    if len(argv) >= 6 and argv[1] == "sql":
        check_sql(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) >= 4 and argv[1] == "promql":
        check_promql(argv[2], argv[3], argv[4:])
    elif len(argv) >= 3 and argv[1] == "layout":
        check_layout(argv[2:])
    elif len(argv) >= 3 and argv[1] == "cover":
        check_cover(argv[2], argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
