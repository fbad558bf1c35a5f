#!/usr/bin/env bash
# The SQL layer on the demo data: the common answers, each one SELECT away
# (docs/queries.md describes every view and function). Meant to run at the end of
# deploy/demo.sh, after the sample stream of tests/data/sample is loaded, with the
# PG* environment set and $bin the execrec binary; it can be sourced or run:
#
#   bin=build/release/execrec bash deploy/demo_queries.sh
#
# The sample is one trading afternoon, 2026-11-03 (UTC): the windowed functions
# below use that day.
bin=${bin:-${EXECREC_BIN:-execrec}}

dq_section() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
dq() { psql -X -q -P pager=off -c "SET TimeZone = 'UTC'" -c "$1"; }

dq_section "open orders: latest status by event time, not arrival (execution.open_orders)"
dq "SELECT order_id, account_uid, asset, side, quantity, status, filled_quantity,
          remaining_quantity, last_event_time
     FROM execution.open_orders ORDER BY order_id"

dq_section "every order's state (execution.order_state): ORD-5's events arrived out of order"
dq "SELECT order_id, status, is_terminal, filled_quantity, remaining_quantity,
          unfilled_quantity, reject_code, event_count
     FROM execution.order_state ORDER BY order_id"

dq_section "fills per order with VWAP, fees and time to fill (execution.order_fills)"
dq "SELECT order_id, side, fill_count, filled_quantity, vwap, fees, other_fees,
          time_to_first_fill, time_to_complete_fill
     FROM execution.order_fills ORDER BY order_id"

dq_section "positions by average cost, fees included (execution.positions)"
dq "SELECT * FROM execution.positions ORDER BY account_uid, asset"

dq_section "slippage (bps, + = cost) and time to fill per strategy (execution.fill_stats)"
dq "SELECT group_key AS strategy, orders, filled_orders, notional, fees, slippage_bps,
          slippage_bps_p50, first_fill_s_mean, first_fill_s_p95, complete_fill_s_p50
     FROM execution.fill_stats('2026-11-03Z', '2026-11-04Z', 'strategy')"

dq_section "per order manager (execution.manager_summary)"
dq "SELECT order_manager_uid, strategy, manager_status, orders, open_orders,
          filled_orders, canceled_orders, rejected_orders, fill_count, notional, fees
     FROM execution.manager_summary ORDER BY order_manager_uid"

dq_section "volume per minute and asset (execution.trade_buckets, the date_bin pattern)"
dq "SELECT * FROM execution.trade_buckets('1 minute', '2026-11-03Z', '2026-11-04Z')"

dq_section "completeness: newest event time per source (execution.ingest_watermarks)"
dq "SELECT * FROM execution.ingest_watermarks ORDER BY kind, source"

dq_section "execrec reconcile (exit 1: there are findings; 3 would be an error)"
"$bin" reconcile --stuck-after '1 hour' || echo "(exit status $?)"

dq_section "execrec partitions --dry-run --retention '13 months'"
"$bin" partitions --dry-run --retention '13 months' || echo "(exit status $?)"
