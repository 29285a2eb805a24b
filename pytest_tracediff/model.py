"""The trace model every source is converted into.

One ``Step`` per attempt, in execution order, with the parent path that places it
in a tree. Volatile fields (times, durations, ids, level) are kept in memory for
reports but never reach a golden: ``Trace.normalized()`` clears them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import to_json

from .canonical import canonical
from .errors import GoldenFileError

if TYPE_CHECKING:
    from .diff import TraceDiff
    from .normalize import NormalizeOptions

GOLDEN_FORMAT = "pytest-tracediff"
GOLDEN_VERSION = 1


class StepStatus(str, Enum):
    """Outcome of one attempt; the names the four frameworks share."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    RUNNING = "running"


FAILING_STATUSES = frozenset({StepStatus.FAILED, StepStatus.TIMED_OUT})


class Tokens(BaseModel):
    """Token usage of one attempt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: int | None = None
    completion: int | None = None
    total: int | None = None


class Step(BaseModel):
    """One attempt of one step."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    step_id: str
    parent: str = ""
    attempt: int = Field(default=1, ge=1)
    loop_index: int | None = None
    status: StepStatus = StepStatus.COMPLETED
    failure_class: str | None = None
    error: str | None = None
    model: str | None = None
    tokens: Tokens | None = None
    cost: Decimal | None = None
    input: Any = None
    output: Any = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    # Volatile: in memory only, cleared by normalization.
    start: float | None = None
    duration: float | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    level: int | None = None

    @field_validator("cost", mode="before")
    @classmethod
    def _cost_never_float(cls, value: object) -> object:
        # A float has already lost the cents; go through its shortest repr.
        if isinstance(value, float):
            return Decimal(repr(value))
        return value

    @property
    def path(self) -> str:
        """Full path of this step: ``parent/step_id``."""
        return f"{self.parent}/{self.step_id}" if self.parent else self.step_id

    @property
    def failed(self) -> bool:
        return self.status in FAILING_STATUSES

    def label(self) -> str:
        """Short human name used in messages: ``parent/id#attempt[loop]``."""
        loop = f"[{self.loop_index}]" if self.loop_index is not None else ""
        return f"{self.path}{loop} (attempt {self.attempt})"


def group_attempts(steps: list[Step]) -> list[list[Step]]:
    """Group steps into occurrences: attempt n joins the open occurrence of the
    same step (same parent and loop index) whose last attempt is n-1."""
    if all(step.attempt == 1 for step in steps):  # no retries: one occurrence per step
        return [[step] for step in steps]
    groups: list[list[Step]] = []
    open_by_key: dict[tuple[str, str, int | None], list[Step]] = {}
    for step in steps:
        key = (step.parent, step.step_id, step.loop_index)
        current = open_by_key.get(key)
        if step.attempt > 1 and current is not None and current[-1].attempt == step.attempt - 1:
            current.append(step)
            continue
        group = [step]
        groups.append(group)
        open_by_key[key] = group
    return groups


# Field order of a step in a golden: identity first, payloads last.
_STEP_FIELDS = (
    "step_id",
    "parent",
    "attempt",
    "loop_index",
    "status",
    "failure_class",
    "error",
    "model",
    "tokens",
    "cost",
    "input",
    "output",
    "attributes",
    "start",
    "duration",
    "span_id",
    "parent_span_id",
    "level",
)
_PAYLOAD_FIELDS = frozenset({"input", "output", "attributes"})


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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GoldenFileError(origin, f"is not valid JSON ({exc})") from None
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
        try:
            return cls.from_dict(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise GoldenFileError(origin, f"has an invalid field {where}: {first['msg']}") from None

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace file written by ``to_json()`` (a golden is one)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise GoldenFileError(str(path), "does not exist") from None
        except IsADirectoryError:
            raise GoldenFileError(str(path), "is a directory, not a trace file") from None
        except UnicodeDecodeError:
            raise GoldenFileError(str(path), "is not UTF-8 text") from None
        if not text.strip():
            raise GoldenFileError(str(path), "is empty")
        return cls.from_json(text, origin=str(path))

    @classmethod
    def from_any(cls, obj: object) -> Trace:
        """Convert any supported trace object or export via the adapter registry."""
        from .registry import from_any

        return from_any(obj)

    # -- serialization ------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict in golden field order; unset fields are left out."""
        out: dict[str, Any] = {"format": GOLDEN_FORMAT, "version": GOLDEN_VERSION}
        out["source"] = self.source
        if self.status is not None:
            out["status"] = self.status
        for name in ("run_id", "start", "duration"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.attributes:
            out["attributes"] = canonical(self.attributes)
        out["steps"] = [_step_dict(step) for step in self.steps]
        return out

    def to_json(self) -> str:
        """The readable file format: stable key order, one step per block."""
        # pydantic-core's Rust encoder: the same layout as json.dumps(indent=2,
        # ensure_ascii=False), ten times faster on large traces.
        return to_json(self.to_dict(), indent=2).decode("utf-8") + "\n"

    def save(self, path: str | Path) -> None:
        from .storage import atomic_write_text

        atomic_write_text(Path(path), self.to_json())

    # -- semantics ----------------------------------------------------------

    def normalized(self, options: NormalizeOptions | None = None) -> Trace:
        """Copy with volatile data removed and payloads canonical; idempotent."""
        from .normalize import normalize

        return normalize(self, options)

    def diff(self, other: Trace, options: NormalizeOptions | None = None) -> TraceDiff:
        """What changed from ``self`` (expected) to ``other`` (actual)."""
        from .diff import diff_recorded

        return diff_recorded(self, other, options)

    def __eq__(self, other: object) -> bool:
        # Equality means "same behaviour": equal normalized forms, compared as the
        # golden's JSON text so that 1, 1.0 and True differ here as they do in a diff.
        if not isinstance(other, Trace):
            return NotImplemented
        return self.normalized().to_json() == other.normalized().to_json()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Shown in pytest's assertion messages, normalized or not: never a secret.
        from .redact import redact_text

        status = None if self.status is None else redact_text(self.status)
        return f"<Trace source={redact_text(self.source)!r} status={status!r} steps={len(self.steps)}>"

    __str__ = __repr__


def _step_dict(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _STEP_FIELDS:
        value = getattr(step, name)
        if value is None or (name == "parent" and value == ""):
            continue
        if name == "attributes" and not value:
            continue
        if name in _PAYLOAD_FIELDS:
            value = canonical(value)
        elif name == "status":
            value = value.value
        elif name == "cost":
            value = str(value)
        elif name == "tokens":
            value = value.model_dump(exclude_none=True)
        out[name] = value
    return out
