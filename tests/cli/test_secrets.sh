#!/usr/bin/env bash
# Secrets stay out of sight: a password given with --dsn and a -X sasl.password are
# gone from the running process's argument list (/proc/PID/cmdline, what ps shows)
# while the rest stays readable; no log line or error message repeats one; the
# routes that never put a secret on the command line work (EXECREC_DSN,
# --dsn-file, libpq's PGPASSFILE, EXECREC_KAFKA_*, the --config file), and a file
# holding a secret that others may read draws a WARN with the fix. Starts its own
# PostgreSQL server (deploy/pg.sh) whose pg_hba asks one role for its password
# (scram-sha-256) over TCP.
source "$(dirname "$0")/run_lib.sh"

rl_private_pg
pw='S3cret-pw'
kpw='K4fka-Secret'
q "CREATE ROLE execrec_pw LOGIN SUPERUSER PASSWORD '$pw'" || die "cannot create the role"
hba=$pgdir/data/pg_hba.conf
{ echo "host all execrec_pw 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$work/hba"
cat "$work/hba" >"$hba"
bash "$src/deploy/pg.sh" restart "$pgdir" || die "cannot restart the private PostgreSQL"
rl_db secrets
db=$PGDATABASE
conn="host=127.0.0.1 port=$PGPORT user=execrec_pw dbname=$db"
# Without the password the role is refused: the server really asks for it.
expect_status 2 "psql as execrec_pw without a password" \
    env PGPASSWORD= psql -X -w -q -c 'SELECT 1' "$conn"
expect_out "password" "the server asks execrec_pw for a password"

# No secret in any output of this test (checked at the end).
no_secret() { # FILE WHAT
    if grep -qE "$pw|$kpw" "$1"; then fail "$2 shows a secret: $(grep -E "$pw|$kpw" "$1" | head -3)"; else pass; fi
}

# --dsn with the password, on the command line: it works, and ps does not show it.
expect_status 0 "migrate with the password in --dsn" "$bin" migrate --dsn "$conn password=$pw"
no_secret "$out" "migrate's output"
expect_status 1 "a wrong password" "$bin" migrate --dsn "$conn password=wrong-$pw"
expect_out "password authentication failed" "a wrong password is named"
no_secret "$out" "the wrong-password error"
# A password with a blank, unquoted: libpq's own reason would quote its second half.
expect_status 1 "an unparseable connection string" "$bin" migrate --dsn "$conn password=${pw} ${kpw}"
expect_out "invalid PostgreSQL connection string" "an unparseable connection string is named"
no_secret "$out" "the unparseable connection string's error"

# (debug=conf: librdkafka lists its configuration in the log, secrets "[redacted]".)
"$bin" run --dsn "$conn password=$pw" --brokers embedded --group secrets -X "sasl.password=$kpw" \
    -X "ssl.key.password=$kpw" -X session.timeout.ms=6000 --log-level debug -X debug=conf \
    >"$work/rec.out" 2>"$work/rec.log" &
rec_pid[rec]=$!
rl_bg+=($!)
rl_wait_for 60 "the recorder to connect to PostgreSQL" grep -q "connected to PostgreSQL" "$work/rec.log" ||
    die "the recorder did not connect"
tr '\0' ' ' <"/proc/${rec_pid[rec]}/cmdline" >"$work/cmdline"
note "cmdline: $(cat "$work/cmdline")"
no_secret "$work/cmdline" "/proc/PID/cmdline"
for want in "run --dsn host=127.0.0.1 port=$PGPORT user=execrec_pw dbname=$db password=*********" \
    "--group secrets" "-X sasl.password=************ -X ssl.key.password=************" \
    "-X session.timeout.ms=6000"; do
    grep -qF -- "$want" "$work/cmdline" && pass || fail "cmdline lacks '$want': $(cat "$work/cmdline")"
done
ps -o args= -p "${rec_pid[rec]}" >"$work/ps"
no_secret "$work/ps" "ps"
grep -qF "password=***" "$work/rec.log" && pass || fail "the recorder's log does not show the masked conninfo"
grep -qF "sasl.password = [redacted]" "$work/rec.log" && pass || fail "librdkafka's configuration dump is not in the log"
rl_stop rec TERM
check "$RL_RC" 0 "the recorder stops on SIGTERM"
no_secret "$work/rec.log" "the recorder's log"

# EXECREC_DSN: the environment (readable by the same user only).
expect_status 0 "migrate with EXECREC_DSN" env EXECREC_DSN="$conn password=$pw" "$bin" migrate
no_secret "$out" "migrate's output (EXECREC_DSN)"

# --dsn-file: the connection string from a file, its trailing newline trimmed.
printf '%s\n' "$conn password=$pw" >"$work/dsn"
chmod 600 "$work/dsn"
expect_status 0 "migrate --dsn-file (mode 600)" "$bin" migrate --dsn-file "$work/dsn"
grep -q WARN "$out" && fail "a mode 600 --dsn-file draws a warning: $(cat "$out")" || pass
chmod 644 "$work/dsn"
expect_status 0 "migrate --dsn-file (mode 644)" "$bin" migrate --dsn-file "$work/dsn"
expect_out "WARN  --dsn-file $work/dsn holds a secret and is readable by others (mode 0644): chmod 600 $work/dsn" \
    "a mode 644 --dsn-file draws a warning with the fix"
no_secret "$out" "migrate's output (--dsn-file)"
expect_status 0 "EXECREC_DSN_FILE" env EXECREC_DSN_FILE="$work/dsn" "$bin" migrate --log-level error
expect_status 2 "--dsn-file with --dsn" "$bin" migrate --dsn-file "$work/dsn" --dsn "$conn"
expect_out "use one" "--dsn-file with --dsn: the reason"
expect_status 2 "--dsn-file missing" "$bin" migrate --dsn-file "$work/nonexistent"
expect_out "--dsn-file: $work/nonexistent" "a missing --dsn-file is named"
: >"$work/empty"
expect_status 2 "--dsn-file empty" "$bin" migrate --dsn-file "$work/empty"
expect_out "empty" "an empty --dsn-file is named"

# --config: a properties file holding a secret (the dsn, a kafka.* password).
printf 'dsn = %s password=%s\n' "$conn" "$pw" >"$work/props"
chmod 640 "$work/props"
expect_status 0 "migrate --config with the dsn (mode 640)" "$bin" migrate --config "$work/props"
expect_out "WARN  --config file $work/props holds a secret and is readable by others (mode 0640): chmod 600 $work/props" \
    "a group-readable --config file with a secret draws a warning"
chmod 600 "$work/props"
expect_status 0 "migrate --config with the dsn (mode 600)" "$bin" migrate --config "$work/props"
grep -q WARN "$out" && fail "a mode 600 --config file draws a warning: $(cat "$out")" || pass
printf 'kafka.sasl.password = %s\n' "$kpw" >"$work/kprops"
chmod 604 "$work/kprops"
expect_status 0 "migrate --config with a kafka.sasl.password (mode 604)" \
    "$bin" migrate --dsn "$conn password=$pw" --config "$work/kprops"
expect_out "--config file $work/kprops holds a secret and is readable by others (mode 0604)" \
    "a world-readable --config file with a kafka secret draws a warning"
printf 'kafka.sasl.username = someone\n' >"$work/uprops"
chmod 644 "$work/uprops"
expect_status 0 "migrate --config without a secret (mode 644)" \
    "$bin" migrate --dsn "$conn password=$pw" --config "$work/uprops"
grep -q WARN "$out" && fail "a --config file without a secret draws a warning: $(cat "$out")" || pass

# Kafka's private key and keytab files.
printf 'not really a key\n' >"$work/kafka.key"
chmod 644 "$work/kafka.key"
expect_status 0 "-X ssl.key.location= a file others may read" \
    "$bin" run --brokers embedded --exit-at-end --dsn "$conn password=$pw" -X "ssl.key.location=$work/kafka.key"
expect_out "WARN  Kafka's ssl.key.location $work/kafka.key holds a secret and is readable by others (mode 0644): chmod 600 $work/kafka.key" \
    "an exposed ssl.key.location draws a warning"
chmod 600 "$work/kafka.key"
expect_status 0 "-X ssl.key.location= mode 600" \
    "$bin" run --brokers embedded --exit-at-end --dsn "$conn password=$pw" -X "ssl.key.location=$work/kafka.key"
grep -q WARN "$out" && fail "a mode 600 ssl.key.location draws a warning: $(cat "$out")" || pass

# libpq's password file: used as libpq does; one that others may read is ignored by
# libpq, and execrec says so in its own log.
printf '127.0.0.1:%s:*:execrec_pw:%s\n' "$PGPORT" "$pw" >"$work/pgpass"
chmod 600 "$work/pgpass"
expect_status 0 "migrate with PGPASSFILE" env PGPASSFILE="$work/pgpass" "$bin" migrate --dsn "$conn"
grep -q WARN "$out" && fail "a mode 600 PGPASSFILE draws a warning: $(cat "$out")" || pass
chmod 644 "$work/pgpass"
expect_status 1 "migrate with a PGPASSFILE others may read" \
    env PGPASSFILE="$work/pgpass" "$bin" migrate --dsn "$conn"
expect_out "WARN  PostgreSQL password file $work/pgpass holds a secret and is readable by others (mode 0644), so libpq ignores it: chmod 600 $work/pgpass" \
    "an exposed PGPASSFILE draws a warning with the fix"
no_secret "$out" "migrate's output (PGPASSFILE)"

# EXECREC_KAFKA_<KEY>: a librdkafka property from the environment; -X wins over it.
expect_status 2 "EXECREC_KAFKA_SECURITY_PROTOCOL=bogus" env EXECREC_KAFKA_SECURITY_PROTOCOL=bogus \
    "$bin" run --dsn "$conn password=$pw" --brokers embedded --exit-at-end
expect_out "security.protocol" "the environment's property reaches librdkafka (checked before anything connects)"
expect_status 0 "-X over EXECREC_KAFKA_*" env EXECREC_KAFKA_SECURITY_PROTOCOL=bogus \
    EXECREC_KAFKA_SASL_PASSWORD="$kpw" "$bin" run --dsn "$conn password=$pw" --brokers embedded --exit-at-end \
    -X security.protocol=plaintext -X session.timeout.ms=6000
no_secret "$out" "run's output (EXECREC_KAFKA_SASL_PASSWORD)"

cli_finish
