-- 0008_drop_plain_trade_time_idx.sql: TradesTS keeps one time index, not two.
--
-- 0007's tradests_trade_time_cover_idx, on (trade_time) INCLUDE (asset, quantity,
-- price, order_id), serves every query that 0001's plain tradests_trade_time_idx
-- served (same leading column), so the plain one only cost every insert: with it
-- a COPY of 500k trades took 7 % longer on the benchmark machine
-- (docs/performance.md). Dropping the partitioned index drops it on every
-- partition.
DROP INDEX IF EXISTS execution.tradests_trade_time_idx;
