"""Normalization: what makes two runs of unchanged code give byte-identical goldens.

Drops times, durations and ids; redacts secrets, then masks volatile values, inside
payloads and error messages; makes every payload canonical JSON-safe data; gives steps that ran
concurrently (same parent, same ``level``) a canonical order. Idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..model import Step, Tokens, Trace
from ..model.canonical import storable_text
from ..model.trace import golden_json
from .jsontext import canonical_data
from .options import DEFAULT_OPTIONS, NormalizeOptions
from .order import canonical_order
from .truncate import truncate


def normalize(trace: Trace, options: NormalizeOptions | None = None) -> Trace:
    opts = options or DEFAULT_OPTIONS
    steps = [_normalize_step(step, opts) for step in trace.steps]
    steps = [_strip_volatile(step) for step in canonical_order(steps)]
    return _normalized_head(trace, opts, steps)


def normalized_json(trace: Trace, options: NormalizeOptions | None = None) -> str:
    """``normalize(trace, options).to_json()``, each step normalized as it is written: a
    large trace's normalized copy is never held whole (only its text is)."""
    opts = options or DEFAULT_OPTIONS
    if any(step.level is not None for step in trace.steps):  # concurrent steps: ordered as a whole
        return golden_json(normalize(trace, opts), canonical_payloads=True)
    steps = (_strip_volatile(_normalize_step(step, opts)) for step in trace.steps)
    return golden_json(_normalized_head(trace, opts, []), canonical_payloads=True, steps=steps)


def _normalized_head(trace: Trace, opts: NormalizeOptions, steps: list[Step]) -> Trace:
    attributes = canonical_data(trace.attributes, opts._text, opts._secret_key)
    if opts._excluded is not None:
        attributes = _drop_excluded(attributes, "attributes", opts._excluded)
    attributes = truncate(attributes, opts.max_string, opts.max_items)
    return Trace.model_construct(
        source=storable_text(trace.source if opts._redact is None else opts._redact(trace.source)),
        status=None if trace.status is None else storable_text(str(trace.status).lower()),
        steps=steps,
        attributes=attributes,
        run_id=None,
        start=None,
        duration=None,
    )


def normalize_step(step: Step, options: NormalizeOptions | None = None) -> Step:
    """One step as ``normalize`` makes it (for steps whose order is not in question)."""
    return _strip_volatile(_normalize_step(step, options or DEFAULT_OPTIONS))


def _normalize_step(step: Step, opts: NormalizeOptions) -> Step:
    mask, secret = opts._text, opts._secret_key  # opts._text: what opts.mask calls, one call less
    # Text as a golden holds it (``storable_text``): a normalized trace equals the golden
    # it gives, in memory as in the file.
    values: dict[str, Any] = {
        "step_id": storable_text(step.step_id),
        "parent": storable_text(step.parent),
        "attempt": step.attempt,
        "loop_index": step.loop_index,
        "status": step.status,
        "failure_class": None if step.failure_class is None else storable_text(step.failure_class),
        "error": None if step.error is None else storable_text(mask(step.error)),
        "model": None if step.model is None else storable_text(step.model),
        "tokens": step.tokens,
        "cost": None if step.cost is None else _plain_decimal(step.cost),
        # JSON text in payloads is parsed into data (jsontext.py).
        "input": canonical_data(step.input, mask, secret),
        "output": canonical_data(step.output, mask, secret),
        "attributes": canonical_data(step.attributes, mask, secret),
        "start": None,
        "duration": None,
        # Kept until ordering is done, then stripped.
        "span_id": step.span_id,
        "parent_span_id": step.parent_span_id,
        "level": step.level,
    }
    if opts._excluded is not None:
        _exclude_fields(values, opts._excluded)
    if opts.max_string is not None or opts.max_items is not None:
        for name in ("error", "input", "output", "attributes"):
            values[name] = truncate(values[name], opts.max_string, opts.max_items)
    # Same result as Step.model_construct(**values) (every field given, nothing
    # validated), at about half the cost: copy a blank step and set every field.
    return _BLANK_STEP.model_copy(update=values)


_BLANK_STEP = Step.model_construct(step_id="")


def _strip_volatile(step: Step) -> Step:
    if step.span_id is None and step.parent_span_id is None and step.level is None:
        return step
    return step.model_copy(update={"span_id": None, "parent_span_id": None, "level": None})


def _plain_decimal(value: Decimal) -> Decimal:
    """0.10 and 0.1 are the same cost, and so are -0 and 0; never use an exponent in a golden.

    Works on the digits, not through ``Decimal.normalize``, which rounds to the
    context's 28 digits.
    """
    if not value.is_finite():
        return value
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-") == "0":
        text = "0"
    return Decimal(text)


_EXCLUDABLE = ("failure_class", "error", "model", "cost", "loop_index")


def _exclude_fields(values: dict[str, Any], excluded: Callable[[str], bool]) -> None:
    for name in _EXCLUDABLE:
        if values[name] is not None and excluded(name):
            values[name] = None
    tokens = values["tokens"]
    if isinstance(tokens, Tokens):
        if excluded("tokens"):
            values["tokens"] = None
        else:
            kept = {k: v for k, v in tokens.model_dump().items() if not excluded(f"tokens.{k}")}
            values["tokens"] = Tokens(**kept) if any(v is not None for v in kept.values()) else None
    for name in ("input", "output", "attributes"):
        if excluded(name):
            values[name] = {} if name == "attributes" else None
        else:
            values[name] = _drop_excluded(values[name], name, excluded)


def _drop_excluded(data: Any, path: str, excluded: Callable[[str], bool]) -> Any:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            child = f"{path}.{key}"
            if not excluded(child):
                out[key] = _drop_excluded(value, child, excluded)
        return out
    if isinstance(data, list):
        return [_drop_excluded(item, f"{path}[{i}]", excluded) for i, item in enumerate(data)]
    return data
