"""OpenTelemetry spans: ``opentelemetry-sdk`` spans and OTLP/JSON exports.

Accepted inputs
    - finished SDK spans: a list/tuple of ``ReadableSpan`` (e.g.
      ``InMemorySpanExporter.get_finished_spans()``), one span, or the exporter itself;
    - OTLP/JSON: ``{"resourceSpans": [...]}`` as a dict, text, bytes or a path to a
      ``.json``/``.jsonl`` file; JSON Lines (one export request per line, what the
      collector's file exporter writes) are merged. Both the OTLP/JSON spelling (hex ids,
      integer enums, lowerCamelCase) and protobuf's own JSON mapping (base64 ids, enum
      names, snake_case) are read;
    - an ``ExportTraceServiceRequest`` protobuf message.

Conversion
    One ``Step`` per span, in pre-order of the parent/child tree; siblings in start-time
    order. ``step_id`` is the span name, ``parent`` the names of its ancestors joined by
    "/" (span names may contain "/" themselves: the tree is rebuilt from ``span_id`` /
    ``parent_span_id``, never from the path). Siblings whose times overlapped share a
    ``level``, so normalization orders them by content, not by timing. A span whose parent
    is not in the export (a remote parent, or a parent still open) is a root. Several roots
    (several traces in one export) give one ``Trace`` with each root a top-level step.

    A sibling with the same name right after a failed sibling (and not overlapping it) is
    counted as its next attempt: that is how retries look in a trace.

    Status ERROR is ``failed`` (UNSET and OK are ``completed``): ``error`` is a status
    message set by the code, else the exception event's ``exception.message`` (the SDK's
    automatic status message, "Type: message", is not repeated); ``failure_class`` the class
    name from the exception event's ``exception.type`` (without its module, as
    ``TraceRecorder`` does). Python's SDK records ``asyncio.CancelledError`` on no span, so a
    cancelled span reads as completed.

    GenAI and OpenInference attributes (model, usage, tool arguments and results, messages)
    become ``model`` / ``tokens`` / ``input`` / ``output``, JSON text parsed, and their
    echoes (the run's whole history, tool definitions, logfire bookkeeping) are left out
    unless ``OtelAdapter(keep_echoes=True)``: see ``_genai.py`` for the table. A cost
    attribute becomes ``cost``. Every other span attribute stays in ``attributes``, plus
    ``span.kind`` (when not INTERNAL) and ``otel.events`` (span events, without timestamps).

Dropped (volatile, or not behaviour)
    trace/span ids (kept only in the volatile ``span_id`` / ``parent_span_id`` / ``run_id``),
    times (only in ``start`` / ``duration``), links, trace state and flags, the
    instrumentation scope, resource attributes other than ``service.name`` (host, process,
    SDK version, ``service.instance.id``...), and the attributes listed in
    ``_VOLATILE_KEYS`` / matched by ``_VOLATILE_NAME`` below: thread and process ids, code
    line numbers and file paths, stack traces, server-made ids (``gen_ai.response.id``...),
    ephemeral socket ports, and any attribute whose last segment is a run/request/trace/...
    ``*_id``, a ``*timestamp``, ``*_at``, or a ``*duration`` / ``*latency`` / ``*elapsed``
    (with an optional unit suffix such as ``_ms``). ``user.id``, ``session.id`` and other ids
    stay (the default maskers hide UUIDs); drop more with the ``exclude`` option.
    ``service.name`` is a trace attribute when every span has the same one, else a step
    attribute. A span exported twice (same trace and span id) counts once.

Capture (what is patched, and why)
    OpenTelemetry has one global tracer provider, settable once per process
    (``trace.set_tracer_provider`` ignores every later call), and no public way to swap it
    for a while. For the block, ``capture`` therefore sets the private
    ``opentelemetry.trace._TRACER_PROVIDER`` to a test-scoped ``TracerProvider`` (always-on
    sampler, no span limits, ``OTEL_SDK_DISABLED`` ignored, the installed provider's resource
    or none - never the environment's) exporting to an
    ``InMemorySpanExporter`` through a ``SimpleSpanProcessor``, and
    ``_TRACER_PROVIDER_SET_ONCE`` to a spent ``Once`` (so ``set_tracer_provider`` in the block
    is ignored, as it would be after any provider was set). It also replaces the
    ``ProxyTracer._tracer`` property: tracers taken with ``trace.get_tracer()`` before any
    provider was set are ``ProxyTracer`` objects that bind themselves for good to the first
    real provider they see; the replacement lets them use the test provider without binding,
    so after the block they follow the restored global state again. If a real SDK provider
    was already installed, its tracers (held by user code) cannot be redirected, so the
    capture's span processor is added to that provider too and removed at exit (the removal
    edits its private ``_active_span_processor._span_processors``). All of it is restored on
    exit, also when the block raises; the spans that finished in the block are then passed
    to ``collect`` as ONE tuple (nothing when no span finished). Spans still open at exit
    are not captured; tracers obtained inside the block from the test provider itself stay
    bound to it and record nothing afterwards.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...model import Step, StepStatus, Trace
from . import _genai
from ._common import (
    decimal_or_none,
    environment,
    first_item,
    from_module,
    load_json,
    malformed,
    overlap_levels,
    patched,
    require,
    require_attributes,
)

_SOURCE = "span-based (OpenTelemetry)"

# -- what is volatile ------------------------------------------------------------------

# Attributes (of spans and events) whose value changes between two runs of unchanged code.
_VOLATILE_KEYS = frozenset(
    {
        # where it ran: thread and process identity
        "thread.id",
        "thread.name",
        "process.pid",
        "process.parent_pid",
        # where the code is: moves with every edit and checkout
        "code.lineno",
        "code.line.number",
        "code.column",
        "code.column.number",
        "code.filepath",
        "code.file.path",
        "code.stacktrace",
        "exception.stacktrace",
        # always "False" in Python's SDK, deprecated in the conventions
        "exception.escaped",
        # ids a server or a model makes up per call
        "gen_ai.response.id",
        "gen_ai.tool.call.id",
        "gen_ai.agent.call.id",
        "gen_ai.conversation.id",
        "messaging.message.id",
        # ephemeral socket ports (server.port, the configured one, stays)
        "client.port",
        "network.local.port",
        "network.peer.port",
        "net.sock.peer.port",
        "net.sock.host.port",
    }
)
# ...and any attribute whose last dotted segment looks like a run-made id, a time or a duration.
_VOLATILE_NAME = re.compile(
    r"""(?ix)^(?:
        (?:.*_)?(?:trace|span|parent_?span|run|execution|request|thread|response|invocation)_?id
      | (?:.*_)?(?:timestamp|time_unix_nano|start_time|end_time)
      | .*_at
      | (?:.*_)?(?:duration|latency|elapsed)(?:_(?:ns|us|ms|s|sec|secs|seconds))?
    )$"""
)


def _volatile(key: str) -> bool:
    return key in _VOLATILE_KEYS or _VOLATILE_NAME.match(key.rsplit(".", 1)[-1]) is not None


# -- what becomes a Step field ---------------------------------------------------------

# No convention names a cost; these are the ones in use. Else one attribute named *.cost etc.
_COST_KEYS = ("gen_ai.usage.cost", "gen_ai.cost", "llm.cost.total", "llm.cost", "operation.cost")
_COST_NAMES = frozenset({"cost", "cost_usd", "total_cost", "total_cost_usd"})
_DEFAULT_SERVICE = "unknown_service"

_KINDS = {0: "internal", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass
class _Span:
    """One span, whatever it was read from."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str = "internal"
    start: int | None = None
    end: int | None = None
    status: str = "UNSET"
    message: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    service: str | None = None


# -- detection -------------------------------------------------------------------------


def _is_sdk_span(obj: object) -> bool:
    return from_module(obj, "opentelemetry.sdk") and hasattr(obj, "get_span_context") and hasattr(obj, "start_time")


def _is_exporter(obj: object) -> bool:
    return from_module(obj, "opentelemetry.sdk") and callable(getattr(obj, "get_finished_spans", None))


def _is_proto(obj: object) -> bool:
    return from_module(obj, "opentelemetry.proto") and hasattr(obj, "resource_spans")


def _is_otlp(data: object) -> bool:
    if isinstance(data, Mapping):
        return "resourceSpans" in data or "resource_spans" in data
    return isinstance(data, list) and bool(data) and all(_is_otlp(item) for item in data)


def _json_lines(text: str) -> list[Any] | None:
    """Each non-blank line parsed, or None if some line is not JSON."""
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                return None
    return out or None


def _parsed(obj: object) -> Any:
    """The JSON data of an OTLP export given as dict/list/text/bytes/path, else None."""
    if isinstance(obj, (Mapping, list)):
        return obj
    data = load_json(obj)
    if data is not None:
        return data
    if isinstance(obj, (os.PathLike, Path)):
        path = Path(os.fspath(obj))
        if path.suffix not in (".json", ".jsonl") or not path.is_file():
            return None
        obj = path.read_bytes()
    if isinstance(obj, bytes):
        obj = obj.decode("utf-8", errors="replace")
    if isinstance(obj, str) and obj.lstrip()[:1] == "{":
        return _json_lines(obj)
    return None


# -- reading SDK spans -----------------------------------------------------------------


def _from_sdk(spans: Any) -> list[_Span]:
    out = []
    for index, span in enumerate(spans):
        if not _is_sdk_span(span):
            raise malformed(_SOURCE, f"item {index} is a {type(span).__name__}, not an OpenTelemetry SDK span")
        try:
            context = span.get_span_context()
            parent = span.parent
            resource = span.resource.attributes if span.resource is not None else {}
            out.append(
                _Span(
                    trace_id=f"{context.trace_id:032x}",
                    span_id=f"{context.span_id:016x}",
                    parent_id=None if parent is None else f"{parent.span_id:016x}",
                    name=str(span.name),
                    kind=str(span.kind.name).lower(),
                    start=span.start_time,
                    end=span.end_time,
                    status=str(span.status.status_code.name),
                    message=span.status.description or None,
                    attributes=dict(span.attributes or {}),
                    events=[(str(e.name), dict(e.attributes or {})) for e in span.events],
                    service=_service(resource.get("service.name")),
                )
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise malformed(_SOURCE, f"span {index} ({getattr(span, 'name', '?')!r}): {exc}") from None
    return out


def _service(value: object) -> str | None:
    if not isinstance(value, str) or value.startswith(_DEFAULT_SERVICE):
        return None
    return value


# -- reading OTLP/JSON -----------------------------------------------------------------


def _get(data: Mapping[str, Any], camel: str, snake: str) -> Any:
    return data.get(camel, data.get(snake))


def _list(data: Mapping[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    value = _get(data, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise malformed(_SOURCE, f"{where}.{camel} is a {type(value).__name__}, not a list")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise malformed(_SOURCE, f"{where} is a {type(value).__name__}, not an object")
    return value


def _hex_id(value: Any, size: int, where: str) -> str | None:
    """Hex id from OTLP/JSON hex or protobuf-JSON base64; None when empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise malformed(_SOURCE, f"{where} is not a string id: {value!r}")
    if len(value) == 2 * size and re.fullmatch(r"[0-9a-fA-F]+", value):
        return value.lower() if value.strip("0") else None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise malformed(_SOURCE, f"{where} is neither a hex nor a base64 id: {value!r}") from None
    return raw.hex() if raw.strip(b"\0") else None


def _nanos(value: Any, where: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise malformed(_SOURCE, f"{where} is not a number of nanoseconds: {value!r}") from None


def _kind(value: Any, where: str) -> str:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value in _KINDS):
        return _KINDS[value or 0]
    if isinstance(value, str) and value.startswith("SPAN_KIND_"):
        name = value.removeprefix("SPAN_KIND_").lower()
        return "internal" if name == "unspecified" else name
    raise malformed(_SOURCE, f"{where} is not a span kind: {value!r}")


def _status(value: Any, where: str) -> str:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value in _STATUS):
        return _STATUS[value or 0]
    if isinstance(value, str) and value.removeprefix("STATUS_CODE_") in _STATUS.values():
        return value.removeprefix("STATUS_CODE_")
    raise malformed(_SOURCE, f"{where} is not a status code: {value!r}")


def _any_value(value: Any, where: str) -> Any:
    """Decode an OTLP ``AnyValue``."""
    value = _object(value, where)
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value")):
        if camel in value or snake in value:
            return _get(value, camel, snake)
    if "intValue" in value or "int_value" in value:
        try:
            return int(_get(value, "intValue", "int_value"))
        except (TypeError, ValueError):
            raise malformed(_SOURCE, f"{where}.intValue is not an integer") from None
    if "doubleValue" in value or "double_value" in value:
        try:
            return float(_get(value, "doubleValue", "double_value"))
        except (TypeError, ValueError):
            raise malformed(_SOURCE, f"{where}.doubleValue is not a number") from None
    if "arrayValue" in value or "array_value" in value:
        array = _object(_get(value, "arrayValue", "array_value"), f"{where}.arrayValue")
        return [_any_value(v, f"{where}[{i}]") for i, v in enumerate(array.get("values") or [])]
    if "kvlistValue" in value or "kvlist_value" in value:
        kvlist = _object(_get(value, "kvlistValue", "kvlist_value"), f"{where}.kvlistValue")
        return _key_values(kvlist.get("values") or [], where)
    if "bytesValue" in value or "bytes_value" in value:
        return _get(value, "bytesValue", "bytes_value")  # base64 text: JSON-safe as it is
    if not value:
        return None
    raise malformed(_SOURCE, f"{where} is not an OTLP AnyValue: {sorted(value)}")


def _key_values(items: Any, where: str) -> dict[str, Any]:
    if not isinstance(items, list):
        raise malformed(_SOURCE, f"{where} attributes are a {type(items).__name__}, not a list")
    out = {}
    for i, raw in enumerate(items):
        item = _object(raw, f"{where}[{i}]")
        key = item.get("key")
        if not isinstance(key, str):
            raise malformed(_SOURCE, f"{where}[{i}] has no string key")
        out[key] = _any_value(item.get("value") or {}, f"{where}.{key}")
    return out


def _from_otlp(data: Any) -> list[_Span]:
    requests = data if isinstance(data, list) else [data]
    out = []
    for r, raw_request in enumerate(requests):
        request = _object(raw_request, f"export {r}")
        for i, raw in enumerate(_list(request, "resourceSpans", "resource_spans", "")):
            where = f"resourceSpans[{i}]"
            resource_spans = _object(raw, where)
            resource = _object(resource_spans.get("resource") or {}, f"{where}.resource")
            service = _service(_key_values(resource.get("attributes") or [], f"{where}.resource").get("service.name"))
            scopes = _list(resource_spans, "scopeSpans", "scope_spans", where) or _list(
                resource_spans, "instrumentationLibrarySpans", "instrumentation_library_spans", where
            )
            for j, scope_spans in enumerate(scopes):
                scope_where = f"{where}.scopeSpans[{j}]"
                for k, span in enumerate(_list(_object(scope_spans, scope_where), "spans", "spans", scope_where)):
                    span_where = f"{scope_where}.spans[{k}]"
                    out.append(_otlp_span(_object(span, span_where), span_where, service))
    return out


def _otlp_span(span: Mapping[str, Any], where: str, service: str | None) -> _Span:
    trace_id = _hex_id(_get(span, "traceId", "trace_id"), 16, f"{where}.traceId")
    span_id = _hex_id(_get(span, "spanId", "span_id"), 8, f"{where}.spanId")
    name = span.get("name")
    if trace_id is None or span_id is None or not isinstance(name, str):
        raise malformed(_SOURCE, f"{where} needs traceId, spanId and name")
    status = _object(span.get("status") or {}, f"{where}.status")
    events = []
    for i, raw in enumerate(_list(span, "events", "events", where)):
        event = _object(raw, f"{where}.events[{i}]")
        events.append((str(event.get("name", "")), _key_values(event.get("attributes") or [], f"{where}.events[{i}]")))
    message = status.get("message")
    return _Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=_hex_id(_get(span, "parentSpanId", "parent_span_id"), 8, f"{where}.parentSpanId"),
        name=name,
        kind=_kind(span.get("kind"), f"{where}.kind"),
        start=_nanos(_get(span, "startTimeUnixNano", "start_time_unix_nano"), f"{where}.startTimeUnixNano"),
        end=_nanos(_get(span, "endTimeUnixNano", "end_time_unix_nano"), f"{where}.endTimeUnixNano"),
        status=_status(status.get("code"), f"{where}.status.code"),
        message=message if isinstance(message, str) and message else None,
        attributes=_key_values(span.get("attributes") or [], f"{where}.attributes"),
        events=events,
        service=service,
    )


def _from_proto(message: Any) -> list[_Span]:
    json_format = importlib.import_module("google.protobuf.json_format")
    return _from_otlp(json_format.MessageToDict(message))


# -- building the Trace ----------------------------------------------------------------


def _build(spans: list[_Span], *, keep_echoes: bool = False) -> Trace:
    by_key: dict[tuple[str, str], _Span] = {}
    for span in spans:
        by_key.setdefault((span.trace_id, span.span_id), span)  # a span exported twice counts once
    children: dict[tuple[str, str] | None, list[_Span]] = {}
    for span in by_key.values():
        parent_key = (span.trace_id, span.parent_id) if span.parent_id is not None else None
        children.setdefault(parent_key if parent_key in by_key else None, []).append(span)

    services = {span.service for span in by_key.values()}
    per_step_service = len(services) > 1
    steps: list[Step] = []

    def visit(parent: _Span | None, path: str) -> None:
        key = None if parent is None else (parent.trace_id, parent.span_id)
        previous: tuple[_Span, Step, bool] | None = None
        for span, level in overlap_levels(children.get(key, []), _span_start, _span_end):
            step = _step(span, path, parent, service=per_step_service, keep_echoes=keep_echoes)
            step.level = level
            if (
                previous is not None
                and level is None
                and not previous[2]
                and previous[0].name == span.name
                and previous[1].status is StepStatus.FAILED
            ):
                step.attempt = previous[1].attempt + 1
            previous = (span, step, level is not None)
            steps.append(step)
            visit(span, step.path)

    visit(None, "")
    _genai.finish(steps, keep_echoes=keep_echoes)
    roots = [s for s in steps if not s.parent]
    starts = [s.start for s in by_key.values() if s.start is not None]
    ends = [s.end for s in by_key.values() if s.end is not None]
    trace_ids = {s.trace_id for s in by_key.values()}
    service = next(iter(services)) if len(services) == 1 else None
    return Trace(
        source="otel",
        status=None if not roots else ("failed" if any(s.failed for s in roots) else "completed"),
        steps=steps,
        attributes={"service.name": service} if service else {},
        run_id=next(iter(trace_ids)) if len(trace_ids) == 1 else None,
        start=min(starts) / 1e9 if starts else None,
        duration=(max(ends) - min(starts)) / 1e9 if starts and ends else None,
    )


def _span_start(span: _Span) -> float | None:
    return span.start


def _span_end(span: _Span) -> float | None:
    return span.end or span.start


def _step(span: _Span, path: str, parent: _Span | None, *, service: bool, keep_echoes: bool) -> Step:
    attributes = {k: v for k, v in span.attributes.items() if not _volatile(k)}
    attributes = {k: list(v) if isinstance(v, tuple) else v for k, v in attributes.items()}
    genai = _genai.extract(attributes, keep_echoes=keep_echoes)
    cost = _take_cost(attributes)

    exception = next((attrs for name, attrs in reversed(span.events) if name == "exception"), None)
    failed = span.status == "ERROR"
    events = []
    for name, attrs in span.events:
        if failed and attrs is exception:
            continue  # summarised in failure_class / error
        kept = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items() if not _volatile(k)}
        events.append({"name": name, "attributes": kept} if kept else {"name": name})
    if span.kind != "internal":
        attributes["span.kind"] = span.kind
    if events:
        attributes["otel.events"] = events
    if service and span.service:
        attributes.setdefault("service.name", span.service)

    failure_class = error = None
    if failed:
        error = span.message
        if exception is not None:
            kind = exception.get("exception.type")
            failure_class = str(kind).rsplit(".", 1)[-1] if kind else None
            message = _str_or_none(exception.get("exception.message"))
            # Python's SDK writes "Type: message" as the status message: keep just the message.
            if error is None or error == f"{failure_class}: {message}":
                error = message
    start = span.start / 1e9 if span.start is not None else None
    duration = (span.end - span.start) / 1e9 if span.start is not None and span.end is not None else None
    return Step(
        step_id=span.name,
        parent=path,
        status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
        failure_class=failure_class,
        error=error,
        model=genai.model,
        tokens=genai.tokens,
        cost=cost,
        input=genai.input,
        output=genai.output,
        attributes=attributes,
        start=start,
        duration=duration,
        span_id=span.span_id,
        parent_span_id=None if parent is None else parent.span_id,
    )


def _take_cost(attributes: dict[str, Any]) -> Decimal | None:
    keys = [k for k in _COST_KEYS if k in attributes]
    if not keys:
        keys = [k for k in attributes if k.rsplit(".", 1)[-1] in _COST_NAMES]
    if len(keys) != 1:
        return None  # none, or ambiguous: all stay attributes
    cost = decimal_or_none(attributes[keys[0]])
    if cost is not None:
        del attributes[keys[0]]
    return cost


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# -- capture ---------------------------------------------------------------------------


def _spent_once(once_type: Any) -> Any:
    once = once_type()
    once.do_once(lambda: None)
    return once


@contextmanager
def _attached(provider: Any, processor: Any) -> Iterator[None]:
    """``processor`` on an already-installed SDK provider for the block, then taken off."""
    provider.add_span_processor(processor)
    try:
        yield
    finally:
        multi = provider._active_span_processor
        with multi._lock:
            multi._span_processors = tuple(p for p in multi._span_processors if p is not processor)


def _unbound_proxy_tracer(api: Any) -> property:
    """``ProxyTracer._tracer`` that uses the current provider without binding to it."""
    tracers: dict[int, tuple[Any, Any]] = {}
    lock = threading.Lock()

    def _tracer(self: Any) -> Any:
        if self._real_tracer:
            return self._real_tracer  # bound before the block, to an earlier real provider
        provider = api._TRACER_PROVIDER
        if not provider:
            return self._noop_tracer
        with lock:
            cached = tracers.get(id(self))
            if cached is None or cached[0] is not self:
                tracer = provider.get_tracer(
                    self._instrumenting_module_name,
                    self._instrumenting_library_version,
                    self._schema_url,
                    self._attributes,
                )
                cached = tracers[id(self)] = (self, tracer)
        return cached[1]

    return property(_tracer)


def spans_of(obj: object) -> list[_Span]:
    """The spans of any input ``OtelAdapter`` detects."""
    if _is_exporter(obj):
        exporter: Any = obj
        return _from_sdk(exporter.get_finished_spans())
    if _is_sdk_span(obj):
        return _from_sdk([obj])
    if _is_sdk_span(first_item(obj)):
        return _from_sdk(obj)
    if _is_proto(obj):
        return _from_proto(obj)
    data = _parsed(obj)
    if not _is_otlp(data):
        raise malformed(_SOURCE, "expected OTLP/JSON with a top-level 'resourceSpans' list")
    return _from_otlp(data)


def build(spans: list[_Span], *, keep_echoes: bool = False) -> Trace:
    """The ``Trace`` of ``spans`` (from ``spans_of``)."""
    return _build(spans, keep_echoes=keep_echoes)


@dataclass
class MemoryProvider:
    """A test-scoped SDK ``TracerProvider``, its span processor and the exporter it feeds."""

    provider: Any
    processor: Any
    exporter: Any


@contextmanager
def in_memory_provider(resource: Any = None) -> Iterator[MemoryProvider]:
    """A test-scoped SDK ``TracerProvider`` exporting to an ``InMemorySpanExporter``.

    Always-on sampler, no span limits, ``OTEL_SDK_DISABLED`` ignored, ``resource`` or none
    (never the environment's); shut down at exit.
    """
    sdk = importlib.import_module("opentelemetry.sdk.trace")
    export = importlib.import_module("opentelemetry.sdk.trace.export")
    memory = importlib.import_module("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    resources = importlib.import_module("opentelemetry.sdk.resources")
    sampling = importlib.import_module("opentelemetry.sdk.trace.sampling")
    unset = sdk.SpanLimits.UNSET
    limits = sdk.SpanLimits(
        max_attributes=unset,
        max_events=unset,
        max_links=unset,
        max_span_attributes=unset,
        max_event_attributes=unset,
        max_link_attributes=unset,
        max_attribute_length=unset,
        max_span_attribute_length=unset,
    )
    exporter = memory.InMemorySpanExporter()
    with environment(OTEL_SDK_DISABLED="false"):  # read once, by the constructor
        provider = sdk.TracerProvider(
            sampler=sampling.ALWAYS_ON,
            resource=resource if resource is not None else resources.Resource.get_empty(),
            shutdown_on_exit=False,
            span_limits=limits,
        )
    processor = export.SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    try:
        yield MemoryProvider(provider, processor, exporter)
    finally:
        provider.shutdown()


class OtelAdapter:
    """``keep_echoes=True`` keeps what ``_genai`` leaves out of goldens by default."""

    name = "otel"
    framework = "opentelemetry.sdk"
    extra = "otel"

    def __init__(self, *, keep_echoes: bool = False) -> None:
        self.keep_echoes = keep_echoes

    def detect(self, obj: object) -> bool:
        if _is_exporter(obj) or _is_sdk_span(obj) or _is_sdk_span(first_item(obj)) or _is_proto(obj):
            return True
        if isinstance(obj, (Mapping, list, str, bytes, os.PathLike)):
            return _is_otlp(_parsed(obj))
        return False

    def convert(self, obj: object) -> Trace:
        return _build(spans_of(obj), keep_echoes=self.keep_echoes)

    @contextmanager
    def capture(self, collect: Callable[[object], None]) -> Iterator[None]:
        require(self.framework, self.extra)
        api = importlib.import_module("opentelemetry.trace")
        sdk = importlib.import_module("opentelemetry.sdk.trace")
        require_attributes(api, "_TRACER_PROVIDER", "_TRACER_PROVIDER_SET_ONCE")
        previous = api._TRACER_PROVIDER
        # the installed provider's service, if any; never the environment's
        resource = previous.resource if isinstance(previous, sdk.TracerProvider) else None
        memory: MemoryProvider | None = None
        try:
            with in_memory_provider(resource) as memory, ExitStack() as stack:
                stack.enter_context(patched(api, "_TRACER_PROVIDER", memory.provider))
                spent = _spent_once(type(api._TRACER_PROVIDER_SET_ONCE))
                stack.enter_context(patched(api, "_TRACER_PROVIDER_SET_ONCE", spent))
                stack.enter_context(patched(api.ProxyTracer, "_tracer", _unbound_proxy_tracer(api)))
                if isinstance(previous, sdk.TracerProvider):
                    stack.enter_context(_attached(previous, memory.processor))
                yield
        finally:
            spans = memory.exporter.get_finished_spans() if memory is not None else ()
            if spans:
                collect(spans)


ADAPTER = OtelAdapter()
