#!/usr/bin/env bash
# execrec partitions --retention AGE also deletes the rejects recorded more than AGE
# ago (execution.ingest_rejects is not partitioned: migration 0010 says why), in
# transactions of at most 10,000 rows, and says how many; --dry-run counts them and
# deletes nothing; without --retention nothing is deleted. Exact rows deleted and
# kept. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch

cli_db db reject_retention
export PGDATABASE=$db
expect_status 0 "migrate" "$bin" migrate

# 25,003 rejects recorded 400 days ago (offsets 0..25002), 7 recorded 10 days ago
# (offsets 100000..100006), 2 just now (200000, 200001).
q "INSERT INTO execution.ingest_rejects (kafka_topic, kafka_partition, kafka_offset, payload,
       payload_text, payload_length, payload_sha256, reason, message, recorded_at)
   SELECT 'trades', 0, o, 'x'::bytea, 'x', 1, sha256('x'), 'json_syntax', 'old', now() - interval '400 days'
   FROM generate_series(0, 25002) o
   UNION ALL
   SELECT 'trades', 0, o, 'y'::bytea, 'y', 1, sha256('y'), 'json_syntax', 'recent', now() - interval '10 days'
   FROM generate_series(100000, 100006) o
   UNION ALL
   SELECT 'trades', 0, o, 'z'::bytea, 'z', 1, sha256('z'), 'json_syntax', 'new', now()
   FROM generate_series(200000, 200001) o" >/dev/null || { fail "cannot insert the rejects"; cli_finish; exit; }
summary() { q "SELECT message || ':' || count(*) || ':' || min(kafka_offset) || '-' || max(kafka_offset)
               FROM execution.ingest_rejects GROUP BY message ORDER BY min(kafka_offset)" | paste -sd ' '; }
check "$(summary)" "old:25003:0-25002 recent:7:100000-100006 new:2:200000-200001" "rejects before"

expect_status 0 "no retention" "$bin" partitions
check "$(summary)" "old:25003:0-25002 recent:7:100000-100006 new:2:200000-200001" "no retention: nothing deleted"

expect_status 0 "dry run" "$bin" partitions --retention '30 days' --dry-run
expect_out "would delete 25003 reject(s) recorded before " "dry run counts the old rejects"
check "$(summary)" "old:25003:0-25002 recent:7:100000-100006 new:2:200000-200001" "dry run: nothing deleted"

expect_status 0 "retention 30 days" "$bin" partitions --retention '30 days'
expect_out "deleted 25003 reject(s) recorded before " "the count of deleted rejects"
expect_out "from execution.ingest_rejects (3 transaction(s) of at most 10000)" \
    "deleted in 3 transactions (10000, 10000, 3)"
check "$(summary)" "recent:7:100000-100006 new:2:200000-200001" "the old rejects are gone, the rest kept"

expect_status 0 "retention 1 day" "$bin" partitions --retention '1 day'
expect_out "deleted 7 reject(s) recorded before " "then the 10-day-old ones"
expect_out "(1 transaction(s) of at most 10000)" "in one transaction"
check "$(summary)" "new:2:200000-200001" "only the new rejects are left"

expect_status 0 "retention again" "$bin" partitions --retention '1 day'
expect_out "deleted 0 reject(s) recorded before " "nothing more to delete"
check "$(summary)" "new:2:200000-200001" "the new rejects are kept"
cli_finish
