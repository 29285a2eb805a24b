"""The OpenAI Agents SDK adapter against the real openai-agents package, offline.

The model is a ``Model`` subclass answering from a script (as the SDK's own models do, it
opens a generation span); no API key is set and every socket connection fails.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

agents = pytest.importorskip("agents")

from agents import (  # noqa: E402
    Agent,
    GuardrailFunctionOutput,
    ModelResponse,
    RunConfig,
    Runner,
    Usage,
    custom_span,
    function_tool,
    generation_span,
    handoff,
    input_guardrail,
    response_span,
)
from agents.models.interface import Model, ModelTracing  # noqa: E402
from agents.tracing import get_trace_provider, set_tracing_disabled  # noqa: E402
from agents.tracing import processors as sdk_processors  # noqa: E402
from agents.tracing import setup as sdk_setup  # noqa: E402
from agents.tracing.provider import DefaultTraceProvider  # noqa: E402
from openai.types.responses import (  # noqa: E402
    Response,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from pytest_tracediff import Trace, assert_steps  # noqa: E402
from pytest_tracediff.errors import CaptureError, UnknownTraceError  # noqa: E402
from pytest_tracediff.model import StepStatus, Tokens  # noqa: E402
from pytest_tracediff.sources.adapters.openai_agents import ADAPTER, AgentsRun  # noqa: E402
from pytest_tracediff.sources.capture import TraceCapture  # noqa: E402

SECRET = "sk-proj-Q9x8W7v6U5t4S3r2Q1p0O9n8M7l6K5j4"


class RefundRefused(Exception):
    """The payment service said no."""


@dataclass(frozen=True)
class Script:
    """What the scripted model and the tools do; each test changes one thing."""

    amount: float = 25.0
    extra_lookup: bool = False
    final_text: str = "Your refund of 25.00 is on its way."
    refund_failures: int = 0  # issue_refund raises this many times
    retry_refund: bool = False  # the model calls issue_refund again after it failed
    delay: float = 0.0  # seconds the lookup tool sleeps
    handled: bool = True  # False: issue_refund has no failure handler, its error ends the run


class ScriptedModel(Model):
    """A model that plays its agent's part of the refund conversation."""

    def __init__(self, agent: str, script: Script) -> None:
        self.agent = agent
        self.script = script

    async def get_response(
        self,
        system_instructions: str | None,
        input: Any,
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        with generation_span(model="gpt-4o-mini", disabled=tracing.is_disabled()) as span:
            output = self._decide(items)
            if tracing.include_data():
                span.span_data.input = [{"role": "system", "content": system_instructions}, *items]
                span.span_data.output = [item.model_dump() for item in output]
            prompt_tokens = sum(len(json.dumps(item, default=str)) for item in items) // 4
            span.span_data.usage = {"input_tokens": prompt_tokens, "output_tokens": 12}
        usage = Usage(requests=1, input_tokens=prompt_tokens, output_tokens=12, total_tokens=prompt_tokens + 12)
        return ModelResponse(output=output, usage=usage, response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the tests run Runner.run_sync only")

    def _decide(self, items: list[Any]) -> list[Any]:
        text = str(items[0]["content"])
        calls = [i for i in items if _get(i, "type") == "function_call"]
        outputs = [str(_get(i, "output")) for i in items if _get(i, "type") == "function_call_output"]
        if self.agent == "triage":
            if not any(_get(c, "name") == "lookup_order" for c in calls):
                looked_up = [_call("lookup_order", {"order_id": "A-1001"}, 1)]
                if self.script.extra_lookup:
                    looked_up.append(_call("lookup_order", {"order_id": "A-1002"}, 2))
                return looked_up
            if "refund" in text:  # the branch: refunds go to the refunds agent
                return [_call("transfer_to_refunds", {}, 3)]
            return [_message("Order A-1001 has shipped.")]
        refunds = [c for c in calls if _get(c, "name") == "issue_refund"]
        failed = outputs and outputs[-1].startswith("An error occurred")
        if not refunds or (failed and self.script.retry_refund and len(refunds) < 3):
            note = text.rsplit("key ", maxsplit=1)[-1] if "key " in text else ""
            args = {"order_id": "A-1001", "amount": self.script.amount, "note": note}
            return [_call("issue_refund", args, 10 + len(refunds))]
        return [_message("The refund failed." if failed else self.script.final_text)]


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def _call(name: str, args: dict[str, Any], n: int) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        type="function_call", call_id=f"call_{n}", name=name, arguments=json.dumps(args), id=f"fc_{n}"
    )


def _message(text: str) -> ResponseOutputMessage:
    content: list[Any] = [ResponseOutputText(type="output_text", text=text, annotations=[])]
    return ResponseOutputMessage(type="message", id="msg_1", role="assistant", status="completed", content=content)


def build_triage(script: Script) -> Agent[Any]:
    """triage (lookup_order, input guardrail) -> handoff -> refunds (issue_refund)."""
    failures = [script.refund_failures]

    @function_tool
    async def lookup_order(order_id: str) -> dict[str, Any]:
        """Find an order."""
        with custom_span("orders_db", {"table": "orders"}):
            await asyncio.sleep(script.delay)
        return {"order_id": order_id, "status": "delivered", "total": 25.0}

    @function_tool(failure_error_function=None) if not script.handled else function_tool
    def issue_refund(order_id: str, amount: float, note: str) -> str:
        """Refund an order."""
        if failures[0] > 0:
            failures[0] -= 1
            raise RefundRefused(f"payment service refused {amount:.2f} for {order_id}")
        return f"refunded {amount:.2f}"

    @input_guardrail
    def on_topic(ctx: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info={"on_topic": True}, tripwire_triggered=False)

    refunds = Agent(
        name="refunds", instructions="Issue refunds.", tools=[issue_refund], model=ScriptedModel("refunds", script)
    )
    return Agent(
        name="triage",
        instructions="Route customer requests.",
        tools=[lookup_order],
        handoffs=[handoff(refunds)],
        input_guardrails=[on_topic],
        model=ScriptedModel("triage", script),
    )


PROMPT = "Please refund order A-1001."


def run(script: Script = Script(), prompt: str = PROMPT, **config: Any) -> Trace:
    with TraceCapture(["openai-agents"]) as cap:
        Runner.run_sync(build_triage(script), prompt, run_config=RunConfig(workflow_name="refund flow", **config))
    return cap.trace


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """No key, no sockets, and a record of anything handed to the OpenAI exporter."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_AGENTS_DISABLE_TRACING", raising=False)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network is off in these tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    exported: list[Any] = []
    monkeypatch.setattr(sdk_processors.BackendSpanExporter, "export", lambda self, items: exported.extend(items))
    # A provider like the SDK's default one (with its OpenAI exporter), restored after the test.
    provider = DefaultTraceProvider()
    provider.register_processor(sdk_processors.BatchTraceProcessor(sdk_processors.BackendSpanExporter()))
    monkeypatch.setattr(sdk_setup, "GLOBAL_TRACE_PROVIDER", provider)
    yield exported
    provider.force_flush()
    assert exported == [], "a span reached the OpenAI exporter"


def by_path(trace: Trace) -> dict[str, Any]:
    return {f"{s.path}[{s.loop_index}]#{s.attempt}": s for s in trace.steps}


# -- conversion --------------------------------------------------------------------


def test_the_run_becomes_one_tree_under_the_workflow_name() -> None:
    trace = run()
    assert trace.source == "openai-agents"
    assert trace.status == "completed"
    assert [(s.path, s.loop_index) for s in trace.steps if s.step_id != "on_topic"] == [
        ("refund flow", None),
        ("refund flow/triage", None),
        ("refund flow/triage/generation", 1),
        ("refund flow/triage/lookup_order", 1),
        ("refund flow/triage/lookup_order/orders_db", None),
        ("refund flow/triage/generation", 2),
        ("refund flow/triage/handoff", 2),
        ("refund flow/refunds", None),
        ("refund flow/refunds/generation", 3),
        ("refund flow/refunds/issue_refund", 3),
        ("refund flow/refunds/generation", 4),
    ]
    steps = by_path(trace)
    guardrail = steps["refund flow/triage/on_topic[1]#1"]
    assert guardrail.attributes == {"type": "guardrail", "triggered": False}
    lookup = steps["refund flow/triage/lookup_order[1]#1"]
    assert lookup.input == {"order_id": "A-1001"}
    assert lookup.output == {"order_id": "A-1001", "status": "delivered", "total": 25.0}
    assert steps["refund flow/triage/handoff[2]#1"].attributes == {"from_agent": "triage", "to_agent": "refunds"}
    llm = steps["refund flow/refunds/generation[3]#1"]
    assert llm.model == "gpt-4o-mini"
    assert llm.tokens is not None
    assert llm.tokens.completion == 12
    assert steps["refund flow/triage[None]#1"].attributes["tools"] == ["lookup_order"]
    assert steps["refund flow/refunds/generation[4]#1"].output[0]["content"][0]["text"] == Script().final_text


def test_each_message_is_written_once_not_once_per_turn() -> None:
    steps = by_path(run())
    second = steps["refund flow/triage/generation[2]#1"].input
    assert second["history"] == 2  # system + user message of turn 1
    assert [item["type"] for item in second["new"]] == ["function_call", "function_call_output"]
    assert "call_id" not in second["new"][0]
    assert "id" not in second["new"][0]


def test_a_failing_tool_keeps_its_exception_class_and_message() -> None:
    trace = run(Script(refund_failures=1))
    refund = by_path(trace)["refund flow/refunds/issue_refund[3]#1"]
    assert refund.status is StepStatus.FAILED
    assert refund.failure_class == "RefundRefused"
    assert refund.error == "payment service refused 25.00 for A-1001"
    assert refund.attributes["span_error"] == "Error running tool (non-fatal)"
    assert refund.output == "An error occurred while running the tool. Please try again."  # what the model got
    assert trace.status == "completed"  # the SDK handled it: the run went on


def test_an_unhandled_tool_error_fails_the_run_and_is_still_collected() -> None:
    with (
        pytest.raises(agents.UserError, match="Error running tool issue_refund"),
        TraceCapture(["openai-agents"]) as cap,
    ):
        Runner.run_sync(build_triage(Script(refund_failures=1, handled=False)), PROMPT)
    trace = cap.trace
    refund = by_path(trace)["Agent workflow/refunds/issue_refund[3]#1"]
    assert (refund.failure_class, refund.error) == ("RefundRefused", "payment service refused 25.00 for A-1001")
    assert refund.attributes["span_error"] == "Error running tool"
    assert trace.status == "failed"


class ResponsesModel(ScriptedModel):
    """The same script through a response span, as the SDK's Responses API model records it."""

    async def get_response(self, system_instructions: str | None, input: Any, *args: Any, **kwargs: Any) -> Any:
        tracing: ModelTracing = kwargs["tracing"]
        items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
        with response_span(disabled=tracing.is_disabled()) as span:
            output = self._decide(items)
            span.span_data.usage = {"requests": 1, "input_tokens": 40, "output_tokens": 12, "total_tokens": 52}
            if tracing.include_data():
                span.span_data.response = Response.model_construct(id="resp_1", model="gpt-4.1", output=output)
                span.span_data.input = input
        usage = Usage(requests=1, input_tokens=40, output_tokens=12, total_tokens=52)
        return ModelResponse(output=output, usage=usage, response_id="resp_1")


def test_response_spans_give_model_and_usage() -> None:
    triage = build_triage(Script())
    triage.model = ResponsesModel("triage", Script())
    with TraceCapture(["openai-agents"]) as cap:
        Runner.run_sync(triage, "Where is order A-1001?")
    first, second = (s for s in cap.trace.steps if s.step_id == "response")
    assert (first.model, first.tokens) == ("gpt-4.1", Tokens(prompt=40, completion=12, total=52))
    assert first.input == [{"content": "Where is order A-1001?", "role": "user"}]
    assert second.output[0]["content"][0]["text"] == "Order A-1001 has shipped."
    assert "id" not in second.output[0]
    assert "usage" not in first.attributes  # the requests count is left out


def test_concurrent_tool_calls_are_one_unordered_group() -> None:
    trace = run(Script(extra_lookup=True))
    lookups = [s for s in trace.steps if s.step_id == "lookup_order"]
    assert [s.input for s in lookups if s.level is not None] == [{"order_id": "A-1001"}, {"order_id": "A-1002"}]
    assert {json.dumps(s.input) for s in trace.normalized().steps if s.step_id == "lookup_order"} == {
        '{"order_id": "A-1001"}',
        '{"order_id": "A-1002"}',
    }


# -- goldens and diffs -------------------------------------------------------------


def test_golden(trace_snapshot: Any) -> None:
    assert run() == trace_snapshot


def test_twenty_runs_give_byte_identical_goldens() -> None:
    texts = {run().normalized().to_json() for _ in range(20)}
    assert len(texts) == 1


def test_a_timing_only_change_passes() -> None:
    assert run(Script(delay=0.05)) == run()


def _entries(script: Script) -> list[tuple[str, str, str]]:
    diff = run().normalized().diff(run(script).normalized())
    return [(e.kind, str(e.step), e.path) for e in diff]


def test_a_changed_tool_argument_is_reported_on_the_tool_step() -> None:
    diff = run().normalized().diff(run(Script(amount=30.0)).normalized())
    entry = next(e for e in diff if e.step is not None and e.step.step_id == "issue_refund")
    assert (entry.kind, entry.path, entry.expected, entry.actual) == ("input_changed", "input.amount", 25.0, 30.0)
    assert entry.step is not None
    assert entry.step.loop_index == 3


def test_an_extra_tool_call_is_one_added_step() -> None:
    diff = run().normalized().diff(run(Script(extra_lookup=True)).normalized())
    added = [e for e in diff if e.kind == "step_added"]
    assert [(e.step.step_id, e.step.loop_index) for e in added if e.step] == [("lookup_order", 1), ("orders_db", None)]
    assert added[0].actual["output"]["order_id"] == "A-1002"


def test_a_changed_model_output_is_reported_on_the_model_step() -> None:
    diff = run().normalized().diff(run(Script(final_text="No refund today.")).normalized())
    assert [(e.kind, e.step.step_id, e.step.loop_index) for e in diff if e.step] == [
        ("output_changed", "generation", 4)
    ]
    assert diff[0].actual == "No refund today."


def test_a_raising_tool_is_reported_with_its_class() -> None:
    diff = run().normalized().diff(run(Script(refund_failures=1)).normalized())
    refund = [e for e in diff if e.step is not None and e.step.step_id == "issue_refund"]
    assert {e.kind for e in refund} >= {"status_changed", "error_changed"}
    status = next(e for e in refund if e.kind == "status_changed")
    assert (status.expected, status.actual) == ("completed", "failed")
    error = next(e for e in refund if e.kind == "error_changed")
    assert "RefundRefused" in json.dumps(error.actual)


def test_a_retried_tool_is_reported_as_a_failure_and_a_new_call() -> None:
    diff = run().normalized().diff(run(Script(refund_failures=1, retry_refund=True)).normalized())
    refund = [(e.kind, e.step.loop_index) for e in diff if e.step is not None and e.step.step_id == "issue_refund"]
    assert ("status_changed", 3) in refund
    assert ("step_added", 4) in refund


def test_an_api_key_in_the_prompt_never_reaches_a_golden() -> None:
    trace = run(prompt=f"Please refund order A-1001, key {SECRET}")
    refund = by_path(trace)["refund flow/refunds/issue_refund[3]#1"]
    assert refund.input["note"] == SECRET  # the key did reach the tool...
    golden = trace.normalized().to_json()
    assert SECRET not in golden
    assert SECRET[3:] not in golden
    assert "<redacted:openai-key>" in golden


# -- capture: nothing exported, everything restored ----------------------------------


def test_no_exporter_is_active_inside_the_block(offline: list[Any]) -> None:
    outer = sdk_setup.GLOBAL_TRACE_PROVIDER
    with TraceCapture(["openai-agents"]) as cap:
        inside = get_trace_provider()
        assert inside is not outer
        processors = inside._multi_processor._processors  # type: ignore[attr-defined]
        assert len(processors) == 1
        assert not isinstance(processors[0], sdk_processors.BatchTraceProcessor)
        Runner.run_sync(build_triage(Script()), PROMPT)
    assert cap.trace.steps[0].step_id == "Agent workflow"


def _state() -> tuple[Any, tuple[Any, ...], Any]:
    provider = sdk_setup.GLOBAL_TRACE_PROVIDER
    processors = provider._multi_processor._processors if provider is not None else ()  # type: ignore[attr-defined]
    return provider, processors, getattr(provider, "_disabled", None)


@pytest.mark.parametrize("raises", [False, True], ids=["ok", "block-raises"])
def test_the_provider_and_its_processors_are_restored_exactly(raises: bool) -> None:
    before = _state()
    with pytest.raises(RuntimeError) if raises else _nothing(), TraceCapture(["openai-agents"]):
        Runner.run_sync(build_triage(Script()), PROMPT)
        if raises:
            raise RuntimeError("test failure inside the block")
    after = _state()
    assert after[0] is before[0]
    assert len(after[1]) == len(before[1])
    assert all(a is b for a, b in zip(after[1], before[1], strict=True))
    assert after[2] == before[2]
    assert agents.tool.maybe_invoke_function_tool_failure_error_function.__name__ == (
        "maybe_invoke_function_tool_failure_error_function"
    )
    assert not hasattr(agents.tool.maybe_invoke_function_tool_failure_error_function, "__wrapped__")


def test_no_provider_before_means_none_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_setup, "GLOBAL_TRACE_PROVIDER", None)
    run()
    assert sdk_setup.GLOBAL_TRACE_PROVIDER is None  # the default exporter was never even created


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_disabling_environment_variable_is_overridden_in_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    sdk_setup.GLOBAL_TRACE_PROVIDER.set_disabled(True)  # type: ignore[union-attr]
    assert len(run().steps) > 5
    assert sdk_setup.GLOBAL_TRACE_PROVIDER._disabled is True  # type: ignore[union-attr]


def test_a_run_with_tracing_disabled_says_so() -> None:
    with TraceCapture(["openai-agents"]) as cap:
        Runner.run_sync(build_triage(Script()), PROMPT, run_config=RunConfig(tracing_disabled=True))
    with pytest.raises(CaptureError, match=r"RunConfig\(tracing_disabled=True\)"):
        _ = cap.trace


def test_disabling_tracing_inside_the_block_says_so() -> None:
    with TraceCapture(["openai-agents"]) as cap:
        set_tracing_disabled(True)
        Runner.run_sync(build_triage(Script()), PROMPT)
    with pytest.raises(CaptureError, match=r"set_tracing_disabled\(True\) was called inside the block"):
        _ = cap.trace


def test_a_run_result_is_refused_with_the_fix() -> None:
    result = Runner.run_sync(build_triage(Script()), PROMPT, run_config=RunConfig(tracing_disabled=True))
    assert ADAPTER.detect(result)
    with pytest.raises(UnknownTraceError, match=r'trace_capture\("openai-agents"\)'):
        Trace.from_any(result)


def test_collected_runs_convert_through_from_any() -> None:
    with TraceCapture(["openai-agents"]) as cap:
        Runner.run_sync(build_triage(Script()), PROMPT, run_config=RunConfig(workflow_name="refund flow"))
    (raw,) = cap.raw
    assert isinstance(raw, AgentsRun)
    assert Trace.from_any(raw) == cap.trace
    assert_steps(cap.trace, ["refund flow", "triage", "refunds"], mode="superset")
