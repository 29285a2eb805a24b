"""Golden-trace tests for a pydantic-ai agent, the way a user writes them.

The agent below is ordinary pydantic-ai code: it does not call ``Agent.instrument_all()``
and knows nothing about pytest-tracediff. ``trace_capture("pydantic-ai")`` instruments
every agent for the block (against a test-scoped, in-memory tracer provider) and
``assert cap.trace == trace_snapshot`` compares the run with its committed golden (create
or refresh goldens with ``pytest --trace-snapshot-update`` and review them in git).

The model is a ``FunctionModel``: an offline, scripted stand-in that calls the refund
tool for refund questions and the order lookup otherwise, so the tests need no API key.
The golden holds one step per model call (input and output messages, model, tokens) and
per tool call (arguments as input, return value as output); a tool that raised
``ModelRetry`` is a failed attempt followed by the model's retry. The whole history on
the run's span, the tool definitions and logfire's bookkeeping are left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", minversion="2.68")  # flujo pulls a 1.x into its env

from pydantic_ai import Agent, ModelRetry
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from pytest_tracediff import assert_no_failures, assert_retries, assert_steps


@pytest.fixture(autouse=True)
def event_loop_closed_after_the_test() -> Iterator[None]:
    """``run_sync`` runs on the thread's current loop and leaves it open; give it one to close."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


def support_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Refund questions go to ``refund``, others to ``lookup_order``; then it answers."""
    question = str(getattr(messages[0].parts[0], "content", ""))
    returns = [p for m in messages for p in m.parts if p.part_kind == "tool-return"]
    answered = [r for r in returns if r.outcome == "success"]
    if answered:
        return ModelResponse(parts=[TextPart(f"Done: {answered[-1].content}")])
    if "refund" in question:
        # The first try forgets the currency; the tool asks for it with ModelRetry.
        args: dict[str, Any] = {"order_id": "A-1001", "amount": 25}
        if returns:
            args["currency"] = "EUR"
        return ModelResponse(parts=[ToolCallPart("refund", args)])
    return ModelResponse(parts=[ToolCallPart("lookup_order", {"order_id": "A-1001"})])


agent = Agent(FunctionModel(support_model, model_name="support-model"), name="support", instructions="Be brief.")


@agent.tool_plain
def lookup_order(order_id: str) -> dict[str, Any]:
    """The order's status."""
    return {"order_id": order_id, "status": "shipped"}


@agent.tool_plain
def refund(order_id: str, amount: float, currency: str | None = None) -> str:
    """Refund part of an order."""
    if currency is None:
        raise ModelRetry("say which currency the amount is in")
    return f"refunded {amount} {currency} on {order_id}"


def test_order_status(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("pydantic-ai") as cap:
        result = agent.run_sync("Where is my order A-1001?")
    assert result.output == "Done: {'order_id': 'A-1001', 'status': 'shipped'}"
    assert_no_failures(cap.trace)
    assert_steps(
        cap.trace,
        ["invoke_agent support", "chat support-model", "execute_tool lookup_order", "chat support-model"],
    )
    assert cap.trace == trace_snapshot


def test_refund_after_a_model_retry(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("pydantic-ai") as cap:
        agent.run_sync("I want a refund of 25 on order A-1001")
    # The call without a currency failed with the tool's ModelRetry; the model's next call is attempt 2.
    assert_retries(cap.trace, "execute_tool refund", 1)
    assert cap.trace == trace_snapshot
