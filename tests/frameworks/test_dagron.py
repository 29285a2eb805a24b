"""The dagron adapter against the real dagron package (no mocks)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

dagron = pytest.importorskip("dagron")

from dagron import execution as dx  # noqa: E402

from pytest_tracediff import NormalizeOptions, Trace  # noqa: E402
from pytest_tracediff.errors import UnknownTraceError  # noqa: E402
from pytest_tracediff.model import StepStatus  # noqa: E402
from pytest_tracediff.sources.adapters.dagron import ADAPTER  # noqa: E402
from pytest_tracediff.sources.capture import TraceCapture  # noqa: E402

EXECUTOR_CLASSES = [
    dx.DAGExecutor,
    dx.AsyncDAGExecutor,
    dx.ResourceAwareExecutor,
    dx.AsyncResourceAwareExecutor,
    dx.CachedDAGExecutor,
    dx.CheckpointExecutor,
    dx.ConditionalExecutor,
    dx.DynamicExecutor,
    dx.IncrementalExecutor,
    dx.DistributedExecutor,
    dx.PartitionedDAGExecutor,
]


def build(edges: Iterable[tuple[str, str]], nodes: Iterable[str] = ()) -> Any:
    """A DAG from edges. dagron's builder needs every node added before its edges."""
    edges = list(edges)
    builder = dagron.DAG.builder()
    for name in dict.fromkeys([*nodes, *(n for edge in edges for n in edge)]):
        builder.add_node(name)
    for source, target in edges:
        builder.add_edge(source, target)
    return builder.build()


# fetch -> (clean, enrich) -> report; plus an independent audit node.
ORDERS = build([("fetch", "clean"), ("fetch", "enrich"), ("clean", "report"), ("enrich", "report")], ["audit"])


def order_tasks(**overrides: Callable[[], Any]) -> dict[str, Callable[[], Any]]:
    tasks: dict[str, Callable[[], Any]] = {
        "fetch": lambda: [{"id": 1, "total": 10}, {"id": 2, "total": -3}],
        "clean": lambda: [{"id": 1, "total": 10}],
        "enrich": lambda: {"currency": "EUR"},
        "report": lambda: {"orders": 1, "revenue": 10},
        "audit": lambda: "ok",
    }
    tasks.update(overrides)
    return tasks


def fail(message: str, kind: type[Exception] = ValueError) -> Callable[[], Any]:
    def task() -> Any:
        raise kind(message)

    return task


def jittered(value: Any) -> Callable[[], Any]:
    """A task whose finishing time varies, so completion order varies between runs."""

    def task() -> Any:
        time.sleep(random.random() / 100)
        return value

    return task


def ajittered(value: Any) -> Callable[[], Any]:
    async def task() -> Any:
        await asyncio.sleep(random.random() / 100)
        return value

    return task


def capture_one(run: Callable[[], Any]) -> tuple[Trace, Any]:
    with TraceCapture(["dagron"]) as cap:
        result = run()
    return cap.trace, result


def summary(trace: Trace) -> list[tuple[str, str]]:
    return [(s.step_id, s.status.value) for s in trace.normalized().steps]


# -- captured runs and their goldens --------------------------------------------


def test_success_is_captured_without_enabling_tracing(trace_capture: Any, trace_snapshot: Any) -> None:
    executor = dagron.DAGExecutor(ORDERS)  # tracing is off by default
    with trace_capture("dagron") as cap:
        result = executor.execute(order_tasks())
    assert result.trace is not None  # forced on for the block
    trace = cap.trace
    assert trace.source == "dagron"
    assert trace.status == "completed"
    assert {s.step_id: s.output for s in trace.steps}["enrich"] == {"currency": "EUR"}
    assert trace == trace_snapshot
    # The executor's own setting is back: no trace after the block.
    assert executor.execute(order_tasks()).trace is None


def test_failure_skips_descendants(trace_capture: Any, trace_snapshot: Any) -> None:
    with trace_capture("dagron") as cap:
        dagron.DAGExecutor(ORDERS).execute(order_tasks(clean=fail("negative total in order 2")))
    trace = cap.trace
    assert trace.status == "failed"
    assert summary(trace) == [
        ("audit", "completed"),
        ("fetch", "completed"),
        ("clean", "failed"),
        ("enrich", "completed"),
        ("report", "skipped"),
    ]
    clean = next(s for s in trace.steps if s.step_id == "clean")
    assert (clean.failure_class, clean.error) == ("ValueError", "negative total in order 2")
    assert trace == trace_snapshot


def test_no_retries_and_no_skips_without_fail_fast(trace_capture: Any) -> None:
    calls: list[str] = []

    def flaky() -> Any:
        calls.append("clean")
        if len(calls) == 1:
            raise ConnectionError("db went away")
        return []

    with trace_capture("dagron") as cap:
        dagron.DAGExecutor(ORDERS, fail_fast=False).execute(order_tasks(clean=flaky))
    # dagron never retries: one attempt, failed; report still runs without fail_fast.
    assert calls == ["clean"]
    assert [(s.step_id, s.attempt, s.status.value) for s in cap.trace.steps if s.step_id in ("clean", "report")] == [
        ("clean", 1, "failed"),
        ("report", 1, "completed"),
    ]


def test_a_task_that_is_missing_is_skipped_alone(trace_capture: Any) -> None:
    tasks = order_tasks()
    del tasks["enrich"]
    with trace_capture("dagron") as cap:
        dagron.DAGExecutor(ORDERS).execute(tasks)
    assert dict(summary(cap.trace)) == {
        "audit": "completed",
        "fetch": "completed",
        "clean": "completed",
        "enrich": "skipped",
        "report": "completed",
    }


def test_timeout_sync(trace_capture: Any, trace_snapshot: Any) -> None:
    with trace_capture("dagron") as cap:
        dagron.DAGExecutor(ORDERS).execute(order_tasks(enrich=lambda: time.sleep(0.3)), timeout=0.05)
    trace = cap.trace
    assert dict(summary(trace))["enrich"] == "timed_out"
    assert dict(summary(trace))["report"] == "skipped"
    assert trace.status == "failed"
    assert trace == trace_snapshot


def test_timeout_async(trace_capture: Any, trace_snapshot: Any) -> None:
    async def fast() -> Any:
        return "ok"

    async def slow() -> Any:
        await asyncio.sleep(1)

    tasks = dict.fromkeys(["fetch", "clean", "report", "audit"], fast) | {"enrich": slow}
    with trace_capture("dagron") as cap:
        asyncio.run(dagron.AsyncDAGExecutor(ORDERS).execute(tasks, timeout=0.05))
    assert dict(summary(cap.trace)) == {
        "audit": "completed",
        "fetch": "completed",
        "clean": "completed",
        "enrich": "timed_out",
        "report": "skipped",
    }
    assert cap.trace == trace_snapshot


def test_cancel_event(trace_capture: Any) -> None:
    stop = threading.Event()

    def fetch_then_cancel() -> Any:
        stop.set()
        return []

    with trace_capture("dagron") as cap:
        dagron.DAGExecutor(ORDERS).execute(order_tasks(fetch=fetch_then_cancel), cancel_event=stop)
    assert cap.trace.status == "cancelled"
    assert dict(summary(cap.trace)) == {
        "audit": "completed",
        "fetch": "completed",
        "clean": "cancelled",
        "enrich": "cancelled",
        "report": "cancelled",
    }


# -- concurrency never reaches a golden -----------------------------------------

WIDE = build([("start", f"n{i}") for i in range(6)] + [(f"n{i}", "join") for i in range(6)])


def _wide_sync(executor: Callable[[Any], Any]) -> Callable[[], Any]:
    tasks = {"start": jittered(0), "join": jittered("done")} | {f"n{i}": jittered(i * i) for i in range(6)}
    return lambda: executor(WIDE).execute(tasks)


def _wide_async(executor: Callable[[Any], Any]) -> Callable[[], Any]:
    tasks = {"start": ajittered(0), "join": ajittered("done")} | {f"n{i}": ajittered(i * i) for i in range(6)}
    return lambda: asyncio.run(executor(WIDE).execute(tasks))


RUNS = {
    "DAGExecutor": _wide_sync(dagron.DAGExecutor),
    "DAGExecutor-2-workers": _wide_sync(lambda dag: dagron.DAGExecutor(dag, max_workers=2)),
    "AsyncDAGExecutor": _wide_async(dagron.AsyncDAGExecutor),
    "ResourceAwareExecutor": _wide_sync(lambda dag: dx.ResourceAwareExecutor(dag, dx.ResourcePool({"cpu": 3}))),
    "AsyncResourceAwareExecutor": _wide_async(
        lambda dag: dx.AsyncResourceAwareExecutor(dag, dx.ResourcePool({"cpu": 3}))
    ),
}


@pytest.mark.parametrize("kind", list(RUNS))
def test_parallel_golden_is_byte_identical_over_20_runs(kind: str) -> None:
    goldens, orders = set(), set()
    for _ in range(20):
        trace, result = capture_one(RUNS[kind])
        goldens.add(trace.normalized().to_json())
        orders.add(tuple(e.node_name for e in result.trace.events if e.node_name))
    assert len(goldens) == 1, f"{kind}: {len(goldens)} different goldens"
    golden = Trace.from_json(goldens.pop())
    expected = ["start", *(f"n{i}" for i in range(6)), "join"]
    if "Resource" in kind:
        # No execution steps: the nodes form one unordered group, listed by name.
        expected.sort()
        # The event order really varied between the runs; the golden did not.
        assert len(orders) > 1
    assert [s.step_id for s in golden.steps] == expected
    assert {s.step_id: s.output for s in golden.steps}["n5"] == 25


def test_steps_of_one_execution_step_share_a_level() -> None:
    trace, _ = capture_one(RUNS["DAGExecutor"])
    levels = {s.step_id: s.level for s in trace.steps}
    assert levels["start"] == 0
    assert {levels[f"n{i}"] for i in range(6)} == {1}
    assert levels["join"] == 2
    assert "step_index" not in json.dumps(trace.to_dict())


# -- the other executors --------------------------------------------------------


def test_resource_requirements_become_attributes() -> None:
    pool = dx.ResourcePool({"gpu": 1, "cpu": 4})
    requirements = {"enrich": dx.ResourceRequirements({"gpu": 1})}
    trace, _ = capture_one(lambda: dx.ResourceAwareExecutor(ORDERS, pool, requirements).execute(order_tasks()))
    attributes = {s.step_id: s.attributes for s in trace.steps}
    assert attributes["enrich"] == {"resources": {"gpu": 1}}
    assert attributes["clean"] == {}
    assert {s.level for s in trace.steps} == {0}


def test_cache_hits_and_misses(tmp_path: Path) -> None:
    cache = dx.ContentAddressableCache(dx.FileSystemCacheBackend(tmp_path / "cache"))
    with TraceCapture(["dagron"]) as cap:
        first = dx.CachedDAGExecutor(ORDERS, cache).execute(order_tasks())
        dx.CachedDAGExecutor(ORDERS, cache).execute(order_tasks())
    assert type(first).__name__ == "CachedExecutionResult"
    miss, hit = cap.traces
    assert {s.attributes["cache"] for s in miss.steps} == {"miss"}
    assert {s.attributes["cache"] for s in hit.steps} == {"hit"}
    assert [s.output for s in hit.steps] == [s.output for s in miss.steps]
    assert "cache_key" not in hit.to_json()
    assert miss.diff(hit).counts() == {"attribute_changed": 5}


def test_checkpoint_resume_marks_restored_nodes(tmp_path: Path) -> None:
    executor = dx.CheckpointExecutor(ORDERS, tmp_path / "checkpoints")
    with TraceCapture(["dagron"]) as cap:
        executor.execute(order_tasks(enrich=fail("rate limited", RuntimeError)))
        executor.resume(order_tasks())
    failed, resumed = cap.traces
    assert failed.status == "failed"
    assert dict(summary(resumed)) == dict.fromkeys(["fetch", "clean", "enrich", "report", "audit"], "completed")
    restored = sorted(s.step_id for s in resumed.steps if s.attributes.get("restored"))
    assert restored == ["audit", "clean", "fetch"]


def test_incremental_reused_nodes() -> None:
    executor = dx.IncrementalExecutor(ORDERS)
    with TraceCapture(["dagron"]) as cap:
        executor.execute(order_tasks())
        executor.execute(order_tasks(enrich=lambda: {"currency": "USD"}), changed_nodes=["enrich"])
    _, second = cap.traces
    by_id = {s.step_id: s for s in second.steps}
    assert by_id["enrich"].output == {"currency": "USD"}
    assert {name for name, s in by_id.items() if s.attributes.get("reused")} == {"audit", "clean", "fetch"}


def test_conditional_and_dynamic_executors() -> None:
    conditional, _ = capture_one(
        lambda: dx.ConditionalExecutor(ORDERS, {("fetch", "enrich"): lambda rows: len(rows) > 5}).execute(order_tasks())
    )
    assert dict(summary(conditional))["enrich"] == "skipped"

    def expand(name: str, rows: Any) -> Any:
        check = dx.DynamicNodeSpec("fraud_check", lambda: "clear", dependencies=[name], dependents=["report"])
        return dx.DynamicModification(add_nodes=[check])

    dynamic, _ = capture_one(lambda: dx.DynamicExecutor(ORDERS, {"fetch": expand}).execute(order_tasks()))
    assert [s.step_id for s in dynamic.steps].index("fraud_check") < [s.step_id for s in dynamic.steps].index("report")


def test_distributed_and_partitioned_give_one_trace_per_run() -> None:
    def distributed() -> Any:
        with dx.DistributedExecutor(ORDERS, dx.ThreadBackend(2)) as executor:
            return executor.execute(order_tasks())

    trace, result = capture_one(distributed)
    assert type(result).__name__ == "DistributedExecutionResult"
    assert len(trace.steps) == 5
    # Each partition runs a DAGExecutor inside; the capture keeps only the outer run,
    # whose trace dagron leaves without node events: node_results supply the steps.
    trace, _ = capture_one(lambda: dx.PartitionedDAGExecutor(ORDERS, k=2).execute(order_tasks()))
    assert dict(summary(trace)) == dict.fromkeys(["audit", "clean", "enrich", "fetch", "report"], "completed")


def test_pipeline_and_flow_are_captured_through_their_executors() -> None:
    @dagron.task
    def extract() -> list[int]:
        return [3, 1, 2]

    @dagron.task
    def ordered(extract: list[int]) -> list[int]:
        return sorted(extract)

    trace, _ = capture_one(lambda: dagron.Pipeline([extract, ordered]).execute())
    assert [(s.step_id, s.output) for s in trace.steps] == [("extract", [3, 1, 2]), ("ordered", [1, 2, 3])]
    trace, _ = capture_one(lambda: asyncio.run(dagron.Pipeline([extract, ordered]).execute_async()))
    assert [s.step_id for s in trace.steps] == ["extract", "ordered"]

    @dagron.flow
    def flow() -> Any:
        return ordered(extract())

    trace, _ = capture_one(flow)
    assert [s.output for s in trace.steps] == [[3, 1, 2], [1, 2, 3]]


# -- capture restores everything --------------------------------------------------


def _patched_state() -> list[tuple[str, object, object, object]]:
    return [
        (cls.__name__, cls.__dict__.get("_enable_tracing"), cls.__dict__["execute"], cls.__dict__.get("resume"))
        for cls in EXECUTOR_CLASSES
    ]


def test_capture_restores_everything_also_on_error() -> None:
    before = _patched_state()
    created_before = dagron.DAGExecutor(ORDERS)
    traced = dagron.DAGExecutor(ORDERS, enable_tracing=True)
    cap = TraceCapture(["dagron"])
    created: list[Any] = []

    def block() -> None:
        with cap:
            assert created_before.execute(order_tasks()).trace is not None  # created before, traced too
            created.append(dagron.DAGExecutor(ORDERS, enable_tracing=False))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        block()
    (created_inside,) = created
    assert _patched_state() == before
    assert all("_enable_tracing" not in cls.__dict__ for cls in EXECUTOR_CLASSES)
    assert created_before.execute(order_tasks()).trace is None
    assert created_inside.execute(order_tasks()).trace is None
    assert traced.execute(order_tasks()).trace is not None
    assert len(cap.raw) == 1


def test_nested_executor_in_a_task_is_its_own_trace() -> None:
    inner = build([("x", "y")])

    def sub_dag() -> Any:
        return dagron.DAGExecutor(inner).execute({"x": lambda: 1, "y": lambda: 2}).node_results["y"].result

    with TraceCapture(["dagron"]) as cap:
        dagron.DAGExecutor(ORDERS).execute(order_tasks(audit=sub_dag))
    assert [len(t.steps) for t in cap.traces] == [2, 5]


# -- conversion of every input form -----------------------------------------------


@pytest.fixture(scope="module")
def failed_run() -> Any:
    return dagron.DAGExecutor(ORDERS, enable_tracing=True).execute(order_tasks(clean=fail("bad row")))


WITHOUT_RESULTS = NormalizeOptions(exclude=("output", "failure_class"))


def test_every_trace_form_converts_the_same(failed_run: Any, tmp_path: Path) -> None:
    trace = failed_run.trace
    path = tmp_path / "events.json"
    path.write_text(trace.to_json())
    forms = [trace, trace.events, trace.to_json(), trace.to_json().encode(), json.loads(trace.to_json()), path]
    converted = [Trace.from_any(form) for form in forms]
    assert all(ADAPTER.detect(form) for form in forms)
    assert len({t.normalized().to_json() for t in converted}) == 1
    from_result = Trace.from_any(failed_run)
    assert from_result != converted[0]  # the result adds outputs and exception types
    assert from_result.normalized(WITHOUT_RESULTS) == converted[0].normalized(WITHOUT_RESULTS)
    assert converted[0].steps[0].start is not None  # timestamps kept, but only as volatile fields
    assert "timestamp" not in converted[0].normalized().to_json()


def test_events_for_one_node(failed_run: Any) -> None:
    trace = Trace.from_any(failed_run.trace.events_for_node("clean"))
    assert [(s.step_id, s.status, s.error) for s in trace.steps] == [("clean", StepStatus.FAILED, "bad row")]


def test_chrome_trace_export(failed_run: Any, tmp_path: Path) -> None:
    chrome = failed_run.trace.to_chrome_trace()
    path = tmp_path / "chrome.json"
    path.write_text(chrome)
    for form in (chrome, json.loads(chrome), path):
        assert ADAPTER.detect(form)
        trace = Trace.from_any(form)
        # The Chrome export has no skipped nodes and no step boundaries.
        assert dict(summary(trace)) == {
            "audit": "completed",
            "clean": "failed",
            "enrich": "completed",
            "fetch": "completed",
        }
        assert next(s.error for s in trace.steps if s.step_id == "clean") == "bad row"


def test_untraced_result_still_converts() -> None:
    result = dagron.DAGExecutor(ORDERS).execute(order_tasks(clean=fail("bad row")))
    assert result.trace is None
    trace = Trace.from_any(result)
    assert dict(summary(trace)) == {
        "audit": "completed",
        "clean": "failed",
        "enrich": "completed",
        "fetch": "completed",
        "report": "skipped",
    }


def test_detect_is_false_for_foreign_objects(failed_run: Any) -> None:
    foreign: list[object] = [
        None,
        42,
        "plain text",
        "[1, 2, 3]",
        [],
        [1, 2],
        {"steps": []},
        {"format": "pytest-tracediff", "version": 1, "source": "dagron", "steps": []},
        [{"node_id": "a", "run_id": "r", "attempt": 1}],  # stroma's to_json() shape
        [{"event_type": "made_up", "timestamp": 0.0}],
        {"traceEvents": [{"name": "kernel", "cat": "gpu", "ph": "X", "ts": 0}]},  # another tool's Chrome trace
        {"traceEvents": []},
        ORDERS,  # a dagron object, but not a trace
        failed_run.node_results["fetch"],
        Trace(),
    ]
    for obj in foreign:
        assert not ADAPTER.detect(obj), obj


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([{"event_type": "node_started", "timestamp": 0.0}], "has no node_name"),
        ([{"event_type": "step_started", "timestamp": 0.0, "step_index": "one"}], "non-integer step_index"),
        ([{"event_type": "node_failed", "timestamp": 0.0, "node_name": "a"}, "junk"], "event 1 is a str"),
        (
            {"traceEvents": [{"name": "a", "cat": "node", "ph": "E", "ts": 1, "args": {"status": "exploded"}}]},
            "unknown status",
        ),
    ],
)
def test_malformed_exports_give_a_clear_error(obj: object, message: str) -> None:
    with pytest.raises(UnknownTraceError, match=f"looks like a dagron trace.*{message}"):
        Trace.from_any(obj)


def test_malformed_result() -> None:
    result = dx.ExecutionResult(node_results={"a": "not a NodeResult"})
    with pytest.raises(UnknownTraceError, match=r"node_results\['a'\] is not a NodeResult"):
        Trace.from_any(result)


# -- behaviour changes are reported ----------------------------------------------


def run_orders(**overrides: Callable[[], Any]) -> Trace:
    trace, _ = capture_one(lambda: dagron.DAGExecutor(ORDERS).execute(order_tasks(**overrides)))
    return trace


def run_dag(dag: Any, tasks: dict[str, Callable[[], Any]]) -> Trace:
    trace, _ = capture_one(lambda: dagron.DAGExecutor(dag).execute(tasks))
    return trace


def test_changed_output_is_reported() -> None:
    diff = run_orders().diff(run_orders(report=lambda: {"orders": 1, "revenue": 12}))
    assert [(e.kind, e.step.step_id if e.step else None, e.path) for e in diff] == [
        ("output_changed", "report", "output.revenue")
    ]


def test_new_failure_is_reported() -> None:
    diff = run_orders().diff(run_orders(enrich=fail("currency service down", ConnectionError)))
    kinds = {(e.kind, e.step.step_id if e.step else None) for e in diff}
    assert ("status_changed", "enrich") in kinds
    assert ("status_changed", "report") in kinds  # now skipped


def test_inserted_node_is_reported() -> None:
    with_check = build(
        [("fetch", "clean"), ("clean", "validate"), ("validate", "report"), ("fetch", "enrich"), ("enrich", "report")],
        ["audit"],
    )
    changed = run_dag(with_check, order_tasks(validate=lambda: True))
    diff = run_orders().diff(changed)
    assert [(e.kind, e.step.step_id if e.step else None) for e in diff] == [("step_added", "validate")]


def test_a_node_moved_to_a_later_step_is_reported_as_moved() -> None:
    # validate now sits between fetch and clean, so clean runs one execution step later:
    # the golden's order follows the execution steps, so clean shows as removed and re-added.
    with_check = build(
        [("fetch", "validate"), ("validate", "clean"), ("fetch", "enrich"), ("clean", "report"), ("enrich", "report")],
        ["audit"],
    )
    changed = run_dag(with_check, order_tasks(validate=lambda: True))
    diff = run_orders().diff(changed)
    assert sorted((e.kind, e.step.step_id if e.step else None) for e in diff) == [
        ("step_added", "clean"),
        ("step_added", "validate"),
        ("step_removed", "clean"),
    ]


def test_timeout_is_reported_as_status_change() -> None:
    slow = run_orders(enrich=lambda: time.sleep(0.2))
    fast = run_orders(enrich=lambda: None)
    assert [(e.kind, e.step.step_id if e.step else None) for e in fast.diff(slow)] == []
    timed_out, _ = capture_one(
        lambda: dagron.DAGExecutor(ORDERS).execute(order_tasks(enrich=lambda: time.sleep(0.3)), timeout=0.05)
    )
    changes = {(e.kind, e.step.step_id if e.step else None) for e in fast.diff(timed_out)}
    assert ("status_changed", "enrich") in changes
