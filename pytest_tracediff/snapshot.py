"""Golden files as a syrupy extension, and the ``trace_snapshot`` assertion object.

syrupy owns the lifecycle (naming, reading, queued writes, its report and unused
detection); this module owns the format, the comparison and the explanation.
Goldens live in ``__trace_snapshots__/<module>/<test>.trace.json``, a folder of
their own, so no other syrupy extension ever claims or deletes them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syrupy.extensions.base import AbstractSyrupyExtension
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from .errors import GoldenFileError, GoldenMissingError
from .naming import SNAPSHOT_DIRNAME, claims, golden_folder, golden_stem, stem_prefix
from .storage import atomic_write_text

if TYPE_CHECKING:
    import pytest
    from syrupy.assertion import SnapshotAssertion
    from syrupy.data import SnapshotCollection
    from syrupy.location import PyTestLocation
    from syrupy.types import SnapshotIndex

    from .budget import BudgetGate
    from .diff import TraceDiff
    from .model import Trace
    from .normalize import Masker, NormalizeOptions
    from .session import TraceSnapshotSession

FILE_EXTENSION = "trace.json"


@functools.lru_cache(maxsize=1024)
def _dirname(filepath: str) -> str:
    # syrupy asks for it several times per assertion; building the Path is the cost.
    return str(golden_folder(Path(filepath)))


def claim_prefix(location: PyTestLocation) -> str:
    """Every golden of the test at ``location`` has a file name starting with this."""
    return stem_prefix(location.snapshot_name)


class TraceSnapshotExtension(SingleFileSnapshotExtension):
    """Serializer, storage and comparator of trace goldens."""

    snapshot_dirname = SNAPSHOT_DIRNAME
    file_extension = FILE_EXTENSION
    _write_mode = WriteMode.TEXT
    # Set per assertion: in update mode an unreadable golden is replaced, not reported.
    replace_unreadable = False

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        # syrupy resolves the base folder on its own base class; ours is fixed.
        return _dirname(test_location.filepath)

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        return golden_stem(AbstractSyrupyExtension.get_snapshot_name(test_location=test_location, index=index))

    @classmethod
    def matches_test_location(cls, *, test_location: PyTestLocation, snapshot_location: str) -> bool:
        # Our names may carry a hash (see naming.py); syrupy's own check does not know that.
        path = Path(snapshot_location)
        stem = path.name[: -len(FILE_EXTENSION) - 1]
        return str(path.parent) == _dirname(test_location.filepath) and claims(claim_prefix(test_location), stem)

    def serialize(self, data: Any, **kwargs: Any) -> str:
        # Imported where used: the run's golden bookkeeping imports this module for
        # every collection, and must not pull in pydantic when no test uses goldens.
        from .model import Trace

        if not isinstance(data, Trace):
            raise TypeError(f"trace goldens hold Trace objects, not {type(data).__name__}")
        return data.to_json()

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        if serialized_data == snapshot_data:
            return True
        # A golden that differs only in layout (a hand edit, key order) still matches,
        # so it is not rewritten.
        from .model import Trace

        try:
            golden = Trace.from_json(str(snapshot_data)).normalized()
        except GoldenFileError:
            return False
        return bool(golden.to_json() == serialized_data)

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> str | None:
        # Only read here: the text is parsed (and a corrupt golden reported) when it
        # does not match, which keeps the common, matching case cheap.
        path = Path(snapshot_location)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise GoldenFileError(snapshot_location, "is a directory, not a golden file") from None
        except UnicodeDecodeError:
            if self.replace_unreadable:
                return None
            raise GoldenFileError(snapshot_location, "is not UTF-8 text") from None
        if not text.strip():
            if self.replace_unreadable:
                return None
            raise GoldenFileError(snapshot_location, "is empty")
        return text

    @classmethod
    def write_snapshot(cls, **kwargs: Any) -> None:
        # syrupy warns that it "can not relate" a hashed golden name (naming.py) to its
        # test; ours are related by matches_test_location, which older syrupy does not ask.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\s*Can not relate snapshot", category=UserWarning)
            super().write_snapshot(**kwargs)

    @classmethod
    def write_snapshot_collection(
        cls, *, snapshot_collection: SnapshotCollection, name_order: dict[str, int] | None = None
    ) -> None:
        data = next(iter(snapshot_collection)).data
        atomic_write_text(Path(snapshot_collection.location), str(data))

    def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
        from .model import Trace

        try:
            golden = Trace.from_json(str(snapshot_data))
            actual = Trace.from_json(str(serialized_data))
        except GoldenFileError as exc:
            yield str(exc)
            return
        yield from golden.diff(actual).render_lines()


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
        item: pytest.Item | None = None,
        gate: BudgetGate | None = None,
    ) -> None:
        self._assertion = assertion
        self._options = options
        self._session = session
        self._update = update
        self._name = name
        self._item = item  # the test, for its JUnit property and artifacts folder
        self._gate = gate  # ini budgets and tolerances (budget.py)
        self.last_diff: TraceDiff | None = None
        self.last_location: str | None = None

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
        view = TraceSnapshot(
            self._assertion,
            options,
            self._session,
            update=self._update,
            name=name if name is not None else self._name,
            item=self._item,
            gate=self._gate,
        )
        return view

    def __repr__(self) -> str:
        where = Path(self.last_location).name if self.last_location else "not compared yet"
        return f"<trace_snapshot {where}>"

    def __eq__(self, other: object) -> bool:
        __tracebackhide__ = True
        return self.compare(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def location(self) -> str:
        """Path of the golden the next comparison uses."""
        index = self._name if self._name is not None else self._assertion.num_executions
        return str(self._assertion.extension.get_location(test_location=self._assertion.test_location, index=index))

    def compare(self, other: object) -> bool:
        """Compare ``other`` (anything ``Trace.from_any`` reads) with its golden."""
        __tracebackhide__ = True
        from .model import Trace

        raw = Trace.from_any(other)
        actual = raw.normalized(self._options)
        location = self.location
        self.last_location = location
        path = Path(location)
        if path.is_dir():
            raise GoldenFileError(location, "is a directory where a golden file should be; remove it")
        if not self._update and not path.exists():
            self._session.record_missing(location)
            self._report(location, "missing", raw, actual)
            raise GoldenMissingError(self._session.display(location))
        extension = self._assertion.extension
        assert isinstance(extension, TraceSnapshotExtension)
        extension.replace_unreadable = self._update
        assertion = self._assertion(name=self._name) if self._name is not None else self._assertion
        compared = actual
        if self._gate is not None:
            compared = self._gate.prepare(path, actual, self._options, update=self._update)
        matched = assertion == compared
        result = assertion.executions[assertion.num_executions - 1]
        if isinstance(result.exception, GoldenFileError):
            self._session.record(location, "failed")
            self._report(location, "failed", raw, actual, problem=str(self._clean(result.exception)))
            raise self._clean(result.exception)
        if result.exception is not None:
            raise result.exception
        if matched and self._gate is not None:  # within tolerance; now the run totals
            matched = not self._gate.failed
            if matched:
                self._gate.note_improvements(self._session.display(location))
        outcome = "created" if result.created else "updated" if result.updated else "matched"
        self._session.record(location, outcome if matched else "failed")
        self.last_diff = None
        golden = None
        if not matched and result.recalled_data is not None:
            try:
                golden = Trace.from_json(str(result.recalled_data), origin=location)
            except GoldenFileError as exc:
                self._report(location, "failed", raw, actual, problem=str(self._clean(exc)))
                raise self._clean(exc) from None
            self.last_diff = golden.diff(actual, self._options)
            if self._gate is not None:
                self.last_diff = self._gate.filter(self.last_diff)
        self._report(location, outcome if matched else "failed", raw, actual, golden=golden)
        return bool(matched)

    def _report(
        self, location: str, outcome: str, raw: Trace, actual: Trace, *, golden: Trace | None = None, problem: str = ""
    ) -> None:
        """CI reporting (report.py): only failures, unless an HTML report is asked for."""
        if outcome in ("failed", "missing") or self._session.report_path is not None:
            from .report import record_comparison

            record_comparison(
                self._session,
                self._item,
                location,
                outcome,
                raw=raw,
                actual=actual,
                golden=golden.normalized(self._options) if golden is not None else None,
                diff=self.last_diff,
                problem=problem or None,
            )

    def _clean(self, error: GoldenFileError) -> GoldenFileError:
        """The same error with a short path and no library frames in its traceback."""
        return GoldenFileError(self._session.display(error.path), error.problem)

    def explain(self, *, verbose: bool = False) -> list[str]:
        """Lines pytest shows under a failed ``assert trace == trace_snapshot``."""
        where = self._session.display(self.last_location or self.location)
        hint = f"golden: {where} (if the change is intended: pytest --trace-snapshot-update, then review it)"
        budget = self._gate.explain() if self._gate is not None else []
        if self.last_diff is None:
            return [f"trace differs from golden {where}", *budget]
        changes = self.last_diff.render_lines(verbose=verbose) if self.last_diff or not budget else []
        return [*changes, *budget, hint]
