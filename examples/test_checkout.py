"""Regression tests for the checkout pipeline, the way a user writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from checkout import FlakyGateway, GatewayTimeout, Item, run_checkout

from pytest_tracediff import (
    TraceAssertionError,
    TraceRecorder,
    TraceSnapshot,
    assert_no_failures,
    assert_retries,
    assert_steps,
)

ORDER = [Item("book", Decimal("12.50")), Item("pen", Decimal("1.20"), quantity=3)]


def test_checkout(trace_recorder: TraceRecorder, trace_snapshot: TraceSnapshot) -> None:
    run_checkout(trace_recorder, ORDER, FlakyGateway(failures=0))
    trace = trace_recorder.trace
    assert_no_failures(trace)
    assert_retries(trace, "charge_card", 0)
    assert trace == trace_snapshot


def test_checkout_survives_one_gateway_timeout(trace_recorder: TraceRecorder, trace_snapshot: TraceSnapshot) -> None:
    run_checkout(trace_recorder, ORDER, FlakyGateway(failures=1))
    trace = trace_recorder.trace
    assert_no_failures(trace)  # the retry recovered
    assert_retries(trace, "charge_card", 1)
    with pytest.raises(TraceAssertionError, match="charge_card"):
        assert_no_failures(trace, strict=True)  # ...but an attempt did fail
    assert_steps(trace, ["checkout", "price_order", "charge_card", "reserve_stock", "reserve_stock"])
    assert trace == trace_snapshot(name="one_timeout")


def test_checkout_gives_up_after_three_timeouts(trace_recorder: TraceRecorder, trace_snapshot: TraceSnapshot) -> None:
    with pytest.raises(GatewayTimeout):
        run_checkout(trace_recorder, ORDER, FlakyGateway(failures=5))
    trace = trace_recorder.trace
    assert_retries(trace, "charge_card", 2)
    with pytest.raises(TraceAssertionError, match="gateway did not answer"):
        assert_no_failures(trace)
    assert trace == trace_snapshot
