#!/usr/bin/env python3
"""Offline checks of the deployment recipes of deploy/ (no container engine and
no Kubernetes cluster run on the build machines).

  recipes.py ROOT

ROOT is a copy of the tree (or the tree): deploy/, docs/ and deploy/setup.sh are
read from it. Prints one line per failure and exits 1 if there was any.

compose (deploy/compose.yaml): parses; every service deploy/README.md lists
exists and every service is listed; every image is pinned to a version; every
file it mounts or builds from exists; Prometheus's rule files are mounted;
Prometheus scrapes the port the recorders listen on; Grafana's provisioning
points at the mounted dashboards and the dashboards' data sources are
provisioned.
Dockerfile (deploy/Dockerfile): base images pinned; the build stage installs
only packages of deploy/setup.sh, builds with cmake and installs; the runtime
stage installs a run-time library for each -dev library; what it copies exists.
k8s (deploy/k8s): every manifest parses and has apiVersion, kind and a name;
kustomization.yaml lists exactly the manifests; images pinned; the Deployment
has startup/liveness probes on /healthz and a readiness probe on /readyz on the
metrics port, a memory request at least docs/performance.md's memory per
recorder, a grace period above the shutdown timeout, credentials only from the
Secret's keys, and is scraped (PodMonitor or annotations); a CronJob runs
`execrec partitions` as the owner; a Job runs `execrec migrate`.
docs/operations.md: every alert of deploy/prometheus/alerts.yml is explained and
every runbook link points at one of its headings.
metrics: the families src/app/telemetry.c and src/app/backfill.c register (name,
type, labels) are exactly the rows of docs/metrics.md's tables, with the same
type and labels; docs/operations.md's metrics table names only those, each of
telemetry.c's at least once, with the same labels (a row of type histogram says
so instead); tests/deploy/dashboards.py's lists are telemetry.c's.
"""
import glob
import json
import os
import re
import sys

import yaml

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
        return ""


def load(path):
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        fail("%s does not parse: %s" % (path, str(e).splitlines()[0]))
        return None


def pinned(image):
    """name:version with a digit in the version (not latest), or a digest."""
    if "$" in image:
        return False
    if "@sha256:" in image:
        return True
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:  # no tag, or only a registry's port
        return False
    return tag != "latest" and re.search(r"\d", tag) is not None


def mib(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi|M|G)?", str(q))
    if not m:
        return None
    n = int(m.group(1))
    return {"Mi": n, "Gi": n * 1024, "M": n * 10**6 / 2**20, "G": n * 10**9 / 2**20,
            None: n / 2**20}[m.group(2)]


def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def section(markdown, title):
    """The text of the '## title' section of a Markdown file."""
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), markdown, re.M | re.S)
    return m.group(1) if m else ""


def check_compose(root):
    deploy = os.path.join(root, "deploy")
    path = os.path.join(deploy, "compose.yaml")
    doc = load(path)
    if not doc:
        return None
    services = doc.get("services") or {}
    if not services:
        fail("compose.yaml has no services")
    readme = read(os.path.join(deploy, "README.md"))
    listed = set(re.findall(r"^\| `([\w-]+)` \|", section(readme, "compose.yaml"), re.M))
    if not listed:
        fail("deploy/README.md lists no compose service ('| `name` |' rows)")
    for s in sorted(listed - set(services)):
        fail("deploy/README.md names service %s, which compose.yaml does not have" % s)
    for s in sorted(set(services) - listed):
        fail("compose.yaml service %s is not described in deploy/README.md" % s)
    for want in ("kafka", "postgres", "schema-registry", "execrec", "prometheus", "grafana"):
        if want not in services:
            fail("compose.yaml has no %s service" % want)
    for name, svc in services.items():
        image = svc.get("image")
        if not image:
            fail("compose service %s has no image (name:version, also for built ones)" % name)
        elif not pinned(image):
            fail("compose service %s: image %s is not pinned to a version" % (name, image))
        build = svc.get("build")
        if build:
            ctx = os.path.normpath(os.path.join(deploy, build.get("context", ".")))
            dockerfile = os.path.join(ctx, build.get("dockerfile", "Dockerfile"))
            if not os.path.isfile(dockerfile):
                fail("compose service %s builds from %s, which does not exist"
                     % (name, os.path.relpath(dockerfile, root)))
        for v in svc.get("volumes", []) or []:
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith((".", "/")):
                p = os.path.normpath(os.path.join(deploy, src))
                if not os.path.exists(p):
                    fail("compose service %s mounts %s, which is not in the tree" % (name, src))
            elif src and src not in (doc.get("volumes") or {}):
                fail("compose service %s uses volume %s, which is not declared" % (name, src))
        for f in svc.get("env_file", []) or []:
            fail("compose service %s reads env_file %s: keep secrets out of the tree" % (name, f))
        if "execrec" in (image or "") and name == "execrec":
            cmd = " ".join(svc.get("command") or [])
            if "--brokers" not in cmd:
                fail("compose service execrec runs without --brokers")
    return doc


def check_prometheus(root, compose):
    deploy = os.path.join(root, "deploy")
    prom = load(os.path.join(deploy, "prometheus", "prometheus.yml"))
    if not prom or not compose:
        return
    svc = compose.get("services", {}).get("prometheus", {})
    mounted = {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", []) if isinstance(v, str)}
    for rf in prom.get("rule_files", []):
        if rf not in mounted:
            fail("prometheus.yml loads %s, which compose.yaml does not mount" % rf)
    rec = compose.get("services", {}).get("execrec", {})
    m = re.search(r"--metrics-listen[= ]\S*:(\d+)", " ".join(rec.get("command") or []))
    if not m:
        fail("compose service execrec has no --metrics-listen")
        return
    port = int(m.group(1))
    jobs = {j["job_name"]: j for j in prom.get("scrape_configs", [])}
    job = jobs.get("execrec")
    if not job:
        fail("prometheus.yml has no job execrec (the alerts select job=\"execrec\")")
        return
    ports = [d.get("port") for d in job.get("dns_sd_configs", [])]
    ports += [int(t.rsplit(":", 1)[1]) for s in job.get("static_configs", []) for t in s["targets"]]
    if port not in ports:
        fail("prometheus.yml scrapes execrec on %s, the recorders listen on %d" % (ports, port))


def check_grafana(root, compose):
    g = os.path.join(root, "deploy", "grafana")
    uids = set()
    for f in glob.glob(os.path.join(g, "provisioning", "datasources", "*.yaml")):
        d = load(f) or {}
        uids |= {ds.get("uid") for ds in d.get("datasources", [])}
    for f in sorted(glob.glob(os.path.join(g, "dashboards", "*.json"))):
        dash = json.load(open(f))
        used = set(re.findall(r'"uid": "([\w-]+)"', json.dumps(
            [p.get("datasource") for p in dash.get("panels", [])] +
            [t.get("datasource") for p in dash.get("panels", []) for t in p.get("targets", [])])))
        for u in sorted(used - uids):
            fail("%s uses data source %s, which is not provisioned" % (os.path.basename(f), u))
    if not compose:
        return
    svc = compose.get("services", {}).get("grafana", {})
    mounts = {v.split(":")[0]: v.split(":")[1] for v in svc.get("volumes", []) if isinstance(v, str)}
    target = mounts.get("./grafana/dashboards")
    paths = []
    for f in glob.glob(os.path.join(g, "provisioning", "dashboards", "*.yaml")):
        d = load(f) or {}
        paths += [p.get("options", {}).get("path") for p in d.get("providers", [])]
    if target is None or target not in paths:
        fail("grafana's dashboard provider reads %s, compose mounts the dashboards at %s"
             % (paths, target))
    for sub in ("datasources", "dashboards"):
        if mounts.get("./grafana/provisioning/" + sub) != "/etc/grafana/provisioning/" + sub:
            fail("compose does not mount grafana/provisioning/%s at /etc/grafana/provisioning/%s"
                 % (sub, sub))


def stages(dockerfile):
    """[(base image, [lines])] per FROM, continuation lines joined."""
    text = re.sub(r"\\\n", " ", read(dockerfile))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(\S+)", line, re.I)
        if m:
            out.append((m.group(1), []))
        elif out:
            out[-1][1].append(line)
    return out


def apt_packages(lines):
    pk = []
    for l in lines:
        if l.startswith("RUN") and "apt-get install" in l:
            seg = l.split("apt-get install", 1)[1].split("&&")[0]
            pk += [w for w in seg.split() if not w.startswith("-")]
    return pk


def check_dockerfile(root):
    path = os.path.join(root, "deploy", "Dockerfile")
    st = stages(path)
    if len(st) < 2:
        fail("Dockerfile: expected a build stage and a runtime stage")
        return
    for base, _ in st:
        if not pinned(base):
            fail("Dockerfile: base image %s is not pinned to a version" % base)
    setup = read(os.path.join(root, "deploy", "setup.sh"))
    m = re.search(r"PACKAGES=\(([^)]*)\)", setup)
    known = set(m.group(1).split()) if m else set()
    build_pk = apt_packages(st[0][1])
    run_pk = apt_packages(st[-1][1])
    for p in build_pk:
        if p not in known:
            fail("Dockerfile build stage installs %s, which deploy/setup.sh does not" % p)
    for p in build_pk:
        if p.startswith("lib") and p.endswith("-dev") and p != "libsubunit-dev":
            stem = re.sub(r"(\d+)?(-openssl)?-dev$", "", p)
            if not any(r.startswith(stem) and not r.endswith("-dev") for r in run_pk):
                fail("Dockerfile runtime stage has no run-time package for %s" % p)
    body = " ".join(st[0][1])
    for want in ("cmake -S", "cmake --build", "cmake --install"):
        if want not in body:
            fail("Dockerfile build stage does not run '%s'" % want)
    for base, lines in st:
        for l in lines:
            m = re.match(r"COPY\s+(?!--from)(.*)\s+\S+$", l)
            if m:
                for src in m.group(1).split():
                    if not os.path.exists(os.path.join(root, src)):
                        fail("Dockerfile copies %s, which is not in the tree" % src)
    if not any(re.match(r'ENTRYPOINT \["[^"]*execrec"\]', l) for l in st[-1][1]):
        fail("Dockerfile's runtime ENTRYPOINT is not the execrec binary")


def walk(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def pod_spec(obj):
    k = obj.get("kind")
    if k in ("Deployment", "Job", "StatefulSet"):
        return obj["spec"]["template"]["spec"]
    if k == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def check_k8s(root):
    d = os.path.join(root, "deploy", "k8s")
    files = sorted(glob.glob(os.path.join(d, "*.yaml")))
    objs = []
    for f in files:
        try:
            docs = [x for x in yaml.safe_load_all(open(f)) if x]
        except yaml.YAMLError as e:
            fail("%s does not parse: %s" % (os.path.relpath(f, root), str(e).splitlines()[0]))
            continue
        for o in docs:
            for key in ("apiVersion", "kind"):
                if key not in o:
                    fail("%s: an object without %s" % (os.path.basename(f), key))
            if o.get("kind") != "Kustomization" and not o.get("metadata", {}).get("name"):
                fail("%s: %s without metadata.name" % (os.path.basename(f), o.get("kind")))
            objs.append((os.path.basename(f), o))
    readme = read(os.path.join(root, "deploy", "README.md"))
    listed = set(re.findall(r"^\| `([\w.-]+\.yaml)` \|", section(readme, "k8s/"), re.M))
    for f in sorted({os.path.basename(f) for f in files} ^ listed):
        fail("deploy/README.md's k8s/ table and deploy/k8s disagree on %s" % f)
    kust = next((o for _, o in objs if o.get("kind") == "Kustomization"), None)
    if not kust:
        fail("deploy/k8s has no kustomization.yaml")
    else:
        res = set(kust.get("resources", []))
        have = {os.path.basename(f) for f in files} - {"kustomization.yaml"}
        for r in sorted(res - have):
            fail("kustomization.yaml lists %s, which is not in deploy/k8s" % r)
        for r in sorted(have - res):
            fail("deploy/k8s/%s is not in kustomization.yaml's resources" % r)
    by_kind = {}
    for f, o in objs:
        by_kind.setdefault(o.get("kind"), []).append(o)
    secrets = {s["metadata"]["name"]: set((s.get("stringData") or {}) | (s.get("data") or {}))
               for s in by_kind.get("Secret", [])}
    for f, o in objs:
        spec = pod_spec(o)
        if not spec:
            continue
        name = "%s %s" % (o["kind"], o["metadata"]["name"])
        for c in spec.get("containers", []):
            if not pinned(c.get("image", "")):
                fail("%s: image %s is not pinned to a version" % (name, c.get("image")))
            for e in c.get("env", []) or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref.get("key") not in secrets.get(ref.get("name"), set()):
                    fail("%s: env %s takes key %s of Secret %s, which has no such key"
                         % (name, e["name"], ref.get("key"), ref.get("name")))
                if "value" in e and re.search(r"PASSWORD|DSN|SECRET", e["name"]):
                    fail("%s: %s is a literal value, not from the Secret" % (name, e["name"]))
        for v in spec.get("volumes", []) or []:
            s = v.get("secret")
            if s:
                if s.get("secretName") not in secrets:
                    fail("%s: volume %s mounts Secret %s, which deploy/k8s does not define"
                         % (name, v["name"], s.get("secretName")))
                for it in s.get("items", []) or []:
                    if it["key"] not in secrets.get(s.get("secretName"), set()):
                        fail("%s: volume %s takes key %s, which Secret %s does not have"
                             % (name, v["name"], it["key"], s.get("secretName")))
        for c in spec.get("containers", []):
            args = " ".join(c.get("args", []) or [])
            for m in re.finditer(r"--dsn-file[= ](\S+)", args):
                mounted = False
                for vm in c.get("volumeMounts", []) or []:
                    vol = next((v for v in spec.get("volumes", []) if v["name"] == vm["name"]), {})
                    items = [it["path"] for it in (vol.get("secret") or {}).get("items", [])]
                    if vol.get("secret") and any(
                            m.group(1) == vm["mountPath"].rstrip("/") + "/" + p for p in items):
                        mounted = True
                if not mounted:
                    fail("%s: --dsn-file %s is not a file of a mounted Secret" % (name, m.group(1)))
    deps = by_kind.get("Deployment", [])
    if len(deps) != 1:
        fail("deploy/k8s: expected one Deployment (the recorders), found %d" % len(deps))
    for dep in deps:
        check_deployment(root, dep, by_kind)
    crons = [c for c in by_kind.get("CronJob", [])
             if any((ct.get("args") or [""])[0] == "partitions"
                    for ct in pod_spec(c).get("containers", []))]
    if not crons:
        fail("deploy/k8s: no CronJob runs `execrec partitions`")
    for c in crons:
        args = " ".join(pod_spec(c)["containers"][0].get("args", []))
        if "owner-dsn" not in args:
            fail("CronJob %s: `execrec partitions` must run as the owner (owner-dsn)"
                 % c["metadata"]["name"])
    if not any((ct.get("args") or [""])[0] == "migrate"
               for j in by_kind.get("Job", []) for ct in pod_spec(j).get("containers", [])):
        fail("deploy/k8s: no Job runs `execrec migrate`")


def check_deployment(root, dep, by_kind):
    name = "Deployment " + dep["metadata"]["name"]
    spec = pod_spec(dep)
    if (dep["spec"].get("replicas") or 1) < 2:
        fail("%s: replicas below 2 (a group of one recorder has no standby)" % name)
    c = spec["containers"][0]
    if (c.get("args") or [""])[0] != "run":
        fail("%s: the container does not run `execrec run`" % name)
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    mport = ports.get("metrics")
    if not mport:
        fail("%s: no container port named metrics" % name)
    want = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in want.items():
        p = c.get(probe)
        got = ((p or {}).get("httpGet") or {})
        if not p:
            fail("%s: no %s" % (name, probe))
        elif got.get("path") != path:
            fail("%s: %s on %s, expected %s" % (name, probe, got.get("path"), path))
        elif got.get("port") not in ("metrics", mport):
            fail("%s: %s on port %s, not the metrics port" % (name, probe, got.get("port")))
    cm = {k: v for o in by_kind.get("ConfigMap", []) for k, v in (o.get("data") or {}).items()}
    listen = re.search(r"^metrics\.listen\s*=\s*\S*:(\d+)", "\n".join(cm.values()), re.M)
    if not listen:
        fail("%s: the ConfigMap sets no metrics.listen" % name)
    elif mport and int(listen.group(1)) != mport:
        fail("%s: metrics.listen port %s, container port %s" % (name, listen.group(1), mport))
    perf = read(os.path.join(root, "docs", "performance.md"))
    m = re.search(r"About (\d+) MiB per recorder", perf)
    if not m:
        fail("docs/performance.md no longer says 'About N MiB per recorder'")
    res = c.get("resources") or {}
    req = mib((res.get("requests") or {}).get("memory", ""))
    lim = mib((res.get("limits") or {}).get("memory", ""))
    if req is None:
        fail("%s: no memory request" % name)
    elif m and req < int(m.group(1)):
        fail("%s: memory request %s MiB is below docs/performance.md's %s MiB per recorder"
             % (name, req, m.group(1)))
    if lim is None:
        fail("%s: no memory limit" % name)
    elif req is not None and lim < req:
        fail("%s: memory limit below the request" % name)
    if not (res.get("requests") or {}).get("cpu"):
        fail("%s: no CPU request" % name)
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace <= 30:
        fail("%s: terminationGracePeriodSeconds %s is not above the 30 s --shutdown-timeout"
             % (name, grace))
    ann = dep["spec"]["template"]["metadata"].get("annotations") or {}
    labels = dep["spec"]["template"]["metadata"].get("labels") or {}
    scraped = ann.get("prometheus.io/scrape") == "true" and str(ann.get("prometheus.io/port")) == str(mport)
    for pm in by_kind.get("PodMonitor", []):
        sel = pm["spec"].get("selector", {}).get("matchLabels", {})
        if all(labels.get(k) == v for k, v in sel.items()) and any(
                e.get("port") == "metrics" and e.get("path", "/metrics") == "/metrics"
                for e in pm["spec"].get("podMetricsEndpoints", [])):
            scraped = True
    if not scraped:
        fail("%s: neither a PodMonitor nor prometheus.io annotations scrape its metrics port" % name)


def check_operations(root):
    ops = read(os.path.join(root, "docs", "operations.md"))
    anchors = {slug(h) for h in re.findall(r"^#+\s+(.*)$", ops, re.M)}
    rules = load(os.path.join(root, "deploy", "prometheus", "alerts.yml")) or {}
    for g in rules.get("groups", []):
        for r in g.get("rules", []):
            alert = r.get("alert")
            if alert and ("`%s`" % alert) not in ops:
                fail("docs/operations.md does not explain alert %s" % alert)
            rb = (r.get("annotations") or {}).get("runbook", "")
            if rb:
                f, _, anchor = rb.partition("#")
                if f != "docs/operations.md" or anchor not in anchors:
                    fail("alert %s: runbook %s is not a heading of docs/operations.md" % (alert, rb))
    for rb in ("lag growing", "rejects spiking", "postgresql down", "a fenced recorder",
               "a recreated topic", "disk filling", "a month roll-over", "rotating a password"):
        if not any(rb in h.lower() for h in re.findall(r"^###?\s+(.*)$", ops, re.M)):
            fail("docs/operations.md has no runbook heading for '%s'" % rb)


METRIC_TYPES = {"C": "counter", "G": "gauge", "H": "histogram",
                "EXECREC_METRIC_COUNTER": "counter", "EXECREC_METRIC_GAUGE": "gauge",
                "EXECREC_METRIC_HISTOGRAM": "histogram"}


def registered_metrics(path):
    """name -> (type, labels) of every execrec_metrics_add call of a C file."""
    out = {}
    text = read(path)
    for m in re.finditer(r"execrec_metrics_add\(\s*\w+,\s*(\w+),\s*\"(execrec_\w+)\",\s*"
                         r"(?:\"(?:[^\"\\]|\\.)*\"\s*)+,\s*(NULL|\"[^\"]*\")", text):
        labels = m.group(3).strip('"')
        out[m.group(2)] = (METRIC_TYPES.get(m.group(1), m.group(1)),
                           frozenset(labels.split(",")) if labels != "NULL" else frozenset())
    return out


def doc_tables(text):
    """The rows of the markdown tables whose first header cell is 'metric', as
    dicts header -> cell."""
    rows = []
    header = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells if cells and cells[0] == "metric" else []
        elif header and not set("".join(cells)) <= set("-: "):
            rows.append(dict(zip(header, cells)))
    return rows


def label_set(cell):
    return frozenset(x.strip(" `") for x in cell.split(",") if x.strip(" `"))


def check_metrics(root):
    code = registered_metrics(os.path.join(root, "src", "app", "telemetry.c"))
    backfill = registered_metrics(os.path.join(root, "src", "app", "backfill.c"))
    if not code or not backfill:
        fail("no execrec_metrics_add call found in src/app/telemetry.c or backfill.c")
        return
    every = dict(code, **backfill)
    documented = {}
    for row in doc_tables(read(os.path.join(root, "docs", "metrics.md"))):
        name = row["metric"].strip("`")
        documented[name] = row
        if name not in every:
            fail("docs/metrics.md documents %s, which execrec does not export" % name)
            continue
        kind, labels = every[name]
        if row.get("type") != kind:
            fail("docs/metrics.md: %s is a %s, not a %s" % (name, kind, row.get("type")))
        if "labels" in row and label_set(row["labels"]) != labels:
            fail("docs/metrics.md: %s has labels %s, not %s"
                 % (name, ",".join(sorted(labels)) or "none", row["labels"] or "none"))
    for name in sorted(set(every) - set(documented)):
        fail("docs/metrics.md does not document %s" % name)
    seen = set()
    for row in doc_tables(read(os.path.join(root, "docs", "operations.md"))):
        for name in re.findall(r"`(execrec_\w+)`", row["metric"]):
            seen.add(name)
            if name not in every:
                fail("docs/operations.md names metric %s, which execrec does not export" % name)
            elif row.get("labels") != "histogram" and label_set(row.get("labels", "")) != every[name][1]:
                fail("docs/operations.md: %s has labels %s, not %s"
                     % (name, ",".join(sorted(every[name][1])) or "none", row.get("labels") or "none"))
    for name in sorted(set(code) - seen):
        fail("docs/operations.md's metrics table does not name %s" % name)
    ns = {}
    exec(compile(re.search(r"^COUNTERS_GAUGES = \{.*?^\}\nHISTOGRAMS = \{.*?^\}",
                           read(os.path.join(root, "tests", "deploy", "dashboards.py")),
                           re.M | re.S).group(0), "dashboards.py", "exec"), ns)
    want = {n for n, (k, _) in code.items() if k != "histogram"}
    if ns["COUNTERS_GAUGES"] != want or ns["HISTOGRAMS"] != set(code) - want:
        fail("tests/deploy/dashboards.py's metric lists differ from src/app/telemetry.c's")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    compose = check_compose(root)
    check_prometheus(root, compose)
    check_grafana(root, compose)
    check_dockerfile(root)
    check_k8s(root)
    check_operations(root)
    check_metrics(root)
    if not failures:
        print("deploy recipes: every offline check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
