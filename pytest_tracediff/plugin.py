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
    from .budget import BudgetGate
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
        "trace_snapshot_max_string",
        default="",
        help="cut strings longer than this in trace goldens (a marker with a hash of the cut part ends them)",
    )
    parser.addini(
        "trace_snapshot_max_items",
        default="",
        help="cut lists longer than this in trace goldens (a marker item with a hash of the cut part ends them)",
    )
    parser.addini(
        "trace_snapshot_default_masks",
        type="bool",
        default=True,
        help="mask UUIDs, ISO datetimes, memory addresses and temp paths (default true)",
    )
    parser.addini(
        "trace_snapshot_redact_keys",
        type="linelist",
        default=[],
        help="extra regexes (case-insensitive) of dict keys whose whole value is redacted, one per line",
    )
    parser.addini(
        "trace_snapshot_redact_patterns",
        type="linelist",
        default=[],
        help="extra regexes whose matches in any string are redacted, one per line",
    )
    parser.addini(
        "trace_snapshot_default_redaction",
        type="bool",
        default=True,
        help="redact passwords, tokens, API keys, private keys, credentials in URLs... (default true)",
    )
    for total, what in _BUDGETS.items():
        parser.addini(
            f"trace_budget_{total}",
            type="string",
            default="",
            help=f"fail a trace comparison when the run's {what} grows past RATIO x the golden's, e.g. 1.25",
        )
    parser.addini(
        "trace_tolerance",
        type="linelist",
        default=[],
        help="numeric tolerances of trace diffs, one per line: GLOB rel=1e-6 abs=1e-9",
    )


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
        from .session import TraceSnapshotSession

        config.stash[_SESSION] = TraceSnapshotSession(
            rootpath=config.rootpath,
            update=_update(config),
            artifacts_dir=_path_option(config, "trace_artifacts"),
            report_path=_path_option(config, "trace_report"),
        )
    return config.stash[_SESSION]


def _path_option(config: pytest.Config, name: str) -> Path | None:
    value = getattr(config.option, name, None)
    return Path(config.invocation_params.dir, value).resolve() if value else None


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
            session.write_reports()
        return (yield)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker:
            return
        lines = [*_session(self.config).summary_lines(), *_budget_lines(terminalreporter)]
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
        redact_keys=_regexes(config.getini("trace_snapshot_redact_keys"), "trace_snapshot_redact_keys"),
        redact_patterns=_regexes(config.getini("trace_snapshot_redact_patterns"), "trace_snapshot_redact_patterns"),
        default_redaction=bool(config.getini("trace_snapshot_default_redaction")),
        max_string=_limit(config.getini("trace_snapshot_max_string"), "trace_snapshot_max_string"),
        max_items=_limit(config.getini("trace_snapshot_max_items"), "trace_snapshot_max_items"),
    )
    allowed = {"exclude", "mask", "redact_keys", "redact_patterns", "max_string", "max_items"}
    for marker in reversed(list(request.node.iter_markers("trace_snapshot"))):
        unknown = set(marker.kwargs) - allowed
        if unknown or marker.args:
            raise pytest.UsageError(
                f"{request.node.nodeid}: @pytest.mark.trace_snapshot takes only the keyword arguments "
                f"{', '.join(sorted(allowed))}; got {sorted(unknown) or list(marker.args)}"
            )
        where = request.node.nodeid
        options = options.merged(
            _strings(marker.kwargs.get("exclude", ()), where),
            _maskers(marker.kwargs.get("mask", ()), where),
            redact_keys=_regexes(marker.kwargs.get("redact_keys", ()), f"{where}: trace_snapshot(redact_keys=...)"),
            redact_patterns=_regexes(
                marker.kwargs.get("redact_patterns", ()), f"{where}: trace_snapshot(redact_patterns=...)"
            ),
            max_string=_limit(marker.kwargs.get("max_string"), f"{where}: trace_snapshot(max_string=...)"),
            max_items=_limit(marker.kwargs.get("max_items"), f"{where}: trace_snapshot(max_items=...)"),
        )
    return options


def _limit(value: object, where: str) -> int | None:
    """A positive size limit from an ini string or a marker argument; empty means none."""
    if value is None or value == "":
        return None
    try:
        limit = int(str(value).strip())
    except ValueError:
        limit = 0
    if limit < 1:
        raise pytest.UsageError(f"{where} must be a whole number >= 1, got {value!r}")
    return limit


_BUDGETS = {"cost": "total cost", "tokens": "total tokens", "steps": "step count", "attempts": "attempt count"}


def _gate(request: pytest.FixtureRequest) -> BudgetGate | None:
    """The ini budgets and tolerances (budget.py), or None when none is set."""
    config = request.config
    limits = {total: str(config.getini(f"trace_budget_{total}")).strip() for total in _BUDGETS}
    tolerances = list(config.getini("trace_tolerance"))
    if not tolerances and not any(limits.values()):
        return None
    from .budget import gate_from_ini

    try:
        gate = gate_from_ini(limits, tolerances)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    gate.notes = request.node.user_properties
    return gate


def _budget_lines(terminalreporter: Any) -> list[str]:
    """Budget improvements the tests noted (in user_properties, so xdist workers' too)."""
    notes: list[str] = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            notes += [str(v) for k, v in getattr(report, "user_properties", ()) if k == "tracediff_budget_improvement"]
    if not notes:
        return []
    return [f"trace budgets: {len(notes)} total(s) improved (refresh the goldens to lock it in):"] + [
        f"  {note}" for note in sorted(set(notes))
    ]


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


def _regexes(value: Any, where: str) -> tuple[str, ...]:
    """Redaction regexes from an ini linelist or a marker argument (a string or a list)."""
    import re

    if isinstance(value, str):
        value = (value,)
    if not all(isinstance(v, str) for v in value):
        raise pytest.UsageError(f"{where} takes regular expression strings, got {value!r}")
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise pytest.UsageError(f"{where}: invalid regular expression {pattern!r}: {exc}") from None
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
    return TraceSnapshot(
        assertion, _options(request), _session(request.config), update=update, item=request.node, gate=_gate(request)
    )


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
