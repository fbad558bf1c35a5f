#!/usr/bin/env bash
# Fencing of a real zombie. Recorder Z holds an open batch when it is frozen
# (SIGSTOP); its session times out, recorder W is assigned Z's partitions, records
# Z's batch's messages and more. When Z resumes (SIGCONT) it still holds the stale
# batch: its compare-and-set must fail, so that nothing of it is committed and no
# stored offset moves back. The offset audit trigger (run_lib.sh) shows every
# offset change by role; the chain of each partition must stay unbroken.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db zombie
rl_role role_z
rl_role role_w
rl_install_offset_audit
rl_start_broker --partitions 4
trades=execution.TradesTS
produce() { # START COUNT
    rl_gen_trades Z "$1" "$2" >"$work/z$1.keyed"
    rl_produce trades "$work/z$1.keyed" -K '|'
}
cont_z() { rl_our_child "${rec_pid[z]}" && kill -CONT "${rec_pid[z]}"; }

# Z alone, with batches that stay open for 5 s.
rl_start_recorder z --dsn "user=$role_z" --group zomb --batch-size 1000 --batch-ms 5000 --batch-idle-ms 5000 --log-level debug
produce 0 20
rl_wait_for 60 "Z to record the first 20 trades" rl_count_is 20 "$trades" || die "Z recorded nothing"

# 40 more go into Z's open batch; Z is frozen before the batch closes.
produce 20 40
sleep 1.5
kill -STOP "${rec_pid[z]}"
note "Z frozen (SIGSTOP) with an open batch"
check "$(rl_count "$trades")" 20 "Z's second batch is still open when Z is frozen"

# W joins; once Z's session has timed out, W owns every partition.
rl_start_recorder w --dsn "user=$role_w" --group zomb --batch-size 20 --batch-ms 100 --log-level debug
rl_wait_for 60 "W to record the frozen batch's trades" rl_count_is 60 "$trades" ||
    { cont_z; die "W did not take over"; }
produce 60 20
rl_wait_for 30 "W to record 20 more" rl_count_is 80 "$trades" || { cont_z; die "W stopped recording"; }
before=$(q "SELECT string_agg(topic || ' ' || partition || ' ' || next_offset, ',' ORDER BY topic, partition)
            FROM execution.ingest_offsets")

# Z wakes with its stale batch.
kill -CONT "${rec_pid[z]}"
note "Z resumed (SIGCONT)"
rejected_logged() { grep -E ' ERROR ' "$work/z.log" | grep -qF 'trades ['; }
rl_wait_for 30 "Z to log that its batch's offsets were moved by another recorder" rejected_logged
sleep 2
check "$(rl_audit_breaks)" "" "every partition's offsets moved forward without gap or overlap (no stale commit by Z)"
check "$(q "SELECT count(*) FROM execution.ingest_offsets o
            JOIN (SELECT split_part(x, ' ', 1) AS topic, split_part(x, ' ', 2)::int AS partition,
                         split_part(x, ' ', 3)::bigint AS was
                  FROM unnest(string_to_array('$before', ',')) x) b USING (topic, partition)
            WHERE o.next_offset < b.was")" 0 "no stored offset moved back after Z resumed"
check "$(rl_offsets_match_rows zomb trades "$trades")" ok "stored offsets = rows per partition"
rl_check_trades Z 0 80 "after Z resumed"
rl_alive "${rec_pid[z]}" && pass || fail "Z died after its batch was fenced"

# Both go on: the group rebalances between them, and new trades land once.
produce 80 100
rl_wait_for 30 "the last 100 trades (both recorders own partitions again)" rl_count_is 180 "$trades"
rl_check_trades Z 0 180 "in the end"
check "$(rl_offsets zomb)" "$(rl_hw trades)" "ingest_offsets = high watermarks"
check "$(rl_audit_breaks)" "" "offsets chain unbroken in the end"
rl_stop z TERM
check "$RL_RC" 0 "Z exits 0 on SIGTERM"
rl_stop w TERM
check "$RL_RC" 0 "W exits 0 on SIGTERM"
note "offset changes by role: $(q "SELECT string_agg(who || ' ' || n, ', ') FROM (SELECT who, count(*) n FROM public.offset_audit GROUP BY who) s")"

cli_finish
