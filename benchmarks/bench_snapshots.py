"""Benchmark: a golden-file test suite with ``trace_snapshot`` vs the same suite with syrupy JSON.

Two generated test modules, each 1,000 parametrized tests comparing a 20-step trace
with its golden:

  A  ``assert Trace.from_any(data) == trace_snapshot``            (pytest-tracediff)
  B  ``assert data == snapshot.use_extension(JSONSnapshotExtension)``  (plain syrupy)

Both get the very same dicts. The goldens are created first (``--trace-snapshot-update``
for A, ``--snapshot-update`` for B); then the comparing runs (no flag) are timed,
alternating A and B, each in a fresh ``python -m pytest -q -p no:cacheprovider``.

Goals (issue 13), medians of interleaved runs, CPU time of the pytest process
(``RUSAGE_CHILDREN``; steadier than wall time on a shared machine) beside wall time:
  comparing runs A / B <= 0.8x;
  writing all goldens from scratch (``--trace-snapshot-update`` / ``--snapshot-update``,
  golden folder removed before each run) A / B <= 1.0x;
  A with the test module named on the command line / A without <= 1.1x (syrupy then
  runs its unused-snapshot check per test path, which asks our extension about every
  golden and every test of its module).

A small conftest also records, inside each run, the time spent in the tests
themselves (setup + call + teardown) and in session finish, so the in-process
share of each run can be told from pytest's own start-up and collection.

Run: python benchmarks/bench_snapshots.py [--tests N] [--steps S] [--repeat R]
        [--update-repeat U] [--named-repeat M] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GOAL_RATIO = 0.8
GOAL_UPDATE_RATIO = 1.0
GOAL_NAMED_RATIO = 1.1

TRACEDATA = '''\
"""Deterministic 20-step traces with small, realistic payloads."""

N_TESTS = {n_tests}
N_STEPS = {n_steps}
STAGES = ("load", "split", "embed", "search", "rerank", "prompt", "llm", "parse", "check", "save")


def make_trace(i: int) -> dict:
    steps = []
    for s in range(N_STEPS):
        stage = STAGES[s % len(STAGES)]
        x = i * 1000 + s
        steps.append(
            {{
                "step_id": f"{{stage}}_{{s}}",
                "parent": "pipeline" if s else "",
                "status": "failed" if x % 97 == 0 else "completed",
                "input": {{
                    "query": f"what is item {{i}} about, part {{s}}?",
                    "k": 5 + s % 3,
                    "filters": ["lang:en", f"shard:{{x % 7}}"],
                }},
                "output": {{
                    "text": f"{{stage}} answer for item {{i}}: value {{x * 37 % 1009}}",
                    "score": round((x * 7919 % 1000) / 1000, 3),
                    "tokens": 20 + x % 50,
                    "ids": [x % 11, x % 13, x % 17],
                }},
            }}
        )
    return {{"source": "bench", "status": "completed", "steps": steps}}
'''

TEST_A = """\
import pytest
from tracedata import N_TESTS, make_trace

from pytest_tracediff import Trace


@pytest.mark.parametrize("i", range(N_TESTS))
def test_trace(i, trace_snapshot):
    trace = Trace.from_any(make_trace(i))
    assert trace == trace_snapshot
"""

TEST_B = """\
import pytest
from syrupy.extensions.json import JSONSnapshotExtension
from tracedata import N_TESTS, make_trace


@pytest.mark.parametrize("i", range(N_TESTS))
def test_trace(i, snapshot):
    data = make_trace(i)
    assert data == snapshot.use_extension(JSONSnapshotExtension)
"""

# Records in-process times into $BENCH_PHASES (JSON) when the run ends.
CONFTEST = """\
import json
import os
import time

import pytest

_times = {"tests": 0.0, "sessionfinish": 0.0}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    t0 = time.perf_counter()
    try:
        return (yield)
    finally:
        _times["tests"] += time.perf_counter() - t0


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    t0 = time.perf_counter()
    try:
        return (yield)
    finally:
        _times["sessionfinish"] = time.perf_counter() - t0
        out = os.environ.get("BENCH_PHASES")
        if out:
            with open(out, "w") as handle:
                json.dump(_times, handle)
"""

MODULES = {"A": "test_a_tracediff.py", "B": "test_b_syrupy_json.py"}
UPDATE_FLAGS = {"A": "--trace-snapshot-update", "B": "--snapshot-update"}
LABELS = {"A": "A trace_snapshot", "B": "B syrupy JSON"}


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    tests: list[float] = field(default_factory=list)
    finish: list[float] = field(default_factory=list)


def write_suite(root: Path, which: str, n_tests: int, n_steps: int) -> Path:
    """One self-contained suite per side, so each run is a plain ``pytest`` with no path."""
    suite = root / f"suite_{which.lower()}"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (suite / "tracedata.py").write_text(TRACEDATA.format(n_tests=n_tests, n_steps=n_steps), encoding="utf-8")
    (suite / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (suite / MODULES[which]).write_text(TEST_A if which == "A" else TEST_B, encoding="utf-8")
    return suite


def run_pytest(
    suite: Path, which: str, *extra: str, explicit_path: bool = False
) -> tuple[float, float, dict[str, float], str]:
    """One pytest run in a subprocess: wall s, child CPU s, in-process phases, output."""
    phases_file = suite / ".phases.json"
    phases_file.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_PHASES": str(phases_file)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    if explicit_path:
        cmd.append(MODULES[which])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=suite, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        sys.exit(f"pytest {which} failed (exit {proc.returncode}):\n{output[-3000:]}")
    phases = json.loads(phases_file.read_text(encoding="utf-8"))
    return wall, cpu, phases, output


def last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def med(values: list[float]) -> float:
    return statistics.median(values)


def report(runs: dict[str, Runs], n_tests: int) -> None:
    print(f"{'':18s} {'wall s':>8s} {'min':>7s} {'CPU s':>7s} {'in tests':>9s} {'finish':>7s}")
    for which in ("A", "B"):
        r = runs[which]
        print(
            f"{LABELS[which]:18s} {med(r.wall):8.2f} {min(r.wall):7.2f} {med(r.cpu):7.2f} "
            f"{med(r.tests):9.2f} {med(r.finish):7.2f}"
        )
    a, b = runs["A"], runs["B"]
    ratio = med(a.cpu) / med(b.cpu)
    verdict = "MET" if ratio <= GOAL_RATIO else "MISSED"
    print(f"ratio A/B wall (median): {med(a.wall) / med(b.wall):.2f}x")
    print(f"ratio A/B CPU  (median): {ratio:.2f}x   goal <= {GOAL_RATIO:.1f}x: {verdict}")
    print(f"ratio A/B in-test time : {med(a.tests) / med(b.tests):.2f}x")
    per_a = med(a.tests) / n_tests * 1e3
    per_b = med(b.tests) / n_tests * 1e3
    print(f"per test (setup + call + teardown): A {per_a:.2f} ms, B {per_b:.2f} ms")
    rest_a = med(a.wall) - med(a.tests) - med(a.finish)
    rest_b = med(b.wall) - med(b.tests) - med(b.finish)
    print(f"start-up + collection + report (wall - tests - finish): A {rest_a:.2f} s, B {rest_b:.2f} s")


GOLDEN_DIRS = {"A": "__trace_snapshots__", "B": "__snapshots__"}


def bench_update(suites: dict[str, Path], repeat: int) -> None:
    """Every golden written from scratch: the update flag on a suite without goldens."""
    runs = {"A": Runs(), "B": Runs()}
    for rep in range(repeat):
        for which in ("A", "B") if rep % 2 == 0 else ("B", "A"):
            shutil.rmtree(suites[which] / GOLDEN_DIRS[which])
            wall, cpu, phases, _ = run_pytest(suites[which], which, UPDATE_FLAGS[which])
            runs[which].wall.append(wall)
            runs[which].cpu.append(cpu)
            runs[which].finish.append(phases["sessionfinish"])
    print(f"\nwriting every golden from scratch (update flag), {repeat} each, medians:")
    for which in ("A", "B"):
        r = runs[which]
        print(f"{LABELS[which]:18s} wall {med(r.wall):6.2f} s  CPU {med(r.cpu):6.2f} s  finish {med(r.finish):5.2f} s")
    ratio = med(runs["A"].cpu) / med(runs["B"].cpu)
    verdict = "MET" if ratio <= GOAL_UPDATE_RATIO else "MISSED"
    print(f"ratio A/B wall (median): {med(runs['A'].wall) / med(runs['B'].wall):.2f}x")
    print(f"ratio A/B CPU  (median): {ratio:.2f}x   goal <= {GOAL_UPDATE_RATIO:.1f}x: {verdict}")


def bench_named(suite: Path, repeat: int, n_tests: int) -> None:
    """A with and without its module named on the command line."""
    runs = {"unnamed": Runs(), "named": Runs()}
    for rep in range(repeat):
        for named in (False, True) if rep % 2 == 0 else (True, False):
            wall, cpu, phases, output = run_pytest(suite, "A", explicit_path=named)
            if f"{n_tests} passed" not in output:
                sys.exit(f"unexpected result: {last_line(output)}")
            r = runs["named" if named else "unnamed"]
            r.wall.append(wall)
            r.cpu.append(cpu)
            r.finish.append(phases["sessionfinish"])
    print(f"\nA named on the command line (pytest {MODULES['A']}) vs not, {repeat} each, medians:")
    for name, r in runs.items():
        print(f"{name:18s} wall {med(r.wall):6.2f} s  CPU {med(r.cpu):6.2f} s  finish {med(r.finish):5.2f} s")
    ratio = med(runs["named"].cpu) / med(runs["unnamed"].cpu)
    verdict = "MET" if ratio <= GOAL_NAMED_RATIO else "MISSED"
    print(f"ratio named/unnamed wall (median): {med(runs['named'].wall) / med(runs['unnamed'].wall):.2f}x")
    print(f"ratio named/unnamed CPU  (median): {ratio:.2f}x   goal <= {GOAL_NAMED_RATIO:.1f}x: {verdict}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--tests", type=int, default=1000, help="parametrized tests per module")
    parser.add_argument("--steps", type=int, default=20, help="steps per trace")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each module")
    parser.add_argument("--update-repeat", type=int, default=3, help="timed from-scratch golden writes per side")
    parser.add_argument("--named-repeat", type=int, default=3, help="timed A runs with and without the module named")
    parser.add_argument("--keep", action="store_true", help="keep the generated project")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="tracediff-bench-"))
    bytecode = "off (PYTHONDONTWRITEBYTECODE set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {load()}  (other work on the machine inflates wall times)")
    print(f"pyc writing: {bytecode}")
    print(f"project: {root} ({args.tests} tests x {args.steps} steps per suite)")
    print("command, run in each suite's folder: python -m pytest -q -p no:cacheprovider [flag] [module]")
    suites = {which: write_suite(root, which, args.tests, args.steps) for which in ("A", "B")}
    try:
        for which in ("A", "B"):
            wall, _, _, output = run_pytest(suites[which], which, UPDATE_FLAGS[which])
            print(f"create goldens {LABELS[which]:17s}: {wall:6.2f} s  | {last_line(output)}")
        goldens_a = sorted((suites["A"] / "__trace_snapshots__").rglob("*.trace.json"))
        goldens_b = sorted((suites["B"] / "__snapshots__").rglob("*.json"))
        size_a = sum(p.stat().st_size for p in goldens_a) / 1e6
        size_b = sum(p.stat().st_size for p in goldens_b) / 1e6
        print(f"goldens: A {len(goldens_a)} files, {size_a:.2f} MB; B {len(goldens_b)} files, {size_b:.2f} MB")

        runs = {"A": Runs(), "B": Runs()}
        for rep in range(args.repeat):
            # Alternate the order too, so neither side always runs on a warmer machine.
            for which in ("A", "B") if rep % 2 == 0 else ("B", "A"):
                wall, cpu, phases, output = run_pytest(suites[which], which)
                if f"{args.tests} passed" not in output:
                    sys.exit(f"unexpected result for {which}: {last_line(output)}")
                r = runs[which]
                r.wall.append(wall)
                r.cpu.append(cpu)
                r.tests.append(phases["tests"])
                r.finish.append(phases["sessionfinish"])
            print(f"  rep {rep + 1}/{args.repeat}: A {runs['A'].wall[-1]:.2f} s, B {runs['B'].wall[-1]:.2f} s")
        print(f"\ncomparing runs (no flag), {args.repeat} each, medians:")
        report(runs, args.tests)
        if args.update_repeat:
            bench_update(suites, args.update_repeat)
        if args.named_repeat:
            bench_named(suites["A"], args.named_repeat, args.tests)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
