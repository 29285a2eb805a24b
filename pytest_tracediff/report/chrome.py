"""A run as Chrome trace / Perfetto JSON, with its real timings and one lane per overlap.

Built from the raw trace (for its timings), so every text goes through ``mask``: the
test's own normalization text hook (redaction, then masks), as its golden does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..normalize.redact import redact_text

if TYPE_CHECKING:
    from ..model import Step, Trace

_UNTIMED_US = 1000.0  # width given to a step without timings


def chrome_trace(trace: Trace, *, name: str = "trace", mask: Callable[[str], str] = redact_text) -> dict[str, Any]:
    """The run as Chrome trace / Perfetto JSON: one complete (``ph: X``) event per attempt.

    Times are the un-normalized ``start``/``duration`` (seconds) in microseconds,
    relative to the first step. A step without timings is laid out after
    everything before it, ``_UNTIMED_US`` wide, with a note. One thread per parent
    path; steps of one parent that overlap in time get extra lanes.
    """
    # Built from the raw trace for its timings: its texts go through redaction here.
    source = mask(trace.source)
    starts = [s.start for s in trace.steps if s.start is not None]
    origin = min(starts) if starts else 0.0
    lanes: dict[str, list[float]] = {}  # parent -> end time of each lane
    tids: dict[tuple[str, int], int] = {}
    events: list[dict[str, Any]] = []
    cursor = 0.0
    for step in trace.steps:
        args = _step_args(step, mask)
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
        parent = mask(step.parent)
        label = mask(step.step_id) if step.attempt == 1 else f"{mask(step.step_id)} (attempt {step.attempt})"
        events.append(
            {"name": label, "cat": parent or "root", "ph": "X", "ts": ts, "dur": dur, "pid": 1, "tid": tid}
            | {"args": args}
        )
    meta: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": f"{source}: {name}"}}
    ]
    for (parent, lane), tid in tids.items():
        thread = mask(parent) or "(root)"
        if lane:
            thread += f" [lane {lane + 1}]"
        meta.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": thread}})
        meta.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid, "args": {"sort_index": tid}})
    return {"traceEvents": meta + events, "displayTimeUnit": "ms", "otherData": {"source": source}}


def _step_args(step: Step, mask: Callable[[str], str]) -> dict[str, Any]:
    args: dict[str, Any] = {"path": mask(step.path), "status": step.status.value, "attempt": step.attempt}
    for field in ("loop_index", "failure_class", "error", "model"):
        value = getattr(step, field)
        if value is not None:
            args[field] = mask(value) if isinstance(value, str) else value
    if step.tokens is not None:
        args["tokens"] = step.tokens.model_dump(exclude_none=True)
    if step.cost is not None:
        args["cost"] = str(step.cost)
    return args
