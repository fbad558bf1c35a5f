#!/usr/bin/env bash
# --batch-bytes and --reject-payload-max as `execrec load` uses them (the same
# execrec_ingest_full and writer as run and backfill): each batch is one
# transaction, so the number of distinct xmin among the rows written is the number
# of batches; a reject stores the head its flag allows, with the whole length and
# the SHA-256 that python's hashlib computes; values out of range exit 2 naming the
# flag (a negative one is refused by the configuration table already).
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch

cli_db db batch_limits
export PGDATABASE=$db
expect_status 0 "migrate" "$bin" migrate

declare -A args=([run]="run" [load]="load --kind trade" [backfill]="backfill --brokers 127.0.0.1:1 --topic trades")
declare -A files=([run]="" [load]="$tmp/none" [backfill]="")
for cmd in run load backfill; do
    expect_status 2 "$cmd --batch-bytes 0" "$bin" ${args[$cmd]} --batch-bytes 0 ${files[$cmd]}
    expect_out "execrec $cmd: --batch-bytes must be at least 1, not 0" "$cmd names --batch-bytes"
    expect_status 2 "$cmd --reject-payload-max 2000000000" "$bin" ${args[$cmd]} --reject-payload-max 2000000000 ${files[$cmd]}
    expect_out "execrec $cmd: --reject-payload-max must be between 0 and 1073741824 bytes, not 2000000000" \
        "$cmd names --reject-payload-max"
done

# 12 lines of 1,000 bytes that cannot start JSON (unknown_format): lines 1..12.
python3 -c '
import sys
for n in range(12):
    sys.stdout.write("x%04d" % n + "y" * 995 + "\n")' >"$tmp/bad"
python3 -c '
import hashlib, sys
for n, line in enumerate(open(sys.argv[1], "rb").read().splitlines()):
    print(n + 1, len(line), hashlib.sha256(line).hexdigest(), line[:100].decode())' "$tmp/bad" >"$tmp/expected"

rejects() { # topic: "offset length sha256 head" per reject, and the number of transactions
    q "SELECT kafka_offset || ' ' || payload_length || ' ' || encode(payload_sha256, 'hex') || ' ' ||
              convert_from(payload, 'UTF8') FROM execution.ingest_rejects
       WHERE kafka_topic = '$1' ORDER BY kafka_offset"
}
batches() { q "SELECT count(DISTINCT xmin::text) FROM execution.ingest_rejects WHERE kafka_topic = '$1'"; }

# Default budget (16 MiB): one batch. Head of 100 bytes.
cp "$tmp/bad" "$tmp/one"
expect_status 0 "load, default budget" "$bin" load --kind trade --reject-payload-max 100 "$tmp/one"
expect_out "read 12, inserted 0, duplicates 0, rejected 12" "load summary"
check "$(rejects file:one)" "$(cat "$tmp/expected")" "every line a reject: offset, length, sha256, 100-byte head"
check "$(batches file:one)" 1 "one batch under the default budget"

# A 3,000-byte budget with whole 1,000-byte payloads (--reject-payload-max 1000): a
# reject's COPY text is its payload and about 200 bytes more, so the 3rd reject
# reaches the budget and the 2nd cannot: 4 batches of 3.
cp "$tmp/bad" "$tmp/three"
expect_status 0 "load, 3000-byte budget" "$bin" load --kind trade --reject-payload-max 1000 --batch-bytes 3000 "$tmp/three"
check "$(batches file:three)" 4 "4 batches of 3 under a 3,000-byte budget"
check "$(q "SELECT string_agg(n::text, ' ' ORDER BY n) FROM (SELECT count(*) AS n FROM execution.ingest_rejects
            WHERE kafka_topic = 'file:three' GROUP BY xmin::text) s")" "3 3 3 3" "each batch holds 3"
check "$(q "SELECT count(*) FROM execution.ingest_rejects WHERE kafka_topic = 'file:three'
            AND octet_length(payload) = 1000 AND payload_length = 1000")" 12 "the whole 1,000 bytes kept"

# --reject-payload-max 0: no payload bytes, still the length and the digest.
cp "$tmp/bad" "$tmp/none0"
expect_status 0 "load, no payload" "$bin" load --kind trade --reject-payload-max 0 "$tmp/none0"
check "$(q "SELECT count(*) FROM execution.ingest_rejects WHERE kafka_topic = 'file:none0'
            AND octet_length(payload) = 0 AND payload_text = '' AND payload_length = 1000")" 12 \
    "no payload bytes, the whole length"
check "$(q "SELECT string_agg(kafka_offset || ' ' || encode(payload_sha256, 'hex'), ',' ORDER BY kafka_offset)
            FROM execution.ingest_rejects WHERE kafka_topic = 'file:none0'")" \
    "$(awk '{print $1 " " $3}' "$tmp/expected" | paste -sd ',')" "the digests of the whole lines"
cli_finish
