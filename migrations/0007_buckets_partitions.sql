-- 0007_buckets_partitions.sql: time buckets over trades, and the partition
-- maintenance behind `execrec partitions`.
--
--   execution.trade_buckets(bucket, from, to)          fills, volume, notional per bucket and asset
--   execution.partition_plan(months_ahead, retention)  what `execrec partitions` would do
--   execution.apply_partitions(months_ahead, retention) do it
--
-- Time buckets. The pattern, for any width date_bin accepts (minutes, hours, days,
-- weeks; not months: use date_trunc('month', trade_time AT TIME ZONE 'UTC')):
--
--   SELECT date_bin('1 minute', trade_time, '2000-01-03 00:00:00+00') AS bucket,
--          asset, count(*) AS fills, sum(quantity) AS volume,
--          sum(quantity * price) AS notional
--     FROM execution.TradesTS
--    WHERE trade_time >= $1 AND trade_time < $2
--    GROUP BY 1, 2 ORDER BY 1, 2;
--
-- The origin 2000-01-03 (a Monday, midnight UTC) aligns hours and days to UTC and
-- weeks to Mondays. The WHERE on trade_time prunes to the window's monthly
-- partitions; the covering index below lets PostgreSQL answer from the index
-- alone (an index-only scan, once VACUUM has marked the pages all-visible, which
-- autovacuum does) for a window that is a small part of a month; order_id is
-- included for trade_buckets, which looks up the order of a trade without an
-- asset. It duplicates
-- 0001's plain tradests_trade_time_idx, which is kept: dropping it would change
-- 0001's documented schema; a later migration may drop it once nothing relies on it.
CREATE INDEX tradests_trade_time_cover_idx
    ON execution.TradesTS (trade_time) INCLUDE (asset, quantity, price, order_id);

-- The pattern above as a function: per bucket of width bucket (an interval) and
-- asset, for trades in [from_time, to_time): fills (count), volume (sum of
-- quantity, exact), notional (sum of quantity x price, exact). A trade without an
-- asset takes its order's (as positions do); only such trades look the order up
-- (order_id is in the covering index for that), and trades of unknown orders
-- without an asset are in the NULL asset row.
CREATE FUNCTION execution.trade_buckets(bucket interval, from_time timestamptz,
                                        to_time timestamptz)
RETURNS TABLE (bucket_start timestamptz, asset text, fills bigint, volume numeric,
               notional numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
SELECT date_bin(bucket, t.trade_time, '2000-01-03 00:00:00+00'),
       coalesce(t.asset, (SELECT o.asset FROM execution.OrdersTS o
                           WHERE o.order_id = t.order_id
                           ORDER BY o.order_time LIMIT 1)),
       count(*), sum(t.quantity), sum(t.quantity * t.price)
  FROM execution.TradesTS t
 WHERE t.trade_time >= from_time AND t.trade_time < to_time
 GROUP BY 1, 2
 ORDER BY 1, 2
$fn$;

-- What `execrec partitions` does, without doing it. One row per action:
--   create  a monthly partition of table_name for [range_from, range_to) is
--           missing: a month from the current one (UTC) through months_ahead
--           months after it, or a month of which the DEFAULT partition holds rows;
--           rows = the rows that will move out of the DEFAULT partition
--   drop    retention is set and the partition's whole range is older than it
--           (range_to <= now() - retention); rows = PostgreSQL's estimate
--           (pg_class.reltuples, -1 if never analyzed)
--   keep    rows of the DEFAULT partition in a month entirely older than the
--           retention: no partition is created for them (that would only drop
--           them); they stay where they are; rows = how many
-- Only partitions named <table>_yYYYYmMM (as ensure_partitions makes them) are
-- considered for dropping; the DEFAULT partitions are never dropped.
CREATE FUNCTION execution.partition_plan(months_ahead integer DEFAULT 3,
                                         retention interval DEFAULT NULL)
RETURNS TABLE (action text, table_name text, partition_name text, range_from timestamptz,
               range_to timestamptz, rows bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    t        record;
    m        record;
    cur      date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    cutoff   timestamptz;
    part     text;
    lo       timestamptz;
    hi       timestamptz;
    n        bigint;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 1200 THEN
        RAISE EXCEPTION 'execution.partition_plan: months_ahead must be 0 to 1200, not %',
            months_ahead USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NOT NULL AND retention <= interval '0' THEN
        RAISE EXCEPTION 'execution.partition_plan: retention must be positive, not %',
            retention USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NOT NULL THEN
        cutoff := now() - retention;
    END IF;
    -- Months to have: from this one through months_ahead, and every month of which
    -- a DEFAULT partition holds rows. ensure_partitions creates a month for all three
    -- tables, so each such month is checked in all three.
    FOR m IN
        SELECT s.month
          FROM (SELECT generate_series(cur, cur + make_interval(months => months_ahead),
                                       interval '1 month')::date AS month
                UNION
                SELECT date_trunc('month', order_time AT TIME ZONE 'UTC')::date
                  FROM execution.ordersts_default
                UNION
                SELECT date_trunc('month', event_time AT TIME ZONE 'UTC')::date
                  FROM execution.ordereventsts_default
                UNION
                SELECT date_trunc('month', trade_time AT TIME ZONE 'UTC')::date
                  FROM execution.tradests_default) s
         ORDER BY s.month
    LOOP
        lo := (m.month::timestamp) AT TIME ZONE 'UTC';
        hi := ((m.month + interval '1 month')::timestamp) AT TIME ZONE 'UTC';
        FOR t IN
            SELECT * FROM (VALUES (1, 'ordersts', 'order_time'),
                                  (2, 'ordereventsts', 'event_time'),
                                  (3, 'tradests', 'trade_time')) AS v(ord, tbl, col)
            ORDER BY ord
        LOOP
            part := format('%s_y%sm%s', t.tbl, to_char(m.month, 'YYYY'), to_char(m.month, 'MM'));
            EXECUTE format('SELECT count(*) FROM execution.%I WHERE %I >= $1 AND %I < $2',
                           t.tbl || '_default', t.col, t.col)
                INTO n USING lo, hi;
            IF cutoff IS NOT NULL AND hi <= cutoff THEN
                IF n > 0 THEN
                    RETURN QUERY SELECT 'keep'::text, t.tbl, t.tbl || '_default', lo, hi, n;
                END IF;
            ELSIF to_regclass(format('execution.%I', part)) IS NULL THEN
                RETURN QUERY SELECT 'create'::text, t.tbl, part, lo, hi, n;
            END IF;
        END LOOP;
    END LOOP;
    FOR t IN
        SELECT * FROM (VALUES (1, 'ordersts'), (2, 'ordereventsts'), (3, 'tradests')) AS v(ord, tbl)
        ORDER BY ord
    LOOP
        IF cutoff IS NOT NULL THEN
            RETURN QUERY
            SELECT 'drop'::text, t.tbl, c.relname::text, p.lo, p.lo + interval '1 month',
                   c.reltuples::bigint
              FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              CROSS JOIN LATERAL (
                  SELECT (to_date(substring(c.relname from '_y([0-9]{4}m[0-9]{2})$'), 'YYYY"m"MM')
                          ::timestamp AT TIME ZONE 'UTC') AS lo) p
             WHERE i.inhparent = format('execution.%I', t.tbl)::regclass
               AND c.relname ~ ('^' || t.tbl || '_y[0-9]{4}m[0-9]{2}$')
               AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
               AND p.lo + interval '1 month' <= cutoff
             ORDER BY p.lo;
        END IF;
    END LOOP;
END
$fn$;

-- Does what partition_plan says, in the caller's transaction, and returns the
-- same rows. Creating goes through execution.ensure_partitions (one month at a
-- time; it creates the month for all three tables and moves the DEFAULT
-- partition's rows of that month into it); dropping is DROP TABLE of the monthly
-- partition. When there is something to do, the three tables are locked first,
-- in the order OrdersTS, OrderEventsTS, TradesTS, as ensure_partitions does.
CREATE FUNCTION execution.apply_partitions(months_ahead integer DEFAULT 3,
                                           retention interval DEFAULT NULL)
RETURNS TABLE (action text, table_name text, partition_name text, range_from timestamptz,
               range_to timestamptz, rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    r   record;
    mon date;
BEGIN
    -- Nothing to do: return without taking any lock (the common case when run
    -- from cron). Otherwise lock the three tables in the fixed order first (DDL on
    -- a partition locks its parent anyway), then plan again under the locks.
    IF NOT EXISTS (SELECT 1 FROM execution.partition_plan(months_ahead, retention) p
                    WHERE p.action <> 'keep') THEN
        RETURN QUERY SELECT * FROM execution.partition_plan(months_ahead, retention);
        RETURN;
    END IF;
    LOCK TABLE execution.OrdersTS, execution.OrderEventsTS, execution.TradesTS
        IN ACCESS EXCLUSIVE MODE;
    FOR r IN SELECT * FROM execution.partition_plan(months_ahead, retention) p
              ORDER BY CASE p.action WHEN 'create' THEN 1 WHEN 'drop' THEN 2 ELSE 3 END,
                       p.range_from,
                       CASE p.table_name WHEN 'ordersts' THEN 1 WHEN 'ordereventsts' THEN 2 ELSE 3 END
    LOOP
        IF r.action = 'create' THEN
            mon := (r.range_from AT TIME ZONE 'UTC')::date;
            PERFORM execution.ensure_partitions(mon, mon);
        ELSIF r.action = 'drop' THEN
            EXECUTE format('DROP TABLE execution.%I', r.partition_name);
        END IF;
        action := r.action;
        table_name := r.table_name;
        partition_name := r.partition_name;
        range_from := r.range_from;
        range_to := r.range_to;
        rows := r.rows;
        RETURN NEXT;
    END LOOP;
END
$fn$;
