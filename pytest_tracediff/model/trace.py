"""The trace model every source is converted into, and its golden file format.

A ``Trace`` is the steps of one run (see ``step.py``) plus run-level data. The
golden format is versioned JSON with a small header and a stable field order, one
step per block. The convenience methods that need higher stages (``normalized``,
``diff``, ``from_any``) reach them through ``_seams``: the model imports nothing
above itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from .. import _seams
from ..errors import GoldenFileError, UnstorableTraceError
from .bulk import gc_paused
from .canonical import MAX_DEPTH, MAX_INT_BITS, canonical, storable_text
from .files import TRACE_SUFFIX, atomic_write_text, read_trace_text
from .step import Step

if TYPE_CHECKING:  # types only: the model does not depend on the stages above it
    from ..compare.diff import TraceDiff
    from ..normalize.options import NormalizeOptions

__all__ = [
    "GOLDEN_FORMAT",
    "GOLDEN_VERSION",
    "TRACE_SUFFIX",
    "Trace",
    "checked_header",
    "golden_dict",
    "golden_json",
    "parse_golden",
    "recorded_step_dict",
]

GOLDEN_FORMAT = "pytest-tracediff"
GOLDEN_VERSION = 1


class Trace(BaseModel):
    """A normalized-or-not execution trace of one run."""

    model_config = ConfigDict(extra="forbid")

    source: str = "unknown"
    status: str | None = None
    steps: list[Step] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    # Volatile: in memory only.
    run_id: str | None = None
    start: float | None = None
    duration: float | None = None

    # -- construction -------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """Build from ``to_dict()`` output or a golden's parsed JSON."""
        body = {k: v for k, v in data.items() if k not in ("format", "version")}
        return cls.model_validate(body)

    @classmethod
    def from_json(cls, text: str, *, origin: str = "<string>") -> Trace:
        """Parse the tracediff JSON format; ``origin`` names the file in errors."""
        with gc_paused():
            return cls.from_data(_parse(text, origin), origin=origin)

    @classmethod
    def from_data(cls, data: object, *, origin: str = "<data>") -> Trace:
        """Build from the parsed JSON of a tracediff file, checking its header; ``origin`` names it in errors."""
        data = checked_header(data, origin)
        try:
            with gc_paused():
                return cls.from_dict(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise GoldenFileError(origin, f"has an invalid field {where}: {first['msg']}") from None

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace file written by ``to_json()`` (a golden is one)."""
        path = Path(path)
        with gc_paused():
            # The text is dropped once parsed: a large golden is not held twice.
            return cls.from_data(_parse(read_trace_text(path), str(path)), origin=str(path))

    @classmethod
    def from_any(cls, obj: object) -> Trace:
        """Convert any supported trace object or export via the adapter registry."""
        trace: Trace = _seams.call("from_any", obj)
        return trace

    # -- serialization ------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict in golden field order; unset fields are left out."""
        return golden_dict(self)

    def to_json(self) -> str:
        """The readable file format: stable key order, one step per block."""
        return golden_json(self)

    def save(self, path: str | Path) -> None:
        """Write ``to_json()`` atomically: a crash leaves the old file or the new one."""
        atomic_write_text(Path(path), self.to_json())

    # -- semantics ----------------------------------------------------------

    def normalized(self, options: NormalizeOptions | None = None) -> Trace:
        """Copy with volatile data removed and payloads canonical; idempotent."""
        with gc_paused():
            normalized: Trace = _seams.call("normalize", self, options)
        return normalized

    def diff(self, other: Trace, options: NormalizeOptions | None = None) -> TraceDiff:
        """What changed from ``self`` (expected) to ``other`` (actual)."""
        diff: TraceDiff = _seams.call("diff", self, other, options)
        return diff

    def __eq__(self, other: object) -> bool:
        # Equality means "same behaviour": equal normalized forms, compared as the
        # golden's JSON text so that 1, 1.0 and True differ here as they do in a diff.
        if not isinstance(other, Trace):
            return NotImplemented
        return self.normalized().to_json() == other.normalized().to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Shown in pytest's assertion messages, normalized or not: never a secret.
        source = _seams.call("redact_text", self.source)
        status = None if self.status is None else _seams.call("redact_text", self.status)
        return f"<Trace source={source!r} status={status!r} steps={len(self.steps)}>"

    __str__ = __repr__


def parse_golden(text: str, origin: str) -> dict[str, Any]:
    """The parsed JSON of a tracediff file, its header checked, its fields not yet:
    ``Trace.from_data`` validates them."""
    with gc_paused():
        return checked_header(_parse(text, origin), origin)


def checked_header(data: object, origin: str) -> dict[str, Any]:
    """``data`` if it is a tracediff file's JSON object of a version this release reads."""
    if not isinstance(data, dict):
        raise GoldenFileError(origin, "does not hold a JSON object")
    fmt, version = data.get("format"), data.get("version")
    if fmt != GOLDEN_FORMAT:
        raise GoldenFileError(origin, f"is not a {GOLDEN_FORMAT} file (format={fmt!r})")
    if not isinstance(version, int) or version > GOLDEN_VERSION:
        raise GoldenFileError(
            origin,
            f"has format version {version!r}; this pytest-tracediff reads version "
            f"{GOLDEN_VERSION} (upgrade pytest-tracediff, or regenerate the file)",
        )
    return data


def recorded_step_dict(step: Step) -> dict[str, Any]:
    """What a golden would hold of ``step`` before normalization: its fields as
    ``to_dict`` writes them, payloads as recorded, volatile fields left out."""
    return _step_dict(step, _as_is, volatile=False)


def golden_dict(trace: Trace, *, canonical_payloads: bool = False) -> dict[str, Any]:
    """``trace.to_dict()``; ``canonical_payloads`` skips making payloads canonical again,
    for a trace whose payloads normalization has made canonical (every golden's)."""
    payload = _as_is if canonical_payloads else canonical
    out = _head_dict(trace, payload)
    out["steps"] = [_step_dict(step, payload) for step in trace.steps]
    return out


def golden_json(trace: Trace, *, canonical_payloads: bool = False, steps: Iterable[Step] | None = None) -> str:
    """``trace.to_json()``; ``canonical_payloads`` as for ``golden_dict``; ``steps`` in
    place of the trace's own (normalized ones, made one at a time).

    Each step is serialized as it comes and let go: a 200,000-step golden is never held
    as dicts (nor, with ``steps``, as normalized steps), only as its text.
    """
    payload = _as_is if canonical_payloads else canonical
    # pydantic-core's Rust encoder: the layout of json.dumps(indent=2, ensure_ascii=False),
    # several times faster. Steps are one level in: four more spaces on every line.
    with gc_paused():
        head = _head_dict(trace, payload)
        head["steps"] = []
        top = to_json(head, indent=2).decode("utf-8")
        pieces = [top[: -len(_NO_STEPS)]]
        for step in trace.steps if steps is None else steps:
            text = to_json(_step_dict(step, payload), indent=2).decode("utf-8")
            pieces.append(",\n    " if len(pieces) > 1 else "[\n    ")
            pieces.append(text.replace("\n", "\n    "))
        pieces.append("\n  ]\n}\n" if len(pieces) > 1 else _NO_STEPS + "\n")
        return "".join(pieces)


_NO_STEPS = "[]\n}"  # how the encoder ends a golden without steps


def _head_dict(trace: Trace, payload: Callable[[Any], Any]) -> dict[str, Any]:
    """A golden's fields other than the steps."""
    out: dict[str, Any] = {"format": GOLDEN_FORMAT, "version": GOLDEN_VERSION}
    out["source"] = storable_text(trace.source)
    if trace.status is not None:
        out["status"] = storable_text(trace.status)
    for name in ("run_id", "start", "duration"):
        value = getattr(trace, name)
        if value is not None:
            out[name] = storable_text(value) if isinstance(value, str) else value
    if trace.attributes:
        out["attributes"] = payload(trace.attributes)
    return out


def _as_is(value: Any) -> Any:
    return value


def _parse(text: str, origin: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoldenFileError(origin, f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise GoldenFileError(
            origin,
            f"nests deeper than the about {sys.getrecursionlimit()} levels Python can read "
            f"(pytest-tracediff writes payloads at most {MAX_DEPTH} levels deep)",
        ) from None
    except ValueError as exc:  # an int over 4300 digits: Python's guard (CVE-2020-10735)
        raise GoldenFileError(origin, f"holds a number Python refuses to read ({exc})") from None


def _step_dict(step: Step, payload: Callable[[Any], Any], *, volatile: bool = True) -> dict[str, Any]:
    """A step's golden fields, identity first and payloads last (the order of ``Step``'s
    fields); what a golden could not hold (or
    give back) is an error naming the step, never a file that cannot be read.

    Field by field rather than a loop over the names: it runs once per step of every
    golden written or compared, and most fields are unset.
    """
    v = step.__dict__
    out: dict[str, Any] = {"step_id": storable_text(v["step_id"])}
    if v["parent"]:
        out["parent"] = storable_text(v["parent"])
    for name in ("attempt", "loop_index"):
        if v[name] is not None:
            out[name] = _int(step, name, v[name])
    out["status"] = v["status"].value
    for name in ("failure_class", "error", "model"):
        if v[name] is not None:
            out[name] = storable_text(v[name])
    tokens = v["tokens"]
    if tokens is not None:
        counts = tokens.model_dump(exclude_none=True)
        out["tokens"] = {field: _int(step, f"tokens.{field}", count) for field, count in counts.items()}
    cost = v["cost"]
    if cost is not None:
        if not cost.is_finite():
            raise _unstorable(step, f"cost is {cost}, which a golden cannot hold", "cost")
        out["cost"] = str(cost)
    for name in ("input", "output"):
        if v[name] is not None:
            out[name] = payload(v[name])
    if v["attributes"]:
        out["attributes"] = payload(v["attributes"])
    if not volatile:
        return out
    for name in ("start", "duration"):
        if v[name] is not None:
            out[name] = v[name]
    for name in ("span_id", "parent_span_id"):
        if v[name] is not None:
            out[name] = storable_text(v[name])
    if v["level"] is not None:
        out["level"] = _int(step, "level", v["level"])
    return out


def _int(step: Step, name: str, value: int) -> int:
    if value.bit_length() > MAX_INT_BITS:
        _check_int(step, name, value)
    return value


def _check_int(step: Step, name: str, value: int) -> None:
    if value.bit_length() > MAX_INT_BITS:
        digits = int((value.bit_length() - 1) * 0.301029995663981) + 1  # str() refuses the number
        digits += abs(value) >= 10**digits
        field = name.split(".", maxsplit=1)[0]
        raise _unstorable(step, f"{name} has {digits} digits, more than Python reads back", field)


def _unstorable(step: Step, problem: str, field: str) -> UnstorableTraceError:
    attempt = step.attempt if step.attempt.bit_length() <= MAX_INT_BITS else "?"
    return UnstorableTraceError(
        f"step {storable_text(step.step_id)!r} (attempt {attempt}): {problem}. Set it to a "
        f"plain value or None in the source, or leave it out of goldens with "
        f"@pytest.mark.trace_snapshot(exclude=[{field!r}])"
    )
