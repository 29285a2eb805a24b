"""Golden-trace tests for a dagron DAG, the way a user writes them.

The pipeline below is ordinary dagron code: it does not turn tracing on (dagron's default
is off) and knows nothing about pytest-tracediff. ``trace_capture("dagron")`` forces
tracing on for every executor run inside the block, and ``assert cap.trace ==
trace_snapshot`` compares the run with its committed golden (create or refresh goldens
with ``pytest --trace-snapshot-update`` and review them in git).

The golden holds each node's status and return value. Nodes of one execution step run
in parallel threads, but they are listed in a fixed order, so thread timing never makes
the golden differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

dagron = pytest.importorskip("dagron")

from pytest_tracediff import assert_no_failures, assert_steps  # noqa: E402

Tasks = dict[str, Callable[[], Any]]


def build_daily_report() -> Any:
    """load_orders -> (dedupe, fx_rates) -> revenue -> publish."""
    builder = dagron.DAG.builder()
    for name in ("load_orders", "dedupe", "fx_rates", "revenue", "publish"):
        builder.add_node(name)  # dagron needs the nodes before the edges
    for source, target in [
        ("load_orders", "dedupe"),
        ("load_orders", "fx_rates"),
        ("dedupe", "revenue"),
        ("fx_rates", "revenue"),
        ("revenue", "publish"),
    ]:
        builder.add_edge(source, target)
    return builder.build()


def daily_report_tasks(rates_service_down: bool = False) -> Tasks:
    # dagron tasks take no arguments: they share results through this dict.
    results: dict[str, Any] = {}

    def load_orders() -> list[dict[str, Any]]:
        results["orders"] = [
            {"id": 1, "amount": 20.0, "currency": "EUR"},
            {"id": 1, "amount": 20.0, "currency": "EUR"},
            {"id": 2, "amount": 15.0, "currency": "USD"},
        ]
        orders: list[dict[str, Any]] = results["orders"]
        return orders

    def dedupe() -> int:
        results["unique"] = list({o["id"]: o for o in results["orders"]}.values())
        return len(results["unique"])

    def fx_rates() -> dict[str, float]:
        if rates_service_down:
            raise ConnectionError("rates service unavailable")
        rates = {"EUR": 1.0, "USD": 0.5}
        results["rates"] = rates
        return rates

    def revenue() -> float:
        total: float = sum(o["amount"] * results["rates"][o["currency"]] for o in results["unique"])
        results["revenue"] = total
        return total

    def publish() -> str:
        return f"revenue={results['revenue']:.2f} EUR"

    return {
        "load_orders": load_orders,
        "dedupe": dedupe,
        "fx_rates": fx_rates,
        "revenue": revenue,
        "publish": publish,
    }


def test_daily_report(trace_capture: Any, trace_snapshot: Any) -> None:
    executor = dagron.DAGExecutor(build_daily_report())
    with trace_capture("dagron") as cap:
        result = executor.execute(daily_report_tasks())
    assert result.node_results["publish"].result == "revenue=27.50 EUR"
    assert_no_failures(cap.trace)
    assert cap.trace == trace_snapshot


def test_daily_report_when_rates_service_is_down(trace_capture: Any, trace_snapshot: Any) -> None:
    executor = dagron.DAGExecutor(build_daily_report())
    with trace_capture("dagron") as cap:
        executor.execute(daily_report_tasks(rates_service_down=True))
    trace = cap.trace
    # dagron does not retry: fx_rates fails once and, with fail_fast (the default),
    # everything downstream of it is skipped, never half-run.
    statuses = {step.step_id: step.status.value for step in trace.steps}
    assert statuses == {
        "load_orders": "completed",
        "dedupe": "completed",
        "fx_rates": "failed",
        "revenue": "skipped",
        "publish": "skipped",
    }
    assert_steps(trace, ["load_orders", "dedupe", "fx_rates", "revenue", "publish"], mode="unordered")
    assert trace == trace_snapshot
