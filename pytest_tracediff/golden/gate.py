"""The CI gate: ini budgets and tolerances applied to every golden comparison."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..compare.budget import BudgetReport, budget_report, parse_limit
from ..compare.diff import diff_recorded
from ..compare.tolerance import Tolerance, apply_tolerances, parse_tolerance_line
from ..normalize import normalize
from .session import IMPROVEMENT_NOTE

if TYPE_CHECKING:
    from ..compare.diff import TraceDiff
    from ..model import Trace
    from ..normalize import NormalizeOptions


@dataclass
class BudgetGate:
    """The ini budgets and tolerances, applied to each ``assert trace == trace_snapshot``.

    A comparison ``measure``s the budget against the golden and ``filter``s from its
    diff the changes tolerances forgive; under the update flag ``prepare`` hands the
    golden itself to syrupy when tolerances forgive every change, so that it is never
    rewritten for a wobble.
    Improvements go to ``notes`` (the test's ``user_properties``), which reach the
    terminal summary, also from xdist workers.
    """

    limits: Mapping[str, float | None] = field(default_factory=dict)
    tolerances: tuple[Tolerance, ...] = ()
    notes: list[tuple[str, object]] | None = None
    report: BudgetReport | None = None

    @property
    def active(self) -> bool:
        return bool(self.tolerances) or any(v is not None for v in self.limits.values())

    def measure(self, golden: Trace, actual: Trace) -> None:
        """The budget report of ``actual`` against ``golden`` (both as read or normalized)."""
        limits = {k: v for k, v in self.limits.items() if v is not None}
        self.report = budget_report(actual, golden, **limits) if limits else None

    def prepare(self, golden: Trace, actual: Trace, options: NormalizeOptions | None) -> Trace:
        """Under the update flag: the golden itself (normalized) when tolerances forgive
        every change from it, so that it is not rewritten for a wobble; else ``actual``."""
        self.report = None
        if self.tolerances:
            diff = diff_recorded(golden, actual, options)
            if diff and not apply_tolerances(diff, self.tolerances):
                return normalize(golden, options)
        return actual

    @property
    def failed(self) -> bool:
        return self.report is not None and bool(self.report.regressions)

    def filter(self, diff: TraceDiff) -> TraceDiff:
        return apply_tolerances(diff, self.tolerances)

    def note_improvements(self, where: str) -> None:
        """Record the budgeted totals that improved, for the terminal summary."""
        if self.report is None or self.notes is None:
            return
        for entry in self.report.improvements:
            if self.limits.get(entry.name) is not None:
                text = f"{where}: {entry.name} {entry.baseline} -> {entry.actual} (ratio {entry.ratio:.3f})"
                self.notes.append((IMPROVEMENT_NOTE, text))

    def explain(self) -> list[str]:
        return self.report.render_lines() if self.failed and self.report is not None else []


def gate_from_ini(limits: Mapping[str, object], tolerance_lines: Iterable[str]) -> BudgetGate:
    """A gate from the raw ini values; ``ValueError`` naming the bad setting."""
    checked: dict[str, float | None] = {}
    for name, raw in limits.items():
        value = None if raw is None or (isinstance(raw, str) and not raw.strip()) else raw
        try:
            checked[name] = parse_limit(name, value)
        except ValueError as exc:
            raise ValueError(f"trace_budget_{name}: {exc}") from None
    rules = []
    for line in tolerance_lines:
        try:
            rules.append(parse_tolerance_line(line))
        except ValueError as exc:
            raise ValueError(f"trace_tolerance: {exc}") from None
    return BudgetGate(checked, tuple(rules))
