"""Benchmark: what an installed but unused pytest-tracediff adds to a pytest run.

In a temp folder with one trivial test, times ``python -m pytest -q -p no:cacheprovider``
with the plugin (it is loaded from its entry point) and with ``-p no:tracediff``,
interleaved, and reports medians and their difference. Goal: <= 50 ms.

Then, for the same two commands, which of our modules were imported (and the
heavy third-party ones they pull in), with ``python -X importtime``, and the
import cost of ``pytest_tracediff.plugin`` itself once pytest is loaded.

Run: python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GOAL_MS = 50.0
BASE_CMD = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
WITHOUT = ["-p", "no:tracediff"]
# Heavy dependencies worth naming when they show up in a run that never used the plugin.
WATCH = ("pydantic", "pydantic_core", "deepdiff", "syrupy", "pytest_tracediff")


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run(cwd: Path, extra: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *BASE_CMD, *extra], cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or "1 passed" not in proc.stdout:
        sys.exit(f"pytest {' '.join(extra)} failed:\n{proc.stdout}{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def importtime(cwd: Path, args: list[str]) -> dict[str, tuple[int, int]]:
    """module -> (self us, cumulative us) from ``-X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    found: dict[str, tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        found[parts[2].strip()] = (int(parts[0]), int(parts[1]))
    return found


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.1f} ms"


def watched(modules: dict[str, tuple[int, int]]) -> list[str]:
    tops = sorted({name.split(".")[0] for name in modules if name.split(".")[0] in WATCH})
    return tops


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs of each command, interleaved")
    args = parser.parse_args(argv)

    bytecode = "off (PYTHONDONTWRITEBYTECODE set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {load()}  (other work on the machine inflates wall times)")
    print(f"pyc writing: {bytecode}")
    with tempfile.TemporaryDirectory(prefix="tracediff-startup-") as tmp:
        cwd = Path(tmp)
        (cwd / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        (cwd / "test_trivial.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n", encoding="utf-8")
        print(f"with plugin   : python {' '.join(BASE_CMD)}")
        print(f"without plugin: python {' '.join(BASE_CMD + WITHOUT)}")

        run(cwd, [])  # warm the OS file cache
        run(cwd, WITHOUT)
        samples = {"with": Samples(), "without": Samples()}
        for i in range(args.runs):
            order: tuple[tuple[str, list[str]], ...] = (("with", []), ("without", WITHOUT))
            for label, extra in order if i % 2 == 0 else order[::-1]:
                wall, cpu = run(cwd, extra)
                samples[label].wall.append(wall)
                samples[label].cpu.append(cpu)

        print(f"\n{args.runs} runs each, interleaved:")
        print(f"{'':15s} {'median wall':>12s} {'min wall':>10s} {'median CPU':>11s}")
        for label in ("with", "without"):
            s = samples[label]
            print(
                f"{label + ' plugin':15s} {ms(statistics.median(s.wall)):>12s} {ms(min(s.wall)):>10s} "
                f"{ms(statistics.median(s.cpu)):>11s}"
            )
        w, wo = samples["with"], samples["without"]
        added = statistics.median(w.wall) - statistics.median(wo.wall)
        added_min = min(w.wall) - min(wo.wall)
        added_cpu = statistics.median(w.cpu) - statistics.median(wo.cpu)
        verdict = "MET" if added * 1e3 <= GOAL_MS else "MISSED"
        print(
            f"added by the plugin: {added * 1e3:.1f} ms median wall ({added_min * 1e3:.1f} ms between minimums, "
            f"{added_cpu * 1e3:.1f} ms median CPU)   goal <= {GOAL_MS:.0f} ms: {verdict}"
        )

        # Which modules each run imports (pytest's own run, not just the plugin's import).
        with_mods = importtime(cwd, BASE_CMD)
        without_mods = importtime(cwd, BASE_CMD + WITHOUT)
        print("\nheavy packages imported during the whole run (-X importtime):")
        print(f"  with plugin   : {', '.join(watched(with_mods)) or '-'}")
        print(f"  without plugin: {', '.join(watched(without_mods)) or '-'}")
        extra_mods = {m: t for m, t in with_mods.items() if m not in without_mods}
        extra_us = sum(self_us for self_us, _ in extra_mods.values())
        print(f"  modules only the plugin run imports: {len(extra_mods)}, {extra_us / 1e3:.1f} ms of import time")
        ours = sorted(
            ((m, t) for m, t in with_mods.items() if m.startswith("pytest_tracediff")),
            key=lambda item: -item[1][1],
        )
        print("  our modules in that run (cumulative, self):")
        for name, (self_us, cum_us) in ours:
            print(f"    {name:32s} {cum_us / 1e3:7.1f} ms {self_us / 1e3:7.1f} ms")
        heavy = sorted(((m, t) for m, t in extra_mods.items() if m in WATCH), key=lambda item: -item[1][1])
        for name, (_, cum_us) in heavy:
            print(f"    {name:32s} {cum_us / 1e3:7.1f} ms  (third party, imported for the plugin)")

        # The plugin module's own import, on top of an already imported pytest.
        plugin_only = importtime(cwd, ["-c", "import pytest; import pytest_tracediff.plugin"])
        ours = sorted(
            ((m, t) for m, t in plugin_only.items() if m.startswith("pytest_tracediff")),
            key=lambda item: -item[1][1],
        )
        print('\npython -X importtime -c "import pytest; import pytest_tracediff.plugin", our modules:')
        for name, (self_us, cum_us) in ours:
            print(f"    {name:32s} {cum_us / 1e3:7.1f} ms cumulative {self_us / 1e3:7.1f} ms self")
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
