-- 0011_server_cost.sql: less work for PostgreSQL per recorded row. The fact tables
-- keep raw_payload as the exact JSON text received (json, not jsonb), and TradesTS
-- and OrdersTS lose the two indexes no documented query uses.
--
-- Measured with tests/bench/server_cost.sh (docs/performance.md, "Server cost per
-- row"): one COPY of 100,000 realistic rows (tests/bench/gen.py's messages) into
-- each table as migrated up to 0010, once per configuration, configurations
-- alternating, median of 5 runs, on the 2-core benchmark machine. CPU is the
-- server process's user + system time per row; disk is the partition with its
-- indexes, per row. Against the schema before this migration:
--
--   table          change                                  CPU/row   disk/row
--   TradesTS       without tradests_account_time_idx       -22.7 %   -49 B
--                  without tradests_asset_time_idx         -14.7 %   -46 B
--                  (without tradests_kafka_time_idx        -18.7 %   -69 B: kept)
--                  (without tradests_trade_time_cover_idx   -6.7 %   -68 B: kept)
--                  (without tradests_order_id_idx           -2.7 %   -20 B: kept)
--                  raw_payload json instead of jsonb       -14.0 %   -30 B
--                  (raw_payload text instead of jsonb      -21.3 %   -30 B: not taken)
--                  (natural key alone, no other index      -54.0 %)
--   OrdersTS       without ordersts_account_time_idx       -16.2 %   -49 B
--                  without ordersts_asset_time_idx         -11.6 %   -45 B
--                  (without ordersts_kafka_time_idx        -16.8 %: kept)
--                  (without ordersts_order_manager_idx      -8.1 %: kept)
--                  (without ordersts_order_time_idx         -7.5 %: kept)
--                  raw_payload json instead of jsonb       -15.6 %
--   OrderEventsTS  raw_payload json instead of jsonb       -13.6 %   -38 B
--                  (its two indexes, -3.4 % and -21.6 %: kept)
--   all of the above together: see docs/performance.md (the script's last row).
--
-- The indexes kept are the ones the documented queries need (docs/queries.md; the
-- plans tests/integration/test_views.c checks): the natural keys (de-duplication),
-- tradests_order_id_idx (order_fills, order_fills_between, fill_stats), the
-- covering time index (time buckets, windows), ordersts_order_time_idx and
-- ordereventsts_event_time_idx (windows on orders and events), the
-- <table>_kafka_time_idx (ingest_lag), ordersts_order_manager_idx (idle_managers).
-- (account_uid, <time>) and (asset, <time>) served none: a window's trades of one
-- account or asset are read through the time index of the window's partitions.
-- Whoever filters months of data by account or asset can create the index again
-- on the parent (CREATE INDEX ON execution.TradesTS (account_uid, trade_time)); it
-- costs what the table above says on every recorded row.
--
-- raw_payload json: PostgreSQL checks that the text is JSON and stores it as
-- received -- the audit copy of the message is now byte for byte the message (an
-- Avro message's rendering as JSON), where jsonb re-wrote it (key order, spaces,
-- 1e-8 as 0.00000001, the last of duplicate keys). The recorder sends the same COPY
-- text as before. The operators work on json as they did (->, ->>, #>, #>>);
-- jsonb's own (?, @>, jsonb_* functions, GIN indexes) take a cast:
-- raw_payload::jsonb ? 'venue'. No view or function of the schema reads
-- raw_payload. OrderManager keeps jsonb: it is an upsert of the newest intent per
-- identifier, not the audit copy of every message.
--
-- On a database with data this rewrites every partition of the three tables once
-- (the payloads already stored keep jsonb's rendering: the text received is
-- gone) and rebuilds their indexes, holding an ACCESS EXCLUSIVE lock on the
-- tables meanwhile: recorders wait. About 10 s per million rows on the benchmark
-- machine; apply it in a quiet moment. ALTER TABLE on the partitioned parent
-- changes every partition, the DEFAULT ones included; dropping a partitioned index
-- drops it on every partition. Privileges are unchanged (grant_roles of 0009 still
-- lists every table).
DROP INDEX IF EXISTS execution.tradests_account_time_idx;
DROP INDEX IF EXISTS execution.tradests_asset_time_idx;
DROP INDEX IF EXISTS execution.ordersts_account_time_idx;
DROP INDEX IF EXISTS execution.ordersts_asset_time_idx;

ALTER TABLE execution.TradesTS ALTER COLUMN raw_payload TYPE json USING raw_payload::json;
ALTER TABLE execution.OrdersTS ALTER COLUMN raw_payload TYPE json USING raw_payload::json;
ALTER TABLE execution.OrderEventsTS ALTER COLUMN raw_payload TYPE json USING raw_payload::json;

COMMENT ON COLUMN execution.TradesTS.raw_payload IS
    'the message as received (JSON text; Avro rendered as JSON), unchanged: cast to jsonb for jsonb operators';
COMMENT ON COLUMN execution.OrdersTS.raw_payload IS
    'the message as received (JSON text; Avro rendered as JSON), unchanged: cast to jsonb for jsonb operators';
COMMENT ON COLUMN execution.OrderEventsTS.raw_payload IS
    'the message as received (JSON text; Avro rendered as JSON), unchanged: cast to jsonb for jsonb operators';
