"""The pydantic-ai adapter against real pydantic-ai agents with offline models (no mocks)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", minversion="2.68")  # flujo pulls a 1.x into its env

from opentelemetry import trace as otel_trace
from pydantic import BaseModel
from pydantic_ai import Agent, ModelRetry
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from pytest_tracediff import Trace, assert_retries, assert_steps
from pytest_tracediff.compare.entries import DiffEntry
from pytest_tracediff.errors import UnknownTraceError
from pytest_tracediff.sources.adapters.pydantic_ai import ADAPTER, AgentSpans, PydanticAIAdapter
from pytest_tracediff.sources.capture import TraceCapture

API_KEY = "sk-proj-Q7fJ2kLm9XwPz4RtYb8NcVd3HsGe6UaK"
ROOT = "invoke_agent trip_planner"
CHAT = "chat planner"
WEATHER = "execute_tool get_weather"
CURRENCY = "execute_tool convert_currency"


@pytest.fixture(scope="module", autouse=True)
def event_loop_closed_after_the_module() -> Iterator[None]:
    """``run_sync`` runs on the thread's current loop and leaves it open; give it one to close."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@dataclass
class Script:
    """What the scripted model does; each field is one behaviour change a golden must catch."""

    city: str = "Paris"
    also_convert: bool = False  # call convert_currency although the prompt did not ask
    answer: str = "Sunny and 21 °C in {city}."
    lowercase_first: bool = False  # first call with "paris": the tool raises ModelRetry
    weather_down: bool = False  # the tool raises RuntimeError
    slow_tool: bool = False  # the tool takes longer: timing only


def planner(script: Script) -> FunctionModel:
    """A model that decides which tool to call from the prompt (the conditional branch)."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = str(getattr(messages[0].parts[0], "content", ""))
        returns = [p for m in messages for p in m.parts if p.part_kind == "tool-return"]
        done = {r.tool_name for r in returns if r.outcome == "success"}
        retried = any(r.outcome == "retried" for r in returns)
        if "weather" in prompt and "get_weather" not in done:
            city = script.city.lower() if script.lowercase_first and not retried else script.city
            args: dict[str, Any] = {"city": city}
            if "sk-" in prompt:  # a careless model forwards the user's key to the tool
                args["api_key"] = prompt.rsplit(" ", 1)[-1]
            return ModelResponse(parts=[ToolCallPart("get_weather", args)])
        if ("budget" in prompt or script.also_convert) and "convert_currency" not in done:
            return ModelResponse(parts=[ToolCallPart("convert_currency", {"amount": 120, "currency": "EUR"})])
        return ModelResponse(parts=[TextPart(script.answer.format(city=script.city))])

    return FunctionModel(respond, model_name="planner")


def trip_planner(script: Script) -> Agent[None, str]:
    agent = Agent(planner(script), name="trip_planner", instructions="Plan trips.")

    @agent.tool_plain
    def get_weather(city: str, api_key: str | None = None) -> dict[str, Any]:
        """Today's weather in a city."""
        if script.weather_down:
            raise RuntimeError("weather service down")
        if city != city.title():
            raise ModelRetry(f"use the city's proper name, not {city!r}")
        if script.slow_tool:
            time.sleep(0.02)
        return {"city": city, "sky": "sunny", "celsius": 21}

    @agent.tool_plain
    def convert_currency(amount: float, currency: str) -> dict[str, Any]:
        """Convert an amount to USD."""
        return {"amount": round(amount * 1.08, 2), "currency": "USD"}

    return agent


def run(script: Script, prompt: str = "What is the weather in Paris?") -> Trace:
    with TraceCapture(["pydantic-ai"]) as cap:
        trip_planner(script).run_sync(prompt)
    return cap.trace


def summary(trace: Trace) -> list[tuple[str, int, str]]:
    return [(s.step_id, s.attempt, s.status.value) for s in trace.steps]


def entries(diff: Any) -> list[tuple[str, str | None, str]]:
    return [(e.kind, None if e.step is None else e.step.step_id, e.path) for e in diff]


# -- capture and conversion ---------------------------------------------------------


def test_weather_branch(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("pydantic-ai") as cap:
        result = trip_planner(Script()).run_sync("What is the weather in Paris?")
    assert result.output == "Sunny and 21 °C in Paris."
    trace = cap.trace
    assert trace.source == "pydantic-ai"
    assert_steps(trace, [ROOT, CHAT, WEATHER, CHAT])
    tool = trace.steps[2]
    assert tool.input == {"city": "Paris"}
    assert tool.output == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert trace.steps[1].model == "planner"
    assert trace.steps[1].tokens is not None
    assert trace.steps[1].tokens.prompt
    # The text answer is the last chat step's output, so the root does not repeat it.
    assert trace.steps[-1].output == [{"role": "assistant", "parts": [{"type": "text", "content": result.output}]}]
    assert trace.steps[0].output is None
    text = trace.normalized().to_json()
    for echo in ("pydantic_ai.all_messages", "logfire.", "gen_ai.tool.definitions", "model_request_parameters"):
        assert echo not in text
    assert "pyd_ai_" not in text  # tool-call ids
    assert trace == trace_snapshot


def test_budget_branch_calls_the_other_tool(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("pydantic-ai") as cap:
        trip_planner(Script()).run_sync("What is my budget of 120 EUR in dollars?")
    assert_steps(cap.trace, [ROOT, CHAT, CURRENCY, CHAT])
    assert cap.trace.steps[2].input == {"amount": 120, "currency": "EUR"}
    assert cap.trace.steps[2].output == {"amount": 129.6, "currency": "USD"}
    assert cap.trace == trace_snapshot


def test_model_retry_is_the_tools_next_attempt(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("pydantic-ai") as cap:
        trip_planner(Script(lowercase_first=True)).run_sync("What is the weather in Paris?")
    trace = cap.trace
    assert summary(trace) == [
        (ROOT, 1, "completed"),
        (CHAT, 1, "completed"),
        (WEATHER, 1, "failed"),
        (CHAT, 1, "completed"),
        (WEATHER, 2, "completed"),
        (CHAT, 1, "completed"),
    ]
    assert_retries(trace, WEATHER, 1)
    failed = trace.steps[2]
    assert failed.input == {"city": "paris"}
    assert failed.error == "use the city's proper name, not 'paris'"
    assert trace == trace_snapshot


class Forecast(BaseModel):
    city: str
    celsius: int


def test_output_validation_retries_are_attempts_and_the_typed_output_is_the_run_output(
    trace_capture: Callable[..., Any], trace_snapshot: Any
) -> None:
    tries = iter([30, 25, 21])

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"city": "Paris", "celsius": next(tries)})])

    agent = Agent(FunctionModel(respond, model_name="planner"), name="forecaster", output_type=Forecast, retries=3)

    @agent.output_validator
    def plausible(forecast: Forecast) -> Forecast:
        if forecast.celsius > 22:
            raise ModelRetry(f"{forecast.celsius} °C is implausible in December")
        return forecast

    with trace_capture("pydantic-ai") as cap:
        result = agent.run_sync("Forecast for Paris?")
    trace = cap.trace
    output_tool = "execute_tool final_result"
    assert [(s.step_id, s.attempt, s.status.value, s.error) for s in trace.steps if s.step_id == output_tool] == [
        (output_tool, 1, "failed", "30 °C is implausible in December"),
        (output_tool, 2, "failed", "25 °C is implausible in December"),
        (output_tool, 3, "completed", None),
    ]
    assert trace.steps[0].output == result.output.model_dump() == {"city": "Paris", "celsius": 21}
    assert trace == trace_snapshot


def test_output_retries_running_out_fail_the_last_output_call(trace_capture: Callable[..., Any]) -> None:
    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"city": "Paris", "celsius": 40})])

    agent = Agent(FunctionModel(respond, model_name="planner"), name="forecaster", output_type=Forecast)

    @agent.output_validator
    def plausible(forecast: Forecast) -> Forecast:
        raise ModelRetry("implausible")

    with pytest.raises(UnexpectedModelBehavior), trace_capture("pydantic-ai") as cap:
        agent.run_sync("Forecast for Paris?")
    calls = [(s.attempt, s.status.value, s.error) for s in cap.trace.steps if s.step_id == "execute_tool final_result"]
    assert calls == [(1, "failed", "implausible"), (2, "failed", None)]
    assert cap.trace.status == "failed"


def test_everything_captured_without_naming_a_framework_gives_the_agents_trace(
    trace_capture: Callable[..., Any],
) -> None:
    with trace_capture() as cap:
        trip_planner(Script()).run_sync("What is the weather in Paris?")
    assert "opentelemetry.sdk" in cap.frameworks
    assert cap.trace.source == "pydantic-ai"
    assert_steps(cap.trace, [ROOT, CHAT, WEATHER, CHAT])


def test_a_raising_tool_fails_the_run(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with pytest.raises(RuntimeError, match="weather service down"), trace_capture("pydantic-ai") as cap:
        trip_planner(Script(weather_down=True)).run_sync("What is the weather in Paris?")
    trace = cap.trace
    assert trace.status == "failed"
    tool = trace.steps[2]
    assert (tool.step_id, tool.status.value, tool.failure_class, tool.error) == (
        WEATHER,
        "failed",
        "RuntimeError",
        "weather service down",
    )
    assert trace == trace_snapshot


def test_goldens_are_byte_identical_over_20_runs() -> None:
    goldens = {run(Script(lowercase_first=True)).normalized().to_json() for _ in range(20)}
    assert len(goldens) == 1


def test_api_key_in_the_prompt_never_reaches_the_golden(trace_capture: Callable[..., Any]) -> None:
    with trace_capture("pydantic-ai") as cap:
        trip_planner(Script()).run_sync(f"What is the weather in Paris? My key: {API_KEY}")
    captured: AgentSpans = cap.raw[0]
    raw = json.dumps([dict(span.attributes) for span in captured.spans])
    assert API_KEY in raw  # it was in the prompt, the messages and the tool's arguments
    trace = cap.trace
    assert trace.steps[2].input["api_key"] == API_KEY
    golden = trace.normalized().to_json()
    assert API_KEY not in golden
    assert API_KEY[3:15] not in golden
    steps = json.loads(golden)["steps"]
    assert steps[2]["input"]["api_key"] == "<redacted>"  # by its key
    prompt = steps[1]["input"][-1]["parts"][0]["content"]
    assert prompt == "What is the weather in Paris? My key: <redacted:openai-key>"  # by its shape


def test_capture_restores_the_instrumentation_default() -> None:
    before = Agent._instrument_default
    capture = TraceCapture(["pydantic-ai"])
    capture.__enter__()
    assert Agent._instrument_default is not before
    capture.__exit__(RuntimeError, RuntimeError("boom"), None)  # as when the block raises
    assert Agent._instrument_default is before
    global_provider = otel_trace.get_tracer_provider()
    Agent.instrument_all(True)
    try:
        with TraceCapture(["pydantic-ai"]) as cap:
            assert otel_trace.get_tracer_provider() is global_provider  # never touched
            trip_planner(Script()).run_sync("What is the weather in Paris?")
        assert Agent._instrument_default is True
        assert len(cap.raw) == 1
    finally:
        Agent.instrument_all(before)
    # Outside the block nothing is recorded.
    with TraceCapture(["pydantic-ai"]) as empty:
        pass
    trip_planner(Script()).run_sync("What is the weather in Paris?")
    assert empty.raw == []


def test_missing_private_default_raises_a_capture_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_tracediff.errors import CaptureError

    monkeypatch.delattr(Agent, "_instrument_default")
    with pytest.raises(CaptureError, match=r"pydantic-ai \S+ has no Agent._instrument_default"):
        TraceCapture(["pydantic-ai"]).__enter__()


def test_keep_echoes_keeps_history_definitions_and_bookkeeping() -> None:
    with TraceCapture(["pydantic-ai"]) as cap:
        trip_planner(Script()).run_sync("What is the weather in Paris?")
    kept = PydanticAIAdapter(keep_echoes=True).convert(cap.raw[0])
    assert kept.steps[0].output == "Sunny and 21 °C in Paris."  # the run's output, although an echo
    root = kept.steps[0].attributes
    assert [m["role"] for m in root["pydantic_ai.all_messages"]] == ["user", "assistant", "user", "assistant"]
    assert root["logfire.msg"] == "trip_planner run"
    chat = kept.steps[1].attributes
    assert [t["name"] for t in chat["gen_ai.tool.definitions"]] == ["get_weather", "convert_currency"]
    assert "model_request_parameters" in chat
    assert summary(kept) == summary(ADAPTER.convert(cap.raw[0]))


# -- without tracing: run results and message histories --------------------------------


def test_run_result_and_messages_without_tracing() -> None:
    result = trip_planner(Script(lowercase_first=True)).run_sync("What is the weather in Paris?")
    trace = Trace.from_any(result)
    assert trace.source == "pydantic-ai"
    assert summary(trace) == [
        ("invoke_agent", 1, "completed"),
        (CHAT, 1, "completed"),
        (WEATHER, 1, "failed"),
        (CHAT, 1, "completed"),
        (WEATHER, 2, "completed"),
        (CHAT, 1, "completed"),
    ]
    assert trace.steps[2].error == "use the city's proper name, not 'paris'"
    assert trace.steps[4].output == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert trace.steps[1].input == [
        {"role": "user", "parts": [{"type": "text", "content": "What is the weather in Paris?"}]}
    ]
    history = Trace.from_any(result.all_messages())
    assert [s.step_id for s in history.steps] == [s.step_id for s in trace.steps[1:]]
    assert history.status is None
    assert Trace.from_any(result).normalized().to_json() == trace.normalized().to_json()


def test_run_result_with_test_model() -> None:
    result = trip_planner(Script()).run_sync("weather", model=TestModel(call_tools=["convert_currency"]))
    trace = Trace.from_any(result)
    assert [s.step_id for s in trace.steps] == ["invoke_agent", "chat test", CURRENCY, "chat test"]
    assert trace.steps[2].input == {"amount": 0.0, "currency": "a"}
    # The text output is the last chat step's answer: the root does not repeat it.
    assert trace.steps[-1].output == [{"role": "assistant", "parts": [{"type": "text", "content": result.output}]}]
    assert trace.steps[0].output is None


@pytest.mark.parametrize("obj", [[], [1, 2], {"kind": "request"}, AgentSpans(()), object()])
def test_detect_and_convert_of_foreign_objects(obj: object) -> None:
    if isinstance(obj, AgentSpans):
        assert ADAPTER.detect(obj)
        assert ADAPTER.convert(obj).steps == []
    else:
        assert not ADAPTER.detect(obj)
        with pytest.raises(UnknownTraceError, match="pydantic-ai"):
            ADAPTER.convert(obj)


# -- behaviour changes are reported ---------------------------------------------------


@pytest.fixture(scope="module")
def baseline() -> Trace:
    return run(Script())


def only(diff: Any, kind: str, step_id: str, path: str | None = None) -> DiffEntry:
    found = [
        e
        for e in diff
        if e.kind == kind and e.step is not None and e.step.step_id == step_id and path in (None, e.path)
    ]
    assert len(found) == 1, diff.render()
    entry: DiffEntry = found[0]
    return entry


def test_timing_only_change_passes(baseline: Trace) -> None:
    assert not baseline.diff(run(Script(slow_tool=True)))


def test_changed_tool_argument_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(run(Script(city="Lyon")))
    entry = only(diff, "input_changed", WEATHER)
    assert (entry.path, entry.expected, entry.actual) == ("input.city", "Paris", "Lyon")
    assert only(diff, "output_changed", WEATHER).path == "output.city"


def test_extra_tool_call_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(run(Script(also_convert=True)))
    entry = only(diff, "step_added", CURRENCY)
    assert entry.step is not None
    assert entry.step.parent == ROOT
    assert entry.actual["output"] == {"amount": 129.6, "currency": "USD"}


def test_changed_model_output_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(run(Script(answer="Rainy in {city}.")))
    changed = [e for e in diff if e.kind == "output_changed"]
    assert [(e.step.step_id if e.step else None, e.path, e.expected, e.actual) for e in changed] == [
        (CHAT, "output[0].parts[0].content", "Sunny and 21 °C in Paris.", "Rainy in Paris.")
    ]


def test_raising_tool_is_reported(baseline: Trace) -> None:
    with TraceCapture(["pydantic-ai"]) as cap, pytest.raises(RuntimeError):
        trip_planner(Script(weather_down=True)).run_sync("What is the weather in Paris?")
    diff = baseline.diff(cap.trace)
    entry = only(diff, "status_changed", WEATHER)
    assert (entry.expected, entry.actual) == ("completed", "failed")
    assert only(diff, "error_changed", WEATHER, "error").actual == "weather service down"
    assert only(diff, "error_changed", WEATHER, "failure_class").actual == "RuntimeError"
    assert ("status_changed", None, "status") in entries(diff)  # the run failed too


def test_retried_tool_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(run(Script(lowercase_first=True)))
    entry = only(diff, "attempts_changed", WEATHER)
    assert (entry.path, entry.expected, entry.actual) == ("attempts", 1, 2)
    assert entry.step is not None
    assert entry.step.attempt == 2
