"""Behaviour assertions that explain themselves: which step, what, expected vs actual."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Any, Literal

from ..errors import TraceAssertionError
from ..model import FAILING_STATUSES, Step, Trace, group_attempts
from ..sources.registry import from_any
from .entries import occurrence_numbers

StepsMode = Literal["strict", "unordered", "subset", "superset"]


def _trace(obj: Any) -> Trace:
    return obj if isinstance(obj, Trace) else from_any(obj)


def _describe(step: Step, attempts: int, occurrence: int | None = None) -> str:
    error = f" [{step.failure_class}]" if step.failure_class else ""
    message = f" {step.error}" if step.error else ""
    loop = f"[{step.loop_index}]" if step.loop_index is not None else ""
    number = f" #{occurrence}" if occurrence is not None else ""
    where = f"{step.path}{loop}{number}"
    return f"{where} (attempt {step.attempt} of {attempts}): {step.status.value}{error}{message}"


def _numbered(trace: Trace) -> list[tuple[list[Step], int | None]]:
    """Occurrences with their number among repeats of the same step (``chat #2``)."""
    occurrences = group_attempts(trace.steps)
    return list(zip(occurrences, occurrence_numbers(occurrences), strict=True))


def assert_no_failures(trace: Any, *, strict: bool = False) -> None:
    """No step ended failed or timed out; ``strict`` also rejects recovered attempts."""
    trace = _trace(trace)
    problems: list[str] = []
    for occurrence, number in _numbered(trace):
        attempts = len(occurrence)
        candidates = occurrence if strict else occurrence[-1:]
        problems.extend(_describe(s, attempts, number) for s in candidates if s.status in FAILING_STATUSES)
    if problems:
        what = "failed attempt" if strict else "failed step"
        n = len(problems)
        raise TraceAssertionError(f"{n} {what}{'s' if n != 1 else ''} in trace from {trace.source}:", problems)


def _matching(trace: Trace, step: str) -> list[tuple[list[Step], int | None]]:
    found = [(o, n) for o, n in _numbered(trace) if step in (o[0].step_id, o[0].path)]
    if not found:
        known = sorted({s.path for s in trace.steps})
        raise TraceAssertionError(f"step {step!r} is not in the trace; its steps are:", known)
    return found


def assert_retries(trace: Any, step: str, expected: int | None = None, *, at_most: int | None = None) -> None:
    """``step`` (an id or a full path) was retried exactly ``expected`` / at most ``at_most`` times.

    Retries are attempts minus one, summed over every occurrence of the step
    (loop iterations, repeated calls).
    """
    if expected is None and at_most is None:
        raise TypeError("assert_retries() needs expected or at_most")
    trace = _trace(trace)
    occurrences = _matching(trace, step)
    retries = sum(len(o) - 1 for o, _ in occurrences)
    details = [_describe(s, len(o), n) for o, n in occurrences for s in o]
    if expected is not None and retries != expected:
        raise TraceAssertionError(f"step {step!r} was retried {retries} times, expected {expected}:", details)
    if at_most is not None and retries > at_most:
        raise TraceAssertionError(f"step {step!r} was retried {retries} times, at most {at_most} allowed:", details)


def executed_steps(trace: Trace, *, paths: bool = False) -> list[str]:
    """Step ids (or full paths) in execution order, one per occurrence (retries folded)."""
    return [o[0].path if paths else o[0].step_id for o in group_attempts(trace.steps)]


def assert_steps(trace: Any, expected_ids: Iterable[str], mode: StepsMode = "strict") -> None:
    """The steps that ran match ``expected_ids``.

    ``strict``: same steps, same order, same counts. ``unordered``: same steps and
    counts, any order. ``subset``: every step that ran is expected (counts
    respected). ``superset``: every expected step ran. An id containing ``/`` is
    compared with full paths.
    """
    trace = _trace(trace)
    expected = list(expected_ids)
    actual = executed_steps(trace, paths=any("/" in e for e in expected))
    missing = Counter(expected) - Counter(actual)
    unexpected = Counter(actual) - Counter(expected)
    problems = [f"missing: {name}" + (f" (x{n})" if n > 1 else "") for name, n in missing.items()]
    problems += [f"unexpected: {name}" + (f" (x{n})" if n > 1 else "") for name, n in unexpected.items()]
    if mode == "strict":
        if actual == expected:
            return
        problems = _order_problems(expected, actual)
    elif mode == "unordered":
        if not problems:
            return
    elif mode == "subset":
        problems = [p for p in problems if p.startswith("unexpected")]
        if not problems:
            return
    elif mode == "superset":
        problems = [p for p in problems if p.startswith("missing")]
        if not problems:
            return
    else:
        raise ValueError(f"mode must be strict, unordered, subset or superset, not {mode!r}")
    raise TraceAssertionError(f"steps do not match ({mode}): expected {expected}, ran {actual}", problems)


def _order_problems(expected: list[str], actual: list[str]) -> list[str]:
    problems: list[str] = []
    matcher = SequenceMatcher(None, expected, actual, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            problems += [f"missing at position {i}: {expected[i]}" for i in range(i1, i2)]
        if tag in ("insert", "replace"):
            problems += [f"unexpected at position {j}: {actual[j]}" for j in range(j1, j2)]
    return problems
