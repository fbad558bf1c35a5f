# Shared helpers of the recorder's end-to-end tests (tests/cli/test_run_*.sh), sourced
# by each. Not a test itself: tests/CMakeLists.txt registers only test_*.sh.
#
# Each test gets a work directory (cli_lib.sh's scratch directory), its own database
# on the server given by PG* (deploy/test.sh), its own embedded broker (`execrec
# broker`, in memory), and recorders started in the background with their logs in
# the work directory. At exit (cli_lib.sh's cli_cleanup) every process started here
# is killed by its pid, the database is dropped, and on failure the logs are printed
# (RL_KEEP=1 keeps the work directory). Waits are bounded: a timeout is a failure
# that says what was awaited.
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh" # bin, src, fail, pass, check, q, cli_finish
gen_trades=$src/tests/data/run/gen_trades.py
cli_scratch execrec_run
work=$tmp
BROKER=
broker_pid=
declare -A rec_pid=()  # recorder name -> pid, while it runs
RL_RC=                 # exit status set by rl_wait_exit, rl_stop, rl_run_to_end
rl_bg=()               # every background pid started here, killed at exit

command -v kcat >/dev/null || { echo "FAIL: kcat is required (deploy/setup.sh)" >&2; exit 1; }
command -v psql >/dev/null || { echo "FAIL: psql is required (deploy/setup.sh)" >&2; exit 1; }

note() { echo "--- $(date -u +%H:%M:%S.%N | cut -c1-12) $*" >&2; }

# Prints the logs of this test's processes (recorders, broker).
rl_show_logs() {
    local f
    for f in "$work"/*.log; do
        [ -s "$f" ] || continue
        echo "===== $(basename "$f") (last 80 lines of $(wc -l <"$f")) =====" >&2
        tail -n 80 "$f" >&2
    done
}

# A failure after which the test cannot go on: logs, cleanup (trap), exit 1.
die() {
    fail "$*"
    exit 1
}

# True when pid is still a child of this shell (not a reaped pid reused since).
rl_our_child() {
    [ "$(awk '/^PPid:/ {print $2}' "/proc/$1/status" 2>/dev/null)" == "$$" ]
}

# The first step of cli_cleanup: every background process started here is killed
# (by pid, and only while it is still our child) and reaped.
rl_kill_bg() {
    local pid
    exec 3>&2 2>/dev/null # no "Killed" job notices
    for pid in "${rl_bg[@]}"; do
        rl_our_child "$pid" && kill -KILL "$pid"
    done
    for pid in "${rl_bg[@]}"; do
        wait "$pid"
    done
    exec 2>&3 3>&-
}
cli_exit_first+=(rl_kill_bg)
cli_on_failure() { rl_show_logs; }
trap 'fail "interrupted"; exit 1' INT TERM


# rl_db NAME: creates database execrec_run_NAME_<pid> on the current PG* server,
# exports PGDATABASE, and drops it at exit.
rl_db() {
    local db
    cli_db db "run_$1"
    export PGDATABASE=$db
}

# True while pid runs (a zombie, exited but not yet reaped, does not count).
rl_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# rl_wait_for SECONDS WHAT COMMAND...: polls COMMAND every RL_POLL seconds (0.2 by
# default) until it succeeds.
# Fails (returns 1) after SECONDS, or as soon as a running recorder has died.
rl_wait_for() {
    local secs=$1 what=$2 name
    shift 2
    local deadline=$((SECONDS + secs))
    while :; do
        "$@" && return 0
        for name in "${!rec_pid[@]}"; do
            if ! rl_alive "${rec_pid[$name]}"; then
                wait "${rec_pid[$name]}" 2>/dev/null
                fail "recorder $name died (exit $?) while waiting for $what"
                unset "rec_pid[$name]"
                return 1
            fi
        done
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "timed out after ${secs}s waiting for $what"
            return 1
        fi
        sleep "${RL_POLL:-0.2}"
    done
}

# rl_start_broker [ARGS...]: starts `execrec broker` (4 topics, 4 partitions each
# unless ARGS say otherwise) and sets BROKER to its bootstrap address.
rl_start_broker() {
    "$bin" broker --address-file "$work/broker.addr" "$@" >"$work/broker.out" 2>"$work/broker.log" &
    broker_pid=$!
    rl_bg+=("$broker_pid")
    local deadline=$((SECONDS + 30))
    while ! grep -qE '^[^ ]+:[0-9]+$' "$work/broker.addr" 2>/dev/null; do
        rl_alive "$broker_pid" || die "execrec broker exited before writing its address"
        [ "$SECONDS" -lt "$deadline" ] || die "execrec broker wrote no address in 30s"
        sleep 0.1
    done
    BROKER=$(head -1 "$work/broker.addr")
    # The address is also the single line on stdout.
    rl_wait_for 10 "the broker's address on stdout" grep -qxF "$BROKER" "$work/broker.out" ||
        die "execrec broker printed '$(cat "$work/broker.out")', wrote '$BROKER'"
    check "$(wc -l <"$work/broker.out")" 1 "execrec broker prints one line on stdout"
    note "broker at $BROKER"
}

# rl_produce TOPIC FILE [KCAT ARGS...]: one message per line of FILE
# (add -K '|' for key|value lines, -p N for one partition).
rl_produce() {
    local topic=$1 file=$2
    shift 2
    kcat -P -b "$BROKER" -t "$topic" "$@" -l "$file" 2>>"$work/kcat.log" ||
        die "kcat could not produce $file to $topic (see kcat.log)"
}

# rl_hw TOPIC: prints "TOPIC PARTITION HIGH_WATERMARK" for each partition of
# TOPIC that holds messages (the offset of its last message + 1).
rl_hw() {
    kcat -C -b "$BROKER" -t "$1" -o -1 -e -q -f '%t %p %o\n' 2>>"$work/kcat.log" |
        awk '{print $1, $2, $3 + 1}' | sort
}

# rl_start_recorder NAME [ARGS...]: starts `execrec run` against the broker, logs to
# NAME.log, and records its pid in rec_pid[NAME]. PG* give the database.
# The session timeout is cut from librdkafka's 45 s to 6 s: the mock cluster keeps
# a member that is gone (killed, and even one that left cleanly) until its session
# times out, and the next recorder of the group waits for that before it is
# assigned anything. ARGS may override it.
rl_start_recorder() {
    local name=$1
    shift
    "$bin" run --brokers "$BROKER" -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 "$@" \
        >"$work/$name.out" 2>"$work/$name.log" &
    rec_pid[$name]=$!
    rl_bg+=("$!")
    note "recorder $name started (pid $!): execrec run $*"
}

# rl_wait_exit NAME SECONDS: waits for recorder NAME to exit by itself and sets
# RL_RC to its exit status (124 after SECONDS: it is then killed). Not in $(...):
# only this shell can reap its children.
rl_wait_exit() {
    local name=$1 secs=$2 pid=${rec_pid[$1]}
    local deadline=$((SECONDS + secs))
    while rl_alive "$pid"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            rl_our_child "$pid" && kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            unset "rec_pid[$name]"
            RL_RC=124
            return
        fi
        sleep 0.1
    done
    wait "$pid" 2>/dev/null
    RL_RC=$?
    unset "rec_pid[$name]"
}

# rl_stop NAME SIGNAL [SECONDS]: sends SIGNAL to recorder NAME, waits for it (15 s
# by default) and sets RL_RC to its exit status (124: still running, killed).
rl_stop() {
    local name=$1 sig=$2 secs=${3:-15}
    kill "-$sig" "${rec_pid[$name]}" 2>/dev/null
    note "recorder $name sent SIG$sig"
    rl_wait_exit "$name" "$secs"
    note "recorder $name exited with $RL_RC"
}

# rl_kill9 NAME: kills recorder NAME with SIGKILL and reaps it (RL_RC: 137).
rl_kill9() {
    exec 3>&2 2>/dev/null # no "Killed" job notice
    kill -KILL "${rec_pid[$1]}"
    rl_wait_exit "$1" 10
    exec 2>&3 3>&-
    note "recorder $1 killed (exit $RL_RC)"
}

# rl_run_to_end NAME SECONDS [ARGS...]: runs `execrec run --exit-at-end ARGS` to its
# end (bounded by SECONDS) and checks that it exits 0.
rl_run_to_end() {
    local name=$1 secs=$2
    shift 2
    rl_start_recorder "$name" --exit-at-end "$@"
    rl_wait_exit "$name" "$secs"
    note "recorder $name exited with $RL_RC"
    check "$RL_RC" 0 "execrec run --exit-at-end $* exit status (124: did not stop within ${secs}s)"
}

# rl_gen_trades PREFIX START COUNT > FILE: key|json trade lines (tests/data/run).
rl_gen_trades() { python3 "$gen_trades" "$@"; }
# rl_trades_sum PREFIX START COUNT: the exact sum of those trades' quantities.
rl_trades_sum() { python3 "$gen_trades" --sum "$@"; }

# rl_count SQL-FROM-WHERE: count(*) as text.
rl_count() { q "SELECT count(*) FROM $1"; }

# rl_count_is N FROM-WHERE: true when that count is N (for rl_wait_for).
rl_count_is() { [ "$(rl_count "$2" 2>/dev/null)" == "$1" ]; }
# rl_count_at_least N FROM-WHERE
rl_count_at_least() {
    local n
    n=$(rl_count "$2" 2>/dev/null) || return 1
    [ -n "$n" ] && [ "$n" -ge "$1" ]
}

# rl_offsets GROUP: "topic partition next_offset" rows stored for GROUP, sorted,
# leaving out partitions stored at 0 (nothing consumed yet).
rl_offsets() {
    q "SELECT topic || ' ' || partition || ' ' || next_offset FROM execution.ingest_offsets
       WHERE consumer_group = '$1' AND next_offset > 0" | sort
}

# rl_key_by FIELD < JSONL > KEYED: prefixes each line with its FIELD value and '|'
# (kcat -K '|'), so that all messages of one order or intent share a partition.
rl_key_by() {
    python3 -c '
import json, sys
field = sys.argv[1]
for line in sys.stdin.buffer.read().splitlines():
    key = json.loads(line)[field]
    sys.stdout.buffer.write(key.encode() + b"|" + line + b"\n")
' "$1"
}

# rl_produce_paced TOPIC FILE LINES PAUSE: produces FILE (key|value lines) in chunks
# of LINES lines, PAUSE seconds apart, so that a recorder consumes while messages
# arrive. Run it in the background (`rl_produce_paced ... & rl_bg+=($!)`): it
# appends the number of lines sent so far to $work/paced.progress after each chunk
# and creates $work/paced.done at the end ($work/paced.failed if kcat failed).
rl_produce_paced() {
    local topic=$1 file=$2 lines=$3 pause=$4 chunk sent=0
    rm -f "$work/paced.done" "$work/paced.failed" "$work/paced.progress"
    split -l "$lines" -d -a 4 "$file" "$work/paced.chunk."
    for chunk in "$work"/paced.chunk.*; do
        if ! kcat -P -b "$BROKER" -t "$topic" -K '|' -l "$chunk" 2>>"$work/kcat.log"; then
            touch "$work/paced.failed"
            return 1
        fi
        sent=$((sent + $(wc -l <"$chunk")))
        echo "$sent" >>"$work/paced.progress"
        rm -f "$chunk"
        sleep "$pause"
    done
    touch "$work/paced.done"
}

# rl_wait_paced SECONDS: waits for the background rl_produce_paced to finish.
rl_wait_paced() {
    rl_wait_for "$1" "the paced producer to finish" test -e "$work/paced.done" -o -e "$work/paced.failed" ||
        die "the producer did not finish"
    [ ! -e "$work/paced.failed" ] || die "kcat failed to produce (see kcat.log)"
}

# rl_paced_sent: lines produced so far by rl_produce_paced.
rl_paced_sent() { tail -1 "$work/paced.progress" 2>/dev/null || echo 0; }

# rl_check_trades PREFIX START COUNT WHAT: TradesTS holds exactly those trades, each
# once, with their exact quantities.
rl_check_trades() {
    local prefix=$1 start=$2 count=$3 what=$4
    check "$(q "SELECT count(*) || ' ' || count(DISTINCT trade_id) || ' ' ||
                       count(DISTINCT (kafka_partition, kafka_offset)) || ' ' || coalesce(sum(quantity), 0)
                FROM execution.TradesTS WHERE trade_id LIKE '$prefix-%'")" \
        "$count $count $count $(rl_trades_sum "$prefix" "$start" "$count")" \
        "$what: rows, distinct trade_ids, distinct offsets, exact sum of quantities"
    check "$(q "SELECT count(*) FROM execution.TradesTS
                WHERE trade_id LIKE '$prefix-%'
                  AND NOT (substr(trade_id, length('$prefix') + 2)::int BETWEEN $start AND $((start + count - 1)))")" \
        0 "$what: no trade outside the produced range"
}

# rl_offsets_match_rows GROUP TOPIC TABLE: "ok" when, for every partition of TOPIC,
# the next_offset stored for GROUP equals the number of TABLE rows recorded from that
# partition; else the partitions that differ, as partition:stored/rows. Valid when
# every message of TOPIC is a distinct valid fact and its partitions start at 0:
# rows and offsets commit in one transaction, so this holds in every snapshot, even
# while recorders run or right after one was killed.
rl_offsets_match_rows() {
    q "SELECT coalesce(string_agg(p || ':' || o || '/' || n, ' ' ORDER BY p) FILTER (WHERE o <> n), 'ok')
       FROM (SELECT coalesce(o.partition, t.kafka_partition) AS p, coalesce(o.next_offset, 0) AS o,
                    coalesce(t.n, 0) AS n
             FROM (SELECT partition, next_offset FROM execution.ingest_offsets
                   WHERE consumer_group = '$1' AND topic = '$2') o
             FULL JOIN (SELECT kafka_partition, count(*) AS n FROM $3
                        WHERE kafka_topic = '$2' GROUP BY kafka_partition) t
                    ON t.kafka_partition = o.partition) s"
}

# rl_role VAR: creates a superuser login role of a unique name, for a recorder to
# connect as (--dsn "user=..."), sets VAR to its name, and drops it at exit.
rl_role() {
    local -n rl_role_var=$1
    rl_role_var="execrec_$1_$$"
    psql -X -q -c "CREATE ROLE $rl_role_var LOGIN SUPERUSER" postgres || die "cannot create role $rl_role_var"
    cli_exit_hooks+=("PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} psql -X -q -c 'DROP ROLE IF EXISTS $rl_role_var' postgres")
}

# rl_install_offset_audit: applies the migrations (execrec migrate) and installs,
# in this test's database only, a trigger that logs every change of
# execution.ingest_offsets into public.offset_audit: who (the session's role), which
# partition, from which next_offset (NULL: row inserted) to which. Rolled-back
# batches leave no trace, as their offsets do not.
rl_install_offset_audit() {
    "$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
    q "CREATE TABLE public.offset_audit (
           id bigserial PRIMARY KEY, who text NOT NULL, topic text NOT NULL, partition int NOT NULL,
           old_offset bigint, new_offset bigint NOT NULL);
       CREATE FUNCTION public.audit_offsets() RETURNS trigger LANGUAGE plpgsql AS \$\$
       DECLARE
           prev bigint;
       BEGIN
           IF TG_OP = 'UPDATE' THEN
               prev := OLD.next_offset;
           END IF;
           INSERT INTO public.offset_audit (who, topic, partition, old_offset, new_offset)
           VALUES (session_user, NEW.topic, NEW.partition, prev, NEW.next_offset);
           RETURN NEW;
       END \$\$;
       CREATE TRIGGER audit_offsets AFTER INSERT OR UPDATE ON execution.ingest_offsets
           FOR EACH ROW EXECUTE FUNCTION public.audit_offsets();" >/dev/null ||
        die "cannot install the offset audit trigger"
}

# rl_audit_breaks: the audited offset changes that break a partition's chain (each
# change must start where the previous one ended, and never go back), one per line
# as "topic [partition] who old->new (previous end)"; empty when there are none.
rl_audit_breaks() {
    q "SELECT topic || ' [' || partition || '] ' || who || ' ' || coalesce(old_offset::text, 'new') || '->' ||
              new_offset || ' (previous end ' || coalesce(prev::text, 'none') || ')'
       FROM (SELECT *, lag(new_offset) OVER (PARTITION BY topic, partition ORDER BY id) AS prev
             FROM public.offset_audit) s
       WHERE old_offset IS DISTINCT FROM prev OR new_offset < coalesce(old_offset, 0)
       ORDER BY id"
}

# rl_private_pg: starts a PostgreSQL server of this test's own (deploy/pg.sh) in
# $pgdir, points PG* at it and destroys it at exit: for tests that stop or restart
# the server, which must not disturb the other tests' shared one.
rl_private_pg() {
    pgdir=$(mktemp -d /tmp/execrec-run-pg.XXXXXX)
    cli_exit_hooks+=("bash '$src/deploy/pg.sh' destroy '$pgdir'")
    local exports
    exports=$(bash "$src/deploy/pg.sh" start "$pgdir") || die "cannot start a private PostgreSQL in $pgdir"
    eval "$exports"
    note "private PostgreSQL on $PGHOST:$PGPORT"
}

# rl_refuse_offsets_when_blocked: PostgreSQL up but refusing a batch as a whole, as
# a revoked grant would: while public.block has a row, a trigger on
# execution.ingest_offsets raises insufficient_privilege (42501) with its text.
# Insert a row to start refusing, delete it to stop. Needs the schema (migrate).
rl_refuse_offsets_when_blocked() {
    q "CREATE TABLE public.block (why text);
       CREATE FUNCTION public.refuse_offsets() RETURNS trigger LANGUAGE plpgsql AS \$\$
       BEGIN
           IF EXISTS (SELECT 1 FROM public.block) THEN
               RAISE EXCEPTION 'permission denied (test: %)', (SELECT why FROM public.block LIMIT 1)
                   USING ERRCODE = '42501';
           END IF;
           RETURN NEW;
       END \$\$;
       CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON execution.ingest_offsets
           FOR EACH ROW EXECUTE FUNCTION public.refuse_offsets();" >/dev/null
}

# rl_slow_inserts TABLE SECONDS: a trigger in this test's database makes each row
# inserted into execution.TABLE take SECONDS more, so that a signal or an outage
# can land in the middle of a run.
rl_slow_inserts() {
    q "CREATE OR REPLACE FUNCTION public.slow_insert() RETURNS trigger LANGUAGE plpgsql AS \$\$
       BEGIN PERFORM pg_sleep($2); RETURN NEW; END \$\$;
       CREATE TRIGGER slow_insert BEFORE INSERT ON execution.$1 FOR EACH ROW EXECUTE FUNCTION public.slow_insert();" ||
        die "cannot install the slow-insert trigger"
}
