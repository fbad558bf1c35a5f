#!/usr/bin/env bash
# PostgreSQL up but refusing the batch as a whole (here a trigger on
# ingest_offsets raising insufficient_privilege, as a revoked grant would): the
# recorder must not skip or drop the batch. It logs an ERROR that says an operator
# is needed, keeps the batch, retries with backoff, and commits it once the cause is
# gone: every trade exactly once, offsets = rows. Needs PostgreSQL through PG*.
source "$(dirname "$0")/run_lib.sh"

rl_db refused
"$bin" migrate >"$work/migrate.log" 2>&1 || die "execrec migrate: $(cat "$work/migrate.log")"
rl_refuse_offsets_when_blocked
rl_start_broker --partitions 4
rl_start_recorder rec --group refused --batch-size 50 --batch-ms 100

rl_gen_trades RF 0 200 >"$work/a.keyed"
rl_produce trades "$work/a.keyed" -K '|'
rl_wait_for 60 "the first 200 trades" rl_count_is 200 execution.TradesTS || die "nothing recorded"

q "INSERT INTO public.block VALUES ('grant revoked')"
rl_gen_trades RF 200 300 >"$work/b.keyed"
rl_produce trades "$work/b.keyed" -K '|'
refused_logged() { grep ' ERROR ' "$work/rec.log" | grep -q 'refused the batch.*grant revoked'; }
rl_wait_for 60 "an ERROR saying PostgreSQL refused the batch" refused_logged
sleep 1
check "$(rl_count execution.TradesTS)" 200 "nothing of the refused batch is committed"
check "$(rl_offsets_match_rows refused trades execution.TradesTS)" ok "stored offsets = rows while refused"

q "DELETE FROM public.block"
rl_wait_for 60 "the refused trades, once the cause is gone" rl_count_is 500 execution.TradesTS
rl_check_trades RF 0 500 "after the refusal"
check "$(rl_offsets_match_rows refused trades execution.TradesTS)" ok "stored offsets = rows in the end"
check "$(rl_offsets refused)" "$(rl_hw trades)" "ingest_offsets = high watermarks"
check "$(q "SELECT count(*) FROM execution.ingest_rejects")" 0 "a refused batch is not turned into rejects"
rl_stop rec TERM
check "$RL_RC" 0 "exit status after SIGTERM"
cli_finish
