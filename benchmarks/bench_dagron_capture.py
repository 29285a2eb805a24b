"""Benchmark: cost of ``trace_capture("dagron")`` on a 1,000-node DAG.

Compares, with medians over repetitions:

- baseline: ``DAGExecutor(dag, enable_tracing=True).execute(tasks)``: dagron's own tracing,
  switched on by hand;
- capture: ``with TraceCapture(["dagron"]): DAGExecutor(dag).execute(tasks)``: what the
  ``trace_capture`` fixture does (enter, patch eleven executor classes, run with tracing
  forced on, collect the result, restore everything), with no change to the code.

Goal: capture <= 10% slower than the baseline. The nodes do almost nothing (return a
small dict), which is the worst case for a relative overhead. The two variants alternate
so that drift of the machine hits both alike. Both ``DAGExecutor`` (a thread pool: its
run time varies by several percent between runs, whatever is measured) and
``AsyncDAGExecutor`` (one thread, steadier) are measured. The capture's own work does not
grow with the DAG (one property read and one wrapper call per ``execute``); its fixed cost,
entering and leaving the capture with nothing run inside, is timed on its own too.
Converting the captured result into a ``Trace`` (``cap.trace``, done lazily, after the
run) is timed separately for reference.

Run: python benchmarks/bench_dagron_capture.py [--nodes N] [--width W] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import itertools
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import dagron

from pytest_tracediff.sources.capture import TraceCapture

GOAL = 0.10


def layered_dag(nodes: int, width: int) -> tuple[Any, list[str]]:
    """``nodes // width`` layers of ``width`` nodes; each node needs two of the layer before."""
    layers = [[f"n{layer:04d}_{i:02d}" for i in range(width)] for layer in range(nodes // width)]
    builder = dagron.DAG.builder()
    for layer in layers:
        for name in layer:
            builder.add_node(name)
    for before, layer in itertools.pairwise(layers):
        for i, name in enumerate(layer):
            builder.add_edge(before[i], name)
            builder.add_edge(before[(i + 1) % width], name)
    return builder.build(), [name for layer in layers for name in layer]


def sync_runner(dag: Any, names: list[str]) -> Callable[[bool], Any]:
    tasks = {name: (lambda name=name: {"node": name, "ok": True}) for name in names}
    return lambda tracing: dagron.DAGExecutor(dag, enable_tracing=tracing).execute(tasks)


def async_runner(dag: Any, names: list[str]) -> Callable[[bool], Any]:
    def make(name: str) -> Callable[[], Any]:
        async def task() -> Any:
            return {"node": name, "ok": True}

        return task

    tasks = {name: make(name) for name in names}
    return lambda tracing: asyncio.run(dagron.AsyncDAGExecutor(dag, enable_tracing=tracing).execute(tasks))


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def measure(label: str, run: Callable[[bool], Any], nodes: int, repeat: int) -> tuple[float, float]:
    def baseline() -> Any:
        return run(True)

    def captured() -> TraceCapture:
        with TraceCapture(["dagron"]) as cap:
            run(False)  # the code under test leaves tracing off
        return cap

    # Warm up both paths (imports, thread start-up), and check what is measured.
    assert len(baseline().trace.events) > nodes
    warm = captured()
    assert len(warm.raw) == 1
    assert len(warm.trace.steps) == nodes

    base_times: list[float] = []
    capture_times: list[float] = []
    convert_times: list[float] = []
    for _ in range(repeat):
        seconds, _ = timed(baseline)
        base_times.append(seconds)
        seconds, cap = timed(captured)
        capture_times.append(seconds)
        seconds, trace = timed(functools.partial(getattr, cap, "trace"))
        convert_times.append(seconds)
        assert len(trace.steps) == nodes

    base, capture = statistics.median(base_times), statistics.median(capture_times)
    quartiles = statistics.quantiles(base_times, n=4)
    overhead = capture / base - 1
    print(f"{label}:")
    spread = (quartiles[2] - quartiles[0]) / base
    paired = statistics.median(c / b for b, c in zip(base_times, capture_times, strict=True)) - 1
    print(f"  enable_tracing=True alone : median {base * 1000:8.2f} ms (interquartile range {spread:.0%} of it)")
    print(f"  trace_capture             : median {capture * 1000:8.2f} ms")
    print(f"  capture overhead          : {overhead:+.1%} (goal <= {GOAL:.0%}); median of paired runs {paired:+.1%}")
    print(f"  cap.trace conversion      : median {statistics.median(convert_times) * 1000:8.2f} ms (after the run)")
    return overhead, base


def fixed_cost(repeat: int = 2000) -> float:
    """Entering and leaving ``TraceCapture(["dagron"])`` with nothing inside."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with TraceCapture(["dagron"]):
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()

    dag, names = layered_dag(args.nodes, args.width)
    print(f"python {platform.python_version()}, dagron {getattr(dagron, '__version__', '?')}, {platform.machine()}")
    print(f"DAG: {args.nodes} nodes in {args.nodes // args.width} layers of {args.width}; {args.repeat} repetitions")
    results = {
        "DAGExecutor": measure("DAGExecutor", sync_runner(dag, names), args.nodes, args.repeat),
        "AsyncDAGExecutor": measure("AsyncDAGExecutor", async_runner(dag, names), args.nodes, args.repeat),
    }
    fixed = fixed_cost()
    fastest = min(base for _, base in results.values())
    print(f"capture enter + exit alone: median {fixed * 1e6:8.1f} us ({fixed / fastest:.3%} of the fastest run)")
    ok = all(overhead <= GOAL for overhead, _ in results.values())
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
