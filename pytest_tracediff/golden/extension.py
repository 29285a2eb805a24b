"""Golden files as a syrupy extension: serializer, storage, comparator and diff lines.

syrupy owns the lifecycle (naming, reading, queued writes, its report and unused
detection); this module owns the format on disk. Goldens live in
``__trace_snapshots__/<module>/<test>.trace.json``, a folder of their own, so no other
syrupy extension ever claims or deletes them.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

import pytest
from syrupy.data import SnapshotCollections
from syrupy.extensions.base import AbstractSyrupyExtension
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from ..errors import GoldenFileError
from ..model.files import TRACE_SUFFIX, atomic_write_text, read_trace_text
from .naming import SNAPSHOT_DIRNAME, claims, golden_folder, golden_stem, stem_prefix

if TYPE_CHECKING:
    from syrupy.data import SnapshotCollection
    from syrupy.location import PyTestLocation
    from syrupy.types import SnapshotIndex

FILE_EXTENSION = TRACE_SUFFIX[1:]


@final
@dataclass(frozen=True)
class GoldenJson:
    """A golden's text, made before syrupy sees it (``normalize.normalized_json``, one
    step at a time): syrupy compares and stores it as it is."""

    text: str = field(repr=False)


@functools.lru_cache(maxsize=1024)
def _dirname(filepath: str) -> str:
    # syrupy asks for it several times per assertion; building the Path is the cost.
    return str(golden_folder(Path(filepath)))


_REPEAT_PARAM = "__pytest_repeat_step_number"


def test_name(location: PyTestLocation) -> str:
    """syrupy's name of the test, less pytest-repeat's ``[1-3]``: every repetition of a
    test compares with the test's one golden (a flaky trace then fails, as it should)."""
    name = location.snapshot_name
    callspec = getattr(location.item, "callspec", None)
    if callspec is None or _REPEAT_PARAM not in callspec.params:
        return name
    # pytest-repeat's id "<step>-<count>" comes last: "test[1-3]" or "test[a-1-3]".
    found = re.search(rf"([\[-]){callspec.params[_REPEAT_PARAM] + 1}-\d+\]$", name)
    if found is None:  # an id made some other way: each repetition keeps its own golden
        return name
    return name[: found.start()] + ("" if found.group(1) == "[" else "]")


def claim_prefix(location: PyTestLocation) -> str:
    """Every golden of the test at ``location`` has a file name starting with this."""
    return stem_prefix(test_name(location))


_OWNER = pytest.StashKey[tuple[str, str]]()


def _owner(location: PyTestLocation) -> tuple[str, str]:
    """The golden folder and name prefix of a test, worked out once per test item."""
    stash = location.item.stash
    owner = stash.get(_OWNER, None)
    if owner is None:
        owner = stash[_OWNER] = (_dirname(location.filepath), claim_prefix(location))
    return owner


@functools.lru_cache(maxsize=4096)
def _golden(location: str) -> tuple[str, str]:
    """The folder and file stem of a golden."""
    path = Path(location)
    return str(path.parent), path.name[: -len(FILE_EXTENSION) - 1]


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
        name = AbstractSyrupyExtension.get_snapshot_name(test_location=test_location, index=index)
        full, wanted = test_location.snapshot_name, test_name(test_location)
        if wanted != full and name.startswith(full):
            name = wanted + name[len(full) :]
        return golden_stem(name)

    @classmethod
    def matches_test_location(cls, *, test_location: PyTestLocation, snapshot_location: str) -> bool:
        # Our names may carry a hash (see naming.py); syrupy's own check does not know that.
        # With test paths on the command line syrupy asks this for every golden and every
        # test of its module (n^2 / 2 calls), so both sides are worked out once.
        folder, prefix = _owner(test_location)
        parent, stem = _golden(snapshot_location)
        return parent == folder and claims(prefix, stem)

    def discover_snapshots(
        self, *, test_location: PyTestLocation, ignore_extensions: list[str] | None = None
    ) -> SnapshotCollections:
        # Unused trace goldens are the golden session's to find and delete (session.py: it
        # knows skipped modules, -k, xdist and the update flag), so syrupy is not shown
        # them: it would count a skipped module's goldens as unused, fail a green run and
        # advise --snapshot-update; under xdist its workers would find a golden the
        # controller then deletes.
        return SnapshotCollections()

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if not isinstance(data, GoldenJson):
            raise TypeError(f"trace goldens hold GoldenJson text (snapshot.py), not {type(data).__name__}")
        return data.text

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        if serialized_data == snapshot_data:
            return True
        # A golden that differs only in layout (a hand edit, key order) still matches,
        # so it is not rewritten.
        from ..model.trace import Trace, golden_json
        from ..normalize import normalize

        try:
            golden = normalize(Trace.from_json(str(snapshot_data)))
        except GoldenFileError:
            return False
        return bool(golden_json(golden, canonical_payloads=True) == serialized_data)

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> str | None:
        # Only read here: the text is parsed (and a corrupt golden reported) when it
        # does not match, which keeps the common, matching case cheap.
        path = Path(snapshot_location)
        if not path.exists():
            return None
        try:
            return read_trace_text(path)
        except GoldenFileError:
            if self.replace_unreadable and not path.is_dir():
                return None
            raise

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
        from ..compare.diff import diff_recorded
        from ..model import Trace

        try:
            golden = Trace.from_json(str(snapshot_data))
            actual = Trace.from_json(str(serialized_data))
        except GoldenFileError as exc:
            yield str(exc)
            return
        yield from diff_recorded(golden, actual).render_lines()


class UpdatingTraceSnapshotExtension(TraceSnapshotExtension):
    """The extension of an update run: an unreadable golden is replaced, not reported."""

    replace_unreadable = True


def extension_class(*, update: bool) -> type[TraceSnapshotExtension]:
    """The extension class a ``trace_snapshot`` assertion uses in this run."""
    return UpdatingTraceSnapshotExtension if update else TraceSnapshotExtension
