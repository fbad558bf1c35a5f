#!/usr/bin/env python3
"""The chaos test's conductor (run it through tests/chaos/run.sh; docs/testing.md).

One seeded, time-bounded run: a private PostgreSQL, the chaos driver (a multi-broker
mock cluster that produces a known stream and records where each message landed),
several `execrec run` recorders of one group, and a schedule of faults drawn from the
seed. At the end every fault is healed, the recorders catch up and are stopped with
SIGTERM, and check.py compares the database with the driver's record.

Everything random comes from random.Random(seed): the stream, the recorders' settings
and the schedule (what, when, which recorder by index). The timing of the processes
is not reproducible, so a seed replays the same faults at the same moments, not the
same interleaving; the fault log says what actually happened.
"""
import argparse
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time

TOPICS = {"order": "orders", "event": "order-events", "trade": "trades", "manager": "order-managers"}
GROUP = "chaos"
SESSION_MS = 6000
BASE_MS = 1793700000000  # 2026-11-03T...: a month the recorder has partitions for or DEFAULT

# Kafka API keys and error codes for the broker faults (Kafka protocol numbers).
API = {"Fetch": 1, "ListOffsets": 2, "OffsetCommit": 8, "OffsetFetch": 9, "FindCoordinator": 10,
       "JoinGroup": 11, "Heartbeat": 12, "LeaveGroup": 13}
ERRS = {
    "Fetch": [6, 7, 15, 56],            # NOT_LEADER, REQUEST_TIMED_OUT, COORDINATOR_NOT_AVAILABLE(odd), KAFKA_STORAGE_ERROR
    "ListOffsets": [6, 7, 5],           # NOT_LEADER, REQUEST_TIMED_OUT, LEADER_NOT_AVAILABLE
    "OffsetCommit": [16, 14, 15, 27, 7],  # NOT_COORDINATOR, LOAD_IN_PROGRESS, NOT_AVAILABLE, REBALANCE, TIMEOUT
    "OffsetFetch": [16, 14, 15],
    "FindCoordinator": [15, 7],
    "JoinGroup": [16, 14, 15, 7],
    "Heartbeat": [27, 25, 22, 16, 15],  # REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, ...
    "LeaveGroup": [16, 15],
    # Not SyncGroup: an error pushed onto it makes librdkafka's mock cluster (2.0.2) fail
    # its own assertion (rdkafka_mock_cgrp.c:567 '!member->resp') when the member rejoins.
}


def iso(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def dec(rng, whole_max=1000):
    return "%d.%0*d" % (rng.randint(1, whole_max), 8, rng.randint(0, 99999999))


# ---------------------------------------------------------------------------------
# The stream


def gen_stream(rng, n, partitions):
    """n messages: (topic, partition or -1, key, value bytes, meta dict). meta has kind,
    key (natural key, None when malformed), version (managers), valid."""
    base = []
    orders = []
    ev = tr = 0
    while len(base) < n * 0.8:
        r = rng.random()
        if r < 0.22 or not orders:
            i = len(orders)
            oid = "O-%d" % i
            ot = BASE_MS + i * 37
            orders.append((oid, ot))
            body = {"order_id": oid, "account_uid": "A-%d" % (i % 13), "asset": "AS-%d" % (i % 7),
                    "side": rng.choice(["buy", "sell", "BUY"]), "quantity": dec(rng),
                    "order_time": iso(ot), "order_manager_uid": "M-%d" % (i % 50),
                    "limit_price": dec(rng, 500), "venue": "CHAOS"}
            base.append(("order", oid, body, {"kind": "order", "key": oid}))
        elif r < 0.62:
            oid, ot = orders[rng.randrange(max(0, len(orders) - 40), len(orders))]
            eid = "E-%d" % ev
            ev += 1
            # Out of order: times scattered around the order, sequences unrelated to the
            # order in which events are sent.
            body = {"order_id": oid, "event_id": eid, "event_type": rng.choice(
                        ["new", "partially_filled", "filled", "cancelled", "REJECTED"]),
                    "event_time": iso(ot + rng.randint(-5000, 60000)), "sequence": rng.randint(1, 1000),
                    "filled_quantity": dec(rng, 100)}
            base.append(("event", oid, body, {"kind": "event", "key": eid}))
        else:
            oid, ot = orders[rng.randrange(max(0, len(orders) - 40), len(orders))]
            tid = "T-%d" % tr
            tr += 1
            body = {"trade_id": tid, "order_id": oid, "quantity": dec(rng), "price": dec(rng, 300),
                    "trade_time": iso(ot + rng.randint(0, 90000)), "side": rng.choice(["buy", "sell"]),
                    "fee": "0.%04d" % rng.randint(0, 9999), "liquidity": rng.choice(["maker", "taker"])}
            base.append(("trade", oid, body, {"kind": "trade", "key": tid}))
    # OrderManager intents: each identifier gets versions 1..V, sent in a shuffled order
    # and scattered over the stream (out-of-order updates).
    mgr = []
    k = 0
    while len(base) + len(mgr) < n * 0.96:
        uid = "M-%d" % k
        k += 1
        versions = list(range(1, rng.randint(1, 6) + 1))
        rng.shuffle(versions)
        for v in versions:
            body = {"unique_identifier": uid, "target_account_uid": "A-%d" % (k % 13),
                    "target_time": iso(BASE_MS + k * 1000), "status": "status-v%d" % v,
                    "strategy": "S-%d" % (k % 5), "updated_at": iso(BASE_MS + v * 1000), "version": v}
            mgr.append(("manager", uid, body, {"kind": "manager", "key": uid, "version": v}))
    # Interleave, keeping each list's order.
    merged = []
    i = j = 0
    while i < len(base) or j < len(mgr):
        if j < len(mgr) and (i == len(base) or rng.random() < len(mgr) / (len(base) + len(mgr))):
            merged.append(mgr[j])
            j += 1
        else:
            merged.append(base[i])
            i += 1
    out = []
    for kind, key, body, meta in merged:
        meta["valid"] = True
        out.append([TOPICS[kind], -1, key, json.dumps(body, separators=(",", ":")).encode(), meta])
        r = rng.random()
        if r < 0.03 and len(out) > 10:  # an exact duplicate of an earlier message, re-sent
            prev = out[rng.randrange(max(0, len(out) - 500), len(out))]
            out.append([prev[0], prev[1], prev[2], prev[3], dict(prev[4], dup=True)])
        elif r < 0.04 and len(out) > 10:  # the same message again, on another partition
            prev = out[rng.randrange(max(0, len(out) - 500), len(out))]
            out.append([prev[0], rng.randrange(partitions), prev[2], prev[3], dict(prev[4], dup=True)])
        elif r < 0.07:  # malformed
            kind = rng.choice(list(TOPICS))
            m = rng.randrange(6)
            if m == 0:
                value = b'{"trade_id": "T-x", not json'
            elif m == 1:
                value = b"\xff\xfe\x00garbage"
            elif m == 2:
                value = b"[1,2,3]"
            elif m == 3:  # a required field missing
                value = json.dumps({"order_id": "O-bad-%d" % len(out), "event_type": "new"}).encode() \
                    if kind == "event" else json.dumps({"trade_id": "T-bad-%d" % len(out)}).encode()
            elif m == 4:  # a quantity that is no decimal
                value = json.dumps({"trade_id": "T-bad-%d" % len(out), "order_id": "O-1",
                                    "quantity": "1.2.3", "price": "1", "trade_time": iso(BASE_MS)}).encode()
                kind = "trade"
            else:  # a time that is no time
                value = json.dumps({"order_id": "O-bad-%d" % len(out), "account_uid": "A", "asset": "X",
                                    "side": "buy", "quantity": "1", "order_time": "yesterday"}).encode()
                kind = "order"
            out.append([TOPICS[kind], -1, "X-%d" % len(out), value, {"kind": kind, "key": None, "valid": False}])
    return out


# ---------------------------------------------------------------------------------
# The schedule


def gen_schedule(rng, seconds, nbrokers, partitions):
    """[(t, action, args)] in time order; durational faults are a start and an end."""
    kinds = [("kill9", 2.0), ("zombie", 1.2), ("term", 1.5), ("pg_restart", 0.8), ("pg_stop", 0.8),
             ("add", 1.0), ("err", 3.0), ("broker_down", 1.0), ("leader", 1.5), ("coord", 0.8),
             ("rtt", 0.5)]
    total = sum(w for _, w in kinds)
    ev = []
    t = 3.0
    busy = {"pg": 0.0, "broker": 0.0}
    end = seconds - 3.0
    while True:
        t += rng.expovariate(1 / 3.0)
        if t >= end:
            break
        r = rng.random() * total
        for name, w in kinds:
            r -= w
            if r <= 0:
                break
        pick = rng.randrange(1000)  # which recorder: index into the eligible ones at run time
        if name == "kill9":
            ev.append((t, "kill9", {"pick": pick, "replace_after": round(rng.uniform(0.2, 4), 1)}))
        elif name == "term":
            ev.append((t, "term", {"pick": pick, "replace_after": round(rng.uniform(0.5, 6), 1)}))
        elif name == "zombie":
            d = round(SESSION_MS / 1000 + rng.uniform(2, 6), 1)
            ev.append((t, "stop", {"pick": pick, "for": d}))
        elif name == "add":
            ev.append((t, "add", {}))
        elif name in ("pg_restart", "pg_stop"):
            if t < busy["pg"]:
                continue
            if name == "pg_restart":
                ev.append((t, "pg_restart", {}))
                busy["pg"] = t + 3
            else:
                d = round(rng.uniform(3, 9), 1)
                ev.append((t, "pg_stop", {"for": d}))
                ev.append((t + d, "pg_start", {}))
                busy["pg"] = t + d + 2
        elif name == "err":
            api = rng.choice(list(ERRS))
            codes = [rng.choice(ERRS[api]) for _ in range(rng.randint(1, 6))]
            ev.append((t, "broker", {"cmd": "err %d %s" % (API[api], " ".join(map(str, codes))),
                                     "what": "%s errors %s" % (api, codes)}))
        elif name == "broker_down":
            if t < busy["broker"] or t + 1 >= end:
                continue
            b = rng.randint(1, nbrokers)
            d = round(rng.uniform(1.5, 6), 1)
            ev.append((t, "broker", {"cmd": "down %d" % b, "what": "broker %d down for %.1fs" % (b, d)}))
            ev.append((t + d, "broker", {"cmd": "up %d" % b, "what": "broker %d up" % b}))
            busy["broker"] = t + d + 1
        elif name == "leader":
            topic = rng.choice(list(TOPICS.values()))
            p = rng.randrange(partitions)
            b = rng.randint(1, nbrokers)
            ev.append((t, "broker", {"cmd": "leader %s %d %d" % (topic, p, b),
                                     "what": "leader of %s [%d] -> broker %d" % (topic, p, b)}))
        elif name == "coord":
            b = rng.randint(1, nbrokers)
            ev.append((t, "broker", {"cmd": "coord %s %d" % (GROUP, b),
                                     "what": "group coordinator -> broker %d" % b}))
        elif name == "rtt":
            b = rng.randint(1, nbrokers)
            ms = rng.choice([200, 500, 1500])
            d = round(rng.uniform(2, 6), 1)
            ev.append((t, "broker", {"cmd": "rtt %d %d" % (b, ms), "what": "broker %d rtt %d ms" % (b, ms)}))
            ev.append((t + d, "broker", {"cmd": "rtt %d 0" % b, "what": "broker %d rtt 0" % b}))
    ev.sort(key=lambda e: e[0])
    return [(round(t, 2), a, args) for t, a, args in ev]


# ---------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, opts):
        self.o = opts
        self.work = opts.workdir
        self.t0 = time.monotonic()
        self.failures = []
        self.faultlog = []
        self.recs = {}  # name -> dict(proc, sent=list, stopped=bool, log)
        self.nrec = 0
        self.pg_up = True
        self.pending_starts = []  # times at which a recorder should be started
        self.driver = None
        self.dq = queue.Queue()
        self.env = dict(os.environ)

    def now(self):
        return time.monotonic() - self.t0

    def log(self, what):
        line = "%7.2f  %s" % (self.now(), what)
        self.faultlog.append(line)
        print("chaos: " + line, flush=True)

    def fail(self, what):
        self.failures.append(what)
        self.log("FAILURE: " + what)

    # -- PostgreSQL
    def pg(self, cmd):
        r = subprocess.run(["bash", os.path.join(self.o.src, "deploy/pg.sh"), cmd, self.o.pgdir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("pg.sh %s: %s" % (cmd, r.stderr.strip()))
        return r.stdout

    def psql(self, sql, db=None):
        env = dict(self.env)
        if db:
            env["PGDATABASE"] = db
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr.strip())
        return r.stdout.strip()

    # -- the driver
    def driver_cmd(self, cmd, timeout=30):
        self.driver.stdin.write(cmd + "\n")
        self.driver.stdin.flush()
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            try:
                line = self.dq.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("the chaos driver did not answer '%s'" % cmd)
            if line.startswith("stream done"):
                self.stream_done = line
                continue
            lines.append(line)
            if line.startswith("ok") or line.startswith("error"):
                return lines

    def read_driver(self):
        for line in self.driver.stdout:
            self.dq.put(line.rstrip("\n"))
        self.dq.put("error driver exited")

    # -- recorders
    def start_recorder(self):
        self.nrec += 1
        name = "r%d" % self.nrec
        logf = open(os.path.join(self.work, name + ".log"), "w")
        args = [self.o.bin, "run", "--brokers", self.bootstraps, "--group", GROUP,
                "-X", "session.timeout.ms=%d" % SESSION_MS, "-X", "heartbeat.interval.ms=500",
                "--batch-size", str(self.batch_size), "--log-level", "info"]
        args += os.environ.get("CHAOS_RECORDER_ARGS", "").split()  # e.g. -X debug=... (docs/testing.md)
        if self.o.writers and self.writers_supported:
            args += ["--writers", str(self.o.writers)]
        proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=self.env)
        self.recs[name] = {"proc": proc, "sent": [], "stopped": False, "log": logf, "rc": None}
        self.log("start %s (pid %d)" % (name, proc.pid))
        return name

    def ready(self, name):
        """Whether recorder name is past its start: it logged its subscription (so its
        signal handlers are in place, and it no longer needs PostgreSQL to start: at
        start an unreachable PostgreSQL is exit 1 by design)."""
        r = self.recs[name]
        if not r.get("ready"):
            with open(os.path.join(self.work, name + ".log"), errors="replace") as f:
                r["ready"] = " subscribed to " in f.read()
        return r["ready"]

    def starting(self):
        return [n for n, r in self.recs.items() if r["rc"] is None and not self.ready(n)]

    def running(self):
        """Recorders past their start, alive, not frozen, not being stopped: the ones a
        fault may pick."""
        return [n for n, r in sorted(self.recs.items(), key=lambda kv: int(kv[0][1:]))
                if r["rc"] is None and not r["stopped"] and not r["sent"] and self.ready(n)]

    def signal(self, name, sig):
        r = self.recs[name]
        r["sent"].append(sig)
        os.kill(r["proc"].pid, sig)

    def reap(self):
        for name, r in self.recs.items():
            if r["rc"] is not None:
                continue
            rc = r["proc"].poll()
            if rc is None:
                continue
            r["rc"] = rc
            r["log"].close()
            sent = [s for s in r["sent"] if s not in (signal.SIGSTOP, signal.SIGCONT)]
            if signal.SIGKILL in sent:
                ok = rc == -signal.SIGKILL
            elif signal.SIGTERM in sent:
                ok = rc == 0
            else:
                ok = False
            what = "%s exited with %s%s" % (name, rc if rc >= 0 else "signal %d" % -rc,
                                            " after %s" % ",".join(signal.Signals(s).name for s in sent)
                                            if sent else " (no signal sent)")
            if ok:
                self.log(what)
            else:
                self.fail(what + ": expected %s" % ("-9" if signal.SIGKILL in sent else "0 after SIGTERM"
                                                    if sent else "no exit"))
                self.pending_starts.append(self.now() + 1)

    def tick(self):
        """Reaps exits, runs the starts that are due (only while PostgreSQL is up: at
        start an unreachable PostgreSQL is exit 1 by design)."""
        self.reap()
        due = [t for t in self.pending_starts if t <= self.now()]
        if due and self.pg_up:
            for t in due:
                self.pending_starts.remove(t)
                self.start_recorder()

    def sleep_until(self, t):
        while self.now() < t:
            self.tick()
            time.sleep(min(0.1, max(0.0, t - self.now())))

    # -- one scheduled action
    def act(self, t, action, args):
        if action in ("pg_restart", "pg_stop") and self.starting():
            waited = self.now()
            while self.starting() and self.now() < waited + 30:
                self.sleep_until(self.now() + 0.2)
            self.log("%s waited %.1fs for starting recorders" % (action, self.now() - waited))
        if action in ("kill9", "term", "stop"):
            cands = self.running()
            if not cands:
                self.log("%s: no running recorder to pick, skipped" % action)
                return
            name = cands[args["pick"] % len(cands)]
            if action == "kill9":
                self.signal(name, signal.SIGKILL)
                self.log("kill -9 %s; a replacement in %.1fs" % (name, args["replace_after"]))
                self.pending_starts.append(self.now() + args["replace_after"])
            elif action == "term":
                self.signal(name, signal.SIGTERM)
                self.log("SIGTERM %s (must exit 0); a replacement in %.1fs" % (name, args["replace_after"]))
                self.pending_starts.append(self.now() + args["replace_after"])
            else:
                self.recs[name]["stopped"] = True
                os.kill(self.recs[name]["proc"].pid, signal.SIGSTOP)
                self.recs[name]["cont_at"] = self.now() + args["for"]
                self.log("SIGSTOP %s for %.1fs (past the %d ms session: a zombie)" % (name, args["for"], SESSION_MS))
        elif action == "add":
            live = [n for n, r in self.recs.items() if r["rc"] is None]
            if len(live) + len(self.pending_starts) >= self.o.recorders + 2:
                self.log("add: already %d recorders, skipped" % len(live))
            else:
                self.log("add a recorder (rebalance)")
                self.pending_starts.append(self.now())
        elif action == "pg_restart":
            self.log("PostgreSQL restart")
            self.pg_up = False
            self.pg("restart")
            self.pg_up = True
            self.log("PostgreSQL restarted")
        elif action == "pg_stop":
            self.log("PostgreSQL stopped for %.1fs" % args["for"])
            self.pg_up = False
            self.pg("stop")
        elif action == "pg_start":
            self.pg("start")
            self.pg_up = True
            self.log("PostgreSQL started")
        elif action == "broker":
            ans = self.driver_cmd(args["cmd"])
            self.log("%s (%s): %s" % (args["what"], args["cmd"], ans[-1]))
            if not ans[-1].startswith("ok"):
                self.fail("the chaos driver refused '%s': %s" % (args["cmd"], ans[-1]))

    def cont_due(self, final=False):
        for name, r in self.recs.items():
            if r["stopped"] and (final or r.get("cont_at", 0) <= self.now()):
                os.kill(r["proc"].pid, signal.SIGCONT)
                r["stopped"] = False
                self.log("SIGCONT %s (it must be fenced, not commit its stale batch)" % name)

    def stored_vs_hw(self, hw):
        rows = self.psql("SELECT topic, partition, next_offset FROM execution.ingest_offsets "
                         "WHERE consumer_group = '%s'" % GROUP)
        stored = {}
        for line in rows.splitlines():
            t, p, o = line.split("|")
            stored[(t, int(p))] = int(o)
        behind = {k: (stored.get(k, 0), h) for k, h in hw.items() if stored.get(k, 0) != h}
        return behind

    def watermarks(self):
        hw, lw = {}, {}
        for line in self.driver_cmd("wm", timeout=120):
            if line.startswith("wm "):
                _, t, p, lo, hi = line.split()
                hw[(t, int(p))] = int(hi)
                lw[(t, int(p))] = int(lo)
            elif line.startswith("error"):
                raise RuntimeError("watermarks: " + line)
        return lw, hw

    def main(self):
        o = self.o
        rng = random.Random(o.seed)
        self.batch_size = rng.choice([100, 1000, 5000])
        nbrokers = 3
        rate = o.rate
        nmsg = int(rate * o.seconds * 0.85)
        stream = gen_stream(rng, nmsg, o.partitions)
        schedule = gen_schedule(rng, o.seconds, nbrokers, o.partitions)
        help_text = subprocess.run([o.bin, "run", "--help"], capture_output=True, text=True).stdout
        self.writers_supported = "--writers" in help_text
        print("chaos: seed %d, %d s, %d recorders, writers %s, batch size %d, %d messages at %d/s, "
              "%d partitions x 4 topics, %d brokers" % (
                  o.seed, o.seconds, o.recorders,
                  (o.writers if self.writers_supported else "n/a (execrec run has no --writers)")
                  if o.writers else "default", self.batch_size, len(stream), rate, o.partitions, nbrokers),
              flush=True)
        print("chaos: schedule (%d actions):" % len(schedule), flush=True)
        for t, a, args in schedule:
            print("chaos:   %7.2f  %s %s" % (t, a, json.dumps(args)), flush=True)

        with open(os.path.join(self.work, "stream.tsv"), "w") as f, \
                open(os.path.join(self.work, "meta.jsonl"), "w") as m:
            for i, (topic, part, key, value, meta) in enumerate(stream):
                f.write("%d\t%s\t%d\t%s\t%s\n" % (i, topic, part, key, value.hex()))
                m.write(json.dumps(dict(meta, id=i, topic=topic)) + "\n")

        # PostgreSQL of our own: we stop and restart it.
        exports = self.pg("start")
        for word in exports.split():
            if "=" in word:
                k, v = word.split("=", 1)
                self.env[k] = v
        self.psql("CREATE DATABASE chaos")
        self.env["PGDATABASE"] = "chaos"
        r = subprocess.run([o.bin, "migrate"], capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError("execrec migrate: " + r.stderr)
        # The audit trail of every stored offset change (the test's, not a migration).
        self.psql("""
            CREATE TABLE public.offset_audit (
                id bigserial PRIMARY KEY, backend int NOT NULL, xid xid8 NOT NULL,
                topic text NOT NULL, partition int NOT NULL, old_offset bigint, new_offset bigint NOT NULL,
                at timestamptz NOT NULL DEFAULT clock_timestamp());
            CREATE FUNCTION public.audit_offsets() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.offset_audit (backend, xid, topic, partition, old_offset, new_offset)
                VALUES (pg_backend_pid(), pg_current_xact_id(), NEW.topic, NEW.partition,
                        CASE WHEN TG_OP = 'UPDATE' THEN OLD.next_offset END, NEW.next_offset);
                RETURN NEW;
            END $$;
            CREATE TRIGGER audit_offsets AFTER INSERT OR UPDATE ON execution.ingest_offsets
                FOR EACH ROW EXECUTE FUNCTION public.audit_offsets();""")

        self.driver = subprocess.Popen(
            [o.driver, "--brokers", str(nbrokers), "--partitions", str(o.partitions),
             "--topics", ",".join(TOPICS.values()), "--stream", os.path.join(self.work, "stream.tsv"),
             "--record", os.path.join(self.work, "record.tsv"), "--rate", str(rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(self.work, "driver.log"), "w"),
            text=True)
        threading.Thread(target=self.read_driver, daemon=True).start()
        self.bootstraps = self.dq.get(timeout=30)
        self.stream_done = None
        self.t0 = time.monotonic()  # the schedule's times count from here
        self.log("mock cluster at %s" % self.bootstraps)
        for _ in range(o.recorders):
            self.start_recorder()

        for t, action, args in schedule:
            while self.now() < t:
                self.cont_due()
                self.sleep_until(min(t, self.now() + 0.2))
            self.act(t, action, args)
        self.sleep_until(o.seconds)

        # Heal everything, then let the group catch up.
        self.log("healing: every fault ends")
        self.cont_due(final=True)
        if not self.pg_up:
            self.pg("start")
            self.pg_up = True
        for b in range(1, nbrokers + 1):
            self.driver_cmd("up %d" % b)
            self.driver_cmd("rtt %d 0" % b)
        if not [n for n, r in self.recs.items() if r["rc"] is None] and not self.pending_starts:
            self.pending_starts.append(self.now())
        deadline = self.now() + 60 + nmsg / rate
        while self.stream_done is None:
            try:
                line = self.dq.get(timeout=0.2)
                if line.startswith("stream done"):
                    self.stream_done = line
            except queue.Empty:
                pass
            self.tick()
            if self.now() > deadline:
                raise RuntimeError("the driver's stream was not acknowledged in time")
        self.log("producer: " + self.stream_done)
        lw, hw = self.watermarks()
        ans = self.driver_cmd("dump " + os.path.join(self.work, "dump.tsv"), timeout=320)
        if not ans[-1].startswith("ok"):
            raise RuntimeError("the driver could not read the log back: " + ans[-1])
        with open(os.path.join(self.work, "watermarks.tsv"), "w") as f:
            for (t, p), h in sorted(hw.items()):
                f.write("%s\t%d\t%d\t%d\n" % (t, p, lw[(t, p)], h))
        deadline = self.now() + o.catchup
        behind = None
        while self.now() < deadline:
            self.tick()
            try:
                behind = self.stored_vs_hw(hw)
            except RuntimeError:
                behind = "PostgreSQL not answering"
            if not behind:
                break
            self.sleep_until(self.now() + 1)
        if behind:
            self.fail("after %d s of catching up the stored offsets are not the high watermarks: %s"
                      % (o.catchup, behind))
        else:
            self.log("caught up: every stored offset is its high watermark")
        for name, r in self.recs.items():
            if r["rc"] is None and signal.SIGTERM not in r["sent"]:  # a second one gives up
                self.signal(name, signal.SIGTERM)
                self.log("SIGTERM %s (end of run; must exit 0)" % name)
        deadline = self.now() + 45
        while any(r["rc"] is None for r in self.recs.values()) and self.now() < deadline:
            self.reap()
            time.sleep(0.1)
        for name, r in self.recs.items():
            if r["rc"] is None:
                r["proc"].kill()
                r["proc"].wait()
                self.fail("%s did not exit within 45 s of SIGTERM" % name)
        self.driver_cmd("quit")
        self.driver.wait(timeout=30)

        if os.environ.get("CHAOS_TAMPER"):  # the checker's own test (docs/testing.md)
            self.log("tampering before the check: " + os.environ["CHAOS_TAMPER"])
            self.psql(os.environ["CHAOS_TAMPER"])
        sys.stdout.flush()
        r = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "check.py"), self.work],
                           env=self.env)
        if r.returncode != 0:
            self.failures.append("check.py found %s" % ("inconsistencies" if r.returncode == 1 else
                                                       "an error (%d)" % r.returncode))

    def cleanup(self):
        for r in self.recs.values():
            if r["rc"] is None:
                try:
                    r["proc"].send_signal(signal.SIGCONT)
                    r["proc"].kill()
                    r["proc"].wait()
                except OSError:
                    pass
        if self.driver and self.driver.poll() is None:
            self.driver.kill()
            self.driver.wait()


def main():
    ap = argparse.ArgumentParser(prog="tests/chaos/run.sh")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--recorders", type=int, default=3)
    ap.add_argument("--writers", type=int, default=0)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--rate", type=int, default=150)
    ap.add_argument("--catchup", type=int, default=150)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--pgdir", required=True)
    o = ap.parse_args()
    run = Run(o)
    try:
        run.main()
    except Exception as e:  # the harness itself failed: say so, with the seed
        why = "harness error: %s" % e
        if run.driver and run.driver.poll() is not None:
            # librdkafka's mock cluster can fail its own assertions (docs/testing.md)
            with open(os.path.join(o.workdir, "driver.log"), errors="replace") as f:
                last = [line.strip() for line in f if "chaos_driver" in line or "Assertion" in line]
            why += " (the chaos driver exited with %s%s)" % (run.driver.returncode,
                                                            ": " + last[-1] if last else "")
        run.failures.append(why)
    finally:
        run.cleanup()
    print("chaos: seed %d, %d s: fault log" % (o.seed, o.seconds))
    for line in run.faultlog:
        print("chaos:   " + line)
    if run.failures:
        print("chaos: FAILED, seed %d (%d s): %s" % (o.seed, o.seconds, "; ".join(run.failures)))
        print("chaos: reproduce with: bash tests/chaos/run.sh --seed %d --seconds %d --recorders %d%s"
              % (o.seed, o.seconds, o.recorders, " --writers %d" % o.writers if o.writers else ""))
        return 1
    print("chaos: PASSED, seed %d (%d s)" % (o.seed, o.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
