#!/usr/bin/env bash
# The deployment recipes of deploy/ checked offline (no container engine and no
# Kubernetes cluster run on the build machines): tests/deploy/recipes.py on the
# tree (compose.yaml, Dockerfile, prometheus.yml, Grafana provisioning, k8s/,
# deploy/README.md, docs/operations.md), promtool check config on
# prometheus.yml, then each of the checker's rules made to fail once: a fault
# planted in a scratch copy of deploy/ and docs/ must be reported by name.
source "$(dirname "$0")/cli_lib.sh"
cli_scratch execrec_recipes
helper=$src/tests/deploy/recipes.py
for tool in python3 promtool; do
    command -v $tool >/dev/null || { fail "$tool is required (deploy/setup.sh)"; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || { fail "python3-yaml is required (deploy/setup.sh)"; exit 1; }

expect_status 0 "the recipes pass every offline check" python3 "$helper" "$src"
expect_out "deploy recipes: every offline check passed" "checker's summary"

# Prometheus's configuration, with its rule file where the tree has it.
sed "s|/etc/prometheus/alerts.yml|$src/deploy/prometheus/alerts.yml|" \
    "$src/deploy/prometheus/prometheus.yml" >"$tmp/prometheus.yml"
expect_status 0 "promtool check config deploy/prometheus/prometheus.yml" promtool check config "$tmp/prometheus.yml"
expect_out "SUCCESS: 11 rules found" "alerts.yml loaded through prometheus.yml"

# A scratch tree: deploy/, docs/, tests/deploy/ and src/app/ copied (the plants
# edit them), the rest linked.
tree=$tmp/tree
fresh() {
    rm -rf "$tree" && mkdir -p "$tree/tests" "$tree/src" &&
        cp -r "$src/deploy" "$src/docs" "$tree/" && cp -r "$src/tests/deploy" "$tree/tests/" &&
        cp -r "$src/src/app" "$tree/src/" || exit 1
    local d
    for d in CMakeLists.txt cmake include migrations schemas; do
        ln -s "$src/$d" "$tree/$d"
    done
    for d in "$src"/tests/* "$src"/src/*; do
        [ -e "$tree/${d#"$src"/}" ] || ln -s "$d" "$tree/${d#"$src"/}"
    done
}
edit() { # file (in the tree), python statement on its text s
    python3 - "$tree/$1" "$2" <<'PY' || { fail "cannot plant in $1"; exit 1; }
import sys
path, stmt = sys.argv[1], sys.argv[2]
s = orig = open(path).read()
exec(stmt)
if s == orig:
    sys.exit("the plant changed nothing in " + path)
open(path, "w").write(s)
PY
}
reported() { # description, message the checker must print
    expect_status 1 "$1" python3 "$helper" "$tree"
    expect_out "$2" "$1: reported"
}
plant() { # description, message, file, python statement
    fresh
    edit "$3" "$4"
    reported "$1" "$2"
}

fresh
expect_status 0 "the scratch tree passes before any plant" python3 "$helper" "$tree"

# compose.yaml
plant "an image on latest" "compose service grafana: image grafana/grafana:latest is not pinned to a version" \
    deploy/compose.yaml "s = s.replace('grafana/grafana:11.3.1', 'grafana/grafana:latest')"
plant "an untagged image" "compose service prometheus: image prom/prometheus is not pinned to a version" \
    deploy/compose.yaml "s = s.replace('prom/prometheus:v2.55.1', 'prom/prometheus')"
plant "a mounted file missing" "compose service grants mounts ./compose/grant.sql, which is not in the tree" \
    deploy/compose.yaml "s = s.replace('./compose/grants.sql:', './compose/grant.sql:')"
plant "a service the README names is missing" \
    "deploy/README.md names service schema-registry, which compose.yaml does not have" \
    deploy/compose.yaml "s = s.replace('  schema-registry:\n', '  registry:\n')"
plant "a YAML syntax error" "compose.yaml does not parse" \
    deploy/compose.yaml "s = s.replace('services:\n', 'services:\n  - [\n', 1)"
plant "the Dockerfile missing" "compose service execrec builds from deploy/Dockerfile.missing, which does not exist" \
    deploy/compose.yaml "s = s.replace('dockerfile: deploy/Dockerfile', 'dockerfile: deploy/Dockerfile.missing')"
plant "Prometheus scrapes the wrong port" "prometheus.yml scrapes execrec on [9751], the recorders listen on 9750" \
    deploy/prometheus/prometheus.yml "s = s.replace('port: 9750', 'port: 9751')"
plant "a rule file not mounted" "prometheus.yml loads /etc/prometheus/rules.yml, which compose.yaml does not mount" \
    deploy/prometheus/prometheus.yml "s = s.replace('/etc/prometheus/alerts.yml', '/etc/prometheus/rules.yml')"
plant "a data source not provisioned" "execrec-desk.json uses data source execrec-postgres, which is not provisioned" \
    deploy/grafana/provisioning/datasources/execrec.yaml "s = s.replace('uid: execrec-postgres', 'uid: execrec-pg')"
plant "dashboards mounted where the provider does not read" \
    "grafana's dashboard provider reads ['/var/lib/grafana/dashboards/execrec'], compose mounts the dashboards at /dashboards" \
    deploy/compose.yaml "s = s.replace('./grafana/dashboards:/var/lib/grafana/dashboards/execrec:ro', './grafana/dashboards:/dashboards:ro')"

# Dockerfile
plant "a base image on latest" "Dockerfile: base image debian:latest is not pinned to a version" \
    deploy/Dockerfile "i = s.rindex('FROM debian:12.11-slim'); s = s[:i] + 'FROM debian:latest' + s[i + 22:]"
plant "a run-time library missing" "Dockerfile runtime stage has no run-time package for libpq-dev" \
    deploy/Dockerfile "s = s.replace(' libpq5 ', ' ')"
plant "a build package setup.sh does not install" "Dockerfile build stage installs libfoo-dev, which deploy/setup.sh does not" \
    deploy/Dockerfile "s = s.replace('libssl-dev check', 'libssl-dev libfoo-dev check')"
plant "a copied directory missing" "Dockerfile copies sql/, which is not in the tree" \
    deploy/Dockerfile "s = s.replace('COPY migrations/ migrations/', 'COPY sql/ migrations/')"
plant "no install step" "Dockerfile build stage does not run 'cmake --install'" \
    deploy/Dockerfile "s = s.replace('cmake --install build', 'cp build/execrec')"

# k8s
plant "a readiness probe on the wrong path" "Deployment execrec: readinessProbe on /healthz, expected /readyz" \
    deploy/k8s/deployment.yaml "s = s.replace('path: /readyz', 'path: /healthz')"
plant "no liveness probe" "Deployment execrec: no livenessProbe" \
    deploy/k8s/deployment.yaml "s = s.replace('livenessProbe:', 'xLivenessProbe:')"
plant "a memory request below the measured memory" \
    "Deployment execrec: memory request 64 MiB is below docs/performance.md's 100 MiB per recorder" \
    deploy/k8s/deployment.yaml "s = s.replace('memory: 128Mi', 'memory: 64Mi')"
plant "a Secret key that does not exist" \
    "Deployment execrec: env EXECREC_KAFKA_SASL_PASSWORD takes key kafka-password of Secret execrec-credentials, which has no such key" \
    deploy/k8s/deployment.yaml "s = s.replace('key: kafka-sasl-password', 'key: kafka-password')"
plant "a DSN file outside the mounted Secret" \
    "Deployment execrec: --dsn-file /etc/execrec/dsn is not a file of a mounted Secret" \
    deploy/k8s/deployment.yaml "s = s.replace('--dsn-file=/etc/execrec/secret/dsn', '--dsn-file=/etc/execrec/dsn')"
plant "a grace period within the shutdown timeout" \
    "Deployment execrec: terminationGracePeriodSeconds 30 is not above the 30 s --shutdown-timeout" \
    deploy/k8s/deployment.yaml "s = s.replace('terminationGracePeriodSeconds: 45', 'terminationGracePeriodSeconds: 30')"
plant "a k8s image on latest" "Deployment execrec: image registry.example.com/execrec:latest is not pinned to a version" \
    deploy/k8s/deployment.yaml "s = s.replace('registry.example.com/execrec:0.1.0', 'registry.example.com/execrec:latest')"
plant "no CronJob for partitions" "deploy/k8s: no CronJob runs \`execrec partitions\`" \
    deploy/k8s/partitions-cronjob.yaml "s = s.replace('args: [\"partitions\"', 'args: [\"status\"')"
plant "partitions not as the owner" "CronJob execrec-partitions: \`execrec partitions\` must run as the owner (owner-dsn)" \
    deploy/k8s/partitions-cronjob.yaml "s = s.replace('secret/owner-dsn\"', 'secret/dsn\"').replace('key: owner-dsn', 'key: dsn').replace('path: owner-dsn', 'path: dsn')"
plant "a manifest not in the kustomization" "deploy/k8s/podmonitor.yaml is not in kustomization.yaml's resources" \
    deploy/k8s/kustomization.yaml "s = s.replace('  - podmonitor.yaml\n', '')"
plant "a k8s manifest that does not parse" "deploy/k8s/namespace.yaml does not parse" \
    deploy/k8s/namespace.yaml "s = s + '  bad: [\n'"
fresh
edit deploy/k8s/podmonitor.yaml "s = s.replace('- port: metrics', '- port: http')"
edit deploy/k8s/deployment.yaml "s = s.replace('prometheus.io/scrape: \"true\"', 'prometheus.io/scrape: \"false\"')"
reported "nothing scrapes the recorders" \
    "Deployment execrec: neither a PodMonitor nor prometheus.io annotations scrape its metrics port"

# docs/operations.md and deploy/README.md
plant "a runbook missing" "docs/operations.md has no runbook heading for 'a recreated topic'" \
    docs/operations.md "s = s.replace('### A recreated topic', '### Recreating a topic')"
plant "an alert not explained" "docs/operations.md does not explain alert ExecrecCommitSlow" \
    docs/operations.md "s = s.replace('\`ExecrecCommitSlow\`', 'CommitSlow')"
plant "a runbook link to no heading" \
    "alert ExecrecPostgresDown: runbook docs/operations.md#postgresql-down is not a heading of docs/operations.md" \
    docs/operations.md "s = s.replace('### PostgreSQL down', '### PostgreSQL unreachable')"
plant "a k8s file the README does not describe" "deploy/README.md's k8s/ table and deploy/k8s disagree on podmonitor.yaml" \
    deploy/README.md "s = s.replace('| \`podmonitor.yaml\` |', '| podmonitor |')"

# The metrics: src/app/telemetry.c, docs/metrics.md, docs/operations.md, dashboards.py
plant "a registered metric not documented" "docs/metrics.md does not document execrec_kafka_up" \
    docs/metrics.md "s = s.replace('| \`execrec_kafka_up\` |', '| \`execrec_kafka_reachable\` |')"
plant "a documented metric not registered" "docs/metrics.md documents execrec_kafka_reachable, which execrec does not export" \
    docs/metrics.md "s = s.replace('| \`execrec_kafka_up\` |', '| \`execrec_kafka_reachable\` |')"
plant "a label missing from docs/metrics.md" \
    "docs/metrics.md: execrec_messages_skipped_total has labels reason,topic, not \`topic\`" \
    docs/metrics.md "s = s.replace('| counter | \`topic\`, \`reason\` |', '| counter | \`topic\` |')"
plant "a metric's type wrong" "docs/metrics.md: execrec_retries_total is a counter, not a gauge" \
    docs/metrics.md "s = s.replace('| \`execrec_retries_total\` | counter |', '| \`execrec_retries_total\` | gauge |')"
plant "a label the code dropped" "docs/metrics.md: execrec_blocked_partitions has labels none, not \`reason\`" \
    src/app/telemetry.c "s = s.replace('\"assigned partitions not being recorded, by reason\", \"reason\"', '\"assigned partitions not being recorded, by reason\", NULL')"
plant "operations.md names a metric that does not exist" \
    "docs/operations.md names metric execrec_retry_total, which execrec does not export" \
    docs/operations.md "s = s.replace('| \`execrec_retries_total\` |', '| \`execrec_retry_total\` |')"
plant "operations.md's labels wrong" "docs/operations.md: execrec_consumer_lag_messages has labels partition,topic, not topic" \
    docs/operations.md "s = s.replace('| \`execrec_consumer_lag_messages\` | topic, partition |', '| \`execrec_consumer_lag_messages\` | topic |')"
plant "operations.md's table misses a metric" "docs/operations.md's metrics table does not name execrec_rows_updated_total" \
    docs/operations.md "s = s.replace('| \`execrec_rows_updated_total\` | kind |', '| rows updated | kind |')"
plant "dashboards.py's list stale" "tests/deploy/dashboards.py's metric lists differ from src/app/telemetry.c's" \
    tests/deploy/dashboards.py "s = s.replace('\"execrec_kafka_up\",', '')"

cli_finish
