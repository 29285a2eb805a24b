"""What one change is: the kinds, the step it is about, expected and actual values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import Step

KINDS = (
    "step_added",
    "step_removed",
    "status_changed",
    "attempts_changed",
    "error_changed",
    "input_changed",
    "output_changed",
    "attribute_changed",
)
LABELS = {
    "step_added": ("step added", "steps added"),
    "step_removed": ("step removed", "steps removed"),
    "status_changed": ("status changed", "statuses changed"),
    "attempts_changed": ("attempts changed", "attempts changed"),
    "error_changed": ("error changed", "errors changed"),
    "input_changed": ("input changed", "inputs changed"),
    "output_changed": ("output changed", "outputs changed"),
    "attribute_changed": ("attribute changed", "attributes changed"),
}


class _Absent:
    """Marks a value that exists on one side only."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class StepRef:
    """Which step an entry is about."""

    step_id: str
    attempt: int
    parent: str = ""
    loop_index: int | None = None

    def __str__(self) -> str:
        path = f"{self.parent}/{self.step_id}" if self.parent else self.step_id
        loop = f"[{self.loop_index}]" if self.loop_index is not None else ""
        return f"{path}{loop} (attempt {self.attempt})"

    @classmethod
    def of(cls, step: Step) -> StepRef:
        return cls(step.step_id, step.attempt, step.parent, step.loop_index)


@dataclass(frozen=True)
class DiffEntry:
    """One change: ``kind`` at ``path`` of ``step`` (None for run level)."""

    kind: str
    step: StepRef | None
    path: str
    expected: Any
    actual: Any

    def to_dict(self) -> dict[str, Any]:
        step = None
        if self.step is not None:
            step = {"id": self.step.step_id, "attempt": self.step.attempt}
            if self.step.parent:
                step["parent"] = self.step.parent
            if self.step.loop_index is not None:
                step["loop_index"] = self.step.loop_index
        return {
            "kind": self.kind,
            "step": step,
            "path": self.path,
            "expected": None if self.expected is ABSENT else self.expected,
            "actual": None if self.actual is ABSENT else self.actual,
        }
