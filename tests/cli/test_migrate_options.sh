#!/usr/bin/env bash
# `execrec migrate` takes its options from the config table like every command:
# --config FILE (dsn, log.level), --log-level, EXECREC_DSN, --status; misuse exits
# 2 with a reason. Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch
cli_db db1 migrate_opt1
cli_db db2 migrate_opt2
# No database of that name: only the dsn given to migrate reaches one.
export PGDATABASE=execrec_no_such_db_$$

# The dsn and the log level from a properties file: debug shows the partition line.
printf 'dsn = dbname=%s\nlog.level = debug\n' "$db1" >$tmp/one.conf
expect_status 0 "migrate --config" "$bin" migrate --config $tmp/one.conf
expect_out "applied migration" "migrate --config: the info line of each migration"
expect_out "partition(s)" "migrate --config: log.level = debug from the file"
check "$(PGDATABASE=$db1 q "SELECT count(*) > 0 FROM execution.schema_migrations")" t \
    "migrate --config: the file's dsn was used"
expect_status 0 "migrate --config --status" "$bin" migrate --config $tmp/one.conf --status
expect_out "0 pending migration(s)" "migrate --status after migrate"

# --log-level on the command line wins over the file: error hides the info lines.
printf 'dsn = dbname=%s\nlog.level = debug\n' "$db2" >$tmp/two.conf
expect_status 0 "migrate --log-level error" "$bin" migrate --config $tmp/two.conf --log-level error
expect_out "migration(s)" "migrate --log-level error: the summary on stdout"
grep -q "applied migration" $out && fail "migrate --log-level error still logs info lines: $(cat $out)"
grep -q "partition(s)" $out && fail "migrate --log-level error still logs debug lines: $(cat $out)"

# EXECREC_DSN, as before.
expect_status 0 "migrate with EXECREC_DSN" env EXECREC_DSN="dbname=$db2" "$bin" migrate
expect_out "up to date" "migrate with EXECREC_DSN: nothing left to apply"

# Misuse: exit 2 with a one-line reason.
expect_status 2 "migrate --log-level bogus" "$bin" migrate --config $tmp/one.conf --log-level bogus
expect_out "unknown log level 'bogus'" "migrate --log-level bogus: names the level"
printf 'log.level = loud\n' >$tmp/bad.conf
expect_status 2 "migrate --config with a bad log level" "$bin" migrate --config $tmp/bad.conf
expect_out "unknown log level 'loud'" "migrate --config bad.conf: names the level"
expect_status 2 "migrate --config missing" "$bin" migrate --config $tmp/no-such.conf
expect_out "no-such.conf" "migrate --config missing: names the file"
printf 'no.such.key = 1\n' >$tmp/unknown.conf
expect_status 2 "migrate --config with an unknown key" "$bin" migrate --config $tmp/unknown.conf
expect_out "no.such.key" "migrate --config unknown.conf: names the key"
expect_status 2 "migrate --dir without a value" "$bin" migrate --dir
expect_status 2 "migrate with an argument" "$bin" migrate extra
expect_out "extra" "migrate extra: names the argument"
expect_status 2 "migrate --status=maybe" "$bin" migrate --status=maybe

cli_finish
