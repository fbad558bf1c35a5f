#!/usr/bin/env bash
# Facts the docs state that the code decides, checked against the code so that the
# text cannot go stale again: the consumers' prefetch bounds (kafka.h's
# EXECREC_KAFKA_CONSUMER_DEFAULTS) as docs/recorder.md gives them, and the one
# flush-and-backoff loop (execrec_ingest_flush) that the backfill shares with the
# recorder, as docs/backfill.md says.
set -uo pipefail
root=${EXECREC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# "key", "value" pairs of the consumers' defaults, as the code has them.
defaults=$(sed -n '/#define EXECREC_KAFKA_CONSUMER_DEFAULTS/,/^$/p' src/kafka/kafka.h | tr -d '\\\n ')
for key in queued.max.messages.kbytes fetch.max.bytes fetch.wait.max.ms; do
    value=$(grep -o "\"$key\",\"[0-9]*\"" <<<"$defaults" | cut -d'"' -f4)
    [ -n "$value" ] || { fail "kafka.h sets no $key among the consumer defaults"; continue; }
    grep -qF "\`$key=$value\`" docs/recorder.md ||
        fail "docs/recorder.md does not give the consumer default $key=$value (kafka.h)"
done
if grep -n 'left at its defaults\|64 MiB' docs/recorder.md; then
    fail "docs/recorder.md says the prefetch is left at librdkafka's defaults; kafka.h bounds it"
fi

# The backfill's flush is execrec_ingest_flush, and it has no backoff of its own.
grep -q 'execrec_ingest_flush' src/app/backfill.c || fail "backfill.c no longer flushes through execrec_ingest_flush"
if grep -n 'execrec_pg_backoff\|execrec_pg_retry_delay_ms' src/app/backfill.c; then
    fail "backfill.c has backoff code of its own: update docs/backfill.md"
fi
grep -qF 'execrec_ingest_flush' docs/backfill.md || fail "docs/backfill.md does not name the shared flush"
if grep -n 'keeps its own\|own backoff' docs/backfill.md; then
    fail "docs/backfill.md says a copy of the retry code is kept"
fi

[ "$failures" -eq 0 ] && echo "docs facts: consistent with the code"
[ "$failures" -eq 0 ]
