"""What one change is: the kinds, the step it is about, expected and actual values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    """Which step an entry is about.

    ``occurrence`` numbers a step whose parent, id and loop index repeat in the trace
    (three ``chat planner-v1`` calls under one agent): ``chat planner-v1 #2``. It is
    None for a step that occurs once, which is nearly every step. It labels, it does not
    identify: refs that differ only in it compare equal (``same`` tells them apart).
    """

    step_id: str
    attempt: int
    parent: str = ""
    loop_index: int | None = None
    occurrence: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.name} (attempt {self.attempt})"

    @property
    def name(self) -> str:
        """``parent/step_id[loop] #occurrence``: the step, without its attempt."""
        path = f"{self.parent}/{self.step_id}" if self.parent else self.step_id
        loop = f"[{self.loop_index}]" if self.loop_index is not None else ""
        number = f" #{self.occurrence}" if self.occurrence is not None else ""
        return f"{path}{loop}{number}"

    @property
    def depth(self) -> int:
        """How deep the step sits in the tree: 1 for a root step."""
        return self.parent.count("/") + 2 if self.parent else 1

    def within(self, other: StepRef) -> bool:
        """Whether ``other`` is an ancestor of this step (by parent path)."""
        path = f"{other.parent}/{other.step_id}" if other.parent else other.step_id
        return self.parent == path or self.parent.startswith(path + "/")

    def same(self, other: StepRef | None) -> bool:
        """The very same step: equal, and the same occurrence."""
        return other is not None and self == other and self.occurrence == other.occurrence

    @classmethod
    def of(cls, step: Step, occurrence: int | None = None) -> StepRef:
        return cls(step.step_id, step.attempt, step.parent, step.loop_index, occurrence)


def occurrence_numbers(occurrences: Sequence[Sequence[Step]]) -> list[int | None]:
    """For each occurrence (all attempts of one step), its number among the occurrences
    with the same parent, id and loop index, or None where that key is unique."""
    keys = [(o[0].parent, o[0].step_id, o[0].loop_index) for o in occurrences]
    totals = Counter(keys)
    if len(totals) == len(keys):
        return [None] * len(keys)
    seen: Counter[tuple[str, str, int | None]] = Counter()
    numbers: list[int | None] = []
    for key in keys:
        if totals[key] == 1:
            numbers.append(None)
        else:
            seen[key] += 1
            numbers.append(seen[key])
    return numbers


def numbered(entries: list[DiffEntry], occurrence: int | None) -> list[DiffEntry]:
    """``entries`` of one occurrence, their step refs carrying its number."""
    if occurrence is None:
        return entries
    return [e if e.step is None else replace(e, step=replace(e.step, occurrence=occurrence)) for e in entries]


@dataclass(frozen=True)
class DiffEntry:
    """One change: ``kind`` at ``path`` of ``step`` (None for run level)."""

    kind: str
    step: StepRef | None
    path: str
    expected: Any
    actual: Any
    rank: int | None = field(default=None, compare=False)
    """Place in the order a person reads the changes (1 first); set by ``render.arrange``."""
    echo_group: int | None = field(default=None, compare=False)
    """Rank of the entry this one is shown under (its own rank when it is shown)."""

    def to_dict(self) -> dict[str, Any]:
        step: dict[str, Any] | None = None
        if self.step is not None:
            step = {"id": self.step.step_id, "attempt": self.step.attempt}
            if self.step.parent:
                step["parent"] = self.step.parent
            if self.step.loop_index is not None:
                step["loop_index"] = self.step.loop_index
            if self.step.occurrence is not None:
                step["occurrence"] = self.step.occurrence
        out = {
            "kind": self.kind,
            "step": step,
            "path": self.path,
            "expected": None if self.expected is ABSENT else self.expected,
            "actual": None if self.actual is ABSENT else self.actual,
        }
        if self.rank is not None:
            out["rank"] = self.rank
            out["echo_group"] = self.echo_group
        return out
