"""Peak memory and time to snapshot and compare a large trace (issue 13: 200,000 steps).

Runs each phase in a fresh subprocess so ``ru_maxrss`` is that phase's own peak:
building the trace, normalizing it and writing its golden, and comparing it against
the golden (equal, then with 1% of steps changed: ``Trace.load(golden).diff(live)``).
Prints wall and CPU seconds (``time.process_time``: steadier on a shared machine),
peak RSS, and what each phase holds beyond the live trace it builds (peak minus the
build phase's peak) as a multiple of the golden's size.

Goals: normalize + write <= 5 s, a mismatched compare <= 3 s, memory beyond the
live trace <= 3x the golden's size.

    python benchmarks/bench_large.py [--steps 200000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PHASE = r"""
import json, resource, sys, time
from pytest_tracediff import Step, Trace

steps, phase, golden = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def build(changed):
    out = []
    for i in range(steps):
        price = 19.99 if (changed and i % 100 == 7) else 9.99
        out.append(Step(step_id=f"step-{i:06d}", parent="pipeline", input={"i": i, "sku": f"sku-{i % 97}"},
                        output={"price": price, "items": [i, i + 1, i + 2], "note": "ok"}))
    return Trace(source="bench", status="completed", steps=out)

began, cpu = time.perf_counter(), time.process_time()
if phase == "build":
    trace = build(False)
elif phase == "write":
    build(False).normalized().save(golden)
elif phase == "compare-equal":
    same = Trace.load(golden).normalized().to_json() == build(False).normalized().to_json()
    assert same
elif phase == "compare-changed":
    diff = Trace.load(golden).diff(build(True))
    assert len(diff) == steps // 100, len(diff)
seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"phase": phase, "seconds": round(seconds, 2), "cpu": round(cpu, 2), "peak_mib": round(peak, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        golden = str(Path(tmp, "large.trace.json"))
        print(f"{args.steps:,} steps, Python {sys.version.split()[0]}")
        results = {}
        for phase in ("build", "write", "compare-equal", "compare-changed"):
            out = subprocess.run(
                [sys.executable, "-c", PHASE, str(args.steps), phase, golden],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[phase] = json.loads(out)
        size = Path(golden).stat().st_size / 2**20
        base = results["build"]["peak_mib"]
        for phase, r in results.items():
            extra = "" if phase == "build" else f"   beyond the live trace {(r['peak_mib'] - base) / size:4.1f}x golden"
            print(
                f"  {phase:<16} {r['seconds']:>7.2f} s wall {r['cpu']:>7.2f} s CPU"
                f"   peak RSS {r['peak_mib']:>8.1f} MiB{extra}"
            )
        print(f"  golden size      {size:.1f} MiB")


if __name__ == "__main__":
    main()
