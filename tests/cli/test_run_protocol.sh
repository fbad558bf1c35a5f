#!/usr/bin/env bash
# The recorder implements the eager rebalance protocol (it rd_kafka_assign's the
# whole assignment on every rebalance, recorder.h): an incremental assignor given
# with -X is refused at start as a usage error, before anything is connected (the
# broker and PostgreSQL given here do not exist).
source "$(dirname "$0")/cli_lib.sh"
cli_scratch

nowhere=(--brokers 127.0.0.1:1 --dsn "host=127.0.0.1 port=1 connect_timeout=2")
expect_status 2 "run with cooperative-sticky" "$bin" run "${nowhere[@]}" \
    -X partition.assignment.strategy=cooperative-sticky
expect_out "partition.assignment.strategy=cooperative-sticky is not supported" \
    "the refusal names the property"
expect_out "eager rebalance protocol" "the refusal says what the recorder implements"
grep -q "cannot connect" "$out" && fail "run connected before refusing the protocol"

expect_status 2 "run with cooperative-sticky among others" "$bin" run "${nowhere[@]}" \
    -X partition.assignment.strategy=range,cooperative-sticky
expect_out "is not supported" "a list naming cooperative-sticky is refused too"

# The eager assignors still get past the check (and fail later, on PostgreSQL).
expect_status 1 "run with roundrobin" "$bin" run "${nowhere[@]}" \
    -X partition.assignment.strategy=roundrobin
expect_out "cannot connect to PostgreSQL" "roundrobin is accepted, PostgreSQL is the next step"

cli_finish
