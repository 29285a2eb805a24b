"""The plugin's settings: ini options and the ``trace_snapshot`` marker, read and checked once.

Every bad value is a ``pytest.UsageError`` naming the setting (or the test) and what
it takes. Nothing heavy is imported here: options are built only when a test asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..compare.totals import TOTALS

if TYPE_CHECKING:
    from ..golden.gate import BudgetGate
    from ..normalize import Masker, NormalizeOptions

MARKER = "trace_snapshot"
MARKER_ARGS = frozenset({"exclude", "mask", "redact_keys", "redact_patterns", "max_string", "max_items"})


def add_ini_options(parser: pytest.Parser) -> None:
    """Register every ini option (``pytest_addoption``)."""
    parser.addini(
        "trace_snapshot_exclude",
        type="linelist",
        default=[],
        help="glob patterns of step fields left out of trace goldens, e.g. output.*.created_at",
    )
    parser.addini(
        "trace_snapshot_mask", type="linelist", default=[], help="extra maskers, one per line: REGEX => PLACEHOLDER"
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
        "trace_snapshot_keep_tracebacks",
        type="bool",
        default=False,
        help="keep traceback frames in error texts of trace goldens (default false: exception type and message only)",
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
    for total, what in TOTALS.items():
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


@dataclass(frozen=True)
class RunSettings:
    """The command-line options of one run."""

    update: bool
    artifacts_dir: Path | None
    report_path: Path | None

    @classmethod
    def of(cls, config: pytest.Config) -> RunSettings:
        # syrupy's own --snapshot-update means "update every snapshot", ours included.
        update = bool(config.option.trace_snapshot_update or getattr(config.option, "update_snapshots", False))
        return cls(update, _path_option(config, "trace_artifacts"), _path_option(config, "trace_report"))


def _path_option(config: pytest.Config, name: str) -> Path | None:
    value = getattr(config.option, name, None)
    return Path(config.invocation_params.dir, value).resolve() if value else None


def normalize_options(request: pytest.FixtureRequest) -> NormalizeOptions:
    """The ini options, then each ``trace_snapshot`` marker from the outermost in."""
    from ..normalize import NormalizeOptions

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
        keep_tracebacks=bool(config.getini("trace_snapshot_keep_tracebacks")),
        rootdir=str(config.rootpath),
    )
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        where = request.node.nodeid
        unknown = set(marker.kwargs) - MARKER_ARGS
        if unknown or marker.args:
            raise pytest.UsageError(
                f"{where}: @pytest.mark.trace_snapshot takes only the keyword arguments "
                f"{', '.join(sorted(MARKER_ARGS))}; got {sorted(unknown) or list(marker.args)}"
            )
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


def budget_gate(request: pytest.FixtureRequest) -> BudgetGate | None:
    """The ini budgets and tolerances (``golden/gate.py``), or None when none is set."""
    config = request.config
    limits = {total: str(config.getini(f"trace_budget_{total}")).strip() for total in TOTALS}
    tolerances = list(config.getini("trace_tolerance"))
    if not tolerances and not any(limits.values()):
        return None
    from ..golden.gate import gate_from_ini

    try:
        gate = gate_from_ini(limits, tolerances)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    gate.notes = request.node.user_properties
    return gate


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


def _parse_mask_line(line: str) -> Masker:
    pattern, sep, placeholder = line.partition("=>")
    if not sep or not pattern.strip():
        raise pytest.UsageError(f"trace_snapshot_mask line {line!r} must look like: REGEX => PLACEHOLDER")
    return _checked(pattern.strip(), placeholder.strip(), "trace_snapshot_mask")


def _compiles(pattern: str, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise pytest.UsageError(f"{where}: invalid regular expression {pattern!r}: {exc}") from None


def _checked(pattern: str, placeholder: str, where: str) -> Masker:
    _compiles(pattern, where)
    return (pattern, placeholder)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not all(isinstance(v, str) for v in value):
        raise pytest.UsageError(f"{where}: trace_snapshot(exclude=...) takes glob strings, got {value!r}")
    return tuple(value)


def _regexes(value: Any, where: str) -> tuple[str, ...]:
    """Redaction regexes from an ini linelist or a marker argument (a string or a list)."""
    if isinstance(value, str):
        value = (value,)
    if not all(isinstance(v, str) for v in value):
        raise pytest.UsageError(f"{where} takes regular expression strings, got {value!r}")
    for pattern in value:
        _compiles(pattern, where)
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
