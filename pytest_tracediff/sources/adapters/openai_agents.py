"""OpenAI Agents SDK (``pip install 'pytest-tracediff[openai-agents]'``): runs traced by the SDK itself.

The SDK's tracing is its own (trace processors, not OpenTelemetry). ``trace_capture("openai-agents")``
records every trace that a run in the block produces; ``Trace.from_any`` reads what it
collected (``cap.raw``: ``AgentsRun`` objects).

Mapping
    The root step is the trace's workflow name (``RunConfig(workflow_name=...)``, default
    ``"Agent workflow"``), once: the runner's ``task`` span repeats that name and is folded
    into the root. Every other span becomes a step placed by its span parent:

    - agent span: step ``<agent name>``; ``attributes`` ``type: agent``, ``tools``,
      ``handoffs``, ``output_type``;
    - generation span (Chat Completions models, LiteLLM, custom models) and response span
      (the Responses API): step ``generation`` / ``response``; ``model``, ``tokens``
      (``input_tokens``/``output_tokens``/``total_tokens``), ``input`` (the messages sent),
      ``output`` (the items the model returned), ``attributes.model_config``. The SDK sends
      the whole conversation on every call, so when a call's input starts with the previous
      call's input, ``input`` is ``{"history": <items carried over>, "new": [<the rest>]}``:
      each message is written once, not once per turn. Ids and ``call_id`` values that the
      model or server makes up, and fields the SDK leaves ``null``, are left out of items;
    - function span (a tool): step ``<tool name>``; ``input`` the arguments parsed from
      JSON, ``output`` what the tool returned (what the model got back);
    - handoff span: step ``handoff``, ``attributes`` ``from_agent``/``to_agent``;
    - guardrail span: step ``<guardrail name>``, ``attributes`` ``type: guardrail``,
      ``triggered``; custom span: step ``<name>``, ``attributes`` its data and ``type: custom``;
      MCP list-tools and speech spans: step ``<span type>`` with their data as attributes.

    Turns: the runner opens a ``turn`` span per loop iteration (turn 1, 2, ... counted over
    the whole run, handoffs included). Turn spans are folded away like the task span, and
    their content carries the turn number as ``loop_index``: ``support/generation[2]`` is
    the model call of turn 2, ``support/refund[2]`` a tool it called. ``loop_index`` (not an
    attribute) because it is part of a step's identity in diffs: the two model calls of
    turns 2 and 3 are different steps, aligned and named by turn, and a diff entry names
    the turn. A model call repeated within one turn right after a failed one (the runner's
    model retries) is its next ``attempt``. A tool that the model calls again after it
    failed is a new call in a later turn, as the SDK runs it. With
    ``TracingConfig(include_task_and_turn_spans=False)`` the SDK writes no turn spans and
    steps have no ``loop_index``.

    Failures: a span with an error is ``failed``. For a tool, the SDK's span error holds
    only "Error running tool (non-fatal)" and, with its default failure handler, a redacted
    message; the capture records the exception the tool raised as it reaches the SDK's
    failure handler, so the step keeps ``failure_class`` (the class name) and ``error`` (its
    message), and ``attributes.span_error`` the SDK's own message. ``output`` stays the text
    the model received instead of a result. Other failed spans have ``error`` from the
    span error (its data's ``error`` text when present, else its message) and no class.
    Siblings that overlapped in time (tool calls the SDK ran concurrently) share a ``level``.
    The run is ``failed`` when the root or an agent directly under it failed, ``running``
    when its trace had not ended when the block did.

Dropped: trace, span, group and response ids; times (only in the volatile ``start`` /
``duration``); the task and turn spans' usage (sums of the model calls' usage); the SDK
version; the ``requests`` count of usage and its zero-valued details.

Capture (what is swapped, and why)
    The SDK asks ``agents.tracing.setup.get_trace_provider()`` for the global provider on
    every trace and span, and that provider's processors include, by default, a batch
    processor that exports to OpenAI from a background thread. For the block the module
    global ``GLOBAL_TRACE_PROVIDER`` is set to a fresh ``DefaultTraceProvider`` whose only
    processor records in memory: nothing is exported, and the installed provider, its
    processors (the default exporter, OpenInference's bridge...) and its disabled flag are
    left untouched (and the default one is never created); the previous value, ``None``
    included, is put back on exit, also when the block raises. The test provider is
    enabled whatever ``OPENAI_AGENTS_DISABLE_TRACING`` or ``set_tracing_disabled`` said
    before the block. A run started with ``RunConfig(tracing_disabled=True)`` (or
    ``trace(..., disabled=True)``, or ``set_tracing_disabled(True)`` inside the block)
    records nothing: ``cap.trace`` then raises ``CaptureError`` naming that cause instead
    of reporting zero traces. The module functions ``maybe_invoke_function_tool_failure_error_function``
    of ``agents.tool`` and ``agents.run_internal.tool_execution`` are wrapped to see tool
    exceptions (see Failures). Processors added inside the block land on the test provider
    and are gone after it; spans of a trace started before the block are not recorded; a
    trace still open at exit is collected with status ``running``.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...errors import UnknownTraceError
from ...model import Step, StepStatus, Tokens, Trace
from ...model.canonical import canonical
from . import _common

SOURCE = "openai-agents"
_FRAMEWORK = "agents"
_DISTRIBUTION = "openai-agents"
_DEFAULT_WORKFLOW = "Agent workflow"

# Span types whose step id is the span's own name (else the type is the step id).
_NAMED = frozenset({"agent", "function", "guardrail", "custom"})
_MODEL_CALLS = frozenset({"generation", "response"})
# Keys of model input/output items that the model or server makes up per call.
_ITEM_IDS = frozenset({"id", "call_id", "response_id"})
_FAILURE_HANDLER = "maybe_invoke_function_tool_failure_error_function"
_FAILURE_HANDLER_MODULES = ("agents.tool", "agents.run_internal.tool_execution")


@dataclass
class AgentsSpan:
    """One finished SDK span, as the SDK exports it plus what its export leaves out."""

    span_id: str
    parent_id: str | None
    kind: str
    data: dict[str, Any]
    error: dict[str, Any] | None = None
    start: float | None = None
    end: float | None = None
    exception: tuple[str, str] | None = None
    """(class name, message) of the exception a tool raised, when this is its span."""


@dataclass
class AgentsRun:
    """One SDK trace recorded in a capture block: what ``cap.raw`` holds."""

    workflow_name: str
    trace_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    spans: list[AgentsSpan] = field(default_factory=list)
    finished: bool = False


@dataclass(frozen=True)
class DisabledRun:
    """A run in the block whose tracing was switched off, so nothing was recorded."""

    cause: str


class OpenAIAgentsAdapter:
    name = SOURCE
    framework = _FRAMEWORK
    extra = _DISTRIBUTION

    def detect(self, obj: object) -> bool:
        if isinstance(obj, (AgentsRun, DisabledRun)):
            return True
        return _is_run_result(obj)

    def convert(self, obj: object) -> Trace:
        if isinstance(obj, AgentsRun):
            return _build(obj)
        if isinstance(obj, DisabledRun):
            from ...errors import CaptureError

            raise CaptureError(
                f"an OpenAI Agents run in the capture block recorded no trace: {obj.cause}. "
                f"Remove that setting for the test (the capture exports nothing), or leave "
                f"'openai-agents' out of trace_capture(...)"
            )
        if _is_run_result(obj):
            raise UnknownTraceError(
                f"Trace.from_any() cannot read an OpenAI Agents {type(obj).__qualname__}: it holds the "
                f"items and model responses but no trace (no workflow name, no span tree, no turns, "
                f"no tool exceptions: a failed tool is only the text the model got). Run the agent "
                f'inside `with trace_capture("openai-agents") as cap:` and use cap.trace.'
            )
        raise _common.malformed(SOURCE, f"{type(obj).__qualname__} is not an AgentsRun")

    @contextmanager
    def capture(self, collect: Callable[[object], None]) -> Iterator[None]:
        with _capture(collect):
            yield


ADAPTER = OpenAIAgentsAdapter()


def _is_run_result(obj: object) -> bool:
    return _common.from_module(obj, "agents.result") and type(obj).__name__ in ("RunResult", "RunResultStreaming")


# -- building --------------------------------------------------------------------


def _build(run: AgentsRun) -> Trace:
    spans = {span.span_id: span for span in run.spans}
    children: dict[str | None, list[tuple[AgentsSpan, int | None]]] = {}
    for span in run.spans:
        if _folded(span) is not None:
            continue
        parent, turn = _placement(span, spans)
        children.setdefault(parent, []).append((span, turn))

    root_error = next((s.error for s in run.spans if _folded(s) == "task" and s.error), None)
    root = Step(
        step_id=run.workflow_name,
        status=StepStatus.FAILED if root_error else StepStatus.COMPLETED,
        error=_error_text(root_error),
        attributes=dict(run.metadata),
        start=min((s.start for s in run.spans if s.start is not None), default=None),
    )
    if root.start is not None:
        ends = [s.end for s in run.spans if s.end is not None]
        root.duration = max(ends) - root.start if ends else None
    steps = [root]
    history = _History()

    def visit(parent_id: str | None, path: str) -> None:
        previous: Step | None = None
        placed = children.get(parent_id, [])
        for (span, turn), level in _common.overlap_levels(placed, lambda p: p[0].start, lambda p: p[0].end):
            step = _step(span, path, turn, history)
            step.level = level
            if (
                previous is not None
                and level is None
                and previous.step_id == step.step_id
                and previous.loop_index == step.loop_index
                and previous.failed
            ):
                step.attempt = previous.attempt + 1
            previous = step
            steps.append(step)
            visit(span.span_id, step.path)

    visit(None, root.step_id)
    agents_failed = any(s.failed for s in steps[1:] if s.parent == root.step_id and s.attributes.get("type") == "agent")
    if not run.finished:
        status = "running"
    elif root.failed or agents_failed:
        status = "failed"
    else:
        status = "completed"
    return Trace(
        source=SOURCE, status=status, steps=steps, run_id=run.trace_id, start=root.start, duration=root.duration
    )


def _folded(span: AgentsSpan) -> str | None:
    """``"task"`` / ``"turn"`` for the runner's structural spans, which are not steps."""
    return span.kind if span.kind in ("task", "turn") else None


def _placement(span: AgentsSpan, spans: Mapping[str, AgentsSpan]) -> tuple[str | None, int | None]:
    """The nearest ancestor that is a step (``None``: the root) and the turn in between."""
    turn: int | None = None
    parent_id = span.parent_id
    seen: set[str] = set()
    while parent_id is not None and parent_id in spans and parent_id not in seen:
        seen.add(parent_id)
        parent = spans[parent_id]
        folded = _folded(parent)
        if folded is None:
            return parent_id, turn
        if folded == "turn" and turn is None:
            number = parent.data.get("data", {}).get("turn")
            turn = number if isinstance(number, int) and not isinstance(number, bool) else None
        parent_id = parent.parent_id
    return None, turn


class _History:
    """The previous model call's input, to write each conversation item once."""

    def __init__(self) -> None:
        self.previous: list[Any] | None = None

    def shorten(self, items: Any) -> Any:
        if not isinstance(items, list):
            return items
        previous, self.previous = self.previous, items
        if previous and len(items) > len(previous) and items[: len(previous)] == previous:
            return {"history": len(previous), "new": items[len(previous) :]}
        return items


def _step(span: AgentsSpan, parent: str, turn: int | None, history: _History) -> Step:
    data = {k: v for k, v in span.data.items() if k != "type"}
    step = Step(step_id=span.kind, parent=parent, loop_index=turn, start=span.start, span_id=span.span_id)
    if span.start is not None and span.end is not None:
        step.duration = span.end - span.start
    if span.kind in _NAMED:
        step.step_id = str(data.pop("name", None) or span.kind)
        step.attributes["type"] = span.kind
    if span.kind in _MODEL_CALLS:
        _model_call(step, data, history)
    elif span.kind == "function":
        step.input = _common.json_or_text(data.pop("input", None))
        step.output = _common.json_or_text(data.pop("output", None))
        if data.get("mcp_data"):
            step.attributes["mcp_data"] = data["mcp_data"]
    elif span.kind == "custom":
        custom = data.get("data")
        step.attributes.update(custom if isinstance(custom, Mapping) else {"data": custom})
    else:
        step.attributes.update({k: v for k, v in data.items() if v is not None and v != []})
    if span.error:
        step.status = StepStatus.FAILED
        step.error = _error_text(span.error)
        if span.exception is not None:
            step.failure_class, step.error = span.exception
            step.attributes["span_error"] = span.error.get("message")
    return step


def _model_call(step: Step, data: dict[str, Any], history: _History) -> None:
    model = data.get("model")
    step.model = model if isinstance(model, str) else None
    step.tokens = _tokens(data.get("usage"))
    step.input = history.shorten(_compact(data.get("input")))
    step.output = _compact(data.get("output"))
    if data.get("model_config"):
        step.attributes["model_config"] = data["model_config"]
    details = {
        k: v
        for k, v in (data.get("usage") or {}).items()
        if k not in ("requests", "input_tokens", "output_tokens", "total_tokens", "prompt_tokens", "completion_tokens")
        and _nonzero(v)
    }
    if details:
        step.attributes["usage"] = details


def _tokens(usage: Any) -> Tokens | None:
    if not isinstance(usage, Mapping):
        return None
    prompt = _int(usage.get("input_tokens", usage.get("prompt_tokens")))
    completion = _int(usage.get("output_tokens", usage.get("completion_tokens")))
    total = _int(usage.get("total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    return Tokens(prompt=prompt, completion=completion, total=total)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _nonzero(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_nonzero(v) for v in value.values())
    return bool(value)


def _compact(value: Any) -> Any:
    """Model items without made-up ids and without the fields the SDK left null."""
    if isinstance(value, list):
        return [_compact(item) for item in value]
    if isinstance(value, Mapping):
        return {k: _compact(v) for k, v in value.items() if v is not None and k not in _ITEM_IDS}
    return value


def _error_text(error: Mapping[str, Any] | None) -> str | None:
    if not error:
        return None
    data = error.get("data")
    detail = data.get("error") if isinstance(data, Mapping) else None
    return str(detail) if detail else str(error.get("message") or "error")


# -- capture -----------------------------------------------------------------------


class _Recorder:
    """A trace processor (the SDK's ``TracingProcessor`` interface) that keeps runs in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: dict[str, AgentsRun] = {}
        self.ended: list[str] = []
        self.exceptions: dict[str, tuple[str, str]] = {}
        self.disabled: list[str] = []

    def on_trace_start(self, trace: Any) -> None:
        exported = trace.export() or {}
        metadata = exported.get("metadata")
        with self._lock:
            self.runs[trace.trace_id] = AgentsRun(
                workflow_name=str(exported.get("workflow_name") or getattr(trace, "name", _DEFAULT_WORKFLOW)),
                trace_id=trace.trace_id,
                metadata=dict(canonical(metadata)) if isinstance(metadata, Mapping) else {},
            )

    def on_trace_end(self, trace: Any) -> None:
        with self._lock:
            run = self.runs.get(trace.trace_id)
            if run is not None and not run.finished:
                run.finished = True
                self.ended.append(trace.trace_id)

    def on_span_start(self, span: Any) -> None:
        """Nothing to do: a span is recorded when it ends, complete."""

    def on_span_end(self, span: Any) -> None:
        recorded = _snapshot(span)
        with self._lock:
            run = self.runs.get(span.trace_id)
            if run is None:
                return  # its trace started before the block
            recorded.exception = self.exceptions.pop(span.span_id, None)
            run.spans.append(recorded)

    def tool_failed(self, span_id: str, error: BaseException) -> None:
        with self._lock:
            self.exceptions.setdefault(span_id, (type(error).__name__, _common.exception_text(error)))

    def shutdown(self) -> None:
        """Nothing is buffered outside the recorder."""

    def force_flush(self) -> None:
        """Nothing is buffered outside the recorder."""

    def collected(self) -> list[AgentsRun]:
        with self._lock:
            open_runs = [trace_id for trace_id in self.runs if trace_id not in self.ended]
            return [self.runs[trace_id] for trace_id in [*self.ended, *open_runs]]


def _snapshot(span: Any) -> AgentsSpan:
    """The span's data frozen into plain JSON data now: the SDK may reuse the objects."""
    span_data = span.span_data
    exported = span_data.export()
    if span_data.type == "function":
        exported["output"] = span_data.output  # export() turns it into str()
    elif span_data.type == "response":
        response = span_data.response
        if response is not None:
            exported["model"] = getattr(response, "model", None)
            exported["output"] = getattr(response, "output", None)
        exported["input"] = span_data.input
        exported.pop("response_id", None)
    error = span.error
    return AgentsSpan(
        span_id=span.span_id,
        parent_id=span.parent_id,
        kind=str(span_data.type),
        data=canonical(exported),
        error=canonical(error) if error else None,
        start=_common.epoch_seconds(span.started_at),
        end=_common.epoch_seconds(span.ended_at),
    )


def _needed(module: Any, name: str) -> Any:
    """``module.name``, or the ``CaptureError`` naming the installed version."""
    _common.require_attributes(module, name)
    return getattr(module, name)


def _watching_tool_failures(handler: Callable[..., Any], recorder: _Recorder, current_span: Callable[[], Any]) -> Any:
    """``handler`` (the SDK's tool-failure hook) that first notes the exception on the tool's span."""

    @functools.wraps(handler)
    async def watched(*args: Any, **kwargs: Any) -> Any:
        error = kwargs.get("error")
        span = current_span()
        if isinstance(error, BaseException) and span is not None:
            recorder.tool_failed(span.span_id, error)
        return await handler(*args, **kwargs)

    return watched


def _disabled_cause(provider: Any, disabled: bool) -> str:
    if not disabled and provider._disabled:
        return "set_tracing_disabled(True) was called inside the block"
    cause = "its tracing was disabled by RunConfig(tracing_disabled=True) or trace(..., disabled=True)"
    if os.environ.get("OPENAI_AGENTS_DISABLE_TRACING"):
        cause += " (OPENAI_AGENTS_DISABLE_TRACING is ignored inside the block; it is not the cause)"
    return cause


@contextmanager
def _capture(collect: Callable[[object], None]) -> Iterator[None]:
    _common.require(_FRAMEWORK, _DISTRIBUTION)
    setup = importlib.import_module("agents.tracing.setup")
    provider_type = _needed(importlib.import_module("agents.tracing.provider"), "DefaultTraceProvider")
    current_span = _needed(importlib.import_module("agents.tracing"), "get_current_span")
    _needed(setup, "GLOBAL_TRACE_PROVIDER")
    handlers = [(m, _needed(m, _FAILURE_HANDLER)) for m in map(importlib.import_module, _FAILURE_HANDLER_MODULES)]

    recorder = _Recorder()
    provider = provider_type()
    provider.set_disabled(False)  # whatever OPENAI_AGENTS_DISABLE_TRACING says
    provider.register_processor(recorder)
    create_trace = provider.create_trace

    def recording_create_trace(*args: Any, **kwargs: Any) -> Any:
        trace = create_trace(*args, **kwargs)
        if trace.export() is None:  # a NoOpTrace: nothing of this run will be recorded
            recorder.disabled.append(_disabled_cause(provider, bool(kwargs.get("disabled"))))
        return trace

    provider.create_trace = recording_create_trace
    try:
        with ExitStack() as stack:
            stack.enter_context(_common.patched(setup, "GLOBAL_TRACE_PROVIDER", provider))
            for module, handler in handlers:
                watched = _watching_tool_failures(handler, recorder, current_span)
                stack.enter_context(_common.patched(module, _FAILURE_HANDLER, watched))
            yield
    finally:
        runs = recorder.collected()
        for run in runs:
            collect(run)
        if not runs and recorder.disabled:
            collect(DisabledRun(recorder.disabled[0]))
