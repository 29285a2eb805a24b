"""The OpenTelemetry adapter against the real opentelemetry-sdk (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

otel_sdk = pytest.importorskip("opentelemetry.sdk")

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags  # noqa: E402
from opentelemetry.util._once import Once  # noqa: E402

from pytest_tracediff import Trace, assert_retries, assert_steps  # noqa: E402
from pytest_tracediff.errors import UnknownTraceError  # noqa: E402
from pytest_tracediff.model import StepStatus, Tokens  # noqa: E402
from pytest_tracediff.sources.adapters.otel import ADAPTER  # noqa: E402

OTEL = "opentelemetry.sdk"

# Taken at import, before any provider exists: a ProxyTracer, as in most instrumented code.
tracer = trace.get_tracer("tests.support_bot")


class ProviderDown(Exception):
    """The LLM provider did not answer."""


def support_bot(question: str, **variant: Any) -> str:
    """retrieve -> (rerank) -> chat (retried on ProviderDown) -> (send_email tool)."""
    with tracer.start_as_current_span("answer", attributes={"input.value": question}) as root:
        with tracer.start_as_current_span("retrieve", kind=SpanKind.CLIENT) as span:
            docs = ["faq.md", "pricing.md"]
            span.set_attribute("retrieval.documents", docs)
            span.set_attribute("thread.id", threading.get_ident())  # volatile: dropped
            span.add_event("cache_miss", {"key": "pricing", "lookup_timestamp": time.time_ns()})
        if variant.get("rerank"):
            with tracer.start_as_current_span("rerank") as span:
                span.set_attribute("rerank.top_k", 1)
        for attempt in range(3):  # the provider is retried twice
            try:
                with tracer.start_as_current_span("chat", kind=SpanKind.CLIENT) as llm:
                    llm.set_attribute("gen_ai.operation.name", "chat")
                    llm.set_attribute("gen_ai.request.model", "gpt-4o")
                    if attempt < variant.get("provider_failures", 0):
                        raise ProviderDown("503 from provider")
                    llm.set_attribute("gen_ai.response.model", "gpt-4o")
                    llm.set_attribute("gen_ai.response.id", f"chatcmpl-{random.getrandbits(64):x}")  # volatile
                    llm.set_attribute("gen_ai.usage.input_tokens", 812)
                    llm.set_attribute("gen_ai.usage.output_tokens", variant.get("output_tokens", 64))
                    reply = str(variant.get("reply", "Plans start at $10 a month."))
                    llm.set_attribute("output.value", reply)
                break
            except ProviderDown:
                if attempt == 2:
                    raise
        if variant.get("tool_error"):
            with tracer.start_as_current_span("send_email", attributes={"tool.name": "send_email"}):
                raise PermissionError("mailbox is read-only")
        root.set_attribute("output.value", reply)
        return reply


def research(topics: Sequence[str], *, summary_words: int = 50) -> None:
    """Fan-out over threads: one `search` (with a `summarize` child) per topic, then `combine`."""
    with tracer.start_as_current_span("research"):
        barrier = threading.Barrier(len(topics))

        def worker(topic: str) -> None:
            time.sleep(random.random() / 200)  # the searches start in a random order...
            with tracer.start_as_current_span("search", attributes={"topic": topic}) as span:
                span.set_attribute("thread.name", threading.current_thread().name)  # volatile: dropped
                barrier.wait(timeout=10)  # ...are all open at once (they truly overlap)...
                time.sleep(random.random() / 200)  # ...and finish in a random order
                with tracer.start_as_current_span("summarize", attributes={"topic": topic, "words": summary_words}):
                    time.sleep(random.random() / 500)

        # Threads do not inherit the OpenTelemetry context: hand each one a copy.
        with ThreadPoolExecutor(max_workers=len(topics)) as pool:
            futures = [pool.submit(contextvars.copy_context().run, worker, topic) for topic in topics]
            for future in futures:
                future.result()
        with tracer.start_as_current_span("combine"):
            pass


def capture(trace_capture: Callable[..., Any], run: Callable[[], Any]) -> Trace:
    with trace_capture(OTEL) as cap:
        run()
    result: Trace = cap.trace
    return result


# -- capture ---------------------------------------------------------------------------


def test_nested_spans(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture(OTEL) as cap:
        assert support_bot("How much is the pro plan?") == "Plans start at $10 a month."
    result = cap.trace
    assert result.source == "otel"
    assert result.status == "completed"
    assert [s.path for s in result.steps] == ["answer", "answer/retrieve", "answer/chat"]
    answer, retrieve, chat = result.steps
    assert answer.input == "How much is the pro plan?"
    assert answer.output == "Plans start at $10 a month."
    assert retrieve.attributes == {
        "retrieval.documents": ["faq.md", "pricing.md"],
        "span.kind": "client",
        "otel.events": [{"name": "cache_miss", "attributes": {"key": "pricing"}}],
    }
    assert chat.model == "gpt-4o"
    assert chat.tokens == Tokens(prompt=812, completion=64)
    assert "gen_ai.response.id" not in chat.attributes
    # Ids and times only in the volatile fields, gone after normalization.
    assert chat.parent_span_id == answer.span_id
    assert chat.start is not None
    assert chat.duration is not None
    assert result.run_id is not None
    assert result == trace_snapshot


def test_error_span_with_exception_event(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with pytest.raises(PermissionError), trace_capture(OTEL) as cap:
        support_bot("Email me the invoice", tool_error=True)
    result = cap.trace  # captured although the block raised
    assert result.status == "failed"
    tool = result.steps[-1]
    assert tool.path == "answer/send_email"
    assert tool.status is StepStatus.FAILED
    assert tool.failure_class == "PermissionError"
    assert tool.error == "mailbox is read-only"
    assert "otel.events" not in tool.attributes  # the exception event became failure_class/error
    root = result.steps[0]
    assert root.failed  # the exception escaped it too
    assert root.failure_class == "PermissionError"
    assert result == trace_snapshot


def test_status_message_and_handled_exception(trace_capture: Callable[..., Any]) -> None:
    with trace_capture(OTEL) as cap, tracer.start_as_current_span("job") as job:
        try:
            raise KeyError("sku-1")
        except KeyError as exc:
            job.record_exception(exc)  # handled: recorded, but the span still succeeds
        with tracer.start_as_current_span("validate") as span:
            span.set_status(Status(StatusCode.ERROR, "quantity must be positive"))
    job_step, validate = cap.trace.steps
    assert job_step.status is StepStatus.COMPLETED
    assert job_step.attributes["otel.events"] == [
        {"name": "exception", "attributes": {"exception.type": "KeyError", "exception.message": "'sku-1'"}}
    ]
    assert validate.status is StepStatus.FAILED
    assert (validate.failure_class, validate.error) == (None, "quantity must be positive")


def test_retry_then_success(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    result = capture(trace_capture, lambda: support_bot("Refund?", provider_failures=2))
    assert [(s.step_id, s.attempt, s.status.value) for s in result.steps] == [
        ("answer", 1, "completed"),
        ("retrieve", 1, "completed"),
        ("chat", 1, "failed"),
        ("chat", 2, "failed"),
        ("chat", 3, "completed"),
    ]
    assert result.steps[2].failure_class == "ProviderDown"
    assert_retries(result, "chat", 2)
    assert result == trace_snapshot


def test_concurrent_sibling_spans_give_one_golden(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    topics = ["pricing", "refunds", "security", "uptime"]
    runs = [capture(trace_capture, lambda: research(topics)) for _ in range(20)]
    searches = [s for s in runs[0].steps if s.step_id == "search"]
    assert len(searches) == 4
    assert searches[0].level is not None
    assert {s.level for s in searches} == {searches[0].level}
    orders = {tuple(s.attributes.get("topic") for s in run.steps if s.step_id == "search") for run in runs}
    assert len(orders) > 1  # the raw traces differ in order...
    goldens = {run.normalized().to_json() for run in runs}  # ...their goldens do not
    assert len(goldens) == 1, f"{len(goldens)} different goldens from 20 runs ({len(orders)} raw orders)"
    assert_steps(runs[0], ["research", *["search", "summarize"] * 4, "combine"])
    assert runs[0] == trace_snapshot


def test_concurrent_asyncio_tasks(trace_capture: Callable[..., Any]) -> None:
    async def fetch(name: str, started: asyncio.Event, count: list[int]) -> None:
        with tracer.start_as_current_span("fetch", attributes={"source": name}):
            count.append(1)
            if len(count) == 3:
                started.set()
            await started.wait()
            await asyncio.sleep(random.random() / 500)

    async def main() -> None:
        started, count = asyncio.Event(), list[int]()
        with tracer.start_as_current_span("gather"):  # asyncio tasks inherit the context
            await asyncio.gather(*(fetch(n, started, count) for n in ("a", "b", "c")))

    runs = [capture(trace_capture, lambda: asyncio.run(main())) for _ in range(5)]
    assert len({run.normalized().to_json() for run in runs}) == 1
    assert [s.attributes.get("source") for s in runs[0].normalized().steps] == [None, "a", "b", "c"]


def test_gen_ai_attributes(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    messages = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    with trace_capture(OTEL) as cap:
        with tracer.start_as_current_span("chat claude", kind=SpanKind.CLIENT) as span:
            span.set_attributes(
                {
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-sonnet",
                    "gen_ai.response.model": "claude-sonnet-20250101",
                    "gen_ai.usage.input_tokens": 10,
                    "gen_ai.usage.output_tokens": 5,
                    "gen_ai.usage.cost": "0.00042",
                    "gen_ai.input.messages": json.dumps(messages),
                    "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": []}]),
                    "gen_ai.response.finish_reasons": ("stop",),
                }
            )
        with tracer.start_as_current_span("legacy completion") as span:  # older conventions
            span.set_attributes(
                {
                    "gen_ai.request.model": "gpt-3.5-turbo",
                    "gen_ai.usage.prompt_tokens": 7,
                    "gen_ai.usage.completion_tokens": 3,
                    "gen_ai.usage.total_tokens": 10,
                    "llm.cost.total": 0.25,
                }
            )
        with tracer.start_as_current_span("priced step") as span:  # a vendor-named cost
            span.set_attribute("acme.step.cost_usd", 1.5)
    chat, legacy, priced = cap.trace.steps
    assert chat.model == "claude-sonnet-20250101"
    assert chat.tokens == Tokens(prompt=10, completion=5)
    assert chat.cost == Decimal("0.00042")
    assert chat.input == messages
    assert chat.attributes == {
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet",  # differs from the model that answered: kept
        "gen_ai.response.finish_reasons": ["stop"],
        "span.kind": "client",
    }
    assert legacy.model == "gpt-3.5-turbo"
    assert legacy.tokens == Tokens(prompt=7, completion=3, total=10)
    assert legacy.cost == Decimal("0.25")
    assert legacy.attributes == {}
    assert priced.cost == Decimal("1.5")
    assert priced.attributes == {}
    assert cap.trace == trace_snapshot


def test_no_spans_collects_nothing(trace_capture: Callable[..., Any]) -> None:
    with trace_capture(OTEL) as cap:
        pass
    assert cap.traces == []


def test_tracer_taken_inside_the_block_and_sdk_disabled(
    trace_capture: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")  # capture forces tracing on anyway
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    with trace_capture(OTEL) as cap:
        inner = trace.get_tracer("late")
        with inner.start_as_current_span("late span"):
            pass
    assert [s.step_id for s in cap.trace.steps] == ["late span"]
    with inner.start_as_current_span("after the block"):  # bound to the closed provider: records nothing
        pass
    assert len(cap.raw) == 1


# -- global state ----------------------------------------------------------------------


def _global_state() -> tuple[Any, ...]:
    return (
        trace._TRACER_PROVIDER,
        trace._TRACER_PROVIDER_SET_ONCE,
        trace._TRACER_PROVIDER_SET_ONCE._done,
        trace.ProxyTracer.__dict__["_tracer"],
        type(trace.get_tracer_provider()),
        tracer._real_tracer,  # type: ignore[attr-defined]
    )


def test_global_provider_restored_also_on_exception(trace_capture: Callable[..., Any]) -> None:
    before = _global_state()
    assert before[0] is None
    assert isinstance(tracer, trace.ProxyTracer)
    inside = []

    def doomed() -> None:
        inside.append(trace.get_tracer_provider())
        with tracer.start_as_current_span("doomed"):
            raise ProviderDown("gone")

    with pytest.raises(ProviderDown), trace_capture(OTEL) as cap:
        doomed()
    assert isinstance(inside[0], TracerProvider)
    assert _global_state() == before
    assert tracer._real_tracer is None  # the module's ProxyTracer did not bind to the test provider
    assert [s.step_id for s in cap.trace.steps] == ["doomed"]
    # After the block the proxy records nothing again, and a second capture catches it anew.
    with tracer.start_as_current_span("outside"):
        pass
    with trace_capture(OTEL) as again, tracer.start_as_current_span("second"):
        pass
    assert [s.step_id for s in again.trace.steps] == ["second"]
    assert _global_state() == before


@pytest.fixture
def fresh_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenTelemetry's process-wide provider slot, emptied for this test and put back after."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())


@pytest.mark.usefixtures("fresh_globals")
def test_set_tracer_provider_works_again_after_the_block(trace_capture: Callable[..., Any]) -> None:
    with trace_capture(OTEL) as cap:
        trace.set_tracer_provider(TracerProvider())  # ignored inside: the test provider stays
        with trace.get_tracer("app").start_as_current_span("inside"):
            pass
    assert [s.step_id for s in cap.trace.steps] == ["inside"]
    assert trace._TRACER_PROVIDER is None
    mine = TracerProvider(shutdown_on_exit=False)
    trace.set_tracer_provider(mine)  # the once-only setter was not used up by the capture
    assert trace.get_tracer_provider() is mine


@pytest.mark.usefixtures("fresh_globals")
def test_app_provider_installed_before_the_block(trace_capture: Callable[..., Any]) -> None:
    app_exporter = InMemorySpanExporter()
    app_provider = TracerProvider(resource=Resource({"service.name": "support-bot"}), shutdown_on_exit=False)
    app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
    trace.set_tracer_provider(app_provider)
    app_tracer = trace.get_tracer("app")  # a real SDK tracer, bound to the app's provider
    processors = app_provider._active_span_processor._span_processors
    with (
        trace_capture(OTEL) as cap,
        app_tracer.start_as_current_span("held tracer"),
        trace.get_tracer("late").start_as_current_span("new tracer"),
    ):
        pass
    assert trace.get_tracer_provider() is app_provider
    assert app_provider._active_span_processor._span_processors == processors
    result = cap.trace
    assert [s.path for s in result.steps] == ["held tracer", "held tracer/new tracer"]
    assert result.attributes == {"service.name": "support-bot"}  # the app's resource, for both
    assert [s.name for s in app_exporter.get_finished_spans()] == ["held tracer"]  # the app still exports
    with app_tracer.start_as_current_span("after"):
        pass
    assert len(cap.trace.steps) == 2


# -- conversion of each input form -----------------------------------------------------


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 is a string in protobuf JSON
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _key_values(attributes: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any_value(v)} for k, v in (attributes or {}).items()]


def to_otlp_json(spans: Sequence[Any]) -> dict[str, Any]:
    """OTLP/JSON as the spec writes it: hex ids, integer enums, lowerCamelCase."""
    out = []
    for span in spans:
        context = span.get_span_context()
        item: dict[str, Any] = {
            "traceId": f"{context.trace_id:032x}",
            "spanId": f"{context.span_id:016x}",
            "name": span.name,
            "kind": span.kind.value + 1,  # the SDK's enum starts at 0, OTLP's INTERNAL is 1
            "startTimeUnixNano": str(span.start_time),
            "endTimeUnixNano": str(span.end_time),
            "attributes": _key_values(span.attributes),
            "events": [
                {"timeUnixNano": str(e.timestamp), "name": e.name, "attributes": _key_values(e.attributes)}
                for e in span.events
            ],
            "status": {"code": span.status.status_code.value, "message": span.status.description or ""},
        }
        if span.parent is not None:
            item["parentSpanId"] = f"{span.parent.span_id:016x}"
        out.append(item)
    resource = {"attributes": _key_values({"service.name": "support-bot", "host.name": "ci-runner-7"})}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "tests"}, "spans": out}]}]}


def _raw_spans(trace_capture: Callable[..., Any], run: Callable[[], Any]) -> tuple[Any, ...]:
    with trace_capture(OTEL) as cap:
        run()
    (spans,) = cap.raw
    assert isinstance(spans, tuple)
    return spans


def test_otlp_json_file_round_trip(trace_capture: Callable[..., Any], tmp_path: Path) -> None:
    spans = _raw_spans(trace_capture, lambda: support_bot("Refund?", provider_failures=1))
    direct = Trace.from_any(spans)
    data = to_otlp_json(spans)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    from_file = Trace.from_any(path)
    assert from_file.attributes == {"service.name": "support-bot"}  # host.name is not behaviour
    assert from_file.model_copy(update={"attributes": {}}) == direct
    for form in (data, json.dumps(data), json.dumps(data).encode()):
        assert Trace.from_any(form).normalized().to_json() == from_file.normalized().to_json()
    # JSON Lines, as the collector's file exporter writes (one request per line), in a .jsonl file.
    half = len(spans) // 2
    lines = tmp_path / "export.jsonl"
    lines.write_text(json.dumps(to_otlp_json(spans[:half])) + "\n" + json.dumps(to_otlp_json(spans[half:])) + "\n")
    assert Trace.from_any(lines) == from_file


def test_otlp_protobuf_encoding(trace_capture: Callable[..., Any]) -> None:
    encoder = pytest.importorskip("opentelemetry.exporter.otlp.proto.common.trace_encoder")
    json_format = pytest.importorskip("google.protobuf.json_format")
    spans = _raw_spans(trace_capture, lambda: research(["pricing", "refunds"]))
    direct = Trace.from_any(spans)
    request = encoder.encode_spans(spans)
    assert ADAPTER.detect(request)
    assert Trace.from_any(request) == direct  # the protobuf message itself
    as_dict = json_format.MessageToDict(request)  # base64 ids, enum names: protobuf's JSON mapping
    assert as_dict["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"].endswith("=")
    assert Trace.from_any(as_dict) == direct
    snake = json_format.MessageToDict(request, preserving_proto_field_name=True)
    assert Trace.from_any(snake) == direct


def test_sdk_objects(trace_capture: Callable[..., Any]) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)  # not installed globally: used directly
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    own = provider.get_tracer("own")
    with own.start_as_current_span("parent"), own.start_as_current_span("child"):
        pass
    spans = exporter.get_finished_spans()
    assert ADAPTER.detect(exporter)
    assert ADAPTER.detect(spans)
    assert ADAPTER.detect(list(spans))
    from_exporter = Trace.from_any(exporter)
    assert [s.path for s in from_exporter.steps] == ["parent", "parent/child"]
    assert Trace.from_any(list(spans)) == from_exporter
    assert [s.step_id for s in Trace.from_any(spans[0]).steps] == ["child"]  # one span
    provider.shutdown()


def test_orphans_and_several_roots() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    own = provider.get_tracer("own")
    remote = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        # A remote parent is not in the export: the server span is a root.
        with own.start_as_current_span("GET /orders/{id}", kind=SpanKind.SERVER), own.start_as_current_span("db query"):
            pass
    finally:
        otel_context.detach(token)
    with own.start_as_current_span("second request"):  # a different trace
        pass
    result = Trace.from_any(exporter)
    assert [(s.parent, s.step_id) for s in result.steps] == [
        ("", "GET /orders/{id}"),
        ("GET /orders/{id}", "db query"),  # a "/" in a name is fine: the tree comes from the ids
        ("", "second request"),
    ]
    assert result.run_id is None  # two traces
    assert result.steps[0].parent_span_id is None


def test_detect_is_false_for_foreign_objects(tmp_path: Path) -> None:
    text = tmp_path / "notes.json"
    text.write_text('{"steps": []}')
    foreign: list[Any] = [
        None,
        42,
        "resourceSpans",
        "{not json",
        b"[1, 2]",
        {"steps": [{"step_id": "a"}]},  # a tracediff dict
        {"resource": {}, "spans": []},
        [],
        [1, 2],
        [{"steps": []}],
        text,
        tmp_path / "missing.json",
        TracerProvider(shutdown_on_exit=False),  # from opentelemetry.sdk, but no spans
        Trace(),
    ]
    for obj in foreign:
        assert not ADAPTER.detect(obj), obj


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resourceSpans": "x"}, "resourceSpans is a str, not a list"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "a"}]}]}]}, "needs traceId, spanId and name"),
        (
            {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01", "name": "a"}]}]}]},
            "neither a hex nor a base64 id",
        ),
        (
            {
                "resourceSpans": [
                    {
                        "scopeSpans": [
                            {
                                "spans": [
                                    {
                                        "traceId": "0" * 31 + "1",
                                        "spanId": "0" * 15 + "1",
                                        "name": "a",
                                        "attributes": [{"key": "k", "value": {"mapValue": 1}}],
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            "not an OTLP AnyValue",
        ),
    ],
)
def test_malformed_export(data: dict[str, Any], message: str) -> None:
    with pytest.raises(UnknownTraceError, match="looks like a span-based") as info:
        Trace.from_any(data)
    assert message in str(info.value)


def test_malformed_span_list() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("ok"):
        pass
    with pytest.raises(UnknownTraceError, match="item 1 is a str"):
        Trace.from_any([*exporter.get_finished_spans(), "not a span"])


# -- behaviour changes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "kind", "step", "path"),
    [
        ({"reply": "Plans start at $12 a month."}, "output_changed", "answer/chat", "output"),
        ({"provider_failures": 1}, "attempts_changed", "answer/chat", "attempts"),
        ({"rerank": True}, "step_added", "answer/rerank", ""),
        ({"tool_error": True}, "step_added", "answer/send_email", ""),
        ({"output_tokens": 80}, "attribute_changed", "answer/chat", "tokens.completion"),
    ],
)
def test_behaviour_change_is_reported(
    trace_capture: Callable[..., Any], variant: dict[str, Any], kind: str, step: str, path: str
) -> None:
    def run(**knobs: Any) -> Trace:
        with trace_capture(OTEL) as cap, contextlib.suppress(PermissionError):
            support_bot("How much is the pro plan?", **knobs)
        result: Trace = cap.trace
        return result

    baseline = run()
    assert not baseline.diff(run())
    diff = baseline.diff(run(**variant))
    found = [(e.kind, str(e.step).split(" ")[0], e.path) for e in diff]
    assert (kind, step, path) in found, diff.render()


def test_extra_retry_and_new_failure(trace_capture: Callable[..., Any]) -> None:
    once = capture(trace_capture, lambda: support_bot("q", provider_failures=1))
    twice = capture(trace_capture, lambda: support_bot("q", provider_failures=2))
    assert [(e.kind, e.step.step_id if e.step else None) for e in once.diff(twice)] == [("attempts_changed", "chat")]
    with pytest.raises(ProviderDown), trace_capture(OTEL) as cap:
        support_bot("q", provider_failures=3)
    found = {(e.kind, str(e.step).split(" ")[0], e.path) for e in twice.diff(cap.trace)}
    assert ("status_changed", "answer/chat", "status") in found
    assert ("status_changed", "answer", "status") in found
