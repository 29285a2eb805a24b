"""pydantic-ai agent runs: captured through pydantic-ai's own OpenTelemetry instrumentation,
or read from a run result / message history with no tracing at all.

Accepted inputs
    - ``AgentSpans``: what ``trace_capture("pydantic-ai")`` collects (the spans pydantic-ai
      emitted in the block);
    - an ``AgentRunResult`` (``agent.run_sync(...)``): its ``all_messages()`` plus its typed
      ``output``;
    - a list of ``ModelMessage`` (``result.all_messages()``, a stored history).

Conversion of captured spans
    The OpenTelemetry adapter's, with its GenAI semantics (``_genai.py``): ``invoke_agent
    <agent>`` is the root, ``chat <model>`` steps hold the model's input and output
    messages, model and tokens, ``execute_tool <tool>`` steps the tool's arguments as input
    and its return value as output. A tool that raised ``ModelRetry`` is a failed attempt
    (``error`` the retry message) and the model's next call of that tool its next attempt.
    pydantic-ai emits no span for an output tool (structured output, ``output_type=...``):
    each call of it becomes an ``execute_tool final_result`` step after the chat step that
    made it, input the arguments; every call but the accepted one was rejected by output
    validation (an ``output_validator`` raising ``ModelRetry``, a validation error) and is a
    failed attempt whose error is what the model was told. The run's typed output is the
    root step's output, unless it is a text equal to the last chat step's answer (then it
    is already there). Echoes (the whole history on the root, tool definitions, logfire
    bookkeeping) are left out unless ``PydanticAIAdapter(keep_echoes=True)``.

Conversion of messages (no tracing)
    One ``chat <model_name>`` step per ``ModelResponse`` (input: the request parts since
    the previous response, as GenAI messages; output: the response; model and tokens from
    its usage), followed by one ``execute_tool <tool>`` step per tool call, its output the
    matching ``ToolReturnPart`` (failed when its outcome is not ``success``). A run result
    adds an ``invoke_agent`` root holding the run's output. Timestamps, run and
    conversation ids and tool-call ids are left out.

Capture (what is changed, and why)
    For the block, ``Agent.instrument_all(...)`` (pydantic-ai's public switch for every
    agent without instrumentation settings of its own) points agents at a private,
    test-scoped ``TracerProvider`` exporting to memory (the OpenTelemetry adapter's), with a
    no-op meter provider. The global OpenTelemetry provider is not touched, so spans of
    other libraries do not reach this trace (capture ``"otel"`` too for those). At exit the
    previous default is put back, read from the private ``Agent._instrument_default`` (there
    is no public getter). An agent built with its own ``instrument=`` setting keeps it and
    is not captured here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ...model import Step, StepStatus, Tokens, Trace
from . import _genai, otel
from ._common import first_item, from_module, malformed, require

_SOURCE = "pydantic-ai"
_MISSING = object()


@dataclass(frozen=True)
class AgentSpans:
    """The spans pydantic-ai's instrumentation emitted during one capture block."""

    spans: tuple[Any, ...]


# -- spans -----------------------------------------------------------------------------


def _output_tool_steps(steps: list[Step]) -> list[Step]:
    """``steps`` with an ``execute_tool`` step for each output-tool call (they have no span)."""
    out: list[Step] = []
    for index, step in enumerate(steps):
        out.append(step)
        if step.attributes.get("gen_ai.operation.name") != "chat":
            continue
        siblings = [s for s in steps[index + 1 :] if s.parent == step.parent]
        turn = []
        for sibling in siblings:
            if sibling.attributes.get("gen_ai.operation.name") == "chat":
                break
            turn.append(sibling)
        answer = next((s for s in siblings if s.attributes.get("gen_ai.operation.name") == "chat"), None)
        run_tools = {s.attributes.get("gen_ai.tool.name") for s in turn}
        # The run failed after this call (e.g. out of output retries): it was rejected too.
        run_failed = answer is None and any(s.path == step.parent and s.failed for s in steps)
        for call in _tool_calls(step.output):
            name = call.get("name")
            if not isinstance(name, str) or name in run_tools:
                continue
            result = _response_to(answer.input, name) if answer is not None else _MISSING
            rejected = result is not _MISSING or run_failed
            out.append(
                Step(
                    step_id=f"execute_tool {name}",
                    parent=step.parent,
                    status=StepStatus.FAILED if rejected else StepStatus.COMPLETED,
                    error=None if result is _MISSING else str(result),
                    input=call.get("arguments"),
                    attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name},
                    parent_span_id=step.parent_span_id,
                )
            )
    return out


def _tool_calls(messages: Any) -> list[dict[str, Any]]:
    return [p for p in _genai.parts(messages) if p.get("type") == "tool_call"]


def _response_to(messages: Any, name: str) -> Any:
    """The last answer to a call of ``name`` in a chat's input messages, else ``_MISSING``."""
    answers = [p for p in _genai.parts(messages) if p.get("type") == "tool_call_response" and p.get("name") == name]
    return answers[-1].get("result") if answers else _MISSING


# -- messages --------------------------------------------------------------------------


def _part(part: Any) -> dict[str, Any]:
    """One message part in the GenAI conventions' shape (as pydantic-ai's spans write it)."""
    kind = getattr(part, "part_kind", None)
    if kind in ("user-prompt", "system-prompt", "text", "thinking"):
        return {"type": "thinking" if kind == "thinking" else "text", "content": part.content}
    if kind == "tool-call":
        return {"type": "tool_call", "name": part.tool_name, "arguments": part.args_as_dict()}
    if kind == "tool-return":
        return {"type": "tool_call_response", "name": part.tool_name, "result": part.content}
    if kind in ("retry-prompt", "retry-feedback"):
        return {"type": "text", "content": part.model_response()}
    return {"type": str(kind)}


def _role(part: Any) -> str:
    kind = getattr(part, "part_kind", None)
    return {"system-prompt": "system", "tool-return": "tool"}.get(str(kind), "user")


def _request_messages(parts: Sequence[Any]) -> list[dict[str, Any]]:
    """Consecutive parts of one role as one message."""
    messages: list[dict[str, Any]] = []
    for part in parts:
        role = _role(part)
        if messages and messages[-1]["role"] == role:
            messages[-1]["parts"].append(_part(part))
        else:
            messages.append({"role": role, "parts": [_part(part)]})
    return messages


def _from_messages(history: Sequence[Any], *, output: Any = _MISSING) -> Trace:
    root = "invoke_agent" if output is not _MISSING else ""
    steps: list[Step] = []
    pending: list[Any] = []
    tools: dict[str, Step] = {}
    for index, message in enumerate(history):
        kind = getattr(message, "kind", None)
        parts = getattr(message, "parts", None)
        if kind not in ("request", "response") or not isinstance(parts, Sequence):
            raise malformed(_SOURCE, f"message {index} is a {type(message).__name__}, not a ModelRequest/ModelResponse")
        if kind == "request":
            for part in parts:
                tool = tools.pop(getattr(part, "tool_call_id", None) or "", None)
                if tool is not None and getattr(part, "part_kind", None) == "tool-return":
                    tool.output = part.content
                    if getattr(part, "outcome", "success") != "success":
                        tool.status, tool.error = StepStatus.FAILED, str(part.content)
                elif tool is not None:  # a deprecated RetryPromptPart answering the call
                    tool.status, tool.error = StepStatus.FAILED, part.model_response()
            pending.extend(parts)
            continue
        usage = getattr(message, "usage", None)
        prompt, completion = getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
        steps.append(
            Step(
                step_id=f"chat {message.model_name}" if message.model_name else "chat",
                parent=root,
                model=message.model_name,
                tokens=Tokens(prompt=prompt, completion=completion) if usage is not None else None,
                input=_request_messages(pending),
                output=[{"role": "assistant", "parts": [_part(p) for p in parts]}],
                attributes={"gen_ai.operation.name": "chat"},
            )
        )
        pending = []
        for part in parts:
            if getattr(part, "part_kind", None) != "tool-call":
                continue
            tool = Step(
                step_id=f"execute_tool {part.tool_name}",
                parent=root,
                input=part.args_as_dict(),
                attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": part.tool_name},
            )
            tools[part.tool_call_id] = tool
            steps.append(tool)
    if root:
        steps.insert(
            0, Step(step_id=root, attributes={"gen_ai.operation.name": "invoke_agent", _genai.FINAL_RESULT: output})
        )
    _genai.link_tool_retries(steps)
    _genai.place_final_result(steps)
    # A run result exists only for a run that completed; a bare history does not say.
    return Trace(source=_SOURCE, status="completed" if root else None, steps=steps)


# -- detection -------------------------------------------------------------------------


def _is_run_result(obj: object) -> bool:
    return from_module(obj, "pydantic_ai") and callable(getattr(obj, "all_messages", None)) and hasattr(obj, "output")


def _is_message(obj: object) -> bool:
    return from_module(obj, "pydantic_ai.messages") and getattr(obj, "kind", None) in ("request", "response")


class PydanticAIAdapter:
    """``keep_echoes=True`` keeps what ``_genai`` leaves out of goldens by default."""

    name = "pydantic-ai"
    framework = "pydantic_ai"
    extra = "pydantic-ai"

    def __init__(self, *, keep_echoes: bool = False) -> None:
        self.keep_echoes = keep_echoes

    def detect(self, obj: object) -> bool:
        return isinstance(obj, AgentSpans) or _is_run_result(obj) or _is_message(first_item(obj))

    def convert(self, obj: object) -> Trace:
        if isinstance(obj, AgentSpans):
            spans = otel.spans_of(list(obj.spans)) if obj.spans else []
            trace = otel.build(spans, keep_echoes=self.keep_echoes)
            trace.steps = _output_tool_steps(trace.steps)
            _genai.link_tool_retries(trace.steps)
            trace.source = _SOURCE
            return trace
        if _is_run_result(obj):
            result: Any = obj
            return _from_messages(result.all_messages(), output=result.output)
        if _is_message(first_item(obj)):
            return _from_messages(obj)  # type: ignore[arg-type]
        raise malformed(_SOURCE, f"{type(obj).__qualname__} is not an agent run result, messages or AgentSpans")

    @contextmanager
    def capture(self, collect: Callable[[object], None]) -> Iterator[None]:
        from ...errors import CaptureError

        pydantic_ai = require(self.framework, self.extra)
        instrumented = importlib.import_module("pydantic_ai.models.instrumented")
        metrics = importlib.import_module("opentelemetry.metrics")
        agent = pydantic_ai.Agent
        previous = agent.__dict__.get("_instrument_default", _MISSING)
        if previous is _MISSING:
            version = getattr(pydantic_ai, "__version__", "?")
            raise CaptureError(
                f"pydantic-ai {version} has no Agent._instrument_default, which trace_capture reads to "
                f"restore Agent.instrument_all() afterwards; install a pydantic-ai-slim version that "
                f"pytest-tracediff[pydantic-ai] supports"
            )
        memory: otel.MemoryProvider | None = None
        try:
            with otel.in_memory_provider() as memory:
                settings = instrumented.InstrumentationSettings(
                    tracer_provider=memory.provider, meter_provider=metrics.NoOpMeterProvider()
                )
                agent.instrument_all(settings)
                try:
                    yield
                finally:
                    agent.instrument_all(previous)
        finally:
            spans = memory.exporter.get_finished_spans() if memory is not None else ()
            if spans:
                collect(AgentSpans(tuple(spans)))


ADAPTER = PydanticAIAdapter()
