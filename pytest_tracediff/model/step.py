"""One attempt of one step: the unit every source produces and every diff compares.

One ``Step`` per attempt, in execution order, with the parent path that places it
in a tree. Volatile fields (times, durations, ids, level) are kept in memory for
reports but never reach a golden: normalization clears them.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
