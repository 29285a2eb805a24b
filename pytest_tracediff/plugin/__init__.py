"""pytest wiring: options, the marker, fixtures and hooks; settings live in ``settings.py``.

Kept thin and import-light: nothing heavier than pytest is imported until a test
asks for a fixture, so an installed-but-unused plugin costs almost nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from . import settings

if TYPE_CHECKING:
    from syrupy.session import SnapshotSession

    from ..golden.session import TraceSnapshotSession
    from ..golden.snapshot import Comparison, TraceSnapshot
    from ..report.collector import ReportCollector
    from ..sources.capture import TraceCapture
    from ..sources.recorder import TraceRecorder

_SESSION = pytest.StashKey["TraceSnapshotSession"]()
_REPORTS = pytest.StashKey["ReportCollector"]()
_UPDATE_HELP = "create missing, rewrite changed and delete unused trace goldens (trace goldens only)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tracediff", "trace regression testing (pytest-tracediff)")
    group.addoption("--trace-snapshot-update", action="store_true", default=False, help=_UPDATE_HELP)
    group.addoption(
        "--trace-artifacts",
        metavar="DIR",
        default=None,
        help="for each failing trace comparison write DIR/<test id>/: actual.trace.json, diff.txt, "
        "diff.json and trace.chrome.json (Chrome trace / Perfetto, real timings)",
    )
    group.addoption(
        "--trace-report",
        metavar="FILE.html",
        default=None,
        help="write one self-contained HTML page: counts, every traced test's step tree, "
        "golden vs actual for changed traces",
    )
    settings.add_ini_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "trace_snapshot(exclude=[...], mask=[(regex, placeholder), ...], redact_keys=[...], redact_patterns=[...], "
        "max_string=N, max_items=N): "
        "normalization options for this test's trace goldens",
    )
    config.pluginmanager.register(_GoldenTracker(config), "tracediff-goldens")


def _session(config: pytest.Config) -> TraceSnapshotSession:
    if _SESSION not in config.stash:
        from ..golden.session import TraceSnapshotSession

        config.stash[_SESSION] = TraceSnapshotSession(
            rootpath=config.rootpath, update=settings.RunSettings.of(config).update
        )
    return config.stash[_SESSION]


def _reports(config: pytest.Config) -> ReportCollector:
    if _REPORTS not in config.stash:
        from ..report.collector import ReportCollector

        run = settings.RunSettings.of(config)
        config.stash[_REPORTS] = ReportCollector(artifacts_dir=run.artifacts_dir, report_path=run.report_path)
    return config.stash[_REPORTS]


class _GoldenTracker:
    """Feeds the golden session what it needs to tell used goldens from unused ones."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker = hasattr(config, "workerinput")

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Seen before -k/-m deselection, so deselected tests still own their goldens.
        session = _session(self.config)
        session.record_collection(items)
        session.narrowed = {
            str(Path(self.config.invocation_params.dir, arg.split("::", 1)[0]).resolve())
            for arg in self.config.args
            if "::" in arg
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        _session(self.config).record_item(report.nodeid, report.when, report.outcome)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        # xdist controller: each worker's goldens, collection and reports.
        data = getattr(node, "workeroutput", {}).get("tracediff")
        if data is not None:
            _session(self.config).merge(data["goldens"])
            if data["reports"]:
                _reports(self.config).merge(data["reports"])

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        run_session, goldens = session, _session(self.config)  # pytest's session; this run's trace goldens
        # The report layer is loaded only when a comparison reported or an output is asked for.
        run = settings.RunSettings.of(self.config)
        reporting = _REPORTS in self.config.stash or run.report_path is not None
        if self.worker:
            exported = {"goldens": goldens.export(), "reports": _reports(self.config).export() if reporting else {}}
            self.config.workeroutput["tracediff"] = exported  # type: ignore[attr-defined]
        else:
            goldens.finish()
            if (goldens.unused or goldens.undeletable) and run_session.exitstatus == pytest.ExitCode.OK:
                # syrupy fails a run on an unused snapshot, but trace goldens are not in its
                # report; an update that could not delete one did not finish its work either.
                run_session.exitstatus = pytest.ExitCode.TESTS_FAILED
            if reporting or os.environ.get("GITHUB_STEP_SUMMARY"):
                unused = [goldens.display(p) for p in [*goldens.unused, *goldens.deleted]]
                _reports(self.config).write(goldens.counts(), unused)
        return (yield)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker:
            return
        from ..report.summary import budget_notes, summary_lines

        calls = (
            r for reports in terminalreporter.stats.values() for r in reports if getattr(r, "when", None) == "call"
        )
        notes = budget_notes(getattr(r, "user_properties", ()) for r in calls)
        run = settings.RunSettings.of(self.config)
        failing = len(self.config.stash[_REPORTS].failures) if _REPORTS in self.config.stash else 0
        session = _session(self.config)
        report = session.display(str(run.report_path)) if run.report_path is not None else None
        artifacts = session.display(str(run.artifacts_dir)) if run.artifacts_dir is not None else None
        lines = summary_lines(
            session,
            notes,
            report=Path(report) if report is not None else None,
            artifacts=Path(artifacts) if artifacts is not None else None,
            failing=failing,
        )
        lines += session.problems()
        if lines:
            terminalreporter.write_sep("-", "trace snapshot summary")
            for line in lines:
                terminalreporter.write_line(line)


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> list[str] | None:
    if op != "==":
        return None
    verbose = config.get_verbosity() >= 2
    snapshot = sys.modules.get("pytest_tracediff.golden.snapshot")
    if snapshot is not None:
        for side in (right, left):
            if isinstance(side, snapshot.TraceSnapshot):
                return _one_per_line([f"{left!r} == {right!r}", *side.explain(verbose=verbose)])
    model = sys.modules.get("pytest_tracediff.model.trace")
    if model is not None and isinstance(left, model.Trace) and isinstance(right, model.Trace):
        from ..compare.diff import diff_recorded

        # ``assert actual == expected``: the right side is the baseline.
        return _one_per_line([f"{left!r} == {right!r}", *diff_recorded(right, left).render_lines(verbose=verbose)])
    return None


def _one_per_line(lines: list[str]) -> list[str]:
    """pytest escapes a newline inside an explanation line as a literal ``\\n``; a verbose
    value spans lines, so each becomes a line of its own."""
    return [part for line in lines for part in line.split("\n")]


class _Unreported:
    """syrupy's session for trace assertions, minus its report.

    Reads and queued writes go through syrupy's session as usual; only
    ``register_request`` is dropped, so syrupy's own summary and its unused-snapshot
    check never see trace goldens (ours count them, and its advice to run
    ``--snapshot-update`` would rewrite every syrupy snapshot in the project).
    """

    def __init__(self, session: object) -> None:
        self._session = session

    def register_request(self, assertion: object) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


@pytest.fixture
def trace_recorder() -> TraceRecorder:
    """A fresh ``TraceRecorder`` for this test's pipeline."""
    from ..sources.recorder import TraceRecorder

    return TraceRecorder()


@pytest.fixture
def trace_snapshot(request: pytest.FixtureRequest) -> TraceSnapshot:
    """Compare a trace with its golden: ``assert trace == trace_snapshot``."""
    from syrupy.assertion import SnapshotAssertion
    from syrupy.location import PyTestLocation

    from ..golden.extension import extension_class
    from ..golden.snapshot import TraceSnapshot

    syrupy_session = getattr(request.config, "_syrupy", None)
    if syrupy_session is None:
        raise pytest.UsageError(
            "trace_snapshot needs syrupy's pytest plugin, which is disabled (remove `-p no:syrupy`)"
        )
    update = settings.RunSettings.of(request.config).update
    assertion = SnapshotAssertion(
        update_snapshots=update,
        extension_class=extension_class(update=update),
        test_location=PyTestLocation(request.node),
        session=cast("SnapshotSession", _Unreported(syrupy_session)),
    )
    config, item = request.config, request.node
    wanted = settings.RunSettings.of(config).report_path is not None

    def on_result(comparison: Comparison) -> None:
        if wanted or comparison.outcome.failing:
            _reports(config).record(comparison, item)

    return TraceSnapshot(
        assertion,
        settings.normalize_options(request),
        _session(request.config),
        update=update,
        gate=settings.budget_gate(request),
        on_result=on_result,
    )


@pytest.fixture
def trace_capture() -> Iterator[Callable[..., TraceCapture]]:
    """``with trace_capture() as cap:`` forces tracing on in every installed framework
    (or only ``trace_capture("dagron", ...)``); everything is restored at block exit,
    and at the latest when the test ends."""
    from ..sources.capture import TraceCapture

    opened: list[TraceCapture] = []

    def start(*frameworks: str) -> TraceCapture:
        capture = TraceCapture(frameworks or None)
        opened.append(capture)
        return capture

    yield start
    for capture in opened:
        capture.close()
