-- 0002_partitions.sql: execution.ensure_partitions(from_month, to_month), which
-- creates the monthly partitions of OrdersTS, OrderEventsTS and TradesTS.
--
-- `execrec migrate` (and the recorder on start) calls it for the previous month
-- through 12 months ahead; the writer may call it on demand. Calling it is not part
-- of any checksummed file, so the range moves with the clock.
--
-- Partitions are named <table>_yYYYYmMM (e.g. tradests_y2026m11) and cover
-- [first day of month 00:00 UTC, first day of next month 00:00 UTC).
--
-- Rows in the DEFAULT partition: PostgreSQL refuses to create a partition while the
-- default partition holds rows of its range. So, for a missing month, the function
--   1. locks the parent table (ACCESS EXCLUSIVE, which recurses to every partition;
--      CREATE TABLE ... PARTITION OF would take that lock on the parent anyway),
--      then checks again that the partition is still missing (a concurrent caller
--      may have just created it: it waited on the same lock);
--   2. if the default partition holds rows of that month, moves them with
--      DELETE ... RETURNING into a temporary table;
--   3. creates the partition;
--   4. inserts the saved rows back through the parent, which routes them into the
--      new partition, and drops the temporary table.
-- All of it happens in the caller's transaction, so readers see the rows either in
-- the default partition or in the new one, never missing or twice. Every column
-- (ingested_at included) is copied as is. The alternative -- DETACH the default,
-- create, move, re-ATTACH -- needs a validation scan of the whole default partition
-- on re-attach and leaves a window without a default partition if anything fails
-- half-way outside a transaction; the temp-table move costs only the moved rows.
--
-- Returns the number of partitions created. Lock order is always OrdersTS,
-- OrderEventsTS, TradesTS, so two callers cannot deadlock each other.
CREATE FUNCTION execution.ensure_partitions(from_month date, to_month date)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    t       record;
    m       date;
    last_m  date;
    part    text;
    lo      text;
    hi      text;
    moved   bigint;
    created integer := 0;
BEGIN
    IF from_month IS NULL OR to_month IS NULL THEN
        RAISE EXCEPTION 'execution.ensure_partitions: from_month and to_month must not be NULL';
    END IF;
    IF to_month > from_month + interval '100 years' THEN
        RAISE EXCEPTION 'execution.ensure_partitions: range % to % is longer than 100 years',
            from_month, to_month;
    END IF;
    last_m := date_trunc('month', to_month)::date;
    FOR t IN
        SELECT * FROM (VALUES (1, 'ordersts', 'order_time'),
                              (2, 'ordereventsts', 'event_time'),
                              (3, 'tradests', 'trade_time')) AS v(ord, tbl, col)
        ORDER BY ord
    LOOP
        m := date_trunc('month', from_month)::date;
        WHILE m <= last_m LOOP
            part := format('%s_y%sm%s', t.tbl, to_char(m, 'YYYY'), to_char(m, 'MM'));
            IF to_regclass(format('execution.%I', part)) IS NULL THEN
                EXECUTE format('LOCK TABLE execution.%I IN ACCESS EXCLUSIVE MODE', t.tbl);
            END IF;
            IF to_regclass(format('execution.%I', part)) IS NULL THEN
                lo := to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00';
                hi := to_char((m + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00';
                moved := 0;
                EXECUTE format('SELECT count(*) FROM execution.%I WHERE %I >= %L AND %I < %L',
                               t.tbl || '_default', t.col, lo, t.col, hi)
                    INTO moved;
                IF moved > 0 THEN
                    EXECUTE format('CREATE TEMPORARY TABLE execrec_partition_move '
                                   '(LIKE execution.%I) ON COMMIT DROP', t.tbl);
                    EXECUTE format('WITH d AS (DELETE FROM execution.%I WHERE %I >= %L AND %I < %L '
                                   'RETURNING *) INSERT INTO pg_temp.execrec_partition_move '
                                   'SELECT * FROM d',
                                   t.tbl || '_default', t.col, lo, t.col, hi);
                END IF;
                EXECUTE format('CREATE TABLE execution.%I PARTITION OF execution.%I '
                               'FOR VALUES FROM (%L) TO (%L)', part, t.tbl, lo, hi);
                IF moved > 0 THEN
                    EXECUTE format('INSERT INTO execution.%I SELECT * FROM '
                                   'pg_temp.execrec_partition_move', t.tbl);
                    DROP TABLE pg_temp.execrec_partition_move;
                    RAISE NOTICE 'execution.ensure_partitions: moved % row(s) from %_default to %',
                        moved, t.tbl, part;
                END IF;
                created := created + 1;
            END IF;
            m := (m + interval '1 month')::date;
        END LOOP;
    END LOOP;
    RETURN created;
END
$fn$;

COMMENT ON FUNCTION execution.ensure_partitions(date, date) IS
    'Creates the monthly partitions of OrdersTS, OrderEventsTS and TradesTS for every '
    'month from from_month to to_month (inclusive) if missing, moving rows of those '
    'months out of the DEFAULT partition. Returns the number of partitions created.';
