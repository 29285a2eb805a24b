"""Numeric tolerances: a number that wobbles in its last digits is not a change.

A post-filter over a ``TraceDiff``: entries of a ``*_changed`` kind whose path
matches a glob and whose expected and actual values are both numbers within the
glob's tolerance are dropped; everything else is kept. The diff itself is not
touched, so goldens and ``Trace.diff`` behave exactly as without tolerances.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..normalize.paths import glob_regex
from .diff import DiffEntry, TraceDiff

__all__ = ["Tolerance", "apply_tolerances", "parse_tolerance_line", "tolerances_from"]


@dataclass(frozen=True)
class Tolerance:
    """``pattern`` globs over diff entry paths (``output.score``, ``*.latency``, ``cost``);
    two numbers ``a``, ``b`` are equal when ``|a - b| <= max(rel * max(|a|, |b|), abs)``
    (``math.isclose``)."""

    pattern: str
    rel: float = 0.0
    abs: float = 0.0
    _match: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.pattern:
            raise ValueError("a tolerance needs a non-empty glob pattern")
        for name in ("rel", "abs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"tolerance {self.pattern!r}: {name} must be a number >= 0, got {value!r}")
        object.__setattr__(self, "_match", re.compile(glob_regex(self.pattern)).match)

    def covers(self, entry: DiffEntry) -> bool:
        """Whether ``entry`` is a numeric wobble this tolerance forgives."""
        if not entry.kind.endswith("_changed") or self._match(entry.path) is None:
            return False
        a, b = _number(entry.expected, entry.path), _number(entry.actual, entry.path)
        if a is None or b is None:
            return False
        return math.isclose(a, b, rel_tol=self.rel, abs_tol=self.abs)


def _number(value: Any, path: str) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    # A cost is a Decimal, kept as its string in goldens and diff entries.
    if isinstance(value, str) and path.rsplit(".", 1)[-1] == "cost":
        try:
            return float(Decimal(value))
        except InvalidOperation:
            return None
    return None


def parse_tolerance_line(line: str) -> Tolerance:
    """``GLOB rel=1e-6 abs=1e-9`` (either bound may be left out, not both)."""
    parts = line.split()
    if not parts:
        raise ValueError("empty tolerance line; expected: GLOB rel=1e-6 abs=1e-9")
    pattern, bounds = parts[0], parts[1:]
    values: dict[str, float] = {}
    for bound in bounds:
        name, sep, raw = bound.partition("=")
        if not sep or name not in ("rel", "abs") or name in values:
            raise ValueError(f"tolerance line {line!r} must look like: GLOB rel=1e-6 abs=1e-9")
        try:
            values[name] = float(raw)
        except ValueError:
            raise ValueError(f"tolerance line {line!r}: {name}={raw!r} is not a number") from None
    if not values:
        raise ValueError(f"tolerance line {line!r} gives no bound; expected: GLOB rel=1e-6 abs=1e-9")
    return Tolerance(pattern, **values)


ToleranceSpec = Mapping[str, Mapping[str, float]] | Iterable[Tolerance | str] | None


def tolerances_from(spec: ToleranceSpec) -> tuple[Tolerance, ...]:
    """``{"output.score": {"rel": 1e-6, "abs": 1e-9}}``, ``Tolerance`` objects or
    ``GLOB rel=.. abs=..`` lines, as a tuple of ``Tolerance``."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, Mapping):
        out = []
        for pattern, bounds in spec.items():
            unknown = set(bounds) - {"rel", "abs"}
            if unknown:
                raise ValueError(f"tolerance {pattern!r}: unknown keys {sorted(unknown)}; use rel= and abs=")
            out.append(Tolerance(pattern, **bounds))
        return tuple(out)
    return tuple(item if isinstance(item, Tolerance) else parse_tolerance_line(item) for item in spec)


def apply_tolerances(diff: TraceDiff, tolerances: ToleranceSpec) -> TraceDiff:
    """``diff`` without the numeric changes that some tolerance forgives."""
    rules = tolerances_from(tolerances)
    if not rules:
        return diff
    return TraceDiff([e for e in diff if not any(rule.covers(e) for rule in rules)])
