-- 0003_order_views.sql: derived order state and fills, computed from the facts.
--
--   execution.status_is_terminal(status)        which statuses end an order
--   execution.side_sign(side)                    +1 buy, -1 sell / sell_short
--   execution.div_round(a, b, places)            a / b rounded, NULL when b = 0
--   execution.slippage_bps(side, notional, quantity, benchmark)
--   execution.orders_by_id                       one OrdersTS row per order_id
--   execution.order_event_summary                per order: latest event and counts
--   execution.order_state                        per order: latest status, filled, remaining
--   execution.open_orders, execution.closed_orders
--   execution.order_fills                        per order: trades aggregated (all time)
--   execution.order_fills_between(from, to)      the same for orders sent in a window
--   execution.fill_stats(from, to, group_by, benchmark)
--                                                slippage and time-to-fill statistics
--   execution.manager_summary                    orders and fills per order manager
--
-- Facts are stored as observed, in any order; everything here is derived by event
-- time (then sequence, then Kafka position), never by arrival order, so late and
-- out-of-order events give the same answer as in-order ones. docs/queries.md shows
-- each object with an example.
--
-- Exactness: quantities, notionals and fees are sums and products of NUMERIC
-- values and are never rounded. Only ratios are: VWAP (12 decimal places, or the
-- fills' price scale if larger, trailing zeros trimmed), slippage (4 decimal places
-- of a basis point) and the mean times (microseconds). Rounding is half away from
-- zero (PostgreSQL's round(numeric)).

-- An order is finished once its status is one of these. done_for_day, replaced,
-- suspended, stopped and pending_* are not terminal: the order may still trade.
-- 'trade' events (an execution report without a status) are kept as the status
-- they are and are not terminal either: send partially_filled / filled.
CREATE FUNCTION execution.status_is_terminal(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(status IN ('filled', 'canceled', 'rejected', 'expired'), false);

-- Direction of a side: +1 buys, -1 sells (sell_short included), NULL unknown.
CREATE FUNCTION execution.side_sign(side text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE side WHEN 'buy' THEN 1 WHEN 'sell' THEN -1 WHEN 'sell_short' THEN -1 END;

-- a / b rounded half away from zero to places decimals; NULL when b is 0 or NULL.
-- The dividend is first given places + 8 decimals so that PostgreSQL's division
-- (which keeps about 16 significant digits, or the operands' scale if larger)
-- always computes the digits being rounded.
CREATE FUNCTION execution.div_round(a numeric, b numeric, places integer) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN round((a + trunc(0::numeric, places + 8)) / nullif(b, 0), places);

-- Slippage of fills (quantity at a total notional) against a benchmark price, in
-- basis points of the benchmark, positive = cost to us: buying above or selling
-- below the benchmark. One division of exact sums, rounded to 4 decimals; NULL
-- without a side, a benchmark, or fills, or when the benchmark is 0.
CREATE FUNCTION execution.slippage_bps(side text, notional numeric, quantity numeric,
                                       benchmark numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN execution.div_round(execution.side_sign(side) * (notional - benchmark * quantity) * 10000,
                               abs(benchmark) * quantity, 4);

-- One row per order_id. The natural key is (order_id, order_time), so a re-sent
-- order with a corrected time is a second row: the earliest order_time is the
-- order (then the first recorded).
CREATE VIEW execution.orders_by_id AS
SELECT DISTINCT ON (order_id)
       order_id, account_uid, asset, side, quantity, order_time, client_order_id,
       order_manager_uid, strategy, venue, order_type, time_in_force, limit_price,
       stop_price, reference_price, currency, status
  FROM execution.OrdersTS
 ORDER BY order_id, order_time, kafka_topic, kafka_partition, kafka_offset;

-- Per order with events: the latest event (by event_time, then sequence -- an
-- event without one sorts before those with one at the same time -- then Kafka
-- topic, partition and offset, then event_key), the latest reported cumulative
-- filled quantity, and counts. Quantities are taken from the latest event that
-- carries them (a cancel without filled_quantity keeps the earlier fills).
CREATE VIEW execution.order_event_summary AS
SELECT order_id,
       (array_agg(event_type ORDER BY event_time DESC, sequence DESC NULLS LAST,
                  kafka_topic DESC, kafka_partition DESC, kafka_offset DESC, event_key DESC))[1]
           AS status,
       (array_agg(filled_quantity ORDER BY event_time DESC, sequence DESC NULLS LAST,
                  kafka_topic DESC, kafka_partition DESC, kafka_offset DESC, event_key DESC)
            FILTER (WHERE filled_quantity IS NOT NULL))[1] AS filled_quantity,
       (array_agg(remaining_quantity ORDER BY event_time DESC, sequence DESC NULLS LAST,
                  kafka_topic DESC, kafka_partition DESC, kafka_offset DESC, event_key DESC))[1]
           AS latest_remaining_quantity,
       (array_agg(avg_fill_price ORDER BY event_time DESC, sequence DESC NULLS LAST,
                  kafka_topic DESC, kafka_partition DESC, kafka_offset DESC, event_key DESC)
            FILTER (WHERE avg_fill_price IS NOT NULL))[1] AS avg_fill_price,
       (array_agg(reject_code ORDER BY event_time DESC, sequence DESC NULLS LAST,
                  kafka_topic DESC, kafka_partition DESC, kafka_offset DESC, event_key DESC)
            FILTER (WHERE reject_code IS NOT NULL OR reject_reason IS NOT NULL))[1] AS reject_code,
       (array_agg(reject_reason ORDER BY event_time DESC, sequence DESC NULLS LAST,
                  kafka_topic DESC, kafka_partition DESC, kafka_offset DESC, event_key DESC)
            FILTER (WHERE reject_code IS NOT NULL OR reject_reason IS NOT NULL))[1] AS reject_reason,
       count(*) AS event_count,
       min(event_time) AS first_event_time,
       max(event_time) AS last_event_time
  FROM execution.OrderEventsTS
 GROUP BY order_id;

-- Per order: its latest status and quantities.
--   * An order with events: status is the latest event's type (status_source
--     'event').
--   * An order without events: status is the status it was submitted with
--     (OrdersTS.status, status_source 'order'), NULL if none; not terminal, so it
--     counts as open: nothing says it ended.
--   * Events without an OrdersTS row: a row with known_order = false and the order
--     columns NULL (reconciliation lists them too).
-- filled_quantity is the latest event-reported cumulative fill, 0 if no event
-- reports one (order_fills has the trades' sum). remaining_quantity is the latest
-- event's remaining_quantity; if that event has none, 0 for a terminal status,
-- else quantity - filled_quantity. unfilled_quantity is always quantity -
-- filled_quantity (6 for an order of 10 canceled after filling 4, whose
-- remaining_quantity is 0).
CREATE VIEW execution.order_state AS
SELECT o.order_id,
       true AS known_order,
       o.account_uid, o.asset, o.side, o.quantity, o.order_time, o.order_manager_uid,
       o.strategy, o.venue, o.order_type, o.limit_price, o.reference_price, o.currency,
       coalesce(e.status, o.status) AS status,
       CASE WHEN e.order_id IS NOT NULL THEN 'event' WHEN o.status IS NOT NULL THEN 'order' END
           AS status_source,
       execution.status_is_terminal(coalesce(e.status, o.status)) AS is_terminal,
       coalesce(e.filled_quantity, 0) AS filled_quantity,
       coalesce(e.latest_remaining_quantity,
                CASE WHEN execution.status_is_terminal(coalesce(e.status, o.status)) THEN 0 END,
                o.quantity - coalesce(e.filled_quantity, 0)) AS remaining_quantity,
       o.quantity - coalesce(e.filled_quantity, 0) AS unfilled_quantity,
       e.avg_fill_price, e.reject_code, e.reject_reason,
       coalesce(e.event_count, 0) AS event_count, e.first_event_time, e.last_event_time
  FROM execution.orders_by_id o
  LEFT JOIN execution.order_event_summary e ON e.order_id = o.order_id
UNION ALL
SELECT e.order_id,
       false,
       NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL,
       e.status, 'event', execution.status_is_terminal(e.status),
       coalesce(e.filled_quantity, 0),
       coalesce(e.latest_remaining_quantity,
                CASE WHEN execution.status_is_terminal(e.status) THEN 0 END),
       NULL,
       e.avg_fill_price, e.reject_code, e.reject_reason,
       e.event_count, e.first_event_time, e.last_event_time
  FROM execution.order_event_summary e
 WHERE NOT EXISTS (SELECT 1 FROM execution.OrdersTS o WHERE o.order_id = e.order_id);

CREATE VIEW execution.open_orders AS
SELECT * FROM execution.order_state WHERE NOT is_terminal;

CREATE VIEW execution.closed_orders AS
SELECT * FROM execution.order_state WHERE is_terminal;

-- Per order with trades, all time (trades of orders never seen included, with
-- known_order = false). Trades are taken in (trade_time, trade_id) order.
--   fees          fees in the order's currency: fee_currency NULL, equal to the
--                 order's currency, or the order's currency unknown;
--   other_fees    the other fees as sent, e.g. '0.00000001 BTC' (not summed:
--                 amounts in different currencies do not add up);
--   time_to_first_fill     first trade_time - order_time;
--   time_to_complete_fill  trade_time of the trade that brought the traded
--                 quantity to the order's quantity - order_time (NULL while
--                 the trades do not reach it);
--   slippage_bps_limit / _reference: the VWAP against limit_price /
--                 reference_price (slippage_bps above), over all fills.
CREATE VIEW execution.order_fills AS
WITH t AS (
    SELECT t.order_id, t.quantity, t.price, t.trade_time, t.fee, t.fee_currency,
           sum(t.quantity) OVER (PARTITION BY t.order_id
                                 ORDER BY t.trade_time, t.trade_id, t.kafka_topic,
                                          t.kafka_partition, t.kafka_offset) AS cum_quantity
      FROM execution.TradesTS t
)
SELECT t.order_id,
       o.order_id IS NOT NULL AS known_order,
       o.account_uid, o.asset, o.side, o.quantity AS order_quantity, o.order_time,
       o.order_manager_uid, o.strategy, o.venue, o.limit_price, o.reference_price, o.currency,
       count(*) AS fill_count,
       sum(t.quantity) AS filled_quantity,
       sum(t.quantity * t.price) AS notional,
       trim_scale(execution.div_round(sum(t.quantity * t.price), sum(t.quantity),
                                      greatest(12, max(scale(t.price))))) AS vwap,
       coalesce(sum(t.fee) FILTER (WHERE t.fee_currency IS NULL OR o.currency IS NULL
                                   OR t.fee_currency = o.currency), 0) AS fees,
       string_agg(t.fee || ' ' || t.fee_currency, ', ' ORDER BY t.trade_time, t.cum_quantity)
           FILTER (WHERE t.fee IS NOT NULL AND t.fee_currency <> o.currency) AS other_fees,
       min(t.trade_time) AS first_fill_time,
       max(t.trade_time) AS last_fill_time,
       min(t.trade_time) - o.order_time AS time_to_first_fill,
       min(t.trade_time) FILTER (WHERE t.cum_quantity >= o.quantity) - o.order_time
           AS time_to_complete_fill,
       execution.slippage_bps(o.side, sum(t.quantity * t.price), sum(t.quantity), o.limit_price)
           AS slippage_bps_limit,
       execution.slippage_bps(o.side, sum(t.quantity * t.price), sum(t.quantity),
                              o.reference_price) AS slippage_bps_reference
  FROM t
  LEFT JOIN execution.orders_by_id o ON o.order_id = t.order_id
 GROUP BY t.order_id, o.order_id, o.account_uid, o.asset, o.side, o.quantity, o.order_time,
          o.order_manager_uid, o.strategy, o.venue, o.limit_price, o.reference_price, o.currency;

-- The same columns as order_fills, for the orders sent in [from_time, to_time),
-- every one of them (fill_count 0 and NULL times for orders without trades).
-- Fast on months of data: OrdersTS is pruned to the window's partitions, and each
-- order's trades are found through tradests_order_id_idx in the partitions from
-- from_time on (a trade is not expected before its order; one dated before the
-- window's start is not counted). Order ids sent twice in the window count once.
CREATE FUNCTION execution.order_fills_between(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (order_id text, known_order boolean, account_uid text, asset text, side text,
               order_quantity numeric, order_time timestamptz, order_manager_uid text,
               strategy text, venue text, limit_price numeric, reference_price numeric,
               currency text, fill_count bigint, filled_quantity numeric, notional numeric,
               vwap numeric, fees numeric, other_fees text, first_fill_time timestamptz,
               last_fill_time timestamptz, time_to_first_fill interval,
               time_to_complete_fill interval, slippage_bps_limit numeric,
               slippage_bps_reference numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
SELECT o.order_id, true, o.account_uid, o.asset, o.side, o.quantity, o.order_time,
       o.order_manager_uid, o.strategy, o.venue, o.limit_price, o.reference_price, o.currency,
       f.fill_count, f.filled_quantity, f.notional,
       trim_scale(execution.div_round(f.notional, f.filled_quantity, f.vwap_places)),
       coalesce(f.fees, 0), f.other_fees, f.first_fill_time, f.last_fill_time,
       f.first_fill_time - o.order_time, f.complete_fill_time - o.order_time,
       execution.slippage_bps(o.side, f.notional, f.filled_quantity, o.limit_price),
       execution.slippage_bps(o.side, f.notional, f.filled_quantity, o.reference_price)
  FROM (SELECT DISTINCT ON (x.order_id) x.*
          FROM execution.OrdersTS x
         WHERE x.order_time >= from_time AND x.order_time < to_time
         ORDER BY x.order_id, x.order_time, x.kafka_topic, x.kafka_partition, x.kafka_offset) o
 CROSS JOIN LATERAL (
    SELECT count(*) AS fill_count,
           sum(t.quantity) AS filled_quantity,
           sum(t.quantity * t.price) AS notional,
           greatest(12, max(scale(t.price))) AS vwap_places,
           sum(t.fee) FILTER (WHERE t.fee_currency IS NULL OR o.currency IS NULL
                              OR t.fee_currency = o.currency) AS fees,
           string_agg(t.fee || ' ' || t.fee_currency, ', ' ORDER BY t.trade_time, t.cum_quantity)
               FILTER (WHERE t.fee IS NOT NULL AND t.fee_currency <> o.currency) AS other_fees,
           min(t.trade_time) AS first_fill_time,
           max(t.trade_time) AS last_fill_time,
           min(t.trade_time) FILTER (WHERE t.cum_quantity >= o.quantity) AS complete_fill_time
      FROM (SELECT y.quantity, y.price, y.trade_time, y.fee, y.fee_currency,
                   sum(y.quantity) OVER (ORDER BY y.trade_time, y.trade_id, y.kafka_topic,
                                                  y.kafka_partition, y.kafka_offset) AS cum_quantity
              FROM execution.TradesTS y
             WHERE y.order_id = o.order_id AND y.trade_time >= from_time) t) f
$fn$;

-- Raises invalid_parameter_value; IMMUTABLE so that a bad constant argument of an
-- inlined SQL function fails when the query is planned, even on an empty table.
CREATE FUNCTION execution.invalid_argument(message text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $fn$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'invalid_parameter_value';
END
$fn$;

-- Slippage and time-to-fill statistics of the orders sent in [from_time, to_time),
-- one row per value of the grouping dimension group_by: 'strategy',
-- 'order_manager' (order_manager_uid), 'account', 'asset', 'venue', 'side' or
-- 'all' (one row, group_key 'all'). Orders whose dimension is NULL form a group
-- with group_key NULL.
-- benchmark: 'reference' (reference_price), 'limit' (limit_price) or 'auto'
-- (reference_price when the order has one, else limit_price).
--   orders, filled_orders (any fill), complete_orders (traded quantity reached
--   the order's), fill_count, notional, fees (as order_fills.fees);
--   slippage_orders: filled orders with a benchmark; slippage_bps: the group's
--   notional-weighted slippage (sum of costs over sum of benchmark notionals);
--   slippage_bps_mean / _p50 / _p95: over those orders' own slippage;
--   first_fill_s_* : seconds from order to first fill, over filled orders;
--   complete_fill_s_*: seconds from order to complete fill, over complete orders.
-- Percentiles are nearest-rank (percentile_disc: an observed value, no
-- interpolation); means are rounded to 4 decimals (bps) and 6 (seconds).
CREATE FUNCTION execution.fill_stats(from_time timestamptz, to_time timestamptz,
                                     group_by text DEFAULT 'strategy',
                                     benchmark text DEFAULT 'auto')
RETURNS TABLE (group_key text, orders bigint, filled_orders bigint, complete_orders bigint,
               fill_count bigint, notional numeric, fees numeric, slippage_orders bigint,
               slippage_bps numeric, slippage_bps_mean numeric, slippage_bps_p50 numeric,
               slippage_bps_p95 numeric, first_fill_s_mean numeric, first_fill_s_p50 numeric,
               first_fill_s_p95 numeric, complete_fill_s_mean numeric,
               complete_fill_s_p50 numeric, complete_fill_s_p95 numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
WITH per_order AS (
    SELECT CASE group_by
               WHEN 'strategy' THEN f.strategy
               WHEN 'order_manager' THEN f.order_manager_uid
               WHEN 'account' THEN f.account_uid
               WHEN 'asset' THEN f.asset
               WHEN 'venue' THEN f.venue
               WHEN 'side' THEN f.side
               WHEN 'all' THEN 'all'
               ELSE execution.invalid_argument(
                   'execution.fill_stats: group_by must be strategy, order_manager, account, '
                   'asset, venue, side or all, not ' || coalesce(quote_literal(group_by), 'NULL'))
           END AS group_key,
           f.*,
           CASE benchmark
               WHEN 'auto' THEN coalesce(f.reference_price, f.limit_price)
               WHEN 'reference' THEN f.reference_price
               WHEN 'limit' THEN f.limit_price
               ELSE execution.invalid_argument(
                   'execution.fill_stats: benchmark must be auto, reference or limit, not '
                   || coalesce(quote_literal(benchmark), 'NULL'))::numeric
           END AS benchmark_price,
           extract(epoch FROM f.time_to_first_fill) AS first_fill_s,
           extract(epoch FROM f.time_to_complete_fill) AS complete_fill_s
      FROM execution.order_fills_between(from_time, to_time) f
), s AS (
    SELECT p.*,
           execution.slippage_bps(p.side, p.notional, p.filled_quantity, p.benchmark_price)
               AS order_bps
      FROM per_order p
)
SELECT s.group_key,
       count(*),
       count(*) FILTER (WHERE s.fill_count > 0),
       count(s.complete_fill_s),
       sum(s.fill_count)::bigint,
       coalesce(sum(s.notional), 0),
       sum(s.fees),
       count(s.order_bps),
       execution.div_round(sum(execution.side_sign(s.side) * (s.notional - s.benchmark_price * s.filled_quantity) * 10000)
                               FILTER (WHERE s.order_bps IS NOT NULL),
                           sum(abs(s.benchmark_price) * s.filled_quantity)
                               FILTER (WHERE s.order_bps IS NOT NULL), 4),
       execution.div_round(sum(s.order_bps), count(s.order_bps), 4),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY s.order_bps),
       percentile_disc(0.95) WITHIN GROUP (ORDER BY s.order_bps),
       execution.div_round(sum(s.first_fill_s), count(s.first_fill_s), 6),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY s.first_fill_s),
       percentile_disc(0.95) WITHIN GROUP (ORDER BY s.first_fill_s),
       execution.div_round(sum(s.complete_fill_s), count(s.complete_fill_s), 6),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY s.complete_fill_s),
       percentile_disc(0.95) WITHIN GROUP (ORDER BY s.complete_fill_s)
  FROM s
 GROUP BY s.group_key
 ORDER BY s.group_key NULLS LAST
$fn$;

-- Attribution: per order manager (OrderManager.unique_identifier, or an order's
-- order_manager_uid that has no intent row) and strategy (the order's, else the
-- manager's), all time. Managers without orders have a row with orders = 0;
-- orders without a manager have order_manager_uid NULL.
--   orders, open_orders, filled_orders (status filled), canceled_orders,
--   rejected_orders; fill_count, notional and fees of their trades (fees as in
--   order_fills); first_order_time, last_order_time.
CREATE VIEW execution.manager_summary AS
WITH o AS (
    SELECT s.order_id, s.order_manager_uid, s.strategy, s.status, s.is_terminal, s.order_time,
           f.fill_count, f.notional, f.fees
      FROM execution.order_state s
      LEFT JOIN execution.order_fills f ON f.order_id = s.order_id
     WHERE s.known_order
)
SELECT coalesce(o.order_manager_uid, m.unique_identifier) AS order_manager_uid,
       coalesce(o.strategy, m.strategy) AS strategy,
       m.status AS manager_status,
       m.target_account_uid,
       count(o.order_id) AS orders,
       count(o.order_id) FILTER (WHERE NOT o.is_terminal) AS open_orders,
       count(o.order_id) FILTER (WHERE o.status = 'filled') AS filled_orders,
       count(o.order_id) FILTER (WHERE o.status = 'canceled') AS canceled_orders,
       count(o.order_id) FILTER (WHERE o.status = 'rejected') AS rejected_orders,
       coalesce(sum(o.fill_count), 0)::bigint AS fill_count,
       coalesce(sum(o.notional), 0) AS notional,
       coalesce(sum(o.fees), 0) AS fees,
       min(o.order_time) AS first_order_time,
       max(o.order_time) AS last_order_time
  FROM o
  FULL JOIN execution.OrderManager m ON m.unique_identifier = o.order_manager_uid
 GROUP BY 1, 2, 3, 4;
