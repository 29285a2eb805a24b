"""The ``pytest-tracediff`` command: compare, show and convert traces in a CI job, without pytest.

    pytest-tracediff compare OLD NEW [--format text|json|markdown] [--budget-cost 1.25] ...
    pytest-tracediff show FILE
    pytest-tracediff convert INPUT [-o OUTPUT] [--normalize | --raw]

``compare`` exits 0 when nothing changed, 1 on any change or budget regression, 2 on a
usage error or an unreadable file. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .compare.totals import TOTALS
from .model.files import TRACE_SUFFIX

if TYPE_CHECKING:
    from .compare.budget import BudgetReport
    from .compare.diff import TraceDiff
    from .compare.tolerance import Tolerance
    from .model import Trace
    from .normalize import NormalizeOptions

PROG = "pytest-tracediff"
_NOT_A_GOLDEN = ("is not a ", "does not hold a JSON object")
"""How ``Trace.from_dict`` starts its problem when a file lacks the golden header."""
EXIT_OK, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _ratio(text: str) -> float:
    from .compare.budget import parse_limit

    try:
        value = parse_limit("ratio", text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert value is not None
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog=PROG, description="Compare, show and convert pytest-tracediff traces (no pytest needed).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    compare = commands.add_parser(
        "compare",
        help="diff two trace files, or two golden folders file by file",
        description="Diff OLD (the baseline) against NEW. Two files, or two folders compared by relative "
        "path (added and removed traces count as changes). Exit 0: no change; 1: a change or a budget "
        "regression; 2: usage error or unreadable file.",
    )
    compare.add_argument("old", metavar="OLD", help="baseline trace file or folder")
    compare.add_argument("new", metavar="NEW", help="new trace file or folder")
    compare.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format")
    compare.add_argument(
        "--glob", default=f"*{TRACE_SUFFIX}", help=f"files compared in folders (default: *{TRACE_SUFFIX}, recursive)"
    )
    compare.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="step field paths to ignore (repeatable)"
    )
    compare.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="'GLOB rel=1e-6 abs=1e-9'",
        help="numeric tolerance for changed values at matching paths (repeatable)",
    )
    compare.add_argument("-v", "--verbose", action="store_true", help="whole values in text output")
    for total in TOTALS:
        compare.add_argument(
            f"--budget-{total}",
            type=_ratio,
            metavar="RATIO",
            help=f"fail when NEW's total {total} exceeds RATIO x OLD's (e.g. 1.25)",
        )
    compare.set_defaults(run=_compare)

    show = commands.add_parser("show", help="a step tree of a trace file with its run totals")
    show.add_argument("file", metavar="FILE", help="a golden or any trace export pytest-tracediff reads")
    show.set_defaults(run=_show)

    convert = commands.add_parser(
        "convert", help="convert a trace export (dagron, stroma, flujo, noukai, OTLP JSON...) to the tracediff format"
    )
    convert.add_argument("input", metavar="INPUT", help="trace file to convert")
    convert.add_argument("-o", "--output", metavar="OUTPUT", help="write here instead of stdout")
    mode = convert.add_mutually_exclusive_group()
    mode.add_argument(
        "--normalize", dest="normalize", action="store_true", default=True, help="golden form (the default)"
    )
    mode.add_argument("--raw", dest="normalize", action="store_false", help="keep times, ids and order as read")
    convert.set_defaults(run=_convert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args)
        return code
    except CliError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `pytest-tracediff show x | head`
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- reading ---------------------------------------------------------------------


def read_trace(path: str | Path) -> Trace:
    """Any trace file ``Trace.from_any`` reads; ``CliError`` naming the file otherwise."""
    from .errors import GoldenFileError, MissingFrameworkError, UnknownTraceError
    from .sources.registry import from_any

    file = Path(path)
    if not file.exists():
        raise CliError(f"{file}: no such file")
    if file.is_dir():
        raise CliError(f"{file}: is a folder, expected a trace file")
    foreign = (
        f"{file}: not a trace file pytest-tracediff reads (a tracediff golden, or a JSON export of "
        "stroma, dagron, flujo, noukai or OpenTelemetry/OTLP)"
    )
    try:
        return from_any(file)
    except GoldenFileError as exc:
        if exc.problem.startswith(_NOT_A_GOLDEN):  # JSON no adapter claimed, without our header
            raise CliError(f"{foreign}; it {exc.problem}") from None
        raise CliError(f"{file}: {exc.problem}") from None
    except UnknownTraceError:
        raise CliError(foreign) from None
    except MissingFrameworkError as exc:
        raise CliError(f"{file}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{file}: cannot be read ({exc})") from None
    except Exception as exc:  # an adapter's surprise must not become a traceback in CI
        raise CliError(f"{file}: cannot be read as a trace ({type(exc).__name__}: {exc})") from None


# -- compare ---------------------------------------------------------------------


@dataclass
class Compared:
    """One trace of a comparison: ``status`` is unchanged, changed, added or removed."""

    name: str
    status: str
    diff: TraceDiff | None = None
    budget: BudgetReport | None = None

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and not self.budget.ok

    @property
    def failing(self) -> bool:
        return self.status != "unchanged" or self.over_budget

    def summary(self) -> str:
        if self.status in ("added", "removed"):
            return f"trace {self.status}"
        text = self.diff.summary() if self.diff is not None else "no changes"
        if self.budget is not None and (self.over_budget or self.budget.improvements):
            text += f"; {self.budget.summary()}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "over_budget": self.over_budget,
            "summary": self.summary(),
            "changes": self.diff.to_list() if self.diff is not None else [],
            "budget": self.budget.to_dict() if self.budget is not None else None,
        }


def _compare(args: argparse.Namespace) -> int:
    from .compare.tolerance import parse_tolerance_line
    from .normalize import NormalizeOptions

    old, new = Path(args.old), Path(args.new)
    for path in (old, new):
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
    try:
        tolerances = tuple(parse_tolerance_line(line) for line in args.tolerance)
    except ValueError as exc:
        raise CliError(f"--tolerance: {exc}") from None
    options = NormalizeOptions(exclude=tuple(args.exclude))
    limits = {total: getattr(args, f"budget_{total}") for total in TOTALS}
    settings: dict[str, Any] = {"options": options, "tolerances": tolerances, "limits": limits}
    if old.is_dir() and new.is_dir():
        results = _compare_folders(old, new, args.glob, **settings)
    elif old.is_dir() or new.is_dir():
        folder, file = (old, new) if old.is_dir() else (new, old)
        raise CliError(f"compare takes two files or two folders; {folder} is a folder but {file} is a file")
    else:
        results = [_compare_pair(str(new), old, new, **settings)]
    render = {"text": _render_text, "json": _render_json, "markdown": _render_markdown}[args.format]
    sys.stdout.write(render(results, verbose=args.verbose))
    return EXIT_CHANGED if any(r.failing for r in results) else EXIT_OK


def _compare_pair(
    name: str,
    old: Path,
    new: Path,
    *,
    options: NormalizeOptions,
    tolerances: tuple[Tolerance, ...],
    limits: dict[str, float | None],
) -> Compared:
    from .compare.budget import budget_report
    from .compare.diff import diff_recorded
    from .compare.tolerance import apply_tolerances

    expected, actual = read_trace(old), read_trace(new)
    diff = apply_tolerances(diff_recorded(expected, actual, options), tolerances)
    budget = None
    if any(v is not None for v in limits.values()):
        budget = budget_report(actual, expected, **limits)
    return Compared(name, "changed" if diff else "unchanged", diff, budget)


def _compare_folders(
    old: Path,
    new: Path,
    pattern: str,
    *,
    options: NormalizeOptions,
    tolerances: tuple[Tolerance, ...],
    limits: dict[str, float | None],
) -> list[Compared]:
    before, after = _files(old, pattern), _files(new, pattern)
    if not before and not after:
        raise CliError(f"no {pattern} files under {old} or {new}")
    results = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            results.append(Compared(name, "removed"))
        elif name not in before:
            results.append(Compared(name, "added"))
        else:
            results.append(
                _compare_pair(name, before[name], after[name], options=options, tolerances=tolerances, limits=limits)
            )
    return results


def _files(root: Path, pattern: str) -> dict[str, Path]:
    # Dot files are temp files of an interrupted golden update (storage.py).
    return {
        p.relative_to(root).as_posix(): p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith(".")
    }


def _counts(results: list[Compared]) -> dict[str, int]:
    counts = {s: sum(r.status == s for r in results) for s in ("changed", "added", "removed", "unchanged")}
    counts["over_budget"] = sum(r.over_budget for r in results)
    return counts


def _headline(results: list[Compared]) -> str:
    counts = _counts(results)
    n = len(results)
    parts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v or k == "unchanged")
    return f"{n} trace{'s' if n != 1 else ''} compared: {parts}"


def _render_text(results: list[Compared], *, verbose: bool) -> str:
    lines: list[str] = []
    for r in results:
        if not r.failing:
            continue
        lines.append(f"{r.status.upper()} {r.name}: {r.summary()}")
        if r.diff:
            lines += [f"  {line}" for line in r.diff.render_lines(verbose=verbose)[1:]]
        if r.budget is not None and (r.over_budget or r.budget.improvements):
            lines += [f"  {line}" for line in r.budget.render_lines()[1:]]
    lines.append(_headline(results))
    return "\n".join(lines) + "\n"


def _render_json(results: list[Compared], *, verbose: bool) -> str:
    data = {
        "ok": not any(r.failing for r in results),
        "counts": _counts(results),
        "traces": [r.to_dict() for r in results],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _render_markdown(results: list[Compared], *, verbose: bool) -> str:
    from .report.markdown import cell

    ok = not any(r.failing for r in results)
    lines = [f"## {'✅' if ok else '❌'} pytest-tracediff: {_headline(results)}", ""]
    lines += ["| trace | status | changes |", "|---|---|---|"]
    for r in results:
        status = f"{r.status}, over budget" if r.over_budget else r.status
        lines.append(f"| `{cell(r.name)}` | {status} | {cell(r.summary())} |")
    for r in results:
        details = []
        if r.diff:
            details += r.diff.render_lines(verbose=verbose)[1:]
        if r.budget is not None and (r.over_budget or r.budget.improvements):
            details += r.budget.render_lines()
        if details:
            lines += ["", f"<details><summary>{r.name}</summary>", "", "```", *details, "```", "", "</details>"]
    return "\n".join(lines) + "\n"


# -- show ------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    from .compare.budget import step_totals, totals
    from .model import group_attempts
    from .normalize import normalize

    # As a golden holds it: a raw export's secrets are redacted before they are printed.
    trace = normalize(read_trace(args.file))
    head = f"{args.file}: source {trace.source}"
    if trace.status is not None:
        head += f", status {trace.status}"
    rows: list[tuple[str, str, str, str, str]] = []
    for occurrence in group_attempts(trace.steps):
        last = occurrence[-1]
        depth = len(last.parent.split("/")) if last.parent else 0
        loop = f"[{last.loop_index}]" if last.loop_index is not None else ""
        sub = step_totals(occurrence)
        n = len(occurrence)
        status = last.status.value
        if last.failed and last.error:
            error = _one_line(last.error)
            status += f" ({error[:57] + '...' if len(error) > 60 else error})"
        tokens = f"{sub['tokens']} tokens" if any(s.tokens is not None for s in occurrence) else ""
        cost = f"cost {sub['cost']}" if any(s.cost is not None for s in occurrence) else ""
        attempts = f"{n} attempt{'s' if n != 1 else ''}"
        if n > 1:  # a retried step: what its attempts came to (`2 attempts: 1 failed, 1 completed`)
            outcomes = Counter(s.status.value.replace("_", " ") for s in occurrence)
            attempts += ": " + ", ".join(f"{c} {status}" for status, c in outcomes.items())
        rows.append(("  " * depth + last.step_id + loop, status, attempts, tokens, cost))
    width = max((len(r[0]) for r in rows), default=0)
    status_width = max((len(r[1]) for r in rows), default=0)
    attempts_width = max((len(r[2]) for r in rows), default=0)
    lines = [head]
    for name, status, attempts, tokens, cost in rows:
        lines.append(
            "  ".join(
                part
                for part in (
                    name.ljust(width),
                    status.ljust(status_width),
                    attempts.ljust(attempts_width),
                    tokens,
                    cost,
                )
                if part
            ).rstrip()
        )
    run = totals(trace)
    lines.append(
        f"totals: {run['steps']} steps, {run['attempts']} attempts, {run['tokens']} tokens, cost {run['cost']}"
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


# -- convert ---------------------------------------------------------------------


def _convert(args: argparse.Namespace) -> int:
    trace = read_trace(args.input)
    if args.normalize:
        from .normalize import normalize

        trace = normalize(trace)
    text = trace.to_json()
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    from .model.files import atomic_write_text

    output = Path(args.output)
    if not output.parent.is_dir():
        problem = "is not a folder" if output.parent.exists() else "does not exist (convert creates no folders)"
        raise CliError(f"{output}: cannot be written, {output.parent} {problem}")
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise CliError(f"{args.output}: cannot be written ({exc.strerror or exc})") from None
    return EXIT_OK
