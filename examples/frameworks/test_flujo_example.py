"""Golden-trace tests for a flujo pipeline, the way a user writes them.

The pipeline below is ordinary flujo code and knows nothing about pytest-tracediff.
``trace_capture("flujo")`` makes every flujo run inside the block record a full trace
(tracing forced on, state kept in memory, so no ``flujo_ops.db`` or ``flujo.lock``
appears in your project), and ``assert cap.trace == trace_snapshot`` compares the run
with its committed golden. Create or refresh goldens with
``pytest --trace-snapshot-update`` and review them in git.

The golden holds each step's input, output, status, retries, tokens and cost; loop
iterations and parallel branches appear as child steps. The two lookups run in
parallel and finish in random order, yet the golden never changes because of it.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import pytest

flujo = pytest.importorskip("flujo")

from flujo import Flujo, Pipeline, Step  # noqa: E402

from pytest_tracediff import assert_no_failures, assert_retries, assert_steps  # noqa: E402


@dataclass
class Draft:
    """What an LLM call returns; flujo reads ``cost_usd`` and ``token_counts`` from it."""

    text: str
    cost_usd: float
    token_counts: int


def build_support_pipeline(llm_timeouts: int = 0) -> Any:
    """classify -> (customer || orders) -> draft_reply."""
    calls = {"draft": 0}

    async def classify(ticket: dict[str, Any]) -> dict[str, Any]:
        topic = "refund" if "refund" in ticket["text"].lower() else "other"
        return {**ticket, "topic": topic}

    async def customer(ticket: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(random.random() / 100)  # network jitter: finish order varies
        return {"name": "Ada", "tier": "gold"}

    async def orders(ticket: dict[str, Any]) -> list[str]:
        await asyncio.sleep(random.random() / 100)
        return ["A-17", "A-18"]

    async def draft_reply(facts: dict[str, Any]) -> Draft:
        calls["draft"] += 1
        if calls["draft"] <= llm_timeouts:
            raise TimeoutError("LLM did not answer")
        text = f"Hi {facts['customer']['name']}, your refund for {facts['orders'][0]} is on its way."
        return Draft(text=text, cost_usd=0.0042, token_counts=118)

    lookups = Step.parallel(
        "lookups",
        branches={
            "customer": Step.from_callable(customer, name="customer"),
            "orders": Pipeline.from_step(Step.from_callable(orders, name="orders")),
        },
    )
    return (
        Step.from_callable(classify, name="classify")
        >> lookups
        >> Step.from_callable(draft_reply, name="draft_reply", max_retries=2)
    )


TICKET = {"id": 981, "text": "I want a refund for my last order"}


def test_support_pipeline(trace_capture: Any, trace_snapshot: Any) -> None:
    runner = Flujo(build_support_pipeline(), pipeline_name="support")
    with trace_capture("flujo") as cap:
        result = runner.run(TICKET)

    assert result.success
    trace = cap.trace
    assert_no_failures(trace)
    # The parallel branches are child steps of "lookups".
    assert_steps(trace, ["classify", "lookups", "customer", "orders", "draft_reply"])
    assert trace == trace_snapshot


def test_support_pipeline_survives_one_llm_timeout(trace_capture: Any, trace_snapshot: Any) -> None:
    runner = Flujo(build_support_pipeline(llm_timeouts=1), pipeline_name="support")
    with trace_capture("flujo") as cap:
        runner.run(TICKET)

    trace = cap.trace
    assert_no_failures(trace)  # the retry recovered...
    assert_retries(trace, "draft_reply", 1)  # ...after exactly one failed attempt
    assert trace == trace_snapshot
