"""Peak memory and time to snapshot and compare a 100,000-step trace.

Runs each phase in a fresh subprocess so ``ru_maxrss`` is that phase's own peak:
building the trace, writing its golden, and comparing it against the golden
(equal, then with 1% of steps changed). Prints seconds and peak RSS in MiB.

    python benchmarks/bench_large.py [--steps 100000]
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

began = time.perf_counter()
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
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"phase": phase, "seconds": round(seconds, 2), "peak_mib": round(peak, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        golden = str(Path(tmp, "large.trace.json"))
        print(f"{args.steps:,} steps, Python {sys.version.split()[0]}")
        for phase in ("build", "write", "compare-equal", "compare-changed"):
            out = subprocess.run(
                [sys.executable, "-c", PHASE, str(args.steps), phase, golden],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out)
            print(f"  {result['phase']:<16} {result['seconds']:>7.2f} s   peak RSS {result['peak_mib']:>8.1f} MiB")
        size = Path(golden).stat().st_size / 2**20
        print(f"  golden size      {size:.1f} MiB")


if __name__ == "__main__":
    main()
