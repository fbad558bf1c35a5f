#!/usr/bin/env bash
# A partition whose leader moved after the recorder last read the cluster's metadata
# is recorded once it is assigned. librdkafka's rd_kafka_query_watermark_offsets
# (2.0.2) does not refresh the leader it caches when the broker answers "not leader",
# and the recorder reads each assigned partition's watermarks before assigning: it
# retried against the old leader until the consumer's periodic metadata refresh
# (topic.metadata.refresh.interval.ms, 5 min by default), holding the whole
# assignment (every partition of the recorder) that long. Found by the chaos test.
#
# The window is made certain as in test_run_assign_stop.sh: a member killed with -9
# holds the group for its session (6 s), so recorder A is connected and waiting for
# its assignment; PostgreSQL is stopped, so A's assignment waits for the stored
# offsets; meanwhile every trades partition's leader moves; PostgreSQL comes back.
# A three-broker mock cluster (tests/chaos/chaos_driver: `execrec broker` has one
# broker, no leader to move). Starts its own PostgreSQL (deploy/pg.sh) and needs
# CHAOS_DRIVER (ctest sets it).
source "$(dirname "$0")/run_lib.sh"
driver=${CHAOS_DRIVER:?CHAOS_DRIVER not set: run under ctest}

rl_private_pg
rl_db leadermove
rl_install_offset_audit
: >"$work/empty.tsv"
mkfifo "$work/driver.in"
"$driver" --brokers 3 --partitions 4 --topics orders,order-events,trades,order-managers \
    --stream "$work/empty.tsv" --record "$work/record.tsv" <"$work/driver.in" \
    >"$work/driver.out" 2>"$work/driver.log" &
rl_bg+=($!)
exec 7>"$work/driver.in" # held open: the driver runs until its stdin closes
rl_wait_for 30 "the chaos driver's bootstrap servers" grep -q : "$work/driver.out" || die "no cluster"
BROKER=$(head -1 "$work/driver.out")
note "three-broker mock cluster at $BROKER"
# driver_cmd CMD: sends one command and waits for its answer (the Nth "ok"/"error" line).
ncmd=0
driver_cmd() {
    echo "$1" >&7
    ncmd=$((ncmd + 1))
    rl_wait_for 10 "the driver's answer to '$1'" \
        test "$(grep -cE '^(ok|error)' "$work/driver.out")" -ge "$ncmd" || die "the driver did not answer"
    tail -1 "$work/driver.out" | grep -q '^ok' || die "the driver refused '$1': $(tail -1 "$work/driver.out")"
}
leader_of() { # TOPIC PARTITION: the leader's broker id, from the cluster's metadata
    kcat -L -b "$BROKER" -t "$1" 2>>"$work/kcat.log" |
        awk -v p="$2" '$1 == "partition" && $2 == p "," {print $4; exit}' | tr -d ,
}
args=(--group lmove --batch-size 20 --log-level debug)

rl_gen_trades L 0 40 >"$work/t1.keyed"
rl_produce trades "$work/t1.keyed" -K '|'
rl_start_recorder z "${args[@]}"
rl_wait_for 60 "Z to record the first 40 trades" rl_count_is 40 execution.TradesTS || die "Z recorded nothing"
rl_kill9 z
rl_gen_trades L 40 80 >"$work/t2.keyed"
rl_produce trades "$work/t2.keyed" -K '|'

rl_start_recorder a "${args[@]}"
rl_wait_for 30 "A connected to PostgreSQL" grep -q 'connected to PostgreSQL' "$work/a.log" || die "A did not connect"
grep -q 'assigned trades' "$work/a.log" && die "A was assigned before Z's session expired"
bash "$src/deploy/pg.sh" stop "$pgdir"
note "PostgreSQL stopped before A's assignment"
rl_wait_for 30 "A's assignment waiting for PostgreSQL" \
    grep -q 'cannot read the stored offsets from PostgreSQL' "$work/a.log" || die "A's assignment never waited"
for p in 0 1 2 3; do
    old=$(leader_of trades $p)
    [ -n "$old" ] || die "no leader for trades [$p] in the metadata"
    driver_cmd "leader trades $p $((old % 3 + 1))"
    note "trades [$p]: leader $old -> $((old % 3 + 1))"
done
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
back=$SECONDS
note "PostgreSQL started again"
# 30 s is ample (a few retries); before the fix A waited for its 5-minute metadata refresh.
rl_wait_for 30 "A to record every trade once PostgreSQL is back" rl_count_is 120 execution.TradesTS
note "A recorded all 120 trades $((SECONDS - back)) s after PostgreSQL came back"
note "A retried the watermarks $(grep -c 'cannot read the watermarks' "$work/a.log") time(s)"
rl_check_trades L 0 120 "after the leader move and B's death"
check "$(rl_offsets lmove)" "$(rl_hw trades)" "ingest_offsets = high watermarks"
check "$(rl_audit_breaks)" "" "offsets moved forward without gap or overlap"
rl_stop a TERM
check "$RL_RC" 0 "A exits 0 on SIGTERM"
exec 7>&-
cli_finish
