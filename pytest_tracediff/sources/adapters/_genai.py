"""GenAI meaning of span attributes: what an LLM or tool span did, as step fields.

Instrumented agent frameworks describe their work with one of two attribute conventions:
OpenTelemetry's GenAI semantic conventions (``gen_ai.*``: pydantic-ai, openai-agents via
its OTel bridge, Traceloop) and Arize's OpenInference (``openinference.span.kind``,
``input.value``, flattened ``llm.input_messages.N.message.*``). Both keep structured data
as JSON text or as one attribute per leaf; this module turns them back into data so a
golden shows ``{"city": "Paris"}``, not ``"{\\"city\\":\\"Paris\\"}"``.

What becomes a step field
    ============================================================  ==========================
    attributes                                                    step field
    ============================================================  ==========================
    ``gen_ai.response.model``, ``gen_ai.request.model``,          ``model``
    ``llm.model_name``
    ``gen_ai.usage.input/output/total_tokens`` (and the older     ``tokens``
    ``prompt/completion``), ``llm.token_count.prompt/completion/total``
    ``gen_ai.tool.call.arguments``, ``gen_ai.input.messages``,    ``input`` (first present)
    ``llm.input_messages.*``, ``input.value``, ``gen_ai.prompt``,
    ``traceloop.entity.input``
    ``gen_ai.tool.call.result``, ``gen_ai.output.messages``,      ``output`` (first present)
    ``llm.output_messages.*``, ``output.value``,
    ``gen_ai.completion``, ``traceloop.entity.output``
    ``final_result`` (pydantic-ai's run output, on the root)      ``output`` of that step
    ============================================================  ==========================

    JSON text is parsed (``input.value`` / ``output.value`` only when their
    ``*.mime_type`` is ``application/json``, or absent and the text looks like JSON); the
    mime types are then dropped. Other ``gen_ai.*`` attributes holding JSON text (e.g.
    ``gen_ai.system_instructions``) are parsed in place. Flattened OpenInference messages
    are rebuilt as lists of messages (``[{"role": ..., "content": ..., "tool_calls":
    [{"function": {"name": ..., "arguments": {...}}}]}]``). Tool-call ids inside messages
    (``id`` of ``tool_call`` / ``tool_call_response`` parts, OpenInference ``tool_call.id``
    and ``message.tool_call_id``) are dropped: a model or framework makes them up per call.

Echoes: left out by default, kept with ``keep_echoes=True``
    ================================================  ===========================================
    attribute                                         why it is an echo
    ================================================  ===========================================
    ``pydantic_ai.all_messages``                      the whole history, on the root span; every
                                                      message is already a chat step's input/output
    ``final_result`` equal to the text of the last    the run's answer, already the last chat
    chat output below it                              step's output (a typed output that differs
                                                      from that text stays, as the root's output)
    ``gen_ai.aggregated_usage.*``                     the sum of the chat steps' tokens
    ``gen_ai.tool.definitions``,                      tool definitions and JSON schemas: set-up,
    ``model_request_parameters``, ``llm.tools.*``,    repeated on every model call, not behaviour
    ``tool.parameters`` (OpenInference: the tool's
    parameter schema, not its arguments), ``tools``
    holding a list of definitions
    ``input.value`` / ``output.value`` when           the raw provider request/response that
    ``llm.input_messages`` / ``llm.output_messages``  the structured messages already hold
    are present
    ``logfire.*``                                     logfire's message templates and JSON
                                                      schemas of the other attributes
    ================================================  ===========================================

    Kept echoes stay as attributes, JSON text parsed; a kept ``final_result`` is the
    root step's output. Run-made ids (``gen_ai.conversation.id``, ``gen_ai.agent.call.id``)
    are volatile, not echoes: the OpenTelemetry adapter drops them either way.
    ``gen_ai.operation.name``, ``gen_ai.tool.name``, ``gen_ai.system``,
    ``gen_ai.provider.name``, ``gen_ai.agent.name``, ``agent_name``, ``model_name``,
    ``openinference.span.kind`` and ``tool.name`` stay as attributes.

Tool retries
    A tool span (``gen_ai.operation.name`` ``execute_tool`` or OpenInference kind ``TOOL``)
    whose previous run under the same parent and with the same name failed is that tool's
    next attempt: the error went back to the model, which called the tool again (that is
    how pydantic-ai's ``ModelRetry`` looks in a trace). Steps in between (the model call)
    do not break the chain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...model import Step, Tokens
from ._common import json_or_text

_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
_TOKEN_KEYS = {
    "prompt": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"),
    "completion": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"),
    "total": ("gen_ai.usage.total_tokens", "llm.token_count.total", "llm.usage.total_tokens"),
}
_INPUT_KEYS = ("gen_ai.tool.call.arguments", "gen_ai.input.messages", "gen_ai.prompt", "traceloop.entity.input")
_OUTPUT_KEYS = ("gen_ai.tool.call.result", "gen_ai.output.messages", "gen_ai.completion", "traceloop.entity.output")
_FLAT_INPUT = "llm.input_messages."
_FLAT_OUTPUT = "llm.output_messages."
FINAL_RESULT = "final_result"
"""pydantic-ai's attribute for the run's output, on the agent run's span."""

_ECHO_KEYS = frozenset(
    {"pydantic_ai.all_messages", "gen_ai.tool.definitions", "model_request_parameters", "tool.parameters"}
)
_ECHO_PREFIXES = ("logfire.", "gen_ai.aggregated_usage.", "llm.tools.")
# Wrapper keys of OpenInference's flattened lists: "...0.message.role" is message 0's role.
_WRAPPERS = frozenset({"message", "tool_call", "message_content"})
# Values that are a tool's own data, never searched for call ids.
_OPAQUE = frozenset({"arguments", "result", "content"})
_INDEX = re.compile(r"\d+")
_TOOL_KINDS = frozenset({"execute_tool", "TOOL"})


@dataclass
class GenAIFields:
    """The step fields found in one span's attributes."""

    model: str | None = None
    tokens: Tokens | None = None
    input: Any = None
    output: Any = None


def extract(attributes: dict[str, Any], *, keep_echoes: bool = False) -> GenAIFields:
    """Take model, tokens, input and output out of ``attributes``; drop echoes.

    ``attributes`` is edited in place: what became a field, a consumed mime type and
    (unless ``keep_echoes``) every echo leave it; JSON text left in ``gen_ai.*`` is parsed.
    ``final_result`` stays for ``finish`` to place, since whether it is an echo depends on
    the spans below.
    """
    model = take_first(attributes, _MODEL_KEYS)
    counts = {name: take_first(attributes, keys) for name, keys in _TOKEN_KEYS.items()}
    tokens = (
        Tokens(**{k: _int(v) for k, v in counts.items()}) if any(_int(v) is not None for v in counts.values()) else None
    )

    flat_in = _unflatten(attributes, _FLAT_INPUT)
    flat_out = _unflatten(attributes, _FLAT_OUTPUT)
    step_input = _payload(attributes, _INPUT_KEYS)
    step_output = _payload(attributes, _OUTPUT_KEYS)
    raw_in = _take_value(attributes, "input")
    raw_out = _take_value(attributes, "output")
    if step_input is None:
        step_input, raw_in = (flat_in, raw_in) if flat_in is not None else (raw_in, None)
    if step_output is None:
        step_output, raw_out = (flat_out, raw_out) if flat_out is not None else (raw_out, None)

    echoes = {key: value for key, value in (("input.value", raw_in), ("output.value", raw_out)) if value is not None}
    for key in [k for k in attributes if _is_echo(k, attributes[k])]:
        echoes[key] = attributes.pop(key)
    for key, value in attributes.items():
        if key.startswith("gen_ai.") or key == FINAL_RESULT:
            attributes[key] = json_or_text(value)
    if keep_echoes:
        attributes.update({key: json_or_text(value) for key, value in echoes.items()})
    return GenAIFields(
        model=model if isinstance(model, str) else None, tokens=tokens, input=step_input, output=step_output
    )


def finish(steps: list[Step], *, keep_echoes: bool = False) -> None:
    """Cross-span semantics, once every step exists: tool retries and the run output."""
    link_tool_retries(steps)
    place_final_result(steps, keep_echoes=keep_echoes)


def link_tool_retries(steps: list[Step]) -> None:
    """A tool step whose previous run (same parent and name) failed is its next attempt."""
    last_run: dict[tuple[str, str], Step] = {}
    for step in steps:
        if _is_tool(step):
            key = (step.parent, step.step_id)
            previous = last_run.get(key)
            if previous is not None and previous.failed and step.attempt == 1:
                step.attempt = previous.attempt + 1
            last_run[key] = step


def place_final_result(steps: list[Step], *, keep_echoes: bool = False) -> None:
    """``final_result`` of an agent run: its step's output, or dropped when it echoes the last answer."""
    for index, step in enumerate(steps):
        if FINAL_RESULT not in step.attributes or step.attributes.get("gen_ai.operation.name") != "invoke_agent":
            continue
        result = step.attributes[FINAL_RESULT]
        below = [s for s in steps[index + 1 :] if s.parent == step.path or s.parent.startswith(step.path + "/")]
        if not keep_echoes and result == last_text(below):
            del step.attributes[FINAL_RESULT]
        elif step.output is None:
            step.output = step.attributes.pop(FINAL_RESULT)


def last_text(steps: Iterable[Step]) -> str | None:
    """The text the last model call among ``steps`` answered with, if it answered with text."""
    for step in reversed(list(steps)):
        if (
            step.attributes.get("gen_ai.operation.name") == "chat"
            or step.attributes.get("openinference.span.kind") == "LLM"
        ):
            texts = [part.get("content") for part in parts(step.output) if part.get("type") == "text"]
            if not texts and isinstance(step.output, list):  # OpenInference messages
                texts = [m.get("content") for m in step.output if isinstance(m, dict) and "content" in m]
            return texts[-1] if texts and isinstance(texts[-1], str) else None
    return None


def strip_call_ids(messages: Any) -> Any:
    """GenAI or OpenInference messages without the per-call tool-call ids."""
    if isinstance(messages, list):
        return [strip_call_ids(item) for item in messages]
    if isinstance(messages, dict):
        calls = messages.get("type") in ("tool_call", "tool_call_response") or "function" in messages
        return {
            k: v if k in _OPAQUE else strip_call_ids(v)
            for k, v in messages.items()
            if not (k == "tool_call_id" or (k == "id" and calls))
        }
    return messages


def _is_tool(step: Step) -> bool:
    kind = step.attributes.get("gen_ai.operation.name", step.attributes.get("openinference.span.kind"))
    return kind in _TOOL_KINDS


def parts(messages: Any) -> list[dict[str, Any]]:
    """Every part of every message, for messages in the GenAI shape (``{"role", "parts"}``)."""
    if not isinstance(messages, list):
        return []
    return [
        part
        for message in messages
        if isinstance(message, dict)
        for part in message.get("parts") or []
        if isinstance(part, dict)
    ]


def _is_echo(key: str, value: Any) -> bool:
    if key in _ECHO_KEYS or key.startswith(_ECHO_PREFIXES):
        return True
    if key == "tools":  # a list of tool definitions (schemas), as some instrumentors set it
        data = json_or_text(value)
        return isinstance(data, list) and bool(data) and all(isinstance(item, dict) for item in data)
    return False


def take_first(attributes: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` present; it, and aliases holding the same value, leave ``attributes``."""
    found = next((k for k in keys if attributes.get(k) is not None), None)
    if found is None:
        return None
    value = attributes.pop(found)
    for key in keys:
        if key in attributes and attributes[key] == value:
            del attributes[key]
    return value


def _take_value(attributes: dict[str, Any], which: str) -> Any:
    """OpenInference ``input.value``/``output.value``, parsed when its mime type allows."""
    value = attributes.pop(f"{which}.value", None)
    mime = attributes.pop(f"{which}.mime_type", None)
    if value is None:
        return None
    if mime is None or str(mime).split(";")[0].strip() == "application/json":
        return json_or_text(value)
    return value


def _payload(attributes: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` present, parsed; call ids left out of messages (not of tool data)."""
    found = next((k for k in keys if attributes.get(k) is not None), None)
    if found is None:
        return None
    value = json_or_text(take_first(attributes, keys))
    return strip_call_ids(value) if found.endswith("messages") else value


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unflatten(attributes: dict[str, Any], prefix: str) -> list[Any] | None:
    """OpenInference's ``llm.input_messages.0.message.role`` keys back into a list of messages."""
    keys = sorted(k for k in attributes if k.startswith(prefix))
    if not keys:
        return None
    root: dict[str, Any] = {}
    for key in keys:
        node = root
        parts = key[len(prefix) - 1 :].split(".")[1:]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break  # "a.b" set as a leaf and as a branch: keep the leaf
        else:
            value = attributes[key]
            node[parts[-1]] = list(value) if isinstance(value, tuple) else value
        del attributes[key]
    rebuilt = strip_call_ids(_lists(root))
    return rebuilt if isinstance(rebuilt, list) else [rebuilt]


def _lists(node: Any) -> Any:
    """Dicts keyed by indexes become lists; one-key wrappers (``message``) are unwrapped."""
    if not isinstance(node, dict):
        return node
    if node and all(_INDEX.fullmatch(k) for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    out = {}
    for key, value in node.items():
        out[key] = json_or_text(value) if key == "arguments" else _lists(value)
    if len(out) == 1 and next(iter(out)) in _WRAPPERS:
        return next(iter(out.values()))
    return out
