"""A large trace compared with its golden in a real ``pytest`` run: passing and failing.

Writes a test module to a temp folder whose test builds an N-step trace and asserts
``trace == trace_snapshot`` (the golden is written first with the update flag), then
times, each in a fresh ``python -m pytest -q -p no:cacheprovider`` process: the build
alone, the passing comparison, and a failing one (1% of the outputs changed). CPU is
the child's user + sys time (``RUSAGE_CHILDREN``), memory its peak RSS; the comparison's
own cost is shown beyond the build-only run. This is what a user of a large pipeline
waits for, pytest's own work (start-up, the failure explanation, its end-of-session
``gc.collect()``) included.

    python benchmarks/bench_pytest_large.py [--steps 100000] [--repeat 3] [--pythonpath DIR]

``--pythonpath`` runs another checkout of pytest-tracediff (its folder goes first on
``PYTHONPATH``), to compare two versions on the same machine in one sitting.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TEST = """
import os
from pytest_tracediff import Step, Trace

N = int(os.environ["BENCH_STEPS"])
CHANGED = os.environ.get("BENCH_CHANGED") == "1"


def build():
    out = []
    for i in range(N):
        price = 19.99 if (CHANGED and i % 100 == 7) else 9.99
        out.append(Step(step_id=f"step-{i:06d}", parent="pipeline", input={"i": i, "sku": f"sku-{i % 97}"},
                        output={"price": price, "items": [i, i + 1, i + 2], "note": "ok"}))
    return Trace(source="bench", status="completed", steps=out)


def test_big(trace_snapshot):
    assert build() == trace_snapshot


def test_build_only():
    build()
"""

RUNS = {
    "build only": ("test_big.py::test_build_only", False),
    "passing": ("test_big.py::test_big", False),
    "failing": ("test_big.py::test_big", True),
}


def run(folder: Path, env: dict[str, str], target: str, *extra: str) -> tuple[float, int]:
    """CPU seconds (user + sys) and exit code of one pytest run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, target],
        cwd=folder,
        env=env,
        capture_output=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pythonpath", help="a checkout of pytest-tracediff to run instead of the installed one")
    args = parser.parse_args()
    env = {**os.environ, "BENCH_STEPS": str(args.steps)}
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.pythonpath, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        (folder / "test_big.py").write_text(TEST, encoding="utf-8")
        _, code = run(folder, env, "test_big.py::test_big", "--trace-snapshot-update")
        assert code == 0, "writing the golden failed"
        cpu: dict[str, list[float]] = {name: [] for name in RUNS}
        for _ in range(args.repeat):
            for name, (target, changed) in RUNS.items():
                seconds, code = run(folder, {**env, "BENCH_CHANGED": "1" if changed else "0"}, target)
                assert code == (1 if changed else 0), f"{name}: pytest exited {code}"
                cpu[name].append(seconds)
        # Peak memory: one more run of each, from a parent process of its own (the peak
        # RSS of children is the largest of any child so far).
        peaks = {name: _peak(folder, env, target, changed) for name, (target, changed) in RUNS.items()}
    build = statistics.median(cpu["build only"])
    print(f"{args.steps:,} steps, Python {sys.version.split()[0]}, {args.repeat} rounds, medians (CPU: user + sys)")
    for name in RUNS:
        median = statistics.median(cpu[name])
        beyond = "" if name == "build only" else f"   {median - build:6.2f} s beyond the build"
        print(f"  {name:<11} {median:6.2f} s CPU{beyond}   peak RSS {peaks[name]:7.1f} MiB")


def _peak(folder: Path, env: dict[str, str], target: str, changed: bool) -> float:
    """Peak RSS (MiB) of one pytest run, measured from a fresh parent process."""
    code = (
        "import resource, subprocess, sys; "
        f"subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', {target!r}], "
        "capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env={**env, "BENCH_CHANGED": "1" if changed else "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip()) / 1024


if __name__ == "__main__":
    main()
