"""Golden-trace tests for a stroma pipeline, the way a user writes them.

The pipeline below is ordinary stroma code: nothing in it knows about pytest-tracediff.
``trace_capture("stroma")`` records every ``runner.run(...)`` inside the block, and
``assert cap.trace == trace_snapshot`` compares the run with its committed golden
(create or refresh goldens with ``pytest --trace-snapshot-update`` and review them in git).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

stroma = pytest.importorskip("stroma")

from pydantic import BaseModel  # noqa: E402
from stroma import FailureClass, FailurePolicy, StromaRunner, parallel  # noqa: E402


class Ticket(BaseModel):
    text: str
    category: str = ""
    customer_tier: str = ""
    articles: list[str] = []
    reply: str = ""


def build_support_pipeline(llm_timeouts: int = 0) -> tuple[StromaRunner, list[Any]]:
    """classify -> parallel(lookup_customer, search_articles) -> draft_reply."""
    # stroma retries a RECOVERABLE failure (a TimeoutError) up to 3 attempts, sleeping a
    # random backoff in between: keep the attempts, drop the sleeps, so the test is fast
    # and the trace is the same in every run.
    no_backoff = {
        FailureClass.RECOVERABLE: FailurePolicy(max_retries=3, backoff_seconds=0),
        FailureClass.AMBIGUOUS: FailurePolicy(max_retries=1, backoff_seconds=0),
        FailureClass.TERMINAL: FailurePolicy(max_retries=0, backoff_seconds=0),
    }
    runner = StromaRunner.quick(policy_map=no_backoff)
    calls = {"draft_reply": 0}

    @runner.node("classify", input=Ticket, output=Ticket)
    async def classify(ticket: Ticket) -> dict[str, Any]:
        category = "billing" if "invoice" in ticket.text.lower() else "general"
        return {**ticket.model_dump(), "category": category}

    # parallel() merges the members' output dicts, last write wins: each member returns
    # the fields it sets plus the ones it passes through, never the whole state (the
    # golden would show it if search_articles overwrote customer_tier with "").
    @runner.node("lookup_customer", input=Ticket, output=Ticket)
    async def lookup_customer(ticket: Ticket) -> dict[str, Any]:
        return {"text": ticket.text, "category": ticket.category, "customer_tier": "gold"}

    @runner.node("search_articles", input=Ticket, output=Ticket)
    async def search_articles(ticket: Ticket) -> dict[str, Any]:
        articles = [f"kb/{ticket.category}/refunds", f"kb/{ticket.category}/faq"]
        return {"text": ticket.text, "category": ticket.category, "articles": articles}

    @runner.node("draft_reply", input=Ticket, output=Ticket)
    async def draft_reply(ticket: Ticket) -> tuple[dict[str, Any], int, int, str]:
        calls["draft_reply"] += 1
        if calls["draft_reply"] <= llm_timeouts:
            raise TimeoutError("LLM did not answer in time")
        reply = f"[{ticket.customer_tier}] See {', '.join(ticket.articles)}"
        # A stroma node may return (output, input_tokens, output_tokens, model) for cost tracking.
        return {**ticket.model_dump(), "reply": reply}, 420, 80, "gpt-4o-mini"

    return runner, [classify, parallel(lookup_customer, search_articles), draft_reply]


def run(llm_timeouts: int = 0) -> Any:
    runner, nodes = build_support_pipeline(llm_timeouts)
    return asyncio.run(runner.run(nodes, Ticket(text="Where is my invoice refund?")))


def test_support_reply(trace_capture: Any, trace_snapshot: Any) -> None:
    with trace_capture("stroma") as cap:
        result = run()
    assert result.status == "COMPLETED"
    assert result.final_state.reply == "[gold] See kb/billing/refunds, kb/billing/faq"
    # Every step, its input and output state, the run status and its token/cost totals
    # are in the golden; run ids, timestamps and durations are not.
    assert cap.trace == trace_snapshot


def test_support_reply_survives_one_llm_timeout(trace_capture: Any, trace_snapshot: Any) -> None:
    with trace_capture("stroma") as cap:
        run(llm_timeouts=1)
    trace = cap.trace
    # The failed attempt is a step of its own: draft_reply attempt 1 failed, attempt 2 completed.
    assert [(s.step_id, s.attempt, s.status.value) for s in trace.steps][-2:] == [
        ("draft_reply", 1, "failed"),
        ("draft_reply", 2, "completed"),
    ]
    assert trace == trace_snapshot
