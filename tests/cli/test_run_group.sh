#!/usr/bin/env bash
# Two recorders in one consumer group share the partitions, and when one stops the
# other takes its partitions over, with nothing lost or recorded twice.
#
# Evidence comes from the database: each recorder connects as its own role, and a
# trigger on execution.ingest_offsets (installed by this test in its own database)
# logs who moved which partition's offset from what to what. So the test sees that
# both recorders wrote partitions, that every partition's offsets form one unbroken
# forward chain across both writers, and that after A's SIGTERM (exit 0) B writes
# the partitions A had. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/run_lib.sh"

rl_db group
rl_role role_a
rl_role role_b
rl_install_offset_audit

rl_start_broker --partitions 4
args=(--group grp --batch-size 20 --batch-ms 100 --log-level debug)
rl_start_recorder a --dsn "user=$role_a" "${args[@]}"
rl_start_recorder b --dsn "user=$role_b" "${args[@]}"

# Both recorders join within seconds of each other; keep producing small rounds of
# trades until both have written offsets (or 60 s have passed).
produced=0
writers() { q "SELECT count(DISTINCT who) FROM public.offset_audit WHERE new_offset > 0"; }
deadline=$((SECONDS + 60))
while :; do
    rl_gen_trades G "$produced" 40 >"$work/round.keyed"
    rl_produce trades "$work/round.keyed" -K '|'
    produced=$((produced + 40))
    rl_wait_for 30 "round of $produced trades recorded" rl_count_is "$produced" execution.TradesTS ||
        die "trades not recorded"
    [ "$(writers)" == 2 ] && break
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.5
done
note "$produced trades produced before both recorders wrote"
check "$(q "SELECT string_agg(DISTINCT who, ',' ORDER BY who) FROM public.offset_audit")" \
    "$role_a,$role_b" "both recorders moved offsets (the partitions are split)"
# While both are members, each (topic, partition) of the last writes has one writer.
both=$(q "SELECT count(*) FROM (SELECT topic, partition FROM public.offset_audit
                                 GROUP BY topic, partition HAVING count(DISTINCT who) > 1) s")
note "partitions written by both so far (rebalance hand-overs): $both"
grep -qi 'assign' "$work/a.log" && pass || fail "recorder a logs no assignment"
grep -qi 'assign' "$work/b.log" && pass || fail "recorder b logs no assignment"
rl_check_trades G 0 "$produced" "two recorders"
check "$(rl_offsets_match_rows grp trades execution.TradesTS)" ok "stored offsets = rows per partition, two recorders"
check "$(rl_offsets grp)" "$(rl_hw trades)" "ingest_offsets = high watermarks with two recorders"

# A leaves; B must take A's partitions over.
a_parts=$(q "SELECT DISTINCT topic || ' ' || partition FROM public.offset_audit WHERE who = '$role_a'" | sort)
rl_stop a TERM
check "$RL_RC" 0 "recorder a exits 0 on SIGTERM"
mark=$(q "SELECT coalesce(max(id), 0) FROM public.offset_audit")
rl_gen_trades G "$produced" 400 >"$work/more.keyed"
rl_produce trades "$work/more.keyed" -K '|'
produced=$((produced + 400))
rl_wait_for 60 "all $produced trades recorded by b" rl_count_is "$produced" execution.TradesTS
rl_check_trades G 0 "$produced" "after a left"
hw=$(rl_hw trades)
check "$(echo "$hw" | wc -l)" 4 "trades spread over 4 partitions"
check "$(rl_offsets grp)" "$hw" "ingest_offsets = high watermarks after a left"
check "$(q "SELECT count(*) FROM public.offset_audit WHERE id > $mark AND who <> '$role_b'")" 0 \
    "only b writes after a left"
taken=$(q "SELECT DISTINCT topic || ' ' || partition FROM public.offset_audit WHERE id > $mark" | sort)
check "$(comm -23 <(echo "$a_parts") <(echo "$taken"))" "" "b took over every partition a had written"

check "$(rl_audit_breaks)" "" "offsets moved forward without gap or overlap, across both recorders"
check "$(rl_offsets_match_rows grp trades execution.TradesTS)" ok "stored offsets = rows per partition"
check "$(rl_count execution.ingest_rejects)" 0 "no rejects"

rl_stop b TERM
check "$RL_RC" 0 "recorder b exits 0 on SIGTERM"
check "$(rl_offsets grp)" "$hw" "ingest_offsets unchanged by b's shutdown"

cli_finish
