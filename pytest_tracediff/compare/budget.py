"""Run budgets: a trace's totals (tokens, cost, steps, attempts) against a baseline's.

A limit is the allowed ratio actual / baseline: ``cost=1.25`` lets the cost grow by
25% and no more. Durations are never budgeted: they are not behaviour. The totals
come from the per-step ``tokens`` and ``cost`` a golden already holds, so any golden
is a baseline.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import BudgetExceededError, GoldenFileError
from ..model import Step, Trace, group_attempts
from ..sources.registry import from_any
from .totals import TOTALS

__all__ = [
    "TOTALS",
    "BudgetEntry",
    "BudgetExceededError",
    "BudgetReport",
    "assert_budget",
    "budget_report",
    "parse_limit",
    "totals",
]


Total = int | Decimal


def as_trace(obj: object) -> Trace:
    """``Trace.from_any``, also reading a path given as a plain string."""
    if isinstance(obj, str) and not obj.lstrip().startswith("{"):
        obj = Path(obj)
    if isinstance(obj, os.PathLike) and not Path(os.fspath(obj)).exists():
        raise GoldenFileError(os.fspath(obj), "does not exist")
    return from_any(obj)


def totals(trace: object) -> dict[str, Any]:
    """``{"tokens": int, "cost": Decimal, "steps": int, "attempts": int}`` of a run.

    ``tokens`` sums each attempt's ``tokens.total`` (or prompt + completion when the
    total is not recorded), ``cost`` each attempt's cost, ``steps`` counts step
    occurrences (all attempts of a step count once) and ``attempts`` every attempt.
    """
    run = as_trace(trace)
    return {**step_totals(run.steps), "steps": len(group_attempts(run.steps)), "attempts": len(run.steps)}


def step_totals(steps: Iterable[Step]) -> dict[str, Any]:
    """``{"tokens": int, "cost": Decimal}`` summed over ``steps``."""
    tokens = 0
    cost = Decimal(0)
    for step in steps:
        if step.tokens is not None:
            t = step.tokens
            tokens += t.total if t.total is not None else (t.prompt or 0) + (t.completion or 0)
        if step.cost is not None:
            cost += step.cost
    return {"tokens": tokens, "cost": cost}


def parse_limit(name: str, value: object) -> float | None:
    """A budget ratio: a finite number > 0 (or a string holding one); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"budget {name}={value!r} is not a number; give a ratio such as 1.25") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"budget {name}={value!r} is not a number; give a ratio such as 1.25")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"budget {name}={value!r} must be a finite ratio > 0, such as 1.25 (+25%)")
    return number


def _show(value: Total) -> str:
    return str(value)


@dataclass(frozen=True)
class BudgetEntry:
    """One total: its baseline and actual value and the allowed ratio (None: not budgeted)."""

    name: str
    baseline: Total
    actual: Total
    limit: float | None = None

    @property
    def ratio(self) -> float:
        """actual / baseline; 1.0 when both are 0, ``inf`` when only the baseline is."""
        if self.baseline == 0:
            return 1.0 if self.actual == 0 else math.inf
        return float(Fraction(self.actual) / Fraction(self.baseline))

    @property
    def exceeded(self) -> bool:
        # Exact arithmetic: 100 tokens with limit 1.1 allow 110, not 110.00000000000001.
        if self.limit is None:
            return False
        return Fraction(self.actual) > Fraction(self.baseline) * Fraction(repr(self.limit))

    @property
    def improved(self) -> bool:
        return self.actual < self.baseline

    def render(self) -> str:
        ratio = "inf" if math.isinf(self.ratio) else f"{self.ratio:.3f}"
        limit = "-" if self.limit is None else f"{self.limit:g}"
        verdict = "  OVER BUDGET" if self.exceeded else "  improved" if self.improved else ""
        return (
            f"{self.name:<8} baseline {_show(self.baseline)}, actual {_show(self.actual)}, "
            f"ratio {ratio}, limit {limit}{verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "baseline": str(self.baseline) if isinstance(self.baseline, Decimal) else self.baseline,
            "actual": str(self.actual) if isinstance(self.actual, Decimal) else self.actual,
            "ratio": None if math.isinf(ratio) else ratio,
            "limit": self.limit,
            "exceeded": self.exceeded,
            "improved": self.improved,
        }


@dataclass(frozen=True)
class BudgetReport:
    """Every total of a run against its baseline."""

    entries: tuple[BudgetEntry, ...]

    @property
    def regressions(self) -> list[BudgetEntry]:
        """Totals that grew past their limit."""
        return [e for e in self.entries if e.exceeded]

    @property
    def improvements(self) -> list[BudgetEntry]:
        """Totals that shrank (budgeted or not)."""
        return [e for e in self.entries if e.improved]

    @property
    def ok(self) -> bool:
        return not self.regressions

    def __getitem__(self, name: str) -> BudgetEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def summary(self) -> str:
        if self.regressions:
            names = ", ".join(e.name for e in self.regressions)
            better = ", ".join(e.name for e in self.improvements)
            return f"run totals over budget: {names}" + (f" (improved: {better})" if better else "")
        if self.improvements:
            return "run totals within budget; improved: " + ", ".join(e.name for e in self.improvements)
        return "run totals within budget"

    def render_lines(self) -> list[str]:
        return [self.summary(), *(f"  {e.render()}" for e in self.entries)]

    def render(self) -> str:
        return "\n".join(self.render_lines())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "totals": [e.to_dict() for e in self.entries],
            "regressions": [e.name for e in self.regressions],
            "improvements": [e.name for e in self.improvements],
        }


def budget_report(
    trace: object,
    baseline: object,
    *,
    cost: float | None = None,
    tokens: float | None = None,
    steps: float | None = None,
    attempts: float | None = None,
) -> BudgetReport:
    """The totals of ``trace`` against ``baseline``'s; never raises on a regression."""
    limits = {"cost": cost, "tokens": tokens, "steps": steps, "attempts": attempts}
    checked = {name: parse_limit(name, value) for name, value in limits.items()}
    actual, base = totals(trace), totals(baseline)
    return BudgetReport(tuple(BudgetEntry(n, base[n], actual[n], checked[n]) for n in TOTALS))


def assert_budget(
    trace: object,
    baseline: object,
    *,
    cost: float | None = None,
    tokens: float | None = None,
    steps: float | None = None,
    attempts: float | None = None,
) -> BudgetReport:
    """Fail when a run total of ``trace`` grew past ``limit x`` the ``baseline``'s.

    Each limit is the allowed ratio actual / baseline (``cost=1.25``: at most +25%);
    a total without a limit is reported, never checked. ``baseline`` is a ``Trace``,
    a golden's path, or anything ``Trace.from_any`` reads. Raises
    ``BudgetExceededError`` listing every total; returns the ``BudgetReport``
    (``improvements``, ``regressions``) otherwise.
    """
    __tracebackhide__ = True
    report = budget_report(trace, baseline, cost=cost, tokens=tokens, steps=steps, attempts=attempts)
    if report.regressions:
        raise BudgetExceededError(report)
    return report
