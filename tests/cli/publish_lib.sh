# Shared by the publish tests (tests/cli/test_publish*.sh): run_lib.sh, the sample
# stream, and the field-by-field comparison of the recorded tables with it. Not a
# test itself: tests/CMakeLists.txt registers only test_*.sh.
source "$(dirname "${BASH_SOURCE[0]}")/run_lib.sh"
sample=$src/tests/data/sample

# pl_compare KIND FILE TABLE COUNT: TABLE's rows equal FILE's lines field by field
# (tests/cli/publish_check.py), COUNT lines compared.
pl_compare() {
    "$bin" decode --kind "$1" "$2" >"$work/$1.decoded" || fail "decode $2"
    q "SELECT row_to_json(t) FROM $3 t" >"$work/$1.rows"
    python3 "$src/tests/cli/publish_check.py" "$1" "$2" "$work/$1.decoded" "$work/$1.rows" >"$work/$1.check" 2>&1
    check "$?:$(tail -1 "$work/$1.check")" "0:$4 compared" "$3 equals the published $1 lines: $(head -5 "$work/$1.check")"
}

# pl_compare_sample: the four tables equal the sample stream (managers: the newest
# line of each).
pl_compare_sample() {
    pl_compare order "$sample/orders.jsonl" execution.OrdersTS 7
    pl_compare order_event "$sample/order_events.jsonl" execution.OrderEventsTS 16
    pl_compare trade "$sample/trades.jsonl" execution.TradesTS 9
    pl_compare order_manager "$sample/order_managers.jsonl" execution.OrderManager 2
}
