"""Benchmark: ``Trace.diff`` on two 100,000-step traces that differ in 1% of their steps.

Goals (issue 13), CPU time, medians of interleaved runs:
  ``a.diff(b)`` (normalization included) <= 0.5 s and <= 1x the floor measured beside
  it, ``json.dumps`` of both traces' dicts plus ``==``;
  ``Trace.load(golden).diff(live)`` (what a failing comparison did: the golden has
  sorted keys, the live trace not) <= 1.0 s, with exactly the entries of ``a.diff(b)``;
  also timed against that goal: what a failing comparison does now (the golden read
  step by step, ``same_recorded`` then ``diff_golden``), with the same entries.

The 1% is a mix of changed outputs, changed statuses, inserted and removed steps,
chosen so that every change gives exactly one diff entry; the script checks the
entry count and kind counts against that expectation and prints both.
For reference it also times DeepDiff on the equivalent plain lists of dicts at a
smaller size (DeepDiff on 100,000 steps takes tens of seconds).

Run: python benchmarks/bench_diff.py [--steps N] [--repeat R] [--deepdiff-steps M]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tracediff import Trace
from pytest_tracediff.compare.diff import TraceDiff, diff_golden, diff_traces, same_recorded
from pytest_tracediff.model.files import read_trace_text
from pytest_tracediff.model.golden_text import GoldenText

GOAL_SECONDS = 0.5
GOAL_LOAD_DIFF_SECONDS = 1.0
CHANGE_RATE = 0.01
# Shares of the changed steps, by kind of change (each gives one diff entry).
MIX = {"output_changed": 0.70, "status_changed": 0.20, "step_added": 0.05, "step_removed": 0.05}
STAGES = ("fetch", "parse", "embed", "retrieve", "rerank", "generate", "validate", "store")
TAGS = ("alpha", "beta", "gamma", "delta", "epsilon")


@dataclass
class Pair:
    """Two traces as plain dicts, and what their diff must contain."""

    expected: dict[str, Any]
    actual: dict[str, Any]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def make_step(i: int, rng: random.Random) -> dict[str, Any]:
    """One realistic step: a loop of stages, small payloads with str/int/float/list."""
    stage = STAGES[i % len(STAGES)]
    return {
        "step_id": stage,
        "parent": "pipeline",
        "loop_index": i // len(STAGES),
        "status": "completed",
        "input": {"doc": f"doc-{i:06d}", "chunk": i % 17, "lang": "en", "opts": {"k": 5}},
        "output": {
            "text": f"result of {stage} for document {i}",
            "score": round(rng.random(), 6),
            "count": rng.randrange(1000),
            "tags": rng.sample(TAGS, 2),
        },
        # Volatile: dropped by normalization, as in a real recording.
        "start": 1_700_000_000.0 + i * 0.01,
        "duration": 0.004,
    }


def make_pair(n: int, seed: int = 1234) -> Pair:
    rng = random.Random(seed)
    steps = [make_step(i, rng) for i in range(n)]
    changed = max(1, round(n * CHANGE_RATE))
    counts = {kind: int(changed * share) for kind, share in MIX.items()}
    counts["output_changed"] += changed - sum(counts.values())
    # Distinct, non-adjacent positions so no two changes interact in the alignment.
    positions = rng.sample(range(1, n // 2), changed)
    positions = [2 * p for p in positions]
    rng.shuffle(positions)
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    by_position = dict(zip(positions, kinds, strict=True))

    # The actual side shares no objects with the expected one, as after a real run.
    actual: list[dict[str, Any]] = []
    for i, step in enumerate(copy.deepcopy(steps)):
        kind = by_position.get(i)
        if kind is None:
            actual.append(step)
        elif kind == "output_changed":
            step["output"]["score"] = round(step["output"]["score"] + 0.5, 6)
            actual.append(step)
        elif kind == "status_changed":
            actual.append({**step, "status": "skipped"})
        elif kind == "step_added":
            actual.append({"step_id": f"extra_check_{i}", "parent": "pipeline", "output": {"ok": True}})
            actual.append(step)
        elif kind == "step_removed":
            pass
    expected_trace = {"source": "bench", "status": "completed", "steps": steps}
    actual_trace = {"source": "bench", "status": "completed", "steps": actual}
    return Pair(expected_trace, actual_trace, counts)


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        wall = statistics.median(self.wall)
        return (
            f"median {wall:6.3f} s wall (min {min(self.wall):.3f}, max {max(self.wall):.3f}), "
            f"{statistics.median(self.cpu):6.3f} s CPU"
        )


def timed(func: Callable[[], Any], repeat: int, *, gc_off: bool = False) -> tuple[Timing, Any]:
    """Wall and CPU times of ``repeat`` calls (GC collected before each) and the last result."""
    timing = Timing()
    result: Any = None
    for _ in range(repeat):
        result = None
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            w0, c0 = time.perf_counter(), time.process_time()
            result = func()
            timing.wall.append(time.perf_counter() - w0)
            timing.cpu.append(time.process_time() - c0)
        finally:
            gc.enable()
    return timing, result


def interleaved(funcs: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Each function once per round, rounds repeated: a busy machine slows all alike."""
    timings = {name: Timing() for name in funcs}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, func in funcs.items():
            timing, results[name] = timed(func, 1)
            timings[name].wall += timing.wall
            timings[name].cpu += timing.cpu
    return timings, results


def bench_tracediff(n: int, repeat: int) -> bool:
    print(f"== pytest-tracediff: Trace.diff on {n:,} steps, {CHANGE_RATE:.0%} changed ==")
    t0 = time.perf_counter()
    pair = make_pair(n)
    a, b = Trace.from_any(pair.expected), Trace.from_any(pair.actual)
    golden = Path(tempfile.mkdtemp(prefix="tracediff-bench-")) / "golden.trace.json"
    a.normalized().save(golden)
    print(f"setup (generate, Trace.from_any of both, golden of a: not timed): {time.perf_counter() - t0:.2f} s")
    print(f"steps: expected {len(a.steps):,}, actual {len(b.steps):,}; golden {golden.stat().st_size / 2**20:.1f} MiB")
    print(f"{repeat} interleaved rounds; medians; CPU = time.process_time")

    funcs: dict[str, Callable[[], Any]] = {
        "floor": lambda: json.dumps(pair.expected) == json.dumps(pair.actual),
        "diff": lambda: a.diff(b),
        "load": lambda: Trace.load(golden),
        "load_diff": lambda: Trace.load(golden).diff(b),
        "compare": lambda: compare_failing(golden, b),
    }
    times, results = interleaved(funcs, repeat)
    norm_a, na = timed(a.normalized, max(1, repeat // 2))
    norm_b, nb = timed(b.normalized, max(1, repeat // 2))
    align, _ = timed(lambda: diff_traces(na, nb), max(1, repeat // 2))
    no_gc, _ = timed(lambda: Trace.load(golden).diff(b), max(1, repeat // 2), gc_off=True)
    golden.unlink()

    print(f"floor: json.dumps both + == : {times['floor']}")
    print(f"a.diff(b)                   : {times['diff']}")
    print(f"Trace.load(golden)          : {times['load']}")
    print(f"Trace.load(golden).diff(b)  : {times['load_diff']}")
    print(f"the plugin's failing compare: {times['compare']}  (golden read step by step: same_recorded, diff_golden)")
    print(f"  normalize expected whole  : {norm_a}  (not on the diff's path: steps equal as recorded are skipped)")
    print(f"  normalize actual whole    : {norm_b}")
    print(f"  diff_traces, normalized   : {align}")
    print(f"load + diff, GC off around : {no_gc}  (the cyclic GC's share: collections after each bulk phase)")

    result, loaded = results["diff"], results["load_diff"]
    got: dict[str, int] = result.counts()
    want = {kind: count for kind, count in pair.counts.items() if count}
    print(f"entries: {len(result):,} (expected {pair.total:,}); {result.summary()}")
    counts_ok = got == want
    print(f"entry kinds match expectation: {counts_ok}" + ("" if counts_ok else f" (expected {want})"))
    same_ok = [e.to_dict() for e in loaded] == [e.to_dict() for e in result]
    print(f"Trace.load(golden).diff(b) gives the entries of a.diff(b): {same_ok}")
    compare_ok = [e.to_dict() for e in results["compare"]] == [e.to_dict() for e in result]
    print(f"the plugin's failing compare gives the entries of a.diff(b): {compare_ok}")

    cpu = {name: statistics.median(t.cpu) for name, t in times.items()}
    ratio = cpu["diff"] / cpu["floor"]
    verdict = "MET" if cpu["diff"] <= GOAL_SECONDS and ratio <= 1.0 else "MISSED"
    print(f"goal a.diff(b) <= {GOAL_SECONDS} s CPU, <= 1x floor: {verdict} ({cpu['diff']:.3f} s, {ratio:.2f}x)")
    verdict = "MET" if cpu["load_diff"] <= GOAL_LOAD_DIFF_SECONDS else "MISSED"
    print(f"goal Trace.load(golden).diff(b) <= {GOAL_LOAD_DIFF_SECONDS} s CPU: {verdict} ({cpu['load_diff']:.3f} s)")
    verdict = "MET" if cpu["compare"] <= GOAL_LOAD_DIFF_SECONDS else "MISSED"
    print(f"  the same for the plugin's failing compare: {verdict} ({cpu['compare']:.3f} s)")
    return counts_ok and same_ok and compare_ok


def compare_failing(golden: Path, live: Trace) -> TraceDiff:
    """What a failing ``assert live == trace_snapshot`` runs (golden/snapshot.py, no gate)."""
    text = GoldenText(read_trace_text(golden), str(golden))
    assert not same_recorded(text, live)
    return diff_golden(text, live)


def bench_deepdiff(n: int, repeat: int) -> None:
    from deepdiff import DeepDiff

    print(f"\n== reference only: DeepDiff on the same kind of data, {n:,} steps (plain lists of dicts) ==")
    pair = make_pair(n)
    a, b = Trace.from_any(pair.expected), Trace.from_any(pair.actual)
    list_a = a.normalized().to_dict()["steps"]
    list_b = b.normalized().to_dict()["steps"]
    dd_times, dd = timed(lambda: DeepDiff(list_a, list_b), repeat)
    td_times, td = timed(lambda: a.diff(b), repeat)
    reported = sum(len(v) for v in dd.values())
    print(f"DeepDiff(list_a, list_b): {dd_times}; {reported:,} reported changes")
    print("  (DeepDiff pairs list items by index: an inserted or removed step shifts every later one)")
    print(f"Trace.diff, same traces : {td_times}; {len(td):,} entries")
    ratio = statistics.median(dd_times.wall) / statistics.median(td_times.wall)
    print(f"DeepDiff / Trace.diff at {n:,} steps: {ratio:.1f}x (wall medians)")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--deepdiff-steps", type=int, default=10_000, help="0 skips the reference")
    parser.add_argument("--deepdiff-repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()} on {platform.platform()}, {sys.executable}")
    print(f"load average at start: {load()}  (other work on the machine inflates wall times)")
    ok = bench_tracediff(args.steps, args.repeat)
    if args.deepdiff_steps:
        bench_deepdiff(args.deepdiff_steps, args.deepdiff_repeat)
    # A wrong entry count is a bug, not a slow machine: report it in the exit status.
    print(f"load average at end: {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
