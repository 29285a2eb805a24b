"""CI reporting: what each trace comparison tells CI, artifacts, the step summary.

Loaded only when a comparison fails or a report option is given: the plugin's
start-up imports nothing of this. Everything recorded here is plain JSON data, so
pytest-xdist workers ship it to the controller with the rest of the session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .naming import golden_stem
from .redact import redact_text

if TYPE_CHECKING:
    import pytest

    from .diff import TraceDiff
    from .model import Step, Trace
    from .session import TraceSnapshotSession

PROPERTY = "tracediff"
"""Name of the JUnit XML property holding a failing trace's diff summary."""

_UNTIMED_US = 1000.0  # width given to a step without timings in the Chrome trace


def _plain(value: Any) -> Any:
    """JSON data only (xdist's channel and json.dumps both need it)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def record_comparison(
    session: TraceSnapshotSession,
    item: pytest.Item | None,
    location: str,
    outcome: str,
    *,
    raw: Trace | None = None,
    actual: Trace | None = None,
    golden: Trace | None = None,
    diff: TraceDiff | None = None,
    problem: str | None = None,
) -> None:
    """Report one ``assert trace == trace_snapshot``: JUnit property, artifacts, report data.

    ``outcome`` is the session's (``matched``, ``created``, ``updated``, ``failed``)
    or ``missing``; ``problem`` says why a failure has no diff.
    """
    failed = outcome in ("failed", "missing")
    if not failed and session.report_path is None:
        return
    nodeid = item.nodeid if item is not None else "?"
    where = session.display(location)
    if diff is not None:
        summary = diff.summary()
    elif outcome == "missing":
        summary = "golden missing"
    elif failed:
        summary = problem or "trace differs from golden"
    else:
        summary = outcome
    if failed:
        if item is not None:
            item.user_properties.append((PROPERTY, f"{summary} (golden: {where})"))
        session.failures.append({"nodeid": nodeid, "golden": where, "summary": summary})
        if session.artifacts_dir is not None and actual is not None:
            folder = _artifact_folder(session, nodeid)
            write_artifacts(
                folder, nodeid=nodeid, golden=where, summary=summary, raw=raw or actual, actual=actual, diff=diff
            )
    if session.report_path is not None:
        session.records.append(
            {
                "nodeid": nodeid,
                "golden": where,
                "outcome": outcome,
                "summary": summary,
                "actual": _plain(actual.to_dict()) if actual is not None else None,
                "expected": _plain(golden.to_dict()) if golden is not None else None,
                "diff": _plain(diff.to_list()) if diff is not None else [],
            }
        )


# -- artifacts ---------------------------------------------------------------


def artifact_dirname(nodeid: str) -> str:
    """A safe, unique folder name for a test id (``tests/test_x.py::t[a]`` -> ``tests.test_x.py.t[a]``)."""
    return golden_stem(nodeid.replace("::", ".").replace("/", ".").replace("\\", "."))


def _artifact_folder(session: TraceSnapshotSession, nodeid: str) -> Path:
    assert session.artifacts_dir is not None
    name = base = artifact_dirname(nodeid)
    n = 1
    while name in session.artifact_names:  # a second failing comparison in one test
        n += 1
        name = f"{base}.{n}"
    session.artifact_names.add(name)
    return session.artifacts_dir / name


def write_artifacts(
    folder: Path, *, nodeid: str, golden: str, summary: str, raw: Trace, actual: Trace, diff: TraceDiff | None
) -> None:
    """``actual.trace.json``, ``diff.txt``, ``diff.json`` and ``trace.chrome.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "actual.trace.json").write_text(actual.to_json(), encoding="utf-8")
    body = diff.render(verbose=True) if diff is not None else summary
    text = f"test: {nodeid}\ngolden: {golden}\n\n{body}\n"
    (folder / "diff.txt").write_text(text, encoding="utf-8")
    entries = diff.to_list() if diff is not None else []
    (folder / "diff.json").write_text(
        json.dumps(entries, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    chrome = chrome_trace(raw, name=nodeid)
    (folder / "trace.chrome.json").write_text(json.dumps(chrome, indent=1, default=str) + "\n", encoding="utf-8")


def chrome_trace(trace: Trace, *, name: str = "trace") -> dict[str, Any]:
    """The run as Chrome trace / Perfetto JSON: one complete (``ph: X``) event per attempt.

    Times are the un-normalized ``start``/``duration`` (seconds) in microseconds,
    relative to the first step. A step without timings is laid out after
    everything before it, ``_UNTIMED_US`` wide, with a note. One thread per parent
    path; steps of one parent that overlap in time get extra lanes.
    """
    # Built from the raw trace for its timings: its texts go through redaction here.
    source = redact_text(trace.source)
    starts = [s.start for s in trace.steps if s.start is not None]
    origin = min(starts) if starts else 0.0
    lanes: dict[str, list[float]] = {}  # parent -> end time of each lane
    tids: dict[tuple[str, int], int] = {}
    events: list[dict[str, Any]] = []
    cursor = 0.0
    for step in trace.steps:
        args = _step_args(step)
        if step.start is not None:
            ts = (step.start - origin) * 1e6
            dur = max(step.duration or 0.0, 0.0) * 1e6
            if step.duration is None:
                args["note"] = "no duration recorded"
        else:
            ts, dur = cursor, _UNTIMED_US
            args["note"] = "no timing recorded: laid out after the previous step"
        cursor = max(cursor, ts + dur)
        ends = lanes.setdefault(step.parent, [])
        lane = next((i for i, end in enumerate(ends) if end <= ts + 0.5), len(ends))
        if lane == len(ends):
            ends.append(ts + dur)
        else:
            ends[lane] = ts + dur
        tid = tids.setdefault((step.parent, lane), len(tids) + 1)
        label = step.step_id if step.attempt == 1 else f"{step.step_id} (attempt {step.attempt})"
        events.append(
            {"name": label, "cat": step.parent or "root", "ph": "X", "ts": ts, "dur": dur, "pid": 1, "tid": tid}
            | {"args": args}
        )
    meta: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": f"{source}: {name}"}}
    ]
    for (parent, lane), tid in tids.items():
        thread = parent or "(root)"
        if lane:
            thread += f" [lane {lane + 1}]"
        meta.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": thread}})
        meta.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid, "args": {"sort_index": tid}})
    return {"traceEvents": meta + events, "displayTimeUnit": "ms", "otherData": {"source": source}}


def _step_args(step: Step) -> dict[str, Any]:
    args: dict[str, Any] = {"path": step.path, "status": step.status.value, "attempt": step.attempt}
    for field in ("loop_index", "failure_class", "error", "model"):
        value = getattr(step, field)
        if value is not None:
            args[field] = redact_text(value) if isinstance(value, str) else value
    if step.tokens is not None:
        args["tokens"] = step.tokens.model_dump(exclude_none=True)
    if step.cost is not None:
        args["cost"] = str(step.cost)
    return args


# -- end of run --------------------------------------------------------------


def write_reports(session: TraceSnapshotSession, step_summary: str | None) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` and write ``--trace-report``. Controller only."""
    counts = session.counts()
    if step_summary and (counts["checked"] or counts["unused"]):
        with open(step_summary, "a", encoding="utf-8") as out:
            out.write(step_summary_markdown(counts, session.failures))
    if session.report_path is not None:
        from .html_report import render_report

        page = render_report(
            {
                "counts": counts,
                "records": sorted(session.records, key=lambda r: (r["nodeid"], r["golden"])),
                "unused": [session.display(p) for p in [*session.unused, *session.deleted]],
            }
        )
        session.report_path.parent.mkdir(parents=True, exist_ok=True)
        session.report_path.write_text(page, encoding="utf-8")


def _cell(text: str) -> str:
    """Markdown table cell: no pipes, newlines or HTML."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return out.replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def step_summary_markdown(counts: dict[str, int], failures: list[dict[str, str]]) -> str:
    lines = [
        "",
        "### Trace regression summary (pytest-tracediff)",
        "",
        "| checked | passed | changed | missing | written | unused |",
        "|---:|---:|---:|---:|---:|---:|",
        "| {checked} | {passed} | {changed} | {missing} | {written} | {unused} |".format(**counts),
        "",
    ]
    if failures:
        lines += ["| failing test | golden | diff |", "|---|---|---|"]
        for failure in sorted(failures, key=lambda f: (f["nodeid"], f["golden"])):
            lines.append(f"| {_cell(failure['nodeid'])} | {_cell(failure['golden'])} | {_cell(failure['summary'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"
