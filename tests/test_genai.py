"""GenAI and OpenInference semantics of the OpenTelemetry adapter, on spans made by the real SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, Tracer

from pytest_tracediff import Trace
from pytest_tracediff.model import Tokens
from pytest_tracediff.sources.adapters.otel import OtelAdapter

HISTORY = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "call_9f2", "name": "weather", "arguments": {"city": "Paris"}}],
    },
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_9f2", "name": "weather", "result": "sunny"}]},
]
ANSWER = [{"role": "assistant", "parts": [{"type": "text", "content": "It is sunny."}]}]


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def tracer_of(exporter: InMemorySpanExporter) -> Tracer:
    """A tracer of a private provider (the global one is left alone)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("tests.genai")


def agent_run(tracer: Tracer, *, final_result: str = "It is sunny.", weather_fails: bool = False) -> None:
    """An agent run as pydantic-ai 2.x instruments it: GenAI attributes, JSON text values."""
    with tracer.start_as_current_span("invoke_agent helper") as root:
        root.set_attributes(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "helper",
                "gen_ai.conversation.id": "01a235fa-2bfa-722b-92b5-e392a22b32fa",
                "logfire.msg": "helper run",
                "logfire.json_schema": '{"type": "object"}',
            }
        )
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06",
                    "gen_ai.usage.input_tokens": 40,
                    "gen_ai.usage.output_tokens": 7,
                    "gen_ai.input.messages": json.dumps(HISTORY[:1]),
                    "gen_ai.output.messages": json.dumps(HISTORY[1:2]),
                    "gen_ai.tool.definitions": json.dumps([{"type": "function", "name": "weather"}]),
                    "model_request_parameters": json.dumps({"function_tools": [{"name": "weather"}]}),
                    "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
                }
            )
        for attempt in (1, 2) if weather_fails else (2,):
            with tracer.start_as_current_span("execute_tool weather") as tool:
                tool.set_attributes(
                    {
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": "weather",
                        "gen_ai.tool.call.id": f"call_{attempt}",
                        # a tool's own "id" and "tool_call_id" fields are data, not call ids
                        "gen_ai.tool.call.arguments": json.dumps({"city": "Paris", "id": 7, "tool_call_id": "x"}),
                    }
                )
                if attempt == 1:
                    tool.set_status(Status(StatusCode.ERROR, "city unknown"))
                else:
                    tool.set_attribute("gen_ai.tool.call.result", json.dumps({"sky": "sunny"}))
            if attempt == 1:
                with tracer.start_as_current_span("chat gpt-4o") as chat:
                    chat.set_attribute("gen_ai.operation.name", "chat")
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.input.messages": json.dumps(HISTORY),
                    "gen_ai.output.messages": json.dumps(ANSWER),
                }
            )
        root.set_attributes(
            {
                "final_result": final_result,
                "pydantic_ai.all_messages": json.dumps([*HISTORY, *ANSWER]),
                "gen_ai.aggregated_usage.input_tokens": 40,
            }
        )


def step(trace: Trace, step_id: str, occurrence: int = 0) -> Any:
    return [s for s in trace.steps if s.step_id == step_id][occurrence]


def test_genai_attributes_become_fields(exporter: InMemorySpanExporter) -> None:
    agent_run(tracer_of(exporter))
    trace = Trace.from_any(exporter)
    chat = step(trace, "chat gpt-4o")
    assert chat.model == "gpt-4o-2024-08-06"
    assert chat.tokens == Tokens(prompt=40, completion=7)
    assert chat.input == HISTORY[:1]
    # the tool-call id made up per call leaves the messages
    assert chat.output == [
        {"role": "assistant", "parts": [{"type": "tool_call", "name": "weather", "arguments": {"city": "Paris"}}]}
    ]
    assert chat.attributes["gen_ai.system_instructions"] == [{"type": "text", "content": "Be brief."}]
    assert "gen_ai.request.model" in chat.attributes  # differs from the response model: kept
    tool = step(trace, "execute_tool weather")
    assert tool.input == {"city": "Paris", "id": 7, "tool_call_id": "x"}
    assert tool.output == {"sky": "sunny"}
    assert tool.attributes == {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "weather"}
    last = step(trace, "chat gpt-4o", 1)
    assert [part.get("id") for message in last.input for part in message["parts"]] == [None, None, None]


def test_echoes_are_left_out_unless_kept(exporter: InMemorySpanExporter) -> None:
    agent_run(tracer_of(exporter))
    trace = Trace.from_any(exporter)
    root = step(trace, "invoke_agent helper")
    assert root.attributes == {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}
    assert root.output is None  # final_result is the last chat's answer
    assert "gen_ai.tool.definitions" not in step(trace, "chat gpt-4o").attributes
    assert "model_request_parameters" not in step(trace, "chat gpt-4o").attributes

    kept = OtelAdapter(keep_echoes=True).convert(exporter)
    root = step(kept, "invoke_agent helper")
    assert root.attributes["pydantic_ai.all_messages"] == [*HISTORY, *ANSWER]
    assert root.attributes["logfire.msg"] == "helper run"
    assert root.attributes["logfire.json_schema"] == {"type": "object"}  # JSON text parsed
    assert root.attributes["gen_ai.aggregated_usage.input_tokens"] == 40
    assert root.output == "It is sunny."
    chat = step(kept, "chat gpt-4o")
    assert chat.attributes["gen_ai.tool.definitions"] == [{"type": "function", "name": "weather"}]
    assert chat.attributes["model_request_parameters"] == {"function_tools": [{"name": "weather"}]}
    # the conversation id is a run-made id, never an echo: gone either way
    assert "gen_ai.conversation.id" not in root.attributes


def test_final_result_that_differs_from_the_last_answer_is_the_run_output(exporter: InMemorySpanExporter) -> None:
    agent_run(tracer_of(exporter), final_result='{"sky": "sunny", "celsius": 21}')
    root = step(Trace.from_any(exporter), "invoke_agent helper")
    assert root.output == {"sky": "sunny", "celsius": 21}
    assert "final_result" not in root.attributes


def test_a_failed_tool_called_again_after_the_model_is_its_next_attempt(exporter: InMemorySpanExporter) -> None:
    agent_run(tracer_of(exporter), weather_fails=True)
    trace = Trace.from_any(exporter)
    assert [(s.step_id, s.attempt, s.status.value) for s in trace.steps] == [
        ("invoke_agent helper", 1, "completed"),
        ("chat gpt-4o", 1, "completed"),
        ("execute_tool weather", 1, "failed"),
        ("chat gpt-4o", 1, "completed"),
        ("execute_tool weather", 2, "completed"),
        ("chat gpt-4o", 1, "completed"),
    ]
    assert step(trace, "execute_tool weather").error == "city unknown"


def test_a_tool_called_twice_without_failing_is_two_occurrences(exporter: InMemorySpanExporter) -> None:
    tracer = tracer_of(exporter)
    with tracer.start_as_current_span("agent"):
        for _ in range(2):
            with tracer.start_as_current_span("execute_tool weather") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
    assert [s.attempt for s in Trace.from_any(exporter).steps] == [1, 1, 1]


# -- OpenInference ---------------------------------------------------------------------


def test_openinference_flattened_messages_are_rebuilt(exporter: InMemorySpanExporter) -> None:
    tracer = tracer_of(exporter)
    raw_request = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather in Paris?"}]})
    with tracer.start_as_current_span("ChatOpenAI") as llm:
        llm.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o",
                "llm.token_count.prompt": 12,
                "llm.token_count.completion": 9,
                "llm.token_count.total": 21,
                "input.value": raw_request,
                "input.mime_type": "application/json",
                "output.value": "{}",
                "output.mime_type": "application/json",
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "Be brief.",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.contents.0.message_content.type": "text",
                "llm.input_messages.1.message.contents.0.message_content.text": "Weather in Paris?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_abc123",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "weather",
                "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
                "llm.output_messages.0.message.tool_calls.1.tool_call.function.name": "clock",
                "llm.output_messages.0.message.tool_calls.1.tool_call.function.arguments": "{}",
                "llm.tools.0.tool.json_schema": json.dumps({"type": "function", "function": {"name": "weather"}}),
            }
        )
    trace = Trace.from_any(exporter)
    llm_step = trace.steps[0]
    assert llm_step.model == "gpt-4o"
    assert llm_step.tokens == Tokens(prompt=12, completion=9, total=21)
    assert llm_step.input == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "contents": [{"type": "text", "text": "Weather in Paris?"}]},
    ]
    assert llm_step.output == [
        {
            "role": "assistant",
            "tool_calls": [
                {"function": {"name": "weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "clock", "arguments": {}}},
            ],
        }
    ]
    # The raw request/response repeat the messages; tool schemas are set-up: both echoes.
    assert llm_step.attributes == {"openinference.span.kind": "LLM"}
    kept = OtelAdapter(keep_echoes=True).convert(exporter).steps[0]
    assert kept.attributes["input.value"] == json.loads(raw_request)
    assert kept.attributes["llm.tools.0.tool.json_schema"] == {"type": "function", "function": {"name": "weather"}}


def test_more_than_ten_flattened_messages_keep_their_order(exporter: InMemorySpanExporter) -> None:
    with tracer_of(exporter).start_as_current_span("llm") as llm:
        for i in range(12):
            llm.set_attribute(f"llm.input_messages.{i}.message.content", f"m{i}")
    assert Trace.from_any(exporter).steps[0].input == [{"content": f"m{i}"} for i in range(12)]


@pytest.mark.parametrize(
    ("mime", "expected"),
    [
        ("application/json", {"city": "Paris"}),
        ("application/json; charset=utf-8", {"city": "Paris"}),
        ("text/plain", '{"city": "Paris"}'),
        (None, {"city": "Paris"}),
    ],
)
def test_openinference_tool_values_are_parsed_by_mime_type(
    exporter: InMemorySpanExporter, mime: str | None, expected: Any
) -> None:
    attributes = {
        "openinference.span.kind": "TOOL",
        "tool.name": "weather",
        "tool.parameters": json.dumps({"type": "object", "properties": {"city": {"type": "string"}}}),
        "input.value": '{"city": "Paris"}',
        "output.value": "sunny",
        "output.mime_type": "text/plain",
    }
    if mime is not None:
        attributes["input.mime_type"] = mime
    with tracer_of(exporter).start_as_current_span("weather") as tool:
        tool.set_attributes(attributes)
    step_ = Trace.from_any(exporter).steps[0]
    assert step_.input == expected
    assert step_.output == "sunny"
    # tool.parameters is the tool's parameter schema (a definition), not its arguments
    assert step_.attributes == {"openinference.span.kind": "TOOL", "tool.name": "weather"}


def test_openinference_tool_retry_is_an_attempt(exporter: InMemorySpanExporter) -> None:
    tracer = tracer_of(exporter)
    with tracer.start_as_current_span("agent"):
        for fails in (True, False):
            with tracer.start_as_current_span("weather") as tool:
                tool.set_attribute("openinference.span.kind", "TOOL")
                if fails:
                    tool.set_status(Status(StatusCode.ERROR, "timeout"))
            with tracer.start_as_current_span("llm") as llm:
                llm.set_attribute("openinference.span.kind", "LLM")
    assert [(s.step_id, s.attempt) for s in Trace.from_any(exporter).steps] == [
        ("agent", 1),
        ("weather", 1),
        ("llm", 1),
        ("weather", 2),
        ("llm", 1),
    ]


def test_tool_schema_lists_are_echoes_but_other_tools_attributes_stay(exporter: InMemorySpanExporter) -> None:
    tracer = tracer_of(exporter)
    with tracer.start_as_current_span("a") as span:
        span.set_attribute("tools", json.dumps([{"name": "weather", "parameters": {}}]))
    with tracer.start_as_current_span("b") as span:
        span.set_attribute("tools", ["weather", "clock"])
    first, second = Trace.from_any(exporter).steps
    assert "tools" not in first.attributes
    assert second.attributes["tools"] == ["weather", "clock"]
