"""pytest wiring: options, ini settings, the marker, fixtures and hooks.

Kept thin and import-light: nothing heavier than pytest is imported until a test
asks for a fixture, so an installed-but-unused plugin costs almost nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .capture import TraceCapture
    from .normalize import Masker, NormalizeOptions
    from .recorder import TraceRecorder
    from .session import TraceSnapshotSession
    from .snapshot import TraceSnapshot

_SESSION = pytest.StashKey["TraceSnapshotSession"]()
_UPDATE_HELP = "create missing, rewrite changed and delete unused trace goldens (trace goldens only)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tracediff", "trace regression testing (pytest-tracediff)")
    group.addoption("--trace-snapshot-update", action="store_true", default=False, help=_UPDATE_HELP)
    parser.addini(
        "trace_snapshot_exclude",
        type="linelist",
        default=[],
        help="glob patterns of step fields left out of trace goldens, e.g. output.*.created_at",
    )
    parser.addini(
        "trace_snapshot_mask",
        type="linelist",
        default=[],
        help="extra maskers, one per line: REGEX => PLACEHOLDER",
    )
    parser.addini(
        "trace_snapshot_default_masks",
        type="bool",
        default=True,
        help="mask UUIDs, ISO datetimes, memory addresses and temp paths (default true)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "trace_snapshot(exclude=[...], mask=[(regex, placeholder), ...]): "
        "normalization options for this test's trace goldens",
    )
    config.pluginmanager.register(_GoldenTracker(config), "tracediff-goldens")


def _session(config: pytest.Config) -> TraceSnapshotSession:
    if _SESSION not in config.stash:
        from .session import TraceSnapshotSession

        config.stash[_SESSION] = TraceSnapshotSession(rootpath=config.rootpath, update=_update(config))
    return config.stash[_SESSION]


def _update(config: pytest.Config) -> bool:
    # syrupy's own --snapshot-update means "update every snapshot", ours included.
    return bool(config.option.trace_snapshot_update or getattr(config.option, "update_snapshots", False))


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
        # xdist controller: each worker's goldens and collection.
        data = getattr(node, "workeroutput", {}).get("tracediff")
        if data is not None:
            _session(self.config).merge(data)

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self) -> Generator[None, None, None]:
        # Runs before syrupy's finish: goldens deleted here are not reported unused by it.
        session = _session(self.config)
        if self.worker:
            self.config.workeroutput["tracediff"] = session.export()  # type: ignore[attr-defined]
        else:
            session.finish()
        return (yield)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker:
            return
        lines = _session(self.config).summary_lines()
        if lines:
            terminalreporter.write_sep("-", "trace snapshot summary")
            for line in lines:
                terminalreporter.write_line(line)


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> list[str] | None:
    if op != "==":
        return None
    verbose = config.get_verbosity() >= 2
    snapshot = sys.modules.get("pytest_tracediff.snapshot")
    if snapshot is not None:
        for side in (right, left):
            if isinstance(side, snapshot.TraceSnapshot):
                return [f"{left!r} == {right!r}", *side.explain(verbose=verbose)]
    model = sys.modules.get("pytest_tracediff.model")
    if model is not None and isinstance(left, model.Trace) and isinstance(right, model.Trace):
        # ``assert actual == expected``: the right side is the baseline.
        return [f"{left!r} == {right!r}", *right.diff(left).render_lines(verbose=verbose)]
    return None


def _options(request: pytest.FixtureRequest) -> NormalizeOptions:
    from .normalize import NormalizeOptions

    config = request.config
    options = NormalizeOptions(
        exclude=tuple(config.getini("trace_snapshot_exclude")),
        maskers=tuple(_parse_mask_line(line) for line in config.getini("trace_snapshot_mask")),
        default_maskers=bool(config.getini("trace_snapshot_default_masks")),
    )
    for marker in reversed(list(request.node.iter_markers("trace_snapshot"))):
        unknown = set(marker.kwargs) - {"exclude", "mask"}
        if unknown or marker.args:
            raise pytest.UsageError(
                f"{request.node.nodeid}: @pytest.mark.trace_snapshot takes only exclude= and mask= "
                f"keyword arguments, got {sorted(unknown) or list(marker.args)}"
            )
        options = options.merged(
            _strings(marker.kwargs.get("exclude", ()), request.node.nodeid),
            _maskers(marker.kwargs.get("mask", ()), request.node.nodeid),
        )
    return options


def _parse_mask_line(line: str) -> Masker:
    pattern, sep, placeholder = line.partition("=>")
    if not sep or not pattern.strip():
        raise pytest.UsageError(f"trace_snapshot_mask line {line!r} must look like: REGEX => PLACEHOLDER")
    return _checked(pattern.strip(), placeholder.strip(), "trace_snapshot_mask")


def _checked(pattern: str, placeholder: str, where: str) -> Masker:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise pytest.UsageError(f"{where}: invalid regular expression {pattern!r}: {exc}") from None
    return (pattern, placeholder)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not all(isinstance(v, str) for v in value):
        raise pytest.UsageError(f"{where}: trace_snapshot(exclude=...) takes glob strings, got {value!r}")
    return tuple(value)


def _maskers(value: Any, where: str) -> Iterable[Masker]:
    pairs = value.items() if isinstance(value, dict) else value
    out = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise pytest.UsageError(
                f"{where}: trace_snapshot(mask=...) takes (regex, placeholder) pairs or a dict, got {pair!r}"
            )
        out.append(_checked(pair[0], pair[1], where))
    return out


@pytest.fixture
def trace_recorder() -> TraceRecorder:
    """A fresh ``TraceRecorder`` for this test's pipeline."""
    from .recorder import TraceRecorder

    return TraceRecorder()


@pytest.fixture
def trace_snapshot(request: pytest.FixtureRequest) -> TraceSnapshot:
    """Compare a trace with its golden: ``assert trace == trace_snapshot``."""
    from syrupy.assertion import SnapshotAssertion
    from syrupy.location import PyTestLocation

    from .snapshot import TraceSnapshot, TraceSnapshotExtension

    syrupy_session = getattr(request.config, "_syrupy", None)
    if syrupy_session is None:
        raise pytest.UsageError(
            "trace_snapshot needs syrupy's pytest plugin, which is disabled (remove `-p no:syrupy`)"
        )
    update = _update(request.config)
    assertion = SnapshotAssertion(
        update_snapshots=update,
        extension_class=TraceSnapshotExtension,
        test_location=PyTestLocation(request.node),
        session=syrupy_session,
    )
    return TraceSnapshot(assertion, _options(request), _session(request.config), update=update)


@pytest.fixture
def trace_capture() -> Iterator[Callable[..., TraceCapture]]:
    """``with trace_capture() as cap:`` forces tracing on in every installed framework
    (or only ``trace_capture("dagron", ...)``); everything is restored at block exit,
    and at the latest when the test ends."""
    from .capture import TraceCapture

    opened: list[TraceCapture] = []

    def start(*frameworks: str) -> TraceCapture:
        capture = TraceCapture(frameworks or None)
        opened.append(capture)
        return capture

    yield start
    for capture in opened:
        capture.close()
