"""Normalization: what makes two runs of unchanged code give byte-identical goldens.

Drops times, durations and ids; redacts secrets, then masks volatile values, inside
payloads and error messages; makes every payload canonical JSON-safe data; gives steps that ran
concurrently (same parent, same ``level``) a canonical order. Idempotent.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .canonical import canonical, canonical_json
from .model import Step, Tokens, Trace
from .redact import key_matcher, text_redactor
from .truncate import truncate

Masker = tuple[str, str]
"""A ``(regex, placeholder)`` pair applied to every string of a trace."""


def _tmp_dirs() -> list[str]:
    found = {tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir())}
    return sorted(found, key=len, reverse=True)


_PATH_CHARS = r"""[^\s'"<>,;:()\[\]{}]*"""
DEFAULT_MASKERS: tuple[Masker, ...] = (
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<uuid>"),
    (
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d:])",
        "<datetime>",
    ),
    (r"\b0x[0-9a-fA-F]{8,16}\b", "<addr>"),
    *(((re.escape(d) + "/" + _PATH_CHARS), "<tmp-path>") for d in _tmp_dirs()),
)
# "0x" + 8 hex digits, or a temp dir and "/": shorter strings cannot hold a match.
_SHORTEST_DEFAULT_MATCH = min(10, *(len(d) + 1 for d in _tmp_dirs()))


@dataclass(frozen=True)
class NormalizeOptions:
    """How to normalize; the ini options and the ``trace_snapshot`` marker build one.

    ``exclude``: glob patterns over step field paths (``output.user.id``,
    ``*.request_id``, ``cost``, ``attributes.host``) whose values are dropped.
    ``maskers``: extra ``(regex, placeholder)`` pairs applied after the defaults.
    ``redact_keys``: extra regexes (case-insensitive) of dict keys whose whole value
    becomes ``"<redacted>"``; ``redact_patterns``: extra regexes whose matches in any
    string become ``"<redacted>"``. Both come on top of the defaults (``redact.py``)
    unless ``default_redaction`` is false. Redaction runs before the maskers.
    ``max_string`` / ``max_items``: cut longer strings and lists in payloads and
    errors, ending them in a marker with a hash of what was cut (``truncate.py``).
    """

    exclude: tuple[str, ...] = ()
    maskers: tuple[Masker, ...] = ()
    default_maskers: bool = True
    redact_keys: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    default_redaction: bool = True
    max_string: int | None = None
    max_items: int | None = None
    _text: Callable[[str], str] = field(init=False, repr=False, compare=False)
    _excluded: Callable[[str], bool] | None = field(init=False, repr=False, compare=False)
    _secret_key: Callable[[str], bool] | None = field(init=False, repr=False, compare=False)
    _redact: Callable[[str], str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        redact = text_redactor(tuple(self.redact_patterns), defaults=self.default_redaction)
        object.__setattr__(self, "_redact", redact)
        object.__setattr__(self, "_secret_key", key_matcher(tuple(self.redact_keys), defaults=self.default_redaction))
        object.__setattr__(self, "_text", _text_hook(self.maskers, self.default_maskers, redact))
        matcher = None
        if self.exclude:
            pattern = re.compile("|".join(_glob(p) for p in self.exclude))
            matcher = lambda path: pattern.match(path) is not None  # noqa: E731
        object.__setattr__(self, "_excluded", matcher)

    def merged(
        self,
        exclude: Iterable[str] = (),
        maskers: Iterable[Masker] = (),
        *,
        redact_keys: Iterable[str] = (),
        redact_patterns: Iterable[str] = (),
        max_string: int | None = None,
        max_items: int | None = None,
    ) -> NormalizeOptions:
        """Options with more exclusions, maskers and redaction (ini first, then the marker)."""
        return NormalizeOptions(
            exclude=(*self.exclude, *exclude),
            maskers=(*self.maskers, *maskers),
            default_maskers=self.default_maskers,
            redact_keys=(*self.redact_keys, *redact_keys),
            redact_patterns=(*self.redact_patterns, *redact_patterns),
            default_redaction=self.default_redaction,
            max_string=self.max_string if max_string is None else max_string,
            max_items=self.max_items if max_items is None else max_items,
        )

    def mask(self, text: str) -> str:
        return self._text(text)


def _glob(pattern: str) -> str:
    """Regex for a field-path glob: ``*`` matches anything, ``[0]`` is literal."""
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z"


def _text_hook(
    extra: tuple[Masker, ...], defaults: bool, redact: Callable[[str], str] | None = None
) -> Callable[[str], str]:
    compiled_extra = [(re.compile(rx), repl) for rx, repl in extra]
    if defaults:
        combined = re.compile("|".join(f"(?P<m{i}>{rx})" for i, (rx, _) in enumerate(DEFAULT_MASKERS)))
        placeholders = {f"m{i}": repl for i, (_, repl) in enumerate(DEFAULT_MASKERS)}

        # Each masker on its own: the regex engine scans these several times faster
        # than the alternation of named groups, and the alternation can only match
        # where one of them does; so most strings never reach ``combined.sub``.
        searches = [re.compile(rx).search for rx, _ in DEFAULT_MASKERS]

        def replace(match: re.Match[str]) -> str:
            return placeholders[match.lastgroup or ""]

    def hook(text: str) -> str:
        if redact is not None:  # first: a UUID inside a token must not split it
            text = redact(text)
        if defaults and len(text) >= _SHORTEST_DEFAULT_MATCH:
            for search in searches:
                if search(text) is not None:
                    text = combined.sub(replace, text)
                    break
        for rx, repl in compiled_extra:
            text = rx.sub(repl, text)
        return text

    return hook


DEFAULT_OPTIONS = NormalizeOptions()


def normalize(trace: Trace, options: NormalizeOptions | None = None) -> Trace:
    opts = options or DEFAULT_OPTIONS
    steps = [_normalize_step(step, opts) for step in trace.steps]
    steps = [_strip_volatile(step) for step in canonical_order(steps)]
    attributes = canonical(trace.attributes, opts.mask, opts._secret_key)
    if opts._excluded is not None:
        attributes = _drop_excluded(attributes, "attributes", opts._excluded)
    attributes = truncate(attributes, opts.max_string, opts.max_items)
    return Trace.model_construct(
        source=trace.source if opts._redact is None else opts._redact(trace.source),
        status=None if trace.status is None else str(trace.status).lower(),
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
    values: dict[str, Any] = {
        "step_id": step.step_id,
        "parent": step.parent,
        "attempt": step.attempt,
        "loop_index": step.loop_index,
        "status": step.status,
        "failure_class": step.failure_class,
        "error": None if step.error is None else mask(step.error),
        "model": step.model,
        "tokens": step.tokens,
        "cost": None if step.cost is None else _plain_decimal(step.cost),
        "input": canonical(step.input, mask, secret),
        "output": canonical(step.output, mask, secret),
        "attributes": canonical(step.attributes, mask, secret),
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


def canonical_order(steps: list[Step]) -> list[Step]:
    """Pre-order of the step tree with each concurrent group sorted by content.

    Only steps marked with a ``level`` are reordered, so a trace without
    concurrency keeps its recorded order exactly.
    """
    if all(step.level is None for step in steps):
        return steps
    children = _children_by_parent(steps)
    subtree_keys: dict[int, str] = {}

    def sort_key(index: int) -> tuple[str, int, int, str]:
        step = steps[index]
        if index not in subtree_keys:
            subtree_keys[index] = canonical_json([_order_dict(steps[i]) for i in _subtree(index, children)])
        loop = -1 if step.loop_index is None else step.loop_index
        return (step.step_id, loop, step.attempt, subtree_keys[index])

    ordered_children: dict[int, list[int]] = {}
    for parent, kids in children.items():
        groups: dict[tuple[str, int] | int, list[int]] = {}
        for index in kids:
            step = steps[index]
            key: tuple[str, int] | int = index if step.level is None else (step.parent, step.level)
            groups.setdefault(key, []).append(index)
        ordered: list[int] = []
        for group in groups.values():
            ordered.extend(sorted(group, key=sort_key) if len(group) > 1 else group)
        ordered_children[parent] = ordered
    return [steps[i] for i in _preorder(-1, ordered_children)]


def _children_by_parent(steps: list[Step]) -> dict[int, list[int]]:
    """Index tree: a step's parent is its parent span, else the latest step at its parent path."""
    by_span = {step.span_id: i for i, step in enumerate(steps) if step.span_id is not None}
    latest_at_path: dict[str, int] = {}
    children: dict[int, list[int]] = {-1: []}
    for i, step in enumerate(steps):
        parent = by_span.get(step.parent_span_id, -1) if step.parent_span_id is not None else -1
        if parent == -1 and step.parent:
            parent = latest_at_path.get(step.parent, -1)
        children.setdefault(parent, []).append(i)
        latest_at_path[step.path] = i
    return children


def _preorder(root: int, children: Mapping[int, list[int]]) -> list[int]:
    out: list[int] = []
    stack = list(reversed(children.get(root, [])))
    while stack:
        index = stack.pop()
        out.append(index)
        stack.extend(reversed(children.get(index, [])))
    return out


def _subtree(index: int, children: Mapping[int, list[int]]) -> list[int]:
    return [index, *_preorder(index, children)]


def _order_dict(step: Step) -> dict[str, Any]:
    return step.model_dump(mode="json", exclude={"span_id", "parent_span_id", "level", "start", "duration"})
