-- 0005_reconcile.sql: checks that the recorded facts agree with each other. Each
-- object lists findings; none means clean. `execrec reconcile` prints them all.
--
--   execution.fill_mismatches(tolerance)       event-reported fills vs the trades
--   execution.orphan_trades                    trades whose order was never seen
--   execution.orphan_order_events              orders with events but no OrdersTS row
--   execution.stuck_orders(older_than, as_of)  non-terminal orders idle too long
--   execution.idle_managers                    order managers with no orders
--
-- "Never seen" means no row in OrdersTS with that order_id, now: a late order
-- message clears the finding when it is recorded.

-- Orders whose latest event-reported cumulative filled quantity (order_event_summary)
-- differs from the sum of their trades by more than tolerance (absolute, in the
-- order's quantity unit). Orders for which no event reports a filled quantity are
-- not compared: there is nothing to disagree with. An order whose events report
-- fills but that has no trades is compared against 0.
CREATE FUNCTION execution.fill_mismatches(tolerance numeric DEFAULT 0)
RETURNS TABLE (order_id text, status text, event_filled_quantity numeric,
               trade_filled_quantity numeric, difference numeric, last_event_time timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
SELECT e.order_id, e.status, e.filled_quantity, coalesce(t.quantity, 0),
       e.filled_quantity - coalesce(t.quantity, 0), e.last_event_time
  FROM execution.order_event_summary e
  LEFT JOIN (SELECT x.order_id, sum(x.quantity) AS quantity
               FROM execution.TradesTS x GROUP BY x.order_id) t ON t.order_id = e.order_id
 WHERE e.filled_quantity IS NOT NULL
   AND abs(e.filled_quantity - coalesce(t.quantity, 0)) > coalesce(tolerance, 0)
 ORDER BY e.order_id
$fn$;

CREATE VIEW execution.orphan_trades AS
SELECT t.trade_id, t.order_id, t.trade_time, t.account_uid, t.asset, t.side, t.quantity,
       t.price, t.kafka_topic, t.kafka_partition, t.kafka_offset
  FROM execution.TradesTS t
 WHERE NOT EXISTS (SELECT 1 FROM execution.OrdersTS o WHERE o.order_id = t.order_id);

CREATE VIEW execution.orphan_order_events AS
SELECT e.order_id, e.status, e.event_count, e.first_event_time, e.last_event_time
  FROM execution.order_event_summary e
 WHERE NOT EXISTS (SELECT 1 FROM execution.OrdersTS o WHERE o.order_id = e.order_id);

-- Orders (known or not) whose status is not terminal and whose last activity --
-- their latest event, or their order_time if they have no events -- is more than
-- older_than before as_of. stuck_for is as_of - since. The state is the current
-- one (every recorded event counts); as_of is only the clock it is measured by.
CREATE FUNCTION execution.stuck_orders(older_than interval DEFAULT '1 hour',
                                       as_of timestamptz DEFAULT now())
RETURNS TABLE (order_id text, status text, since timestamptz, stuck_for interval,
               account_uid text, asset text, order_manager_uid text, filled_quantity numeric,
               remaining_quantity numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
SELECT s.order_id, s.status, coalesce(s.last_event_time, s.order_time),
       as_of - coalesce(s.last_event_time, s.order_time), s.account_uid, s.asset,
       s.order_manager_uid, s.filled_quantity, s.remaining_quantity
  FROM execution.order_state s
 WHERE NOT s.is_terminal
   AND coalesce(s.last_event_time, s.order_time) < as_of - older_than
 ORDER BY coalesce(s.last_event_time, s.order_time), s.order_id
$fn$;

-- Manager intents no recorded order names (OrdersTS.order_manager_uid), whatever
-- their status: a manager that was meant to trade and did not, or orders that do
-- not carry the manager's unique_identifier.
CREATE VIEW execution.idle_managers AS
SELECT m.unique_identifier, m.status, m.strategy, m.target_account_uid, m.target_time,
       m.created_at
  FROM execution.OrderManager m
 WHERE NOT EXISTS (SELECT 1 FROM execution.OrdersTS o
                    WHERE o.order_manager_uid = m.unique_identifier);
