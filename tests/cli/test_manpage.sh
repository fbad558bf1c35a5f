#!/usr/bin/env bash
# The man page execrec(1) and the sample configuration, generated at build time from
# the binary's --help (cmake/gen_docs.sh), in <build>/doc beside the tested binary.
# The page renders without warnings (groff -ww, man -l), has a section per command
# that `execrec --help` lists, and in it every option and environment variable that
# command's --help prints. The sample file has every key of `execrec run` and
# `execrec partitions` with the default their --help gives, and loads (each line
# uncommented) without error. The checker is also run on a page with one option
# removed and must see it: it can fail.
source "$(dirname "$0")/cli_lib.sh"
cli_scratch execrec_manpage
doc=$(dirname "$bin")/doc
man=$doc/execrec.1
sample=$doc/execrec.properties
[ -f "$man" ] && [ -f "$sample" ] || { fail "no $man or $sample: is the build up to date?"; exit 1; }
# The build regenerates them when the binary changes.
if [ "$man" -ot "$bin" ]; then fail "$man is older than $bin"; else pass; fi

mapfile -t commands < <("$bin" --help | awk '/^commands:$/ {on = 1; next} on && /^  [a-z]/ {print $1}')
check "${#commands[@]}" "$(grep -c '^    {"' "$src/src/cli/commands.c")" "commands in execrec --help (commands.c's table)"

# Renders the page to plain text in $1.txt; warnings in $1.err.
render() {
    groff -man -Tutf8 -ww -z "$1" >"$1.err" 2>&1
    MANWIDTH=120 man -l "$1" 2>>"$1.err" | col -bx >"$1.txt"
}

# The text of one command's section (from "   execrec CMD" to the next heading).
section() { # rendered-file command
    awk -v h="   execrec $2" '$0 == h {on = 1; print; next}
        on && (/^   execrec [a-z]+$/ || /^[A-Z]/) {exit} on' "$1"
}

# Every option and environment variable of each command's --help in its section.
# @returns the number missing (each reported).
missing_in() { # rendered-file
    local c n=0 flag env s
    for c in "${commands[@]}"; do
        s=$(section "$1" "$c")
        if [ -z "$s" ]; then echo "no section 'execrec $c'"; n=$((n + 1)); continue; fi
        while read -r flag; do
            grep -qF -- "$flag" <<<"$s" || { echo "execrec $c: $flag not in its section"; n=$((n + 1)); }
        done < <("$bin" "$c" --help | sed -n 's/^ \{1,\}\(-[^ ]*\( [A-Z][A-Z=]*\)\{0,1\}\).*/\1/p' | sed 's/,$//')
        while read -r env; do
            grep -qw -- "$env" <<<"$s" || { echo "execrec $c: $env not in its section"; n=$((n + 1)); }
        done < <("$bin" "$c" --help | grep -o 'env EXECREC_[A-Z_]*' | cut -d' ' -f2)
    done
    return "$n"
}

cp "$man" "$tmp/execrec.1"
render "$tmp/execrec.1"
check "$(cat "$tmp/execrec.1.err")" "" "groff -ww / man -l warnings"
check "$(head -1 "$tmp/execrec.1.txt" | tr -s ' ')" "EXECREC(1) User Commands EXECREC(1)" "the page's header"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS CONFIGURATION FILES "EXIT STATUS" ENVIRONMENT "SEE ALSO"; do
    check "$(grep -c "^$s\$" "$tmp/execrec.1.txt")" 1 "section $s"
done
missing_in "$tmp/execrec.1.txt" >"$tmp/missing"
check "$?" 0 "options missing from the man page: $(cat "$tmp/missing")"
flags=$(for c in "${commands[@]}"; do "$bin" "$c" --help | grep -c '^ \+-'; done | awk '{n += $1} END {print n}')
echo "man page: ${#commands[@]} commands, $flags option lines, $(wc -l <"$tmp/execrec.1.txt") lines"
[ "$flags" -gt 100 ] && pass || fail "only $flags option lines in the commands' --help"
# Every command's one-line summary is in COMMANDS.
while read -r c line; do
    grep -qF -- "$line" "$tmp/execrec.1.txt" && pass || fail "COMMANDS: no '$line' ($c)"
done < <("$bin" --help | awk '/^commands:$/ {on = 1; next} on && /^  [a-z]/' | sed 's/^  //; s/  */ /')

# The checker sees a missing option: --batch-size's entries (.TP, tag, help, .br,
# env) taken out of the page, in each command that has the option.
nbatch=$(for c in "${commands[@]}"; do "$bin" "$c" --help | grep -c '^  --batch-size '; done | awk '{n += $1} END {print n}')
[ "$nbatch" -ge 2 ] && pass || fail "--batch-size is an option of $nbatch commands"
awk '/^\\fB\\-\\-batch\\-size\\fR/ {getline; getline; getline; next} {print}' "$man" >"$tmp/cut.1"
check "$(($(wc -l <"$man") - $(wc -l <"$tmp/cut.1")))" "$((4 * nbatch))" "lines cut from the planted page"
render "$tmp/cut.1"
missing_in "$tmp/cut.1.txt" >"$tmp/missing"
check "$?" "$((2 * nbatch))" "the checker's count on a page without --batch-size (option and variable)"
check "$(grep -c -- '--batch-size VALUE not in its section' "$tmp/missing")" "$nbatch" \
    "the checker reports --batch-size missing once per command that has it"

# The sample configuration: every key of run and partitions with its default.
for c in run partitions; do
    "$bin" "$c" --help | awk '/^ +--[a-z]/ {k = substr($1, 3); gsub(/-/, ".", k); getline;
        d = ""; if (match($0, /, default .*\)$/)) d = substr($0, RSTART + 10, RLENGTH - 11); print k "\t" d}' |
        grep -v '^config	' >>"$tmp/keys"
done
sort -u "$tmp/keys" -o "$tmp/keys"
while IFS=$'\t' read -r k d; do
    if [ "$k" == dsn ]; then
        check "$(grep -c '^# dsn: a secret, not kept here' "$sample")" 1 "sample: dsn left out"
        check "$(grep -c '^#\?dsn =' "$sample")" 0 "sample: a dsn value"
        continue
    fi
    check "$(grep -cxF "#$k =${d:+ $d}" "$sample")" 1 "sample: '#$k =${d:+ $d}'"
done <"$tmp/keys"
check "$(grep -c '^#[a-z][a-z0-9.]* =' "$sample")" "$(grep -vc '^dsn	' "$tmp/keys")" "keys in the sample"
# Uncommented (those with a default), the file loads: every key is a real key and
# every default a valid value.
sed -n 's/^#\([a-z][a-z0-9.]* = .\)/\1/p' "$sample" >"$tmp/uncommented.properties"
check "$(wc -l <"$tmp/uncommented.properties")" "$(awk -F'\t' '$2 != ""' "$tmp/keys" | wc -l)" "keys with a default"
expect_status 0 "decode --config <the sample, uncommented>" \
    "$bin" decode --kind trade --config "$tmp/uncommented.properties" </dev/null
echo "no.such.key = 1" >>"$tmp/uncommented.properties"
expect_status 2 "decode --config <the sample with an unknown key>" \
    "$bin" decode --kind trade --config "$tmp/uncommented.properties" </dev/null
expect_out "unknown configuration key 'no.such.key'" "the unknown key named"
cli_finish
