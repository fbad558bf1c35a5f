#!/usr/bin/env bash
# execrec partitions as a user runs it: partitions created ahead (and --dry-run
# creating nothing), rows moved out of the DEFAULT partitions, retention dropping
# an old monthly partition but never a DEFAULT one (and leaving old rows found in
# a DEFAULT partition where they are), exit 2 on misuse, 1 before migrate.
# Needs PostgreSQL through PG* (deploy/test.sh).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch

cli_db db partitions
export PGDATABASE=$db
exists() { q "SELECT count(*) FROM pg_class WHERE relnamespace = 'execution'::regnamespace AND relname = '$1'"; }
# Month suffix N months from now (UTC), as ensure_partitions names partitions.
month() { q "SELECT to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '$1 months', '\"y\"YYYY\"m\"MM')"; }

expect_status 2 "bad months-ahead" "$bin" partitions --months-ahead soon
expect_status 2 "months-ahead too large" "$bin" partitions --months-ahead 5000
expect_status 2 "stray argument" "$bin" partitions extra
expect_status 1 "before migrate" "$bin" partitions
expect_out "execrec migrate" "before migrate: names the fix"

expect_status 0 "migrate" "$bin" migrate
expect_status 2 "bad retention" "$bin" partitions --retention soon
expect_out "--retention 'soon'" "bad retention is named"
expect_status 2 "negative retention" "$bin" partitions --retention '-1 days'
expect_status 2 "zero retention" "$bin" partitions --retention '0 days'

# migrate made as many months ahead as partitions' default (one constant,
# EXECREC_CONFIG_MONTHS_AHEAD, 3): the default has nothing to do.
expect_status 0 "nothing to do" "$bin" partitions
expect_out "partitions: 3 months ahead; no retention" "the default months ahead"
expect_out "created 0, dropped 0, moved 0 row(s)" "nothing to do summary"
check "$(exists tradests_$(month 3))$(exists tradests_$(month 4))" 10 "migrate made 3 months ahead, not 4"

m4=$(month 4)
m5=$(month 5)
expect_status 0 "dry run ahead" "$bin" partitions --months-ahead 5 --dry-run
expect_out "would create execution.tradests_$m4" "dry run lists month 4"
expect_out "would create execution.ordersts_$m5" "dry run lists month 5"
expect_out "would create 6, drop 0" "dry run summary"
check "$(exists tradests_$m4)" 0 "dry run created nothing"
expect_status 0 "create ahead" "$bin" partitions --months-ahead 5
expect_out "created execution.ordereventsts_$m5" "creation printed"
expect_out "created 6, dropped 0" "creation summary"
check "$(exists tradests_$m4)$(exists ordersts_$m5)$(exists ordereventsts_$m5)" 111 "partitions created"

# Rows in the DEFAULT partitions move into the month's new partition.
q "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, trade_time, raw_payload, kafka_topic, kafka_partition, kafka_offset)
   VALUES ('T-2040', 'O', 1, 1, '2040-03-05Z', '{}', 't', 0, 1), ('T-2040b', 'O', 2, 1, '2040-03-31 23:59:59Z', '{}', 't', 0, 2)" >/dev/null
check "$(q "SELECT count(*) FROM execution.tradests_default")" 2 "rows in the default partition"
expect_status 0 "move out of default" "$bin" partitions
expect_out "created execution.tradests_y2040m03 for [2040-03-01, 2040-04-01), moved 2 row(s) out of execution.tradests_default" "move printed"
expect_out "created execution.ordersts_y2040m03" "the month is created for every table"
check "$(q "SELECT string_agg(tableoid::regclass::text, ',') FROM execution.TradesTS WHERE trade_id LIKE 'T-2040%'")" \
    "execution.tradests_y2040m03,execution.tradests_y2040m03" "rows moved"
check "$(q "SELECT count(*) FROM execution.tradests_default")" 0 "default partition empty"

# Retention: an old month with a partition is dropped; an old row in a DEFAULT
# partition stays there; recent months and the DEFAULT partitions stay.
q "SELECT execution.ensure_partitions('2020-01-01', '2020-01-01')" >/dev/null
q "INSERT INTO execution.TradesTS (trade_id, order_id, quantity, price, trade_time, raw_payload, kafka_topic, kafka_partition, kafka_offset)
   VALUES ('T-2020', 'O', 1, 1, '2020-01-10Z', '{}', 't', 0, 3), ('T-2019', 'O', 1, 1, '2019-06-10Z', '{}', 't', 0, 4)" >/dev/null
expect_status 0 "retention dry run" "$bin" partitions --retention '400 days' --dry-run
expect_out "would drop execution.tradests_y2020m01 [2020-01-01, 2020-02-01)" "dry run lists the drop"
expect_out "would keep 1 row(s) of [2019-06-01, 2019-07-01) in execution.tradests_default" "dry run keeps the old default row"
check "$(exists tradests_y2020m01)" 1 "dry run dropped nothing"
expect_status 0 "retention" "$bin" partitions --retention '400 days'
expect_out "dropped execution.tradests_y2020m01 [2020-01-01, 2020-02-01)" "drop printed"
expect_out "dropped execution.ordersts_y2020m01" "every table's old partition dropped"
expect_out "created 0, dropped 3" "retention summary"
check "$(exists tradests_y2020m01)$(exists ordersts_y2020m01)$(exists ordereventsts_y2020m01)" 000 "old partitions gone"
check "$(exists tradests_default)$(exists ordersts_default)$(exists ordereventsts_default)" 111 "DEFAULT partitions kept"
check "$(q "SELECT string_agg(trade_id, ',' ORDER BY trade_id) FROM execution.TradesTS")" "T-2019,T-2040,T-2040b" "rows left"
check "$(exists tradests_$(month -1))$(exists tradests_$(month 0))" 11 "recent partitions kept"
# A retention that covers everything still keeps this month and the DEFAULTs.
expect_status 0 "short retention" "$bin" partitions --retention '1 day'
check "$(exists tradests_$(month 0))$(exists tradests_default)" 11 "current month and DEFAULT kept"

cli_finish
