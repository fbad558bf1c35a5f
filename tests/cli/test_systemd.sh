#!/usr/bin/env bash
# The systemd units of deploy/systemd, checked offline (this machine does not run
# systemd as PID 1, so they are verified, not started): `systemd-analyze verify` of
# each in a scratch root holding the units, this machine's own units (the targets
# they name) and the binary at the path ExecStart names; planted mistakes must make
# it fail. `systemd-analyze security --offline` prints each service's exposure score
# and must stay at or below the score of the hardening here. Then what verify cannot
# see: the recorder's stop timeout above its shutdown deadline, secrets only from
# credentials, the same hardening in every service, the timer's service.
source "$(dirname "$0")/cli_lib.sh"
cli_scratch execrec_systemd
units=$src/deploy/systemd
root=$tmp/root
command -v systemd-analyze >/dev/null || { fail "systemd-analyze is required (deploy/setup.sh)"; exit 1; }

mkdir -p "$root/usr/lib/systemd" "$root/usr/bin" "$root/etc/execrec"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$units"/* "$root/usr/lib/systemd/system/"
cp "$bin" "$root/usr/bin/execrec"
sysdir=$root/usr/lib/systemd/system

verify() { # unit: output (warnings) in $out, exit status returned
    systemd-analyze verify --man=no --root="$root" "$1" >"$out" 2>&1
}
check "$(cd "$units" && ls | tr '\n' ' ')" \
    "execrec-partitions.service execrec-partitions.timer execrec.service execrec@.service " "deploy/systemd"
for u in execrec.service execrec@.service execrec@1.service execrec@2.service \
    execrec-partitions.service execrec-partitions.timer; do
    verify "$u"
    check "$?" 0 "systemd-analyze verify $u: exit status"
    check "$(cat "$out")" "" "systemd-analyze verify $u: warnings"
done

# Planted mistakes: each must fail verify (exit status or a warning).
plant() { # name, sed expression applied to execrec.service, what
    sed "$2" "$sysdir/execrec.service" >"$sysdir/$1"
    verify "$1"
    local rc=$?
    if [ "$rc" -ne 0 ] || [ -s "$out" ]; then pass; else fail "verify passed a unit with $3"; fi
    rm -f "$sysdir/$1"
}
plant broken-key.service 's/^ProtectSystem=strict/ProtectSytem=strict/' "a misspelt key"
plant broken-value.service 's/^Type=exec/Type=execute/' "a bad Type="
plant broken-exec.service 's|^ExecStart=/usr/bin/execrec|ExecStart=/usr/bin/execrec-missing|' "a missing binary"
plant broken-filter.service 's/^SystemCallFilter=@system-service/SystemCallFilter=@no-such-set/' \
    "an unknown system call set"

# Exposure scores, printed; each service at most 1.1 (systemd's scale, 0 to 10).
for u in execrec.service execrec@1.service execrec-partitions.service; do
    systemd-analyze security --offline=true --root="$root" --threshold=11 "$u" >"$out" 2>&1
    rc=$?
    LC_ALL=C grep -aF -e '✗' -e 'Overall' "$out" | sed "s/^/$u: /"
    check "$rc" 0 "systemd-analyze security $u: exposure above 1.1"
done
# The planted unit without hardening scores far worse: the threshold bites.
awk '/^# Hardening/ {skip = 1} /^\[Install\]/ {skip = 0} !skip' "$sysdir/execrec.service" \
    >"$sysdir/unhardened.service"
systemd-analyze security --offline=true --root="$root" --threshold=11 unhardened.service >"$out" 2>&1
check "$?" 1 "systemd-analyze security of the unit without its hardening block: threshold exceeded"
echo "unhardened.service: $(grep Overall "$out")"
rm -f "$sysdir/unhardened.service"

# Every service: the user execrec, the same hardening block, the DSN from a
# credential and never in the unit, no write access granted anywhere.
hardening() { sed -n '/^# Hardening/,/^UMask=/p' "$1"; }
for u in execrec.service execrec@.service execrec-partitions.service; do
    f=$units/$u
    check "$(grep -c '^User=execrec$' "$f")" 1 "$u: User=execrec"
    check "$(hardening "$f" | md5sum)" "$(hardening "$units/execrec.service" | md5sum)" \
        "$u: the hardening block of execrec.service"
    check "$(grep -cE '^(ReadWritePaths|StateDirectory|LogsDirectory|CacheDirectory|RuntimeDirectory)=' "$f")" 0 \
        "$u: write access granted"
    check "$(grep -c '^ProtectSystem=strict$' "$f")" 1 "$u: ProtectSystem=strict"
    check "$(grep -c '^ExecStart=.* --dsn-file \${CREDENTIALS_DIRECTORY}/dsn$' "$f")" 1 "$u: --dsn-file from the credential"
    check "$(grep -cE -- '--dsn |EXECREC_DSN|password=|PGPASSWORD' "$f")" 0 "$u: a secret in the unit"
done
check "$(grep -h '^LoadCredential=' "$units/execrec.service" "$units/execrec@.service" "$units/execrec-partitions.service")" \
    "LoadCredential=dsn:/etc/execrec/dsn
LoadCredential=dsn:/etc/execrec/dsn
LoadCredential=dsn:/etc/execrec/owner.dsn" "credentials: the writer's DSN for the recorders, the owner's for partitions"
check "$(grep -h '^ExecStart=' "$units/execrec-partitions.service" | awk '{print $2}')" "partitions" \
    "execrec-partitions.service runs execrec partitions"
check "$(grep -c '^Type=oneshot$' "$units/execrec-partitions.service")" 1 "execrec-partitions.service is a oneshot"
# The timer starts execrec-partitions.service (its own name: no Unit= elsewhere).
check "$(grep -c '^Unit=' "$units/execrec-partitions.timer")" 0 "execrec-partitions.timer names another unit"
check "$(grep -c '^Persistent=true$' "$units/execrec-partitions.timer")" 1 "execrec-partitions.timer is persistent"

# The recorders' stop timeout exceeds the shutdown deadline: --shutdown-timeout's
# default when the binary has the flag, else the 30 s the recorder documents.
deadline=30
sd=$("$bin" run --help | awk '/^ +--shutdown-timeout/ {getline; if (match($0, /default [0-9]+/)) print substr($0, RSTART + 8, RLENGTH - 8)}')
[ -n "$sd" ] && deadline=$sd
for u in execrec.service execrec@.service; do
    stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$units/$u")
    if [ -n "$stop" ] && [ "$stop" -gt "$deadline" ]; then pass; else
        fail "$u: TimeoutStopSec=$stop is not above the shutdown deadline ${deadline}s"
    fi
    check "$(grep -c '^Restart=on-failure$' "$units/$u")" 1 "$u: Restart=on-failure"
    check "$(grep -c '^ExecStart=/usr/bin/execrec run --config /etc/execrec/execrec.properties ' "$units/$u")" 1 \
        "$u: execrec run with the packaged configuration"
done

# Each ExecStart= command line is one this binary accepts: the same arguments with
# --help appended parse (an unknown flag would exit 2 before --help is reached).
# --dsn-file comes with the secrets work: while this binary lacks it, it is left
# out of the check and said so.
has_dsn_file=$("$bin" run --help | grep -c '^ *--dsn-file ')
for u in execrec.service execrec@.service execrec-partitions.service; do
    line=$(sed -n 's/^ExecStart=//p' "$units/$u")
    line=${line//\${CREDENTIALS_DIRECTORY\}/$tmp/credentials}
    read -r -a args <<<"$line"
    check "${args[0]}" /usr/bin/execrec "$u: ExecStart's binary"
    if [ "$has_dsn_file" -eq 0 ]; then
        echo "$u: this binary has no --dsn-file yet (the secrets work adds it): checked without it"
        read -r -a args <<<"${line/ --dsn-file $tmp\/credentials\/dsn/}"
    fi
    expect_status 0 "$u: '${args[*]:1} --help'" "$bin" "${args[@]:1}" --help
    expect_out "usage: execrec ${args[1]} " "$u: the usage of execrec ${args[1]}"
done
cli_finish
