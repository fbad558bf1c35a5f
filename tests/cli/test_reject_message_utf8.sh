#!/usr/bin/env bash
# A reject's message quotes the input, cut at a byte count; a cut inside a UTF-8
# character made the message invalid text, and PostgreSQL refused the COPY of the
# whole batch: `execrec load` failed and wrote nothing (the recorder writes its
# rejects with the same writer, so its batch would be refused on every retry). Found
# by fuzz_decode once its check required storable reject messages. Now the valid messages are written and the reject is stored, its message
# ending in '?' where the character was cut. Needs PostgreSQL through PG*
# (deploy/test.sh); about 2 s.
source "$(dirname "$0")/cli_lib.sh"
cli_scratch

cli_db db reject_message_utf8
export PGDATABASE=$db
expect_status 0 "migrate" "$bin" migrate

src=${EXECREC_SOURCE_DIR:?}
{
    head -n 2 "$src/tests/data/sample/orders.jsonl"
    # side: "a" and 60 x U+00E9, quoted up to 40 bytes: the cut falls inside one.
    head -n 1 "$src/tests/data/sample/orders.jsonl" |
        python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["order_id"]="ORD-UTF8"; d["side"]="a"+"\u00e9"*60; print(json.dumps(d, ensure_ascii=False))'
} >"$tmp/orders.jsonl"

expect_status 0 "load" "$bin" load --kind order "$tmp/orders.jsonl"
expect_out "read 3, inserted 2, duplicates 0, rejected 1" "two orders and one reject"
check "$(q "SELECT count(*) FROM execution.ordersts")" "2" "orders written"
check "$(q "SELECT reason || ' ' || message FROM execution.ingest_rejects")" \
    "bad_enum field \"side\": unknown value \"a$(printf '\u00e9%.0s' {1..19})?\"" \
    "the reject's message, cut where the character was"
cli_finish
