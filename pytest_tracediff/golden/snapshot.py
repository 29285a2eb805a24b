"""The ``trace_snapshot`` assertion object: ``assert trace == trace_snapshot``.

``compare`` reads the golden one step at a time (``GoldenText``) and compares it with
the trace as recorded, normalizing only steps that differ; under the update flag it
hands syrupy the golden's text, made one step at a time, to match and write. It
returns a ``Comparison``: the outcome, the golden, the diff and the budget report. It
reports nothing itself: whoever built the snapshot (the plugin) passes ``on_result``,
which hands each comparison to the report layer.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, final

from ..compare.diff import diff_golden, diff_recorded, same_recorded
from ..compare.render import LIMIT, render_lines
from ..errors import UPDATE_FLAG, GoldenFileError, GoldenMissingError
from ..model import Trace
from ..model.files import read_trace_text
from ..model.golden_text import GoldenText
from ..model.trace import golden_json
from ..normalize import normalize, normalized_json
from ..sources.registry import from_any
from .extension import GoldenJson, TraceSnapshotExtension

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

    from ..compare.budget import BudgetReport
    from ..compare.diff import TraceDiff
    from ..normalize import Masker, NormalizeOptions
    from .gate import BudgetGate
    from .session import TraceSnapshotSession


class Outcome(str, enum.Enum):
    """What one comparison with a golden came to."""

    MATCHED = "matched"
    CREATED = "created"
    UPDATED = "updated"
    FAILED = "failed"
    """The golden was read and the trace differs (or a budget failed)."""
    CORRUPT = "corrupt"
    """The golden exists but cannot be read as a trace: no diff, a different fix."""
    MISSING = "missing"

    @property
    def failing(self) -> bool:
        return self in (Outcome.FAILED, Outcome.CORRUPT, Outcome.MISSING)


@final
@dataclass(frozen=True)
class Comparison:
    """One ``assert trace == trace_snapshot``, as the report layer needs it.

    The normalized traces are made when first asked for (by a report or artifact): a
    comparison that matches as recorded never normalizes anything.
    """

    outcome: Outcome
    location: str
    """The golden's full path."""
    display: str
    """The golden's path as shown to the user (relative to the rootdir)."""
    raw: Trace
    """The trace as given, with its timings (for the Chrome trace)."""
    normalized: Callable[[], Trace] = field(repr=False, compare=False)
    """Makes (once) the trace as normalized for the golden: ``actual``."""
    expected: Callable[[], Trace | None] = field(default=lambda: None, repr=False, compare=False)
    """Makes (once) the golden, normalized, when it was read and differs: ``golden``."""
    diff: TraceDiff | None = None
    budget: BudgetReport | None = None
    problem: str | None = None
    """Why a failure has no diff (a corrupt golden)."""
    mask: Callable[[str], str] | None = None
    """The test's text rules (redaction, then masks), for reports built from ``raw``."""

    @property
    def actual(self) -> Trace:
        """The trace as normalized for the golden."""
        return self.normalized()

    @property
    def golden(self) -> Trace | None:
        """The golden, normalized, when it was read and differs."""
        return self.expected()

    @property
    def summary(self) -> str:
        """One line: the diff's summary, or what happened."""
        if self.diff is not None:
            return self.diff.summary()
        if self.outcome is Outcome.MISSING:
            return "golden missing"
        if self.outcome is Outcome.CORRUPT:
            return self.problem or "golden cannot be read"
        if self.outcome is Outcome.FAILED:
            return "trace differs from golden"
        return str(self.outcome.value)


_T = TypeVar("_T")


def _once(make: Callable[[], _T]) -> Callable[[], _T]:
    """``make``, run at most once."""
    made: list[_T] = []

    def get() -> _T:
        if not made:
            made.append(make())
        return made[0]

    return get


def _ready(value: _T) -> Callable[[], _T]:
    return lambda: value


ResultHook = Callable[[Comparison], None]


class TraceSnapshot:
    """``assert trace == trace_snapshot``; ``trace_snapshot(name="x")`` for more than one."""

    def __init__(
        self,
        assertion: SnapshotAssertion,
        options: NormalizeOptions,
        session: TraceSnapshotSession,
        *,
        update: bool,
        name: str | None = None,
        gate: BudgetGate | None = None,
        on_result: ResultHook | None = None,
        _count: list[int] | None = None,
    ) -> None:
        self._assertion = assertion
        self._options = options
        self._session = session
        self._update = update
        self._name = name
        self._gate = gate  # ini budgets and tolerances (gate.py)
        self._on_result = on_result
        # Comparisons made so far by this test's snapshot and all its views: the index of
        # the next unnamed golden, counted as syrupy counts its executions.
        self._count = _count if _count is not None else [0]
        self.last: Comparison | None = None

    def __call__(
        self,
        *,
        name: str | None = None,
        exclude: Iterable[str] = (),
        mask: Iterable[Masker] = (),
        redact_keys: Iterable[str] = (),
        redact_patterns: Iterable[str] = (),
        max_string: int | None = None,
        max_items: int | None = None,
    ) -> TraceSnapshot:
        """A view of this snapshot with a golden name and/or extra normalization
        (the same options as the ``trace_snapshot`` marker)."""
        options = self._options.merged(
            exclude,
            mask,
            redact_keys=redact_keys,
            redact_patterns=redact_patterns,
            max_string=max_string,
            max_items=max_items,
        )
        return TraceSnapshot(
            self._assertion,
            options,
            self._session,
            update=self._update,
            name=name if name is not None else self._name,
            gate=self._gate,
            on_result=self._on_result,
            _count=self._count,
        )

    def __repr__(self) -> str:
        where = Path(self.last.location).name if self.last is not None else "not compared yet"
        return f"<trace_snapshot {where}>"

    def __eq__(self, other: object) -> bool:
        __tracebackhide__ = True
        return not self.compare(other).outcome.failing

    __hash__ = None  # type: ignore[assignment]

    @property
    def last_diff(self) -> TraceDiff | None:
        """The diff of the last failing comparison, if the golden could be read."""
        return self.last.diff if self.last is not None else None

    @property
    def _index(self) -> str | int:
        return self._name if self._name is not None else self._count[0]

    @property
    def location(self) -> str:
        """Path of the golden the next comparison uses."""
        index = self._index
        return str(self._assertion.extension.get_location(test_location=self._assertion.test_location, index=index))

    def compare(self, other: object) -> Comparison:
        """Compare ``other`` (anything ``Trace.from_any`` reads) with its golden.

        Raises ``GoldenMissingError`` (no golden, no update flag) and ``GoldenFileError``
        (an unreadable golden); both are reported first.

        The golden is read one step at a time. A trace equal to it as recorded matches
        without being normalized (``same_recorded``: most runs of most tests). Otherwise
        ``diff_golden`` decides, normalizing only the steps that differ as recorded (an
        empty diff is a match), and under the update flag syrupy writes the new golden.
        """
        __tracebackhide__ = True
        raw = from_any(other)
        location, index = self.location, self._index
        self._count[0] += 1
        path = Path(location)
        if path.is_dir():
            raise GoldenFileError(location, "is a directory where a golden file should be; remove it")
        display = self._session.display(location)
        options = self._options
        normalized = _once(lambda: normalize(raw, options))
        golden: GoldenText | None = None
        if path.exists():
            try:
                golden = GoldenText(read_trace_text(path), display)
                if self._gate is None and same_recorded(golden, raw):
                    return self._finish(Comparison(Outcome.MATCHED, location, display, raw, normalized))
            except GoldenFileError as exc:
                if not self._update:  # under the flag it is replaced
                    raise self._corrupt(exc, location, display, raw, normalized) from None
                golden = None
        elif not self._update:
            self._finish(Comparison(Outcome.MISSING, location, display, raw, normalized))
            raise GoldenMissingError(display)
        if self._update:
            return self._write(index, location, display, raw, normalized, golden)
        assert golden is not None
        gate, budget = self._gate, None
        try:
            if gate is None:
                # The golden is read step by step; only the steps that differ as recorded
                # are kept, built and normalized: a large trace with a few changes is
                # compared in a few steps.
                diff = diff_golden(golden, raw, options)
            else:
                expected = Trace.from_data(golden.parsed(), origin=display)
                gate.measure(expected, normalized())
                budget = gate.report
                diff = gate.filter(diff_recorded(expected, raw, options))
        except GoldenFileError as exc:
            raise self._corrupt(exc, location, display, raw, normalized) from None
        matched = not diff
        if matched and gate is not None:  # within tolerance; now the run totals
            matched = not gate.failed
            if matched:
                gate.note_improvements(display)
        if matched:
            return self._finish(Comparison(Outcome.MATCHED, location, display, raw, normalized, budget=budget))
        read = golden
        golden_trace = _once(lambda: normalize(Trace.from_data(read.parsed(), origin=display), options))
        return self._finish(Comparison(Outcome.FAILED, location, display, raw, normalized, golden_trace, diff, budget))

    def _corrupt(
        self, exc: GoldenFileError, location: str, display: str, raw: Trace, normalized: Callable[[], Trace]
    ) -> GoldenFileError:
        """Report a golden that cannot be read as a trace; the error to raise."""
        error = GoldenFileError(display, exc.problem)
        self._finish(Comparison(Outcome.CORRUPT, location, display, raw, normalized, problem=str(error)))
        return error

    def _write(
        self,
        index: str | int,
        location: str,
        display: str,
        raw: Trace,
        normalized: Callable[[], Trace],
        golden: GoldenText | None,
    ) -> Comparison:
        """Under the update flag: syrupy writes the golden unless it matches (a layout-only
        edit, or a change the tolerances forgive). ``golden``: the golden, when readable."""
        extension = self._assertion.extension
        assert isinstance(extension, TraceSnapshotExtension)
        extension.replace_unreadable = True
        # The index syrupy would give: it counts only the comparisons it makes.
        assertion = self._assertion(name=index) if index != 0 else self._assertion
        text: str | None = None
        if self._gate is not None and golden is not None:
            try:
                expected = Trace.from_data(golden.parsed(), origin=display)
            except GoldenFileError:
                pass  # an unreadable golden is replaced
            else:
                text = golden_json(self._gate.prepare(expected, normalized(), self._options), canonical_payloads=True)
        if text is None:  # normalized one step at a time as it is written: never held whole
            text = normalized_json(raw, self._options)
        assertion == GoldenJson(text)  # noqa: B015 (syrupy records the outcome; read below)
        result = assertion.executions[assertion.num_executions - 1]
        if result.exception is not None:
            raise result.exception
        outcome = Outcome.CREATED if result.created else Outcome.UPDATED if result.updated else Outcome.MATCHED
        return self._finish(Comparison(outcome, location, display, raw, normalized))

    def _finish(self, comparison: Comparison) -> Comparison:
        comparison = dataclasses.replace(comparison, mask=self._options.mask)
        self.last = comparison
        if comparison.outcome is Outcome.MISSING:
            self._session.record_missing(comparison.location)
        else:
            self._session.record(comparison.location, comparison.outcome.value)
        if self._on_result is not None:
            self._on_result(comparison)
        return comparison

    def explain(self, *, verbose: bool = False) -> list[str]:
        """Lines pytest shows under a failed ``assert trace == trace_snapshot``.

        At default verbosity pytest cuts an explanation longer than 10 lines or about 640
        characters (its first line, ``left == right``, included) down to 8 lines: the
        changes are fitted below that, so the golden's path and the update hint stay on
        screen. The first line's size is estimated from the trace's repr.
        """
        where = self.last.display if self.last is not None else self._session.display(self.location)
        hint = f"golden: {where} (if the change is intended: pytest {UPDATE_FLAG}, then review it)"
        budget = self._gate.explain() if self._gate is not None else []
        diff = self.last_diff
        if diff is None:
            return [f"trace differs from golden {where}", *budget]
        if not diff and budget:
            return [*budget, hint]
        if verbose:
            return [*diff.render_lines(verbose=True), *budget, hint]
        first_line = len(repr(self.last.raw if self.last is not None else None)) + 4 + len(repr(self))
        room = _PYTEST_CHARS - first_line - len(hint) - sum(map(len, budget))
        # Lines: pytest's first line, the summary, the changes, "... more", the budget lines, the hint.
        limit = max(1, min(LIMIT, _PYTEST_LINES - 4 - len(budget)))
        changes = render_lines(diff.entries, limit=limit, budget=max(room, 0))
        return [*changes, *budget, hint]


# What pytest shows uncut at default verbosity: 8 lines / 640 characters, plus the 2 lines
# and 46 (pytest 9) to 70 (pytest 8) characters its truncation tolerates.
_PYTEST_LINES = 10
_PYTEST_CHARS = 680
