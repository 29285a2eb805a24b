"""The stroma adapter against the real stroma package (no mocks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

stroma = pytest.importorskip("stroma")

from pydantic import BaseModel  # noqa: E402

from pytest_tracediff import Trace  # noqa: E402
from pytest_tracediff.errors import UnknownTraceError  # noqa: E402
from pytest_tracediff.model import StepStatus  # noqa: E402
from pytest_tracediff.sources.adapters.stroma import ADAPTER  # noqa: E402

FailureClass, FailurePolicy = stroma.FailureClass, stroma.FailurePolicy


class Order(BaseModel):
    sku: str
    quantity: int
    notes: list[str] = []


class Tagged(BaseModel):
    sku: str
    quantity: int
    tags: set[str] = set()


def fast_policies(recoverable: int = 3, ambiguous: int = 1) -> dict[Any, Any]:
    """stroma's default attempt counts without its random backoff sleeps."""
    return {
        FailureClass.RECOVERABLE: FailurePolicy(max_retries=recoverable, backoff_seconds=0),
        FailureClass.AMBIGUOUS: FailurePolicy(max_retries=ambiguous, backoff_seconds=0),
        FailureClass.TERMINAL: FailurePolicy(max_retries=0, backoff_seconds=0),
    }


class Pipeline:
    """validate -> price -> (flaky) reserve -> confirm, with knobs for behaviour changes."""

    def __init__(
        self,
        *,
        reserve_failures: int = 0,
        reserve_error: Callable[[], Exception] = lambda: TimeoutError("stock service timed out"),
        price_factor: int = 3,
        extra_step: bool = False,
        bad_confirm: bool = False,
        **config: Any,
    ) -> None:
        config.setdefault("policy_map", fast_policies())
        self.runner = runner = stroma.StromaRunner.quick(**config)
        self.reserve_calls = 0

        @runner.node("validate", input=Order, output=Order)
        async def validate(state: Order) -> dict[str, Any]:
            return {"sku": state.sku.upper(), "quantity": state.quantity, "notes": ["validated"]}

        @runner.node("price", input=Order, output=Order)
        async def price(state: Order) -> tuple[dict[str, Any], int, int, str]:
            notes = [*state.notes, f"price={state.quantity * price_factor}"]
            return {"sku": state.sku, "quantity": state.quantity, "notes": notes}, 1200, 300, "gpt-4o-mini"

        @runner.node("discount", input=Order, output=Order)
        async def discount(state: Order) -> dict[str, Any]:
            return {"sku": state.sku, "quantity": state.quantity, "notes": [*state.notes, "discount=10%"]}

        @runner.node("reserve", input=Order, output=Order)
        async def reserve(state: Order) -> dict[str, Any]:
            self.reserve_calls += 1
            if self.reserve_calls <= reserve_failures:
                raise reserve_error()
            return {"sku": state.sku, "quantity": state.quantity, "notes": [*state.notes, "reserved"]}

        @runner.node("confirm", input=Order, output=Order)
        async def confirm(state: Order) -> dict[str, Any]:
            if bad_confirm:
                return {"sku": state.sku, "quantity": "many"}
            return {"sku": state.sku, "quantity": state.quantity, "notes": [*state.notes, "confirmed"]}

        self.nodes = [validate, price, *([discount] if extra_step else []), reserve, confirm]

    def run(self) -> Any:
        return asyncio.run(self.runner.run(self.nodes, Order(sku="book-1", quantity=2)))


def run_captured(trace_capture: Callable[..., Any], pipeline: Pipeline) -> tuple[Any, Trace]:
    with trace_capture("stroma") as cap:
        result = pipeline.run()
    assert cap.raw == [result]
    return result, cap.trace


def summary(trace: Trace) -> list[tuple[str, int, str, str | None]]:
    return [(s.step_id, s.attempt, s.status.value, s.failure_class) for s in trace.steps]


# -- behaviour, with goldens ------------------------------------------------------


def test_success(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    result, trace = run_captured(trace_capture, Pipeline(run_id="order-42"))
    assert trace.source == "stroma"
    assert trace.status == "completed"
    assert summary(trace) == [
        ("validate", 1, "completed", None),
        ("price", 1, "completed", None),
        ("reserve", 1, "completed", None),
        ("confirm", 1, "completed", None),
    ]
    assert trace.run_id == "order-42"  # volatile: kept in memory, never in a golden
    assert trace.steps[0].start is not None
    assert trace.steps[0].duration is not None
    # gpt-4o-mini: 1200 prompt tokens at $0.15/M + 300 completion tokens at $0.60/M
    assert str(trace.attributes["total_cost_usd"]) == "0.00036"
    assert trace.attributes["total_tokens"] == 1500 == result.total_tokens
    notes = ["validated", "price=6", "reserved", "confirmed"]
    assert trace.steps[-1].output == {"sku": "BOOK-1", "quantity": 2, "notes": notes}
    golden = trace.normalized().to_json()
    assert "order-42" not in golden
    assert "timestamp" not in golden
    assert "duration" not in golden
    assert trace == trace_snapshot


def test_retry_then_success(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    _, trace = run_captured(trace_capture, Pipeline(reserve_failures=1))
    assert trace.status == "completed"
    assert summary(trace) == [
        ("validate", 1, "completed", None),
        ("price", 1, "completed", None),
        ("reserve", 1, "failed", "RECOVERABLE"),
        ("reserve", 2, "completed", None),
        ("confirm", 1, "completed", None),
    ]
    failed = trace.steps[2]
    assert failed.error == "stock service timed out"
    assert failed.output is None
    assert failed.input == trace.steps[3].input  # the retry got the same state
    assert trace == trace_snapshot


def test_recoverable_failure_exhausts_default_three_attempts(trace_capture: Callable[..., Any]) -> None:
    _, trace = run_captured(trace_capture, Pipeline(reserve_failures=99))
    assert trace.status == "partial"
    assert summary(trace)[2:] == [("reserve", n, "failed", "RECOVERABLE") for n in (1, 2, 3)]
    # stroma records nothing for nodes after the failure: "confirm" is simply absent.
    assert [s.step_id for s in trace.steps].count("confirm") == 0


def test_ambiguous_failure_is_not_retried(trace_capture: Callable[..., Any]) -> None:
    pipeline = Pipeline(reserve_failures=99, reserve_error=lambda: RuntimeError("warehouse said no"))
    _, trace = run_captured(trace_capture, pipeline)
    assert trace.status == "partial"
    assert summary(trace)[-1] == ("reserve", 1, "failed", "AMBIGUOUS")
    assert trace.steps[-1].error == "warehouse said no"


def test_permanent_failure(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    _, trace = run_captured(trace_capture, Pipeline(bad_confirm=True))
    assert trace.status == "failed"
    last = trace.steps[-1]
    assert (last.step_id, last.attempt, last.status, last.failure_class) == (
        "confirm",
        1,
        StepStatus.FAILED,
        "TERMINAL",
    )
    assert last.error is not None
    assert "Contract violation for 'confirm' (output)" in last.error
    assert trace == trace_snapshot


def test_node_timeout(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    class Slow(BaseModel):
        value: int

    runner = stroma.StromaRunner.quick(
        policy_map=fast_policies(),
        node_policies={"slow": {FailureClass.RECOVERABLE: FailurePolicy(max_retries=2, backoff_seconds=0)}},
        node_timeouts={"slow": 5},
    )

    @runner.node("slow", input=Slow, output=Slow)
    async def slow(state: Slow) -> dict[str, Any]:
        await asyncio.sleep(5)
        return {"value": state.value}

    with trace_capture("stroma") as cap:
        asyncio.run(runner.run([slow], Slow(value=1)))
    trace = cap.trace
    assert trace.status == "partial"
    # stroma records a timeout as a RECOVERABLE failure whose message is empty.
    assert [(s.attempt, s.status.value, s.failure_class, s.error) for s in trace.steps] == [
        (1, "failed", "RECOVERABLE", ""),
        (2, "failed", "RECOVERABLE", ""),
    ]
    assert trace == trace_snapshot


def diamond(run_index: int) -> Any:
    """split -> parallel(left, right) -> join; the members finish in a different order per run."""

    class State(BaseModel):
        text: str
        left: str = ""
        right: str = ""
        winner: str = ""

    runner = stroma.StromaRunner.quick(policy_map=fast_policies())
    first_done = "left" if run_index % 2 else "right"

    @runner.node("split", input=State, output=State)
    async def split(state: State) -> dict[str, Any]:
        return {"text": state.text.strip()}

    @runner.node("left", input=State, output=State)
    async def left(state: State) -> dict[str, Any]:
        await asyncio.sleep(0 if first_done == "left" else 0.002)
        return {"text": state.text, "left": state.text[:3], "winner": "left"}

    @runner.node("right", input=State, output=State)
    async def right(state: State) -> dict[str, Any]:
        await asyncio.sleep(0 if first_done == "right" else 0.002)
        return {"text": state.text, "right": state.text[-3:], "winner": "right"}

    @runner.node("join", input=State, output=State)
    async def join(state: State) -> dict[str, Any]:
        return {"text": f"{state.left}|{state.right}", "winner": state.winner}

    return asyncio.run(runner.run([split, stroma.parallel(left, right), join], State(text="  abcdef  ")))


def test_parallel_diamond_is_byte_identical_over_20_runs(
    trace_capture: Callable[..., Any], trace_snapshot: Any
) -> None:
    goldens = set()
    traces = []
    for run_index in range(20):
        with trace_capture("stroma") as cap:
            diamond(run_index)
        traces.append(cap.trace)
        goldens.add(cap.trace.normalized().to_json())
    assert len(goldens) == 1
    trace = traces[0]
    assert summary(trace) == [
        ("split", 1, "completed", None),
        ("parallel(left, right)", 1, "completed", None),
        ("join", 1, "completed", None),
    ]
    fan = trace.steps[1]
    assert fan.attributes == {"parallel": ["left", "right"]}
    # Merged in declared order (last write wins), whichever member finished first.
    assert fan.output["winner"] == "right"
    assert trace.steps[2].output == {"text": "abc|def", "left": "", "right": "", "winner": "right"}
    assert trace == trace_snapshot


def test_parallel_member_without_stroma_id_gives_a_stable_step_id(trace_capture: Callable[..., Any]) -> None:
    class State(BaseModel):
        n: int

    runner = stroma.StromaRunner.quick(policy_map=fast_policies())

    @runner.node("double", input=State, output=State)
    async def double(state: State) -> dict[str, Any]:
        return {"n": state.n * 2}

    async def plain(state: State) -> dict[str, Any]:  # no @runner.node: stroma uses its repr
        return {"n": state.n + 1}

    with trace_capture("stroma") as cap:
        result = asyncio.run(runner.run([stroma.parallel(double, plain)], State(n=1)))
    assert " at 0x" in next(iter(result.trace)).node_id
    step = cap.trace.steps[0]
    assert " at 0x" not in step.step_id
    assert step.attributes["parallel"][0] == "double"
    assert step.attributes["parallel"][1].endswith(".plain>")


def test_nested_parallel_members_are_kept_whole(trace_capture: Callable[..., Any]) -> None:
    class State(BaseModel):
        n: int

    runner = stroma.StromaRunner.quick(policy_map=fast_policies())
    members = []
    for name in ("a", "b", "c"):

        async def node(state: State) -> dict[str, Any]:
            return {"n": state.n + 1}

        members.append(runner.node(name, input=State, output=State)(node))
    inner = stroma.parallel(members[0], members[1])
    with trace_capture("stroma") as cap:
        asyncio.run(runner.run([stroma.parallel(inner, members[2])], State(n=1)))
    step = cap.trace.steps[0]
    assert step.step_id == "parallel(parallel(a, b), c)"
    assert step.attributes == {"parallel": ["parallel(a, b)", "c"]}


def test_a_node_that_runs_twice_gives_two_occurrences(trace_capture: Callable[..., Any]) -> None:
    pipeline = Pipeline()
    validate = pipeline.nodes[0]
    pipeline.nodes = [validate, pipeline.nodes[1], validate]
    _, trace = run_captured(trace_capture, pipeline)
    assert [(s.step_id, s.attempt) for s in trace.steps] == [("validate", 1), ("price", 1), ("validate", 1)]


def test_set_in_state_converts_although_stroma_to_json_cannot(trace_capture: Callable[..., Any]) -> None:
    runner = stroma.StromaRunner.quick(policy_map=fast_policies())

    @runner.node("tag", input=Tagged, output=Tagged)
    async def tag(state: Tagged) -> dict[str, Any]:
        return {"sku": state.sku, "quantity": state.quantity, "tags": {"gift", "fragile", "express"}}

    with trace_capture("stroma") as cap:
        result = asyncio.run(runner.run([tag], Tagged(sku="x", quantity=1)))
    with pytest.raises(TypeError, match="set"):
        result.trace.to_json()
    step = cap.trace.normalized().steps[0]
    assert step.output == {"quantity": 1, "sku": "x", "tags": ["express", "fragile", "gift"]}
    assert json.loads(cap.trace.to_json())["steps"][0]["input"]["tags"] == []


def test_contract_violation_raised_by_run_still_gives_the_partial_trace(trace_capture: Callable[..., Any]) -> None:
    class Other(BaseModel):
        title: str

    pipeline = Pipeline()

    @pipeline.runner.node("label", input=Other, output=Other)
    async def label(state: Other) -> dict[str, Any]:
        return {"title": state.title}

    pipeline.nodes = [*pipeline.nodes[:2], label]
    with trace_capture("stroma") as cap, pytest.raises(stroma.ContractViolation, match="label"):
        pipeline.run()
    assert [type(obj) for obj in cap.raw] == [stroma.ExecutionTrace]
    trace = cap.trace
    assert trace.status is None  # stroma produced no result
    assert [s.step_id for s in trace.steps] == ["validate", "price"]


# -- every input form ---------------------------------------------------------------


@pytest.fixture(scope="module")
def retried() -> Any:
    return Pipeline(reserve_failures=1, run_id="r-1").run()


def forms(result: Any, tmp_path: Path) -> dict[str, object]:
    exported = result.trace.to_json()
    path = tmp_path / "trace.json"
    path.write_text(exported, encoding="utf-8")
    return {
        "trace": result.trace,
        "events": list(result.trace),
        "events tuple": tuple(result.trace),
        "json text": exported,
        "json bytes": exported.encode(),
        "json parsed": json.loads(exported),
        "json path": path,
    }


def test_every_input_form_gives_the_same_steps(retried: Any, tmp_path: Path) -> None:
    from_result = Trace.from_any(retried)
    assert from_result.status == "completed"
    assert set(from_result.attributes) == {"total_cost_usd", "total_tokens"}
    expected = from_result.model_copy(update={"status": None, "attributes": {}})
    for name, obj in forms(retried, tmp_path).items():
        assert ADAPTER.detect(obj), name
        trace = Trace.from_any(obj)
        assert trace.source == "stroma", name
        assert trace == expected, name
        assert trace.run_id == "r-1", name
        assert [s.start is not None for s in trace.steps] == [True] * 5, name


def test_failures_and_events_for_lists(retried: Any) -> None:
    failures = Trace.from_any(retried.trace.failures())
    assert summary(failures) == [("reserve", 1, "failed", "RECOVERABLE")]
    reserve = Trace.from_any(retried.trace.events_for("reserve"))
    assert [(s.step_id, s.attempt) for s in reserve.steps] == [("reserve", 1), ("reserve", 2)]


def test_empty_trace(retried: Any) -> None:
    empty = type(retried.trace)()
    assert ADAPTER.detect(empty)
    assert Trace.from_any(empty).steps == []


FOREIGN: dict[str, object] = {
    "empty dict": {},
    "dict with steps": {"steps": []},
    "tracediff dict": Trace().to_dict(),
    "empty list": [],
    "list of ints": [1, 2],
    "empty json list": "[]",
    "json list of partial events": '[{"node_id": "a"}]',
    "json event object": '{"node_id": "a", "run_id": "r", "attempt": 1, "input_state": {}, "output_state": null}',
    "list of tracediff steps": [{"step_id": "a", "attempt": 1}],
    "bytes": b"not json",
    "missing path": Path("missing.json"),
    "Trace": Trace(),
    "None": None,
    "int": 42,
    "object": object(),
}


@pytest.mark.parametrize("obj", list(FOREIGN.values()), ids=list(FOREIGN))
def test_detect_is_false_for_foreign_objects(obj: object) -> None:
    assert not ADAPTER.detect(obj)


def test_detect_is_false_for_other_stroma_objects(retried: Any) -> None:
    assert not ADAPTER.detect(FailureClass.TERMINAL)
    assert not ADAPTER.detect(FailurePolicy())
    assert not ADAPTER.detect(stroma.RunConfig())
    assert not ADAPTER.detect(next(iter(retried.trace)))  # one event is not a run


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([{"node_id": "a", "run_id": "r", "attempt": 0, "input_state": {}, "output_state": None}], "attempt 0"),
        ([{"node_id": "", "run_id": "r", "attempt": 1, "input_state": {}, "output_state": None}], "node_id ''"),
        ([{"node_id": "a", "run_id": "r", "attempt": 1, "input_state": {}, "output_state": None}, "x"], "event #1"),
        ([{"node_id": "a", "run_id": "r", "attempt": 1, "input_state": {}, "output_state": None}, {}], "node_id"),
    ],
)
def test_malformed_exports_raise_a_clear_error(obj: object, message: str) -> None:
    with pytest.raises(UnknownTraceError, match="looks like a stroma trace") as info:
        Trace.from_any(obj)
    assert message in str(info.value)


def test_malformed_result_raises_a_clear_error(retried: Any) -> None:
    broken = stroma.ExecutionResult(
        run_id="r", status=stroma.RunStatus.COMPLETED, final_state=None, trace=5, total_cost_usd=0.0, total_tokens=0
    )
    with pytest.raises(UnknownTraceError, match="not iterable"):
        Trace.from_any(broken)
    mixed = [*retried.trace, object()]
    with pytest.raises(UnknownTraceError, match="event #5 is a object"):
        Trace.from_any(mixed)


# -- capture ------------------------------------------------------------------------


def test_capture_restores_everything() -> None:
    from pytest_tracediff.sources.capture import TraceCapture

    run, for_run = stroma.StromaRunner.__dict__["run"], stroma.ReliabilityContext.__dict__["for_run"]
    capture = TraceCapture(["stroma"])
    capture.__enter__()
    assert stroma.StromaRunner.__dict__["run"] is not run
    assert stroma.ReliabilityContext.__dict__["for_run"] is not for_run
    capture.__exit__(RuntimeError, RuntimeError("boom"), None)  # as when the block raises
    assert stroma.StromaRunner.__dict__["run"] is run
    assert stroma.ReliabilityContext.__dict__["for_run"] is for_run
    with TraceCapture(["stroma"]) as cap:
        pass
    assert stroma.StromaRunner.__dict__["run"] is run
    assert stroma.ReliabilityContext.__dict__["for_run"] is for_run
    assert cap.traces == []
    Pipeline().run()  # outside the block: not captured, and stroma works as before
    assert cap.traces == []


def test_capture_keeps_concurrent_and_nested_runs_apart(trace_capture: Callable[..., Any]) -> None:
    class State(BaseModel):
        n: int

    runner = stroma.StromaRunner.quick(policy_map=fast_policies())

    @runner.node("inner", input=State, output=State)
    async def inner(state: State) -> dict[str, Any]:
        return {"n": state.n + 1}

    @runner.node("outer", input=State, output=State)
    async def outer(state: State) -> dict[str, Any]:
        nested = await runner.run([inner], state)  # a sub-pipeline run inside a node
        return {"n": nested.final_state.n * 10}

    async def both() -> list[Any]:
        return list(await asyncio.gather(runner.run([outer], State(n=1)), runner.run([inner, inner], State(n=5))))

    with trace_capture("stroma") as cap:
        results = asyncio.run(both())
    assert sorted(len(list(r.trace)) for r in cap.raw) == [1, 1, 2]
    assert all(r in cap.raw for r in results)
    by_steps = sorted(tuple(s.step_id for s in t.steps) for t in cap.traces)
    assert by_steps == [("inner",), ("inner", "inner"), ("outer",)]


def test_nested_captures_both_see_the_run(trace_capture: Callable[..., Any]) -> None:
    with trace_capture("stroma") as outer:
        with trace_capture("stroma") as inner:
            result = Pipeline().run()
        assert inner.raw == [result]
    assert outer.raw == [result]


# -- behaviour changes are reported -------------------------------------------------


@pytest.fixture(scope="module")
def baseline() -> Trace:
    return Trace.from_any(Pipeline().run())


def kinds(diff: Any) -> list[tuple[str, str | None]]:
    return [(entry.kind, None if entry.step is None else entry.step.step_id) for entry in diff]


def test_unchanged_run_has_no_diff(baseline: Trace) -> None:
    assert not baseline.diff(Trace.from_any(Pipeline().run()))


def test_changed_output_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(Trace.from_any(Pipeline(price_factor=4).run()))
    assert ("output_changed", "price") in kinds(diff)
    assert {kind for kind, _ in kinds(diff)} <= {"output_changed", "input_changed"}


def test_extra_retry_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(Trace.from_any(Pipeline(reserve_failures=1).run()))
    assert kinds(diff) == [("attempts_changed", "reserve")]


def test_inserted_step_is_reported(baseline: Trace) -> None:
    diff = baseline.diff(Trace.from_any(Pipeline(extra_step=True).run()))
    assert ("step_added", "discount") in kinds(diff)


def test_new_failure_is_reported(baseline: Trace) -> None:
    changed = Trace.from_any(Pipeline(bad_confirm=True).run())
    diff = baseline.diff(changed)
    found = kinds(diff)
    assert ("status_changed", None) in found  # the run: completed -> failed
    assert ("status_changed", "confirm") in found
    assert "confirm (attempt 1)" in diff.render()


def test_budget_exceeded_is_retried_and_totals_are_run_attributes(trace_capture: Callable[..., Any]) -> None:
    # stroma checks the budget after the node succeeded and classifies BudgetExceeded as
    # RECOVERABLE: the node runs again (3 attempts), each attempt recorded as failed.
    pipeline = Pipeline()
    pipeline.runner.with_budget(tokens=1000)
    pipeline.nodes = pipeline.nodes[1:2]  # price: 1500 tokens a call
    _, trace = run_captured(trace_capture, pipeline)
    assert trace.status == "partial"
    assert summary(trace) == [("price", n, "failed", "RECOVERABLE") for n in (1, 2, 3)]
    assert trace.steps[0].error == "Budget exceeded tokens for price: 1500.0 > 1000.0"
    assert trace.attributes == {"total_cost_usd": Decimal("0.00108"), "total_tokens": 4500}
