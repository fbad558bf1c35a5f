#!/usr/bin/env bash
# Every C source and header is as clang-format writes it with the project's .clang-format
# (a data table that reads better aligned by hand is fenced with clang-format off/on).
# Fix a failure with: clang-format -i FILE
set -euo pipefail
root=${EXECREC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed (deploy/setup.sh installs it)" >&2; exit 1; }
mapfile -t files < <(find src include tests -name '*.c' -o -name '*.h' | sort)
[ "${#files[@]}" -gt 50 ] || { echo "FAIL: found only ${#files[@]} C files under $root" >&2; exit 1; }
bad=()
for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
    printf 'not clang-formatted: %s\n' "${bad[@]}" >&2
    echo "FAIL: ${#bad[@]} file(s) differ from .clang-format (clang-format -i FILE)" >&2
    exit 1
fi
echo "format: ${#files[@]} files clean"
