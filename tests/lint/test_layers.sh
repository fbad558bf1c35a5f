#!/usr/bin/env bash
# The layer rule (docs/architecture.md): the checker passes on the tree, and fails, naming
# the file, on each kind of violation planted in a scratch tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${EXECREC_SOURCE_DIR:-$here/../..}
check="python3 $here/check_layers.py"
scratch=$(mktemp -d /tmp/execrec-layers.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

$check "$root" || fail "the source tree breaks the layer rule (above)"

plant() { # plant NAME: a clean scratch tree in $scratch/NAME
    local t=$scratch/$1
    mkdir -p "$t/src/base" "$t/src/pg" "$t/src/kafka" "$t/src/cli" "$t/include/execrec"
    printf '#include "execrec/err.h"\n' > "$t/src/base/err.c"
    printf '/* public */\n' > "$t/include/execrec/err.h"
    printf '#include "base/log.h"\n#include "execrec/err.h"\n' > "$t/src/pg/writer.c"
    printf '#include "pg/writer.h"\n#include "cli.h"\n' > "$t/src/cli/cmd_run.c"
    printf '/* base */\n' > "$t/src/base/log.h"
    printf '/* kafka */\n' > "$t/src/kafka/kafka.h"
    echo "$t"
}
expect_violation() { # expect_violation NAME PATTERN
    local out rc=0
    out=$($check "$scratch/$1" 2>&1) || rc=$?
    [ "$rc" -eq 1 ] || fail "$1: exit $rc, expected 1 ($out)"
    grep -q -- "$2" <<<"$out" || fail "$1: output does not name '$2': $out"
}

t=$(plant clean)
$check "$t" || fail "a clean tree was refused"

t=$(plant upward)
printf '#include "pg/writer.h"\n' >> "$t/src/base/err.c"
expect_violation upward 'src/base/err.c (base) includes "pg/writer.h" (pg)'

t=$(plant sibling)
printf '#include "kafka/kafka.h"\n' >> "$t/src/pg/writer.c"
expect_violation sibling 'src/pg/writer.c (pg) includes "kafka/kafka.h" (kafka)'

t=$(plant public)
printf '#include "base/log.h"\n' >> "$t/include/execrec/err.h"
expect_violation public 'include/execrec/err.h: a public header includes the internal "base/log.h"'

t=$(plant nolayer)
mkdir -p "$t/src/misc"
expect_violation nolayer 'src/misc is not a layer'

$check --help >/dev/null || fail "--help does not exit 0"
rc=0; $check --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a bad option exits $rc, expected 2 (usage)"
echo "layers: ok"
