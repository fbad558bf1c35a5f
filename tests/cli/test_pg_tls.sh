#!/usr/bin/env bash
# TLS to PostgreSQL, verified: a server of this test's own (deploy/pg.sh) with
# ssl = on, a certificate signed by a CA the test makes (SAN DNS:localhost,
# IP:127.0.0.1), and a pg_hba that admits one role over hostssl only. execrec
# connects with sslmode=verify-full and sslrootcert (the connection string in a
# --dsn-file): migrate, load and the recorder work over it with exact rows, and
# pg_stat_ssl shows the recorder's session encrypted. Another CA, a host name the
# certificate does not name, and a connection without TLS are refused with a clear
# reason (exit 1).
source "$(dirname "$0")/run_lib.sh"
command -v openssl >/dev/null || die "openssl is required (deploy/setup.sh)"

# The CA, the server's certificate signed by it, and a second CA that did not sign it.
cd "$work" || die "no work directory"
ssl() { openssl "$@" >>"$work/openssl.log" 2>&1 || die "openssl $1 failed (see openssl.log)"; }
ssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=execrec test CA"
ssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca2.key -out ca2.crt -days 2 -subj "/CN=execrec other CA"
ssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >server.ext
ssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
    -extfile server.ext
cd - >/dev/null || die "cd back"

rl_private_pg
data=$pgdir/data
owner=$(stat -c %U "$data")
cp "$work/server.crt" "$work/server.key" "$data/" && chown "$owner" "$data/server.crt" "$data/server.key" &&
    chmod 600 "$data/server.key" || die "cannot install the server's certificate"
cat >>"$data/postgresql.conf" <<'CONF'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
CONF
tls_pw='Tls-Pw-42'
q "CREATE ROLE execrec_tls LOGIN SUPERUSER PASSWORD '$tls_pw'" || die "cannot create the role"
{
    echo "hostnossl all execrec_tls all reject"
    echo "hostssl all execrec_tls 127.0.0.1/32 scram-sha-256"
    cat "$data/pg_hba.conf"
} >"$work/hba"
cat "$work/hba" >"$data/pg_hba.conf"
bash "$src/deploy/pg.sh" restart "$pgdir" || die "cannot restart PostgreSQL with ssl = on"
check "$(q 'SHOW ssl')" "on" "the server has ssl = on"

rl_db tls
base="host=localhost hostaddr=127.0.0.1 port=$PGPORT user=execrec_tls dbname=$PGDATABASE password=$tls_pw"
printf '%s sslmode=verify-full sslrootcert=%s\n' "$base" "$work/ca.crt" >"$work/dsn"
chmod 600 "$work/dsn"

expect_status 0 "migrate over verify-full TLS" "$bin" migrate --dsn-file "$work/dsn"
expect_out "applied" "migrate applied the migrations over TLS"

python3 "$gen_trades" --no-key L 0 40 >"$work/load.jsonl"
expect_status 0 "load over TLS" "$bin" load --kind trade --dsn-file "$work/dsn" "$work/load.jsonl"
expect_out "read 40, inserted 40, duplicates 0, rejected 0" "load over TLS: exact counts"
rl_check_trades L 0 40 "loaded over TLS"

# The recorder over TLS: its session is encrypted (pg_stat_ssl), its rows exact.
rl_start_broker --partitions 2
rl_gen_trades R 0 200 >"$work/trades.keyed"
rl_produce trades "$work/trades.keyed" -K '|'
rl_start_recorder rec --group tls --dsn-file "$work/dsn" --batch-ms 100
rl_wait_for 60 "200 trades recorded over TLS" rl_count_is 240 execution.TradesTS ||
    die "the recorder did not record over TLS"
rl_check_trades R 0 200 "recorded over TLS"
check "$(q "SELECT string_agg(DISTINCT s.ssl::text || ' ' || (s.version LIKE 'TLS%')::text, ',')
            FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.usename = 'execrec_tls' AND a.application_name = 'execrec run: tls'")" \
    "true true" "pg_stat_ssl: the recorder's session uses TLS"
rl_stop rec TERM
check "$RL_RC" 0 "the recorder stops on SIGTERM"

# Refusals: another CA, a name the certificate does not carry, no TLS at all.
expect_status 1 "a CA that did not sign the server's certificate" \
    "$bin" migrate --dsn "$base sslmode=verify-full sslrootcert=$work/ca2.crt"
expect_out "certificate verify failed" "the wrong CA: libpq's certificate error"
grep -qF "$tls_pw" "$out" && fail "the certificate error shows the password" || pass
expect_status 1 "a host name the certificate does not name" \
    "$bin" migrate --dsn "${base/host=localhost/host=db.invalid} sslmode=verify-full sslrootcert=$work/ca.crt"
expect_out 'does not match host name "db.invalid"' "the wrong host name is named"
expect_status 1 "no TLS (hostssl only)" "$bin" migrate --dsn "$base sslmode=disable"
expect_out "no encryption" "a connection without TLS is refused by pg_hba"

cli_finish
