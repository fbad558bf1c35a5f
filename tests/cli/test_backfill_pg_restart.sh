#!/usr/bin/env bash
# A PostgreSQL outage in the middle of a backfill is waited out: the failed batch is
# kept, retried with backoff after the server is back, and every trade of the range
# ends up recorded exactly once; the backfill exits 0. A trigger makes each row
# cost 5 ms, so that the outage lands mid-range. This test starts its own
# PostgreSQL server (deploy/pg.sh), so that stopping it disturbs no other test.
source "$(dirname "$0")/run_lib.sh"

rl_private_pg
rl_db bfpgrestart
rl_start_broker --partitions 4
rl_gen_trades P 1 900 >"$work/trades.keyed"
rl_produce trades "$work/trades.keyed" -K '|'
"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
rl_slow_inserts TradesTS 0.005

"$bin" backfill --brokers "$BROKER" --topic trades --batch-size 20 >"$work/backfill.out" 2>"$work/backfill.log" &
bf=$!
rl_bg+=("$bf")
rl_wait_for 60 "the backfill to write 40 rows" rl_count_at_least 40 execution.TradesTS || die "nothing written"
bash "$src/deploy/pg.sh" stop "$pgdir"
note "PostgreSQL stopped mid-backfill"
rl_wait_for 30 "the backfill to report the outage" grep -q "PostgreSQL unavailable" "$work/backfill.log" ||
    die "no retry logged"
rl_alive "$bf" && pass || fail "the backfill died while PostgreSQL was down"
bash "$src/deploy/pg.sh" start "$pgdir" >/dev/null || die "cannot restart the private PostgreSQL"
note "PostgreSQL started again"
rl_wait_for 120 "the backfill to finish" eval '! rl_alive '"$bf" || die "the backfill did not finish"
wait "$bf"
check "$?" 0 "backfill exit status after the outage"
check "$(grep -c "PostgreSQL is back: batch of" "$work/backfill.log")" 1 "the kept batch was written after the outage"
read -r read_n inserted dups < <(sed -n 's/.*read \([0-9]*\) messages.*inserted \([0-9]*\) (.*duplicates \([0-9]*\),.*/\1 \2 \3/p' "$work/backfill.out")
check "$read_n $((inserted + dups))" "900 900" "summary: 900 read, each inserted or a duplicate"
rl_check_trades P 1 900 "after the outage"

cli_finish
