"""Golden-trace tests for an OpenAI Agents SDK agent, the way a user writes them.

The agent below is ordinary Agents SDK code: it calls ``Runner.run_sync`` and knows nothing
about pytest-tracediff. ``trace_capture("openai-agents")`` records the SDK's own trace of
every run in the block on a test-scoped trace provider (nothing is exported to OpenAI),
and ``assert cap.trace == trace_snapshot`` compares the run with its committed golden
(create or refresh goldens with ``pytest --trace-snapshot-update`` and review them in git).

The model is a stand-in that answers from a script, so the example runs offline; in your
tests use your own fake model, or a recorded one. The golden holds the agent, each model
call numbered by turn (``generation[2]``), each tool call with its arguments and result,
and a failing tool's exception class and message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, ModelResponse, RunConfig, Runner, Usage, function_tool, generation_span
from agents.models.interface import Model, ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from pytest_tracediff import assert_no_failures


class CarrierDown(Exception):
    pass


def make_agent(model: Model, *, carrier_up: bool = True) -> Agent[Any]:
    @function_tool
    def track_parcel(order_id: str) -> dict[str, str]:
        """Where the parcel of an order is."""
        if not carrier_up:
            raise CarrierDown("carrier API answered 503")
        return {"order_id": order_id, "status": "out for delivery"}

    return Agent(name="tracker", instructions="Answer delivery questions.", tools=[track_parcel], model=model)


class ScriptedModel(Model):
    """Calls track_parcel once, then answers from what it returned."""

    async def get_response(  # type: ignore[override]  # the example takes only what it reads
        self, system_instructions: str | None, input: Any, *args: Any, tracing: ModelTracing, **kwargs: Any
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        results = [item["output"] for item in items if item.get("type") == "function_call_output"]
        with generation_span(model="gpt-4o-mini") as span:
            if not results:
                arguments = json.dumps({"order_id": "A-1001"})
                output: list[Any] = [
                    ResponseFunctionToolCall(
                        type="function_call", call_id="c1", name="track_parcel", arguments=arguments
                    )
                ]
            else:
                text = "It is out for delivery." if "delivery" in results[-1] else "Tracking is down, sorry."
                content: list[Any] = [ResponseOutputText(type="output_text", text=text, annotations=[])]
                output = [
                    ResponseOutputMessage(
                        type="message", id="m1", role="assistant", status="completed", content=content
                    )
                ]
            span.span_data.input = items
            span.span_data.output = [item.model_dump() for item in output]
            span.span_data.usage = {"input_tokens": 20 * len(items), "output_tokens": 8}
        return ModelResponse(output=output, usage=Usage(requests=1), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_where_is_my_parcel(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("openai-agents") as cap:
        Runner.run_sync(
            make_agent(ScriptedModel()), "Where is order A-1001?", run_config=RunConfig(workflow_name="parcel")
        )
    assert_no_failures(cap.trace)
    assert cap.trace == trace_snapshot


def test_where_is_my_parcel_when_the_carrier_is_down(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("openai-agents") as cap:
        agent = make_agent(ScriptedModel(), carrier_up=False)
        Runner.run_sync(agent, "Where is order A-1001?", run_config=RunConfig(workflow_name="parcel"))
    tool = next(step for step in cap.trace.steps if step.step_id == "track_parcel")
    assert (tool.failure_class, tool.error) == ("CarrierDown", "carrier API answered 503")
    assert cap.trace == trace_snapshot
