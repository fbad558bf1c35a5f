#!/usr/bin/env bash
# The Grafana dashboards and the Prometheus alerts of deploy/ against the real
# tools (Grafana itself is not in Debian):
#   - every SQL query of the desk dashboard runs on the sample stream of
#     tests/data/sample (recorded through the embedded broker into a scratch
#     database), with Grafana's macros and variables substituted as Grafana's
#     PostgreSQL data source does, and returns the columns and rows
#     tests/deploy/desk_panels.txt says;
#   - every PromQL expression of the ingest dashboard and of
#     deploy/prometheus/alerts.yml is accepted by a real Prometheus server (a
#     scratch one, queried through /api/v1/query) and names only metrics execrec
#     exports; the ingest dashboard shows throughput, lag, commit latency,
#     rejects by reason and retries;
#   - `promtool check rules` accepts alerts.yml and `promtool test rules` passes
#     tests/deploy/alerts_test.yml (lag growing, rejects spiking, PostgreSQL
#     down, no commit, blocked partition, recorder down);
#   - both dashboards are models Grafana loads, their panels on the grid and
#     not overlapping;
#   - each of these checks fails on a planted fault in a scratch copy.
# Needs PostgreSQL through PG* (deploy/test.sh), prometheus and promtool.
source "$(dirname "$0")/run_lib.sh" # cli_lib.sh, the scratch directory $tmp, the embedded broker
helper=$src/tests/deploy/dashboards.py
desk=$src/deploy/grafana/dashboards/execrec-desk.json
ingest=$src/deploy/grafana/dashboards/execrec-ingest.json
alerts=$src/deploy/prometheus/alerts.yml
expect=$src/tests/deploy/desk_panels.txt
for tool in prometheus promtool python3; do
    command -v $tool >/dev/null || { fail "$tool is required (deploy/setup.sh)"; exit 1; }
done

# ---- the desk dashboard's SQL on the sample stream, recorded as in production:
# the good lines keyed by order (or manager), the bad ones to partition 0, through
# the embedded broker, by `execrec run --exit-at-end`.
sample=$src/tests/data/sample
rl_db dash
rl_start_broker --partitions 2
for k in order_managers:order-managers:unique_identifier orders:orders:order_id \
         order_events:order-events:order_id trades:trades:order_id; do
    IFS=: read -r file topic key <<<"$k"
    rl_key_by "$key" <"$sample/$file.jsonl" >"$tmp/$file.keyed"
    rl_produce "$topic" "$tmp/$file.keyed" -K '|'
    rl_produce "$topic" "$sample/bad_$file.jsonl" -p 0
done
rl_run_to_end fixture 120
check "$(q "SELECT count(*) FROM execution.TradesTS") $(q "SELECT count(*) FROM execution.ingest_rejects")" \
    "9 23" "the sample stream recorded (trades, rejects)"
from=2026-11-01T00:00:00Z
to=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
sql_check() { python3 "$helper" sql "$1" "${2:-$expect}" "$from" "$to"; }

expect_status 0 "desk dashboard SQL on the sample stream" sql_check "$desk"
expect_out "16 panels with SQL checked" "every SQL panel was run"

# Planted faults, one per copy: each must be reported.
plant() { # name, python statement on d (the dashboard), then the file is $tmp/name.json
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
src, dst, stmt = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(src))
panels = [p for p in d["panels"] if p.get("type") != "row"]
def target(title):
    return next(p for p in panels if p["title"] == title)["targets"][0]
exec(stmt)
json.dump(d, open(dst, "w"))
PY
}
plant "$desk" "$tmp/renamed.json" \
    "t = target('Fills per minute by asset'); t['rawSql'] = t['rawSql'].replace('fills AS value', 'fills AS n')"
expect_status 1 "a renamed column is reported" sql_check "$tmp/renamed.json"
expect_out "panel 'Fills per minute by asset': columns time, metric, n, expected time, metric, value" "renamed column named"
plant "$desk" "$tmp/macro.json" \
    "t = target('Positions at the end of the range'); t['rawSql'] = t['rawSql'].replace('\$__timeTo()', '\$__timeEnd()')"
expect_status 1 "an unknown macro is reported" sql_check "$tmp/macro.json"
expect_out "panel 'Positions at the end of the range': unknown macro \$__timeEnd" "unknown macro named"
plant "$desk" "$tmp/badsql.json" \
    "t = target('Orphan trades'); t['rawSql'] = t['rawSql'].replace('execution.orphan_trades', 'execution.orphan_trade')"
expect_status 1 "a query PostgreSQL refuses is reported" sql_check "$tmp/badsql.json"
expect_out 'relation "execution.orphan_trade" does not exist' "PostgreSQL's error shown"
plant "$desk" "$tmp/notime.json" \
    "t = target('Fills per minute by asset'); t['rawSql'] = t['rawSql'].replace('AS \"time\"', 'AS t')"
printf 'Fills per minute by asset | t, metric, value | 6\n' >"$tmp/expect_notime.txt"
grep -v '^Fills per minute' "$expect" >>"$tmp/expect_notime.txt"
expect_status 1 "a time series without a time column is reported" sql_check "$tmp/notime.json" "$tmp/expect_notime.txt"
expect_out "a time_series query needs a column named time" "missing time column named"
grep -v '^Orphan trades' "$expect" >"$tmp/expect_short.txt"
expect_status 1 "a panel the test does not know is reported" sql_check "$desk" "$tmp/expect_short.txt"
expect_out "panel 'Orphan trades' is not in" "unknown panel named"
sed 's/^Orphan trades | \(.*\) | 1$/Orphan trades | \1 | 2/' "$expect" >"$tmp/expect_rows.txt"
expect_status 1 "a wrong row count is reported" sql_check "$desk" "$tmp/expect_rows.txt"
expect_out "panel 'Orphan trades': 1 rows, expected 2" "row count named"

# ---- both dashboards: a model Grafana loads, panels on the grid, none overlapping
expect_status 0 "the dashboards' layout" python3 "$helper" layout "$desk" "$ingest"
expect_out "execrec-desk.json: 22 panels laid out" "desk panels laid out"
expect_out "execrec-ingest.json: 24 panels laid out" "ingest panels laid out"
plant "$ingest" "$tmp/execrec-overlap.json" \
    "p = next(p for p in panels if p['title'] == 'Largest partition lag'); p['gridPos']['x'] = 8"
expect_status 1 "overlapping panels are reported" python3 "$helper" layout "$tmp/execrec-overlap.json"
expect_out "panels 'Consumer lag by topic (messages)' and 'Largest partition lag' overlap" "overlap named"

# ---- PromQL through a real Prometheus server
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 15s\n' >"$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$port" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
cli_exit_first+=("kill $prom_pid; wait $prom_pid")
url=http://127.0.0.1:$port
for _ in $(seq 100); do
    python3 -c "import urllib.request, sys; urllib.request.urlopen('$url/-/ready', timeout=1)" 2>/dev/null && break
    sleep 0.2
done
python3 -c "import urllib.request; urllib.request.urlopen('$url/-/ready', timeout=1)" 2>/dev/null ||
    { fail "prometheus did not start: $(tail -5 "$tmp/prometheus.log")"; exit 1; }

expect_status 0 "PromQL of the ingest dashboard and alerts.yml accepted" \
    python3 "$helper" promql "$url" "$ingest" "$alerts"
expect_out "42 Prometheus expressions checked" "every expression sent"
expect_status 0 "the ingest dashboard covers throughput, lag, commit latency, rejects, retries" \
    python3 "$helper" cover "$ingest" execrec_messages_consumed_total execrec_consumer_lag_messages \
    execrec_batch_commit_duration_seconds execrec_rejects_total execrec_retries_total \
    execrec_blocked_partitions execrec_postgres_up execrec_kafka_up execrec_end_to_end_latency_seconds

plant "$ingest" "$tmp/promql.json" \
    "t = target('Commit latency'); t['expr'] = t['expr'].replace('sum by (le) (', 'sum by (le (', 1)"
expect_status 1 "a PromQL syntax error is reported" python3 "$helper" promql "$url" "$tmp/promql.json"
expect_out "panel 'Commit latency' A: Prometheus refused" "refused expression named"
expect_out "bad_data" "Prometheus's own error"
plant "$ingest" "$tmp/name.json" \
    "t = target('Retries'); t['expr'] = t['expr'].replace('execrec_retries_total', 'execrec_retry_total')"
expect_status 1 "a metric execrec does not export is reported" python3 "$helper" promql "$url" "$tmp/name.json"
expect_out "panel 'Retries' A: execrec_retry_total is not a metric execrec exports" "unknown metric named"
plant "$ingest" "$tmp/norejects.json" \
    "d['panels'] = [p for p in d['panels'] if p.get('title') != 'Rejects per second by reason']"
expect_status 1 "a dashboard without the rejects panel is reported" \
    python3 "$helper" cover "$tmp/norejects.json" execrec_rejects_total
expect_out "no panel shows execrec_rejects_total" "missing metric named"
sed 's/expr: execrec_postgres_up == 0/expr: execrec_postgres_up = 0/' "$alerts" >"$tmp/alerts_bad.yml"
expect_status 1 "a broken alert expression is reported" python3 "$helper" promql "$url" "$ingest" "$tmp/alerts_bad.yml"
expect_out "rule ExecrecPostgresDown: Prometheus refused" "broken rule named"

# ---- promtool: the rules file, and the alerts' unit tests
expect_status 0 "promtool check rules alerts.yml" promtool check rules "$alerts"
expect_out "SUCCESS: 11 rules found" "every rule checked"
expect_status 0 "promtool test rules alerts_test.yml" promtool test rules "$src/tests/deploy/alerts_test.yml"
expect_status 1 "promtool check rules refuses a broken rule" promtool check rules "$tmp/alerts_bad.yml"
# The unit tests fail when an alert's threshold moves: a copy of the tree's two
# files with the lag threshold at 5000 (the trades lag of the test stays under it).
mkdir -p "$tmp/plant/deploy/prometheus" "$tmp/plant/tests/deploy"
sed 's/max by (topic, partition) (execrec_consumer_lag_messages)) > 1000/max by (topic, partition) (execrec_consumer_lag_messages)) > 5000/' \
    "$alerts" >"$tmp/plant/deploy/prometheus/alerts.yml"
cmp -s "$alerts" "$tmp/plant/deploy/prometheus/alerts.yml" && fail "the planted lag threshold did not change alerts.yml"
cp "$src/tests/deploy/alerts_test.yml" "$tmp/plant/tests/deploy/"
expect_status 1 "promtool test rules fails when the lag alert no longer fires" \
    promtool test rules "$tmp/plant/tests/deploy/alerts_test.yml"
expect_out "alertname: ExecrecLagGrowing, time: 25m" "the lag alert's case failed"

cli_finish
