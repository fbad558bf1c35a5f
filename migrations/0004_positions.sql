-- 0004_positions.sql: positions per account and asset from TradesTS, by the
-- average-cost method, now (execution.positions) and as of a time
-- (execution.positions_at).
--
--   execution.avgcost_state                    the running position (a type)
--   execution.avgcost_step(state, qty, price, fee)
--   execution.avgcost(qty, price, fee ORDER BY ...)   the aggregate
--   execution.positions_at(as_of)              positions from trades with trade_time <= as_of
--   execution.positions                        positions from every trade
--
-- Trades are applied in (trade_time, trade_id, Kafka position) order, whatever
-- order they arrived in. A trade without account_uid, asset or side takes them
-- from its order (execution.orders_by_id); the trade's own values win when both
-- exist. A trade whose side is still unknown (no side and no known order) moves
-- no position and is left out (execution.orphan_trades lists trades of unknown
-- orders).
--
-- Average cost: buying into a long (or selling into a short) adds quantity x price
-- to the cost basis; trading against the position closes min(|qty|, |position|)
-- at the average cost and realizes (price - average cost) x closed quantity x
-- direction; the rest of a trade larger than the position opens a new position
-- the other way (a flip through zero) at the trade's price. Fees are subtracted
-- from realized_pnl when they are in the order's currency (fee_currency NULL,
-- equal to the order's currency, or the order's currency unknown), as in
-- order_fills.fees; fees in another currency (e.g. a BTC fee on BTC-USD) are not
-- in the PnL nor in the quantity.
--
-- Exactness: net_quantity, bought/sold quantities and fees are exact sums. The
-- cost basis is exact until a partial close takes a share of it (cost x closed /
-- position), which is rounded to 20 decimals; a full close takes the whole basis,
-- so a round trip's PnL is exact. avg_price is the basis over the position rounded
-- to 12 decimals; avg_price and realized_pnl have trailing zeros trimmed.

CREATE TYPE execution.avgcost_state AS (
    position     numeric, -- signed: > 0 long, < 0 short
    cost         numeric, -- signed cost basis of the open position (position x average)
    realized_pnl numeric, -- realized PnL, fees subtracted
    fees         numeric, -- fees subtracted so far
    bought       numeric, -- total quantity bought
    sold         numeric, -- total quantity sold
    trades       bigint
);

-- One trade: qty is signed (+ buy, - sell), fee may be NULL (no fee).
CREATE FUNCTION execution.avgcost_step(s execution.avgcost_state, qty numeric, price numeric,
                                       fee numeric)
RETURNS execution.avgcost_state
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $fn$
DECLARE
    closing numeric;
    share   numeric;
BEGIN
    IF qty IS NULL OR qty = 0 OR price IS NULL THEN
        RETURN s;
    END IF;
    s.trades := s.trades + 1;
    IF qty > 0 THEN
        s.bought := s.bought + qty;
    ELSE
        s.sold := s.sold - qty;
    END IF;
    s.fees := s.fees + coalesce(fee, 0);
    s.realized_pnl := s.realized_pnl - coalesce(fee, 0);
    IF s.position = 0 OR sign(s.position) = sign(qty) THEN
        s.cost := s.cost + qty * price;
        s.position := s.position + qty;
        RETURN s;
    END IF;
    closing := least(abs(qty), abs(s.position));
    IF closing = abs(s.position) THEN
        share := s.cost;
    ELSE
        share := execution.div_round(s.cost * closing, abs(s.position), 20);
    END IF;
    s.realized_pnl := s.realized_pnl + sign(s.position) * closing * price - share;
    s.cost := s.cost - share;
    s.position := s.position + sign(qty) * closing;
    IF abs(qty) > closing THEN
        -- flip: the rest opens a position the other way at this price
        s.position := sign(qty) * (abs(qty) - closing);
        s.cost := s.position * price;
    END IF;
    IF s.position = 0 THEN
        s.cost := 0;
    END IF;
    RETURN s;
END
$fn$;

CREATE AGGREGATE execution.avgcost(qty numeric, price numeric, fee numeric) (
    SFUNC = execution.avgcost_step,
    STYPE = execution.avgcost_state,
    INITCOND = '(0,0,0,0,0,0,0)'
);

-- Positions from the trades with trade_time <= as_of, one row per (account_uid,
-- asset) that traded. net_quantity 0 is a flat position (realized_pnl still
-- meaningful); avg_price is NULL when flat.
CREATE FUNCTION execution.positions_at(as_of timestamptz)
RETURNS TABLE (account_uid text, asset text, net_quantity numeric, avg_price numeric,
               realized_pnl numeric, fees numeric, bought_quantity numeric,
               sold_quantity numeric, trade_count bigint, last_trade_time timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
SELECT p.account_uid, p.asset, (p.s).position,
       trim_scale(execution.div_round((p.s).cost, (p.s).position, 12)),
       trim_scale((p.s).realized_pnl), (p.s).fees, (p.s).bought, (p.s).sold, (p.s).trades,
       p.last_trade_time
  FROM (SELECT coalesce(t.account_uid, o.account_uid) AS account_uid,
               coalesce(t.asset, o.asset) AS asset,
               execution.avgcost(execution.side_sign(coalesce(t.side, o.side)) * t.quantity,
                                 t.price,
                                 CASE WHEN t.fee_currency IS NULL OR o.currency IS NULL
                                           OR t.fee_currency = o.currency THEN t.fee END
                                 ORDER BY t.trade_time, t.trade_id, t.kafka_topic,
                                          t.kafka_partition, t.kafka_offset) AS s,
               max(t.trade_time) AS last_trade_time
          FROM execution.TradesTS t
          LEFT JOIN execution.orders_by_id o ON o.order_id = t.order_id
         WHERE t.trade_time <= as_of
           AND execution.side_sign(coalesce(t.side, o.side)) IS NOT NULL
         GROUP BY 1, 2) p
$fn$;

CREATE VIEW execution.positions AS
SELECT * FROM execution.positions_at('infinity');
