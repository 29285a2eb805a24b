"""The flujo adapter against the real flujo: capture, conversion, goldens, diffs.

Every test runs in its own temp working directory: flujo writes ``./flujo_ops.db`` and
``./flujo.lock`` by default, and the capture must keep both from appearing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

flujo = pytest.importorskip("flujo")

from flujo import Flujo, Pipeline, Step  # noqa: E402
from flujo.domain.models import PipelineResult, UsageLimits  # noqa: E402
from flujo.exceptions import UsageLimitExceededError  # noqa: E402
from flujo.infra import lockfile  # noqa: E402

from pytest_tracediff import Trace, TraceAssertionError, assert_no_failures, assert_retries, assert_steps  # noqa: E402
from pytest_tracediff.errors import UnknownTraceError  # noqa: E402
from pytest_tracediff.model import StepStatus  # noqa: E402
from pytest_tracediff.sources.adapters.flujo import ADAPTER  # noqa: E402
from pytest_tracediff.sources.capture import TraceCapture  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FLUJO_FILES = ("flujo_ops.db", "flujo_ops.db-wal", "flujo_ops.db-shm", "flujo.lock")
Capture = Callable[..., TraceCapture]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp cwd with no flujo state settings: the capture alone must keep files away."""
    before = {name for name in FLUJO_FILES if (REPO / name).exists()}
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLUJO_STATE_URI", raising=False)
    monkeypatch.delenv("FLUJO_DISABLE_TRACING", raising=False)
    yield tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "flujo wrote files into the working directory"
    assert {name for name in FLUJO_FILES if (REPO / name).exists()} == before


# -- pipelines -------------------------------------------------------------------------


class Flaky:
    """Raises ``error`` the first ``failures`` calls, then adds ``add``."""

    def __init__(self, failures: int, error: Exception, add: int = 0) -> None:
        self.failures = failures
        self.error = error
        self.add = add
        self.calls = 0

    async def __call__(self, x: int) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return x + self.add


async def inc(x: int) -> int:
    return x + 1


async def double(x: int) -> int:
    return x * 2


@dataclass
class Reply:
    """An output that reports its own usage, as LLM replies do for flujo."""

    text: str
    cost_usd: float
    token_counts: int


async def summarize(x: object) -> Reply:
    return Reply(text=f"summary of {x}", cost_usd=0.0125, token_counts=42)


def order_pipeline(*, price: int = 10, charge_failures: int = 0, audit: bool = False, declined: bool = False) -> Any:
    async def load_order(order_id: int) -> dict[str, Any]:
        return {"order": order_id, "items": ["book", "pen"], "total": price}

    charge = Flaky(charge_failures, ConnectionError("gateway reset"))

    async def charge_card(order: dict[str, Any]) -> dict[str, Any]:
        await charge(0)
        if declined:
            raise ValueError("card declined")
        return {**order, "charged": order["total"]}

    async def audit_log(order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "audited": True}

    async def send_receipt(order: dict[str, Any]) -> str:
        return f"receipt for order {order['order']}: {order['charged']} EUR"

    pipeline = Step.from_callable(load_order, name="load_order") >> Step.from_callable(
        charge_card, name="charge_card", max_retries=2
    )
    if audit:
        pipeline = pipeline >> Step.from_callable(audit_log, name="audit_log")
    return pipeline >> Step.from_callable(send_receipt, name="send_receipt")


def run_order(capture: Capture, **variant: Any) -> Trace:
    with capture("flujo") as cap:
        Flujo(order_pipeline(**variant), pipeline_name="orders").run(7)
    return cap.trace


# -- capture: what is recorded -----------------------------------------------------------


def test_success(trace_capture: Capture, trace_snapshot: Any) -> None:
    trace = run_order(trace_capture)
    assert trace.source == "flujo"
    assert trace.status == "completed"
    assert trace.attributes == {"pipeline": "orders"}
    assert_steps(trace, ["load_order", "charge_card", "send_receipt"])
    assert_no_failures(trace, strict=True)
    receipt = trace.steps[-1]
    assert receipt.output == "receipt for order 7: 10 EUR"
    assert receipt.tokens is not None
    assert receipt.tokens.total == 1  # flujo counts a str output as 1 token
    assert trace.run_id is not None
    assert trace.run_id.startswith("run_")
    assert all(s.span_id and s.duration is not None for s in trace.steps)
    assert trace == trace_snapshot


def test_retry_then_success(trace_capture: Capture, trace_snapshot: Any) -> None:
    trace = run_order(trace_capture, charge_failures=1)
    assert trace.status == "completed"
    assert_retries(trace, "charge_card", 1)
    charge = [s for s in trace.steps if s.step_id == "charge_card"]
    # attempts=2 on a successful StepResult: one failed attempt, then the success.
    assert [(s.attempt, s.status) for s in charge] == [(1, StepStatus.FAILED), (2, StepStatus.COMPLETED)]
    assert charge[0].error is None  # flujo keeps nothing of a failed attempt
    assert charge[0].output is None
    # flujo records str(input); a literal container is read back into data.
    assert charge[0].input == charge[1].input == {"order": 7, "items": ["book", "pen"], "total": 10}
    assert charge[1].output["charged"] == 10
    assert_no_failures(trace)
    with pytest.raises(TraceAssertionError, match="charge_card"):
        assert_no_failures(trace, strict=True)
    assert trace == trace_snapshot


def test_permanent_failure_stops_the_pipeline(trace_capture: Capture, trace_snapshot: Any) -> None:
    trace = run_order(trace_capture, charge_failures=5)
    assert trace.status == "failed"
    assert_retries(trace, "charge_card", 2)  # max_retries=2: three attempts
    last = trace.steps[-1]
    assert (last.step_id, last.attempt, last.status) == ("charge_card", 3, StepStatus.FAILED)
    assert last.failure_class == "ConnectionError"
    assert last.error == "Agent execution failed with ConnectionError: gateway reset"
    # flujo records nothing for the steps it never reached: send_receipt is absent.
    assert_steps(trace, ["load_order", "charge_card"])
    with pytest.raises(TraceAssertionError, match="gateway reset"):
        assert_no_failures(trace)
    assert trace == trace_snapshot


def test_timeout_is_timed_out(trace_capture: Capture) -> None:
    async def slow(x: int) -> int:
        await asyncio.sleep(1)
        return x

    with trace_capture("flujo") as cap:
        Flujo(Step.from_callable(slow, name="slow", timeout_s=0.02, max_retries=0), pipeline_name="t").run(1)
    (step,) = cap.trace.steps
    assert (step.status, step.failure_class) == (StepStatus.TIMED_OUT, "TimeoutError")
    assert cap.trace.status == "failed"


def test_cost_and_tokens(trace_capture: Capture) -> None:
    with trace_capture("flujo") as cap:
        Flujo(Step.from_callable(summarize, name="summarize"), pipeline_name="llm").run(3)
    (step,) = cap.trace.steps
    assert step.cost == Decimal("0.0125")
    assert step.tokens is not None
    assert step.tokens.total == 42
    assert step.output == "summary of 3"
    assert '"cost": "0.0125"' in cap.trace.normalized().to_json()


def test_usage_limit_error_keeps_the_partial_trace(trace_capture: Capture) -> None:
    pipeline = Step.from_callable(summarize, name="first") >> Step.from_callable(summarize, name="second")
    runner = Flujo(pipeline, pipeline_name="budget", usage_limits=UsageLimits(total_cost_usd_limit=0.01))
    with trace_capture("flujo") as cap, pytest.raises(UsageLimitExceededError):
        runner.run(1)
    assert cap.trace.status == "failed"
    assert [s.step_id for s in cap.trace.steps] == ["first"]


# -- loops, branches, parallel, nesting --------------------------------------------------


def grow_loop(limit: int = 20, max_loops: int = 5) -> Any:
    body = Pipeline.from_step(Step.from_callable(inc, name="inc")) >> Step.from_callable(double, name="double")
    return Step.loop_until("grow", body, exit_condition_callable=lambda out, ctx: out > limit, max_loops=max_loops)


def test_loop_iterations(trace_capture: Capture, trace_snapshot: Any) -> None:
    with trace_capture("flujo") as cap:
        Flujo(grow_loop(), pipeline_name="loop").run(1)
    trace = cap.trace
    loop = trace.steps[0]
    assert (loop.step_id, loop.attempt, loop.output) == ("grow", 1, 22)  # attempts=3 are iterations, not retries
    assert loop.attributes == {"exit_reason": "condition", "feedback": "loop exited by condition", "iterations": 3}
    body = [(s.parent, s.step_id, s.loop_index, s.output) for s in trace.steps[1:]]
    assert body == [
        ("grow", "inc", 0, 2),
        ("grow", "double", 0, 4),
        ("grow", "inc", 1, 5),
        ("grow", "double", 1, 10),
        ("grow", "inc", 2, 11),
        ("grow", "double", 2, 22),
    ]
    assert trace == trace_snapshot


def test_loop_that_runs_out_of_iterations(trace_capture: Capture) -> None:
    with trace_capture("flujo") as cap:
        Flujo(grow_loop(limit=1000, max_loops=2), pipeline_name="loop").run(1)
    loop = cap.trace.steps[0]
    assert (loop.status, loop.failure_class, loop.error) == (StepStatus.FAILED, "max_loops", "reached max_loops")
    assert [s.loop_index for s in cap.trace.steps[1:]] == [0, 0, 1, 1]
    assert cap.trace.status == "failed"


def test_loop_body_failing_part_way(trace_capture: Capture) -> None:
    async def check(x: int) -> int:
        if x > 8:
            raise ValueError(f"too big: {x}")
        return x

    body = (
        Pipeline.from_step(Step.from_callable(inc, name="inc"))
        >> Step.from_callable(check, name="check", max_retries=0)
        >> Step.from_callable(double, name="double")
    )
    loop = Step.loop_until("grow", body, exit_condition_callable=lambda out, ctx: out > 100, max_loops=5)
    with trace_capture("flujo") as cap:
        Flujo(loop, pipeline_name="loop").run(1)
    trace = cap.trace
    # Iteration 2 stops at check: the last iteration is shorter than the body.
    assert [(s.step_id, s.loop_index, s.status.value) for s in trace.steps[1:]] == [
        ("inc", 0, "completed"),
        ("check", 0, "completed"),
        ("double", 0, "completed"),
        ("inc", 1, "completed"),
        ("check", 1, "completed"),
        ("double", 1, "completed"),
        ("inc", 2, "completed"),
        ("check", 2, "failed"),
    ]
    assert trace.steps[0].failure_class == "ValueError"
    # flujo marks this run "paused"; it failed, and the trace says so.
    assert trace.status == "failed"


def test_nested_loops(trace_capture: Capture) -> None:
    inner = Step.loop_until(
        "inner",
        Pipeline.from_step(Step.from_callable(inc, name="inc")),
        exit_condition_callable=lambda out, ctx: out % 3 == 0,
        max_loops=5,
    )
    outer = Step.loop_until(
        "outer",
        Pipeline.from_step(inner) >> Step.from_callable(inc, name="bump"),
        exit_condition_callable=lambda out, ctx: out > 5,
        max_loops=5,
    )
    with trace_capture("flujo") as cap:
        Flujo(outer, pipeline_name="nested").run(1)
    assert [(s.path, s.loop_index, s.output) for s in cap.trace.steps] == [
        ("outer", None, 7),
        ("outer/inner", 0, 3),
        ("outer/inner/inc", 0, 2),
        ("outer/inner/inc", 1, 3),
        ("outer/bump", 0, 4),
        ("outer/inner", 1, 6),
        ("outer/inner/inc", 0, 5),
        ("outer/inner/inc", 1, 6),
        ("outer/bump", 1, 7),
    ]


def route(threshold: int = 5) -> Any:
    return Step.branch_on(
        "route",
        lambda out, ctx: "big" if out > threshold else "small",
        branches={
            "big": Pipeline.from_step(Step.from_callable(double, name="double")),
            "small": Pipeline.from_step(Step.from_callable(inc, name="inc")),
        },
    )


def test_branch_key(trace_capture: Capture, trace_snapshot: Any) -> None:
    with trace_capture("flujo") as cap:
        Flujo(Step.from_callable(inc, name="first") >> route(), pipeline_name="branch").run(7)
    step = cap.trace.steps[-1]
    assert (step.step_id, step.attributes, step.output) == ("route", {"branch": "big"}, 16)
    assert cap.trace == trace_snapshot


def test_branch_without_match_fails(trace_capture: Capture) -> None:
    no_match = Step.branch_on(
        "route", lambda out, ctx: "other", branches={"big": Pipeline.from_step(Step.from_callable(double, name="d"))}
    )
    with trace_capture("flujo") as cap:
        Flujo(no_match, pipeline_name="branch").run(1)
    (step,) = cap.trace.steps
    assert step.status == StepStatus.FAILED
    assert step.attributes == {"branch": "other"}
    assert step.error == "No branch found for key 'other' and no default branch provided"


def fan_out(slow_branch: str) -> Any:
    """A diamond: prepare -> (enrich || price) -> combine; ``slow_branch`` finishes last."""

    def branch(name: str, add: int) -> Callable[[int], Any]:
        async def run(x: int) -> int:
            await asyncio.sleep(0.01 if name == slow_branch else 0)
            return x + add

        return run

    async def combine(results: dict[str, int]) -> int:
        return sum(results.values())

    fan = Step.parallel(
        "fan",
        branches={
            "enrich": Step.from_callable(branch("enrich", 100), name="enrich"),
            "price": Pipeline.from_step(Step.from_callable(branch("price", 200), name="price")),
        },
    )
    return Step.from_callable(inc, name="prepare") >> fan >> Step.from_callable(combine, name="combine")


def test_parallel_golden_is_stable_over_20_runs(trace_capture: Capture, trace_snapshot: Any) -> None:
    goldens, orders = set(), set()
    for run in range(20):
        with trace_capture("flujo") as cap:
            Flujo(fan_out("enrich" if run % 2 else "price"), pipeline_name="diamond").run(1)
        goldens.add(cap.trace.normalized().to_json())
        (result,) = cast("list[Any]", cap.raw)
        assert isinstance(result, PipelineResult)
        orders.add(tuple(result.step_history[1].output))
    assert len(orders) == 2, "the branches should have finished in both orders"
    assert len(goldens) == 1, "the normalized trace must not depend on completion order"
    trace = cap.trace
    branches = [s for s in trace.steps if s.parent == "fan"]
    assert [(s.step_id, s.output, s.level) for s in branches] == [("enrich", 102, 0), ("price", 202, 0)]
    assert trace.steps[-1].output == 304
    assert trace == trace_snapshot


def test_parallel_branch_failure(trace_capture: Capture) -> None:
    async def broken(x: int) -> int:
        raise KeyError("no such sku")

    fan = Step.parallel(
        "fan",
        branches={
            "ok": Step.from_callable(inc, name="inc"),
            "bad": Step.from_callable(broken, name="bad", max_retries=0),
        },
    )
    with trace_capture("flujo") as cap:
        Flujo(fan, pipeline_name="fan").run(1)
    trace = cap.trace
    fan_step, ok, bad = trace.steps
    assert (fan_step.status, fan_step.failure_class) == (StepStatus.FAILED, "KeyError")
    assert (ok.step_id, ok.status, ok.output) == ("ok", StepStatus.COMPLETED, 2)
    assert (bad.step_id, bad.status, bad.failure_class) == ("bad", StepStatus.FAILED, "KeyError")
    assert bad.error == "Pipeline failed - step 'bad': Agent execution failed with KeyError: 'no such sku'"
    assert "run_" not in trace.normalized().to_json()  # the branch's context dump is left out


@pytest.mark.filterwarnings("ignore::UserWarning")  # flujo's as_step dumps its context with a pydantic warning
def test_as_step_nests_the_sub_pipeline(trace_capture: Capture) -> None:
    sub = Flujo(Step.from_callable(inc, name="sub_inc") >> Step.from_callable(double, name="sub_double"))
    with trace_capture("flujo") as cap:
        Flujo(Step.from_callable(inc, name="first") >> sub.as_step("subflow"), pipeline_name="outer").run(1)
    assert len(cap.traces) == 1  # the nested run is part of the outer trace, not a second one
    assert [(s.path, s.output) for s in cap.trace.steps] == [
        ("first", 2),
        ("subflow", 6),
        ("subflow/sub_inc", 3),
        ("subflow/sub_double", 6),
    ]


def test_paused_and_resumed_run(trace_capture: Capture) -> None:
    async def greet(name: str) -> str:
        return f"hello {name}"

    pipeline = (
        Step.from_callable(inc, name="prepare")
        >> Step.human_in_the_loop("approve", message_for_user="ok?")
        >> Step.from_callable(greet, name="greet")
    )
    runner = Flujo(pipeline, pipeline_name="hitl")
    with trace_capture("flujo") as cap:
        paused = runner.run(1)
        paused_trace = Trace.from_any(paused)
        resumed = asyncio.run(runner.resume_async(paused, "ann"))
    assert paused_trace.status == "paused"
    assert [(s.step_id, s.status) for s in paused_trace.steps] == [
        ("prepare", StepStatus.COMPLETED),
        ("approve", StepStatus.RUNNING),  # waiting for the human
    ]
    assert resumed is paused  # flujo completes the paused result in place: one trace
    assert cap.trace.status == "completed"
    assert [(s.step_id, s.output) for s in cap.trace.steps] == [
        ("prepare", 2),
        ("approve", "ann"),
        ("greet", "hello ann"),
    ]


# -- capture: every entry point, nothing left behind ------------------------------------


def test_run_async_and_run_result_async(trace_capture: Capture) -> None:
    async def main(runner: Any) -> None:
        async for _ in runner.run_async(1):
            pass
        await runner.run_result_async(2)

    with trace_capture("flujo") as cap:
        asyncio.run(main(Flujo(Step.from_callable(inc, name="inc"), pipeline_name="a")))
    assert [t.steps[0].output for t in cap.traces] == [2, 3]


def test_runner_created_before_the_block_without_tracing(trace_capture: Capture) -> None:
    runner = Flujo(order_pipeline(), pipeline_name="orders", enable_tracing=False)
    hooks, backend = list(runner.hooks), runner.state_backend
    assert runner._trace_manager is None
    with trace_capture("flujo") as cap:
        runner.run(7)
    assert cap.trace.steps[0].input == "7"  # from the span the capture switched on
    assert cap.trace == run_order(trace_capture)
    assert runner.hooks == hooks
    assert runner._trace_manager is None
    assert runner.state_backend is backend  # the ./flujo_ops.db backend, back and never used


def test_tracing_disabled_by_environment(trace_capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUJO_DISABLE_TRACING", "1")
    with trace_capture("flujo") as cap:
        Flujo(Step.from_callable(inc, name="inc"), pipeline_name="p").run(1)
    assert cap.trace.steps[0].input == "1"


def test_capture_restores_everything_also_on_error() -> None:
    originals = (Flujo._run_async_impl, Flujo.resume_async, lockfile.write_lockfile)

    def fail_inside_the_block() -> None:
        with TraceCapture(["flujo"]):
            assert os.environ["FLUJO_STATE_URI"] == "memory://"
            assert Flujo._run_async_impl is not originals[0]
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside_the_block()
    assert (Flujo._run_async_impl, Flujo.resume_async, lockfile.write_lockfile) == originals
    assert "FLUJO_STATE_URI" not in os.environ
    assert "_run_async_impl" in Flujo.__dict__


def test_capture_keeps_a_users_state_uri_setting_outside_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUJO_STATE_URI", "sqlite:///elsewhere.db")
    with TraceCapture(["flujo"]):
        assert os.environ["FLUJO_STATE_URI"] == "memory://"
    assert os.environ["FLUJO_STATE_URI"] == "sqlite:///elsewhere.db"


def test_no_run_no_trace() -> None:
    with TraceCapture(["flujo"]) as cap:
        pass
    assert cap.traces == []


def test_importing_the_adapter_does_not_import_flujo() -> None:
    code = (
        "import sys, pytest_tracediff.sources.adapters.flujo as a; from pytest_tracediff import Trace; "
        "Trace.from_any({'steps': []}); a.ADAPTER.detect({'x': 1}); "
        "assert 'flujo' not in sys.modules, 'flujo was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- conversion of each input form --------------------------------------------------------


@pytest.fixture
def diamond(trace_capture: Capture) -> PipelineResult:
    with trace_capture("flujo") as cap:
        Flujo(fan_out("price") >> grow_loop(limit=400) >> route(), pipeline_name="forms").run(1)
    (result,) = cap.raw
    assert isinstance(result, PipelineResult)
    return result


def test_json_forms_convert_like_the_result(diamond: PipelineResult, tmp_path: Path) -> None:
    expected = Trace.from_any(diamond)
    text = diamond.model_dump_json()  # flujo's own serializer (model_dump(mode="json") fails on loops)
    path = tmp_path.parent / f"{tmp_path.name}-result.json"  # outside the checked cwd
    path.write_text(text, encoding="utf-8")
    try:
        for form in (json.loads(text), text, text.encode(), path):
            assert ADAPTER.detect(form)
            trace = Trace.from_any(form)
            assert trace.source == "flujo"
            assert trace.normalized().to_json() == expected.normalized().to_json()
    finally:
        path.unlink()


def test_trace_tree_alone(diamond: PipelineResult) -> None:
    root = diamond.trace_tree
    for form in (root, dataclasses.asdict(root), json.dumps(dataclasses.asdict(root))):
        assert ADAPTER.detect(form)
        trace = Trace.from_any(form)
        # Spans have no outputs and no inner steps: only the top-level steps, with inputs.
        assert [(s.step_id, s.status, s.input) for s in trace.steps] == [
            ("prepare", StepStatus.COMPLETED, "1"),
            ("fan", StepStatus.COMPLETED, "2"),
            ("combine", StepStatus.COMPLETED, {"enrich": 102, "price": 202}),
            ("grow", StepStatus.COMPLETED, "304"),
            ("route", StepStatus.COMPLETED, "610"),
        ]
        assert (trace.status, trace.attributes) == ("completed", {"pipeline": "forms"})


def test_result_without_trace_tree_still_converts(diamond: PipelineResult) -> None:
    bare = diamond.model_copy(update={"trace_tree": None})
    trace = Trace.from_any(bare)
    assert [s.path for s in trace.steps if s.parent == ""] == ["prepare", "fan", "combine", "grow", "route"]
    assert all(s.input is None for s in trace.steps)
    assert trace.attributes == {}  # the pipeline name lives in the root span only


def test_generated_pipeline_name_is_left_out(trace_capture: Capture) -> None:
    with trace_capture("flujo") as cap:
        Flujo(Step.from_callable(inc, name="inc")).run(1)
    (result,) = cast("list[Any]", cap.raw)
    assert result.trace_tree.attributes["flujo.pipeline.name"].startswith("unnamed_")
    assert cap.trace.attributes == {}


@pytest.mark.parametrize(
    "obj",
    [
        None,
        42,
        "plain text",
        "{not json",
        b"[1, 2]",
        [],
        [{"step_history": []}],
        {"steps": [], "source": "recorder"},
        {"step_history": "nope", "trace_tree": None, "total_cost_usd": 0},
        {"span_id": "1", "name": "other", "children": [], "attributes": {}, "status": "ok", "start_time": 0},
        {"resourceSpans": []},
        Path("missing.json"),
        object(),
        Decimal("1"),
    ],
    ids=lambda obj: type(obj).__name__ if type(obj) is object else repr(obj),
)
def test_detect_is_false_for_foreign_objects(obj: object) -> None:
    assert not ADAPTER.detect(obj)


def test_detect_does_not_claim_a_tracediff_golden(diamond: PipelineResult) -> None:
    golden = Trace.from_any(diamond).normalized()
    assert not ADAPTER.detect(golden.to_dict())
    assert not ADAPTER.detect(golden.to_json())
    assert Trace.from_any(golden.to_json()) == golden


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"step_history": [{"output": 1}], "trace_tree": None, "total_cost_usd": 0}, "a step result has no name"),
        ({"step_history": [], "trace_tree": "root", "total_cost_usd": 0}, "trace_tree is a str"),
        ({"step_history": [{"name": "a", "step_history": 3}], "trace_tree": None, "total_cost_usd": 0}, "not a list"),
        (
            {"span_id": "1", "name": "pipeline_run", "children": [{"name": 3}], "attributes": {}, "status": "completed"}
            | {"start_time": 0},
            "a span has no name",
        ),
    ],
)
def test_malformed_input_gives_a_clear_error(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(UnknownTraceError, match=message):
        ADAPTER.convert(obj)


def test_convert_rejects_what_it_does_not_know() -> None:
    with pytest.raises(UnknownTraceError, match="expected a flujo PipelineResult"):
        ADAPTER.convert({"something": "else"})


# -- behaviour changes reach the diff -----------------------------------------------------


@pytest.fixture
def baseline(trace_capture: Capture) -> Trace:
    return run_order(trace_capture)


def test_changed_output_is_output_changed(baseline: Trace, trace_capture: Capture) -> None:
    diff = baseline.diff(run_order(trace_capture, price=12))
    assert {(e.kind, e.step.step_id) for e in diff if e.step} == {
        ("output_changed", "load_order"),
        ("output_changed", "charge_card"),
        ("output_changed", "send_receipt"),
        ("input_changed", "charge_card"),
        ("input_changed", "send_receipt"),
    }
    entry = next(e for e in diff if e.kind == "output_changed" and e.step and e.step.step_id == "load_order")
    assert (entry.path, entry.expected, entry.actual) == ("output.total", 10, 12)


def test_extra_retry_is_attempts_changed(baseline: Trace, trace_capture: Capture) -> None:
    diff = baseline.diff(run_order(trace_capture, charge_failures=1))
    assert [(e.kind, e.step.step_id if e.step else None) for e in diff] == [("attempts_changed", "charge_card")]


def test_inserted_step_is_step_added(baseline: Trace, trace_capture: Capture) -> None:
    diff = baseline.diff(run_order(trace_capture, audit=True))
    kinds = {(e.kind, e.step.step_id if e.step else None) for e in diff}
    assert ("step_added", "audit_log") in kinds
    assert diff.counts()["step_added"] == 1


def test_new_failure_is_status_and_error_changed(baseline: Trace, trace_capture: Capture) -> None:
    diff = baseline.diff(run_order(trace_capture, declined=True))
    kinds = {(e.kind, e.step.step_id if e.step else None, e.path) for e in diff}
    assert ("status_changed", "charge_card", "status") in kinds
    assert ("error_changed", "charge_card", "error") in kinds
    assert ("error_changed", "charge_card", "failure_class") in kinds
    assert "send_receipt" in {step for kind, step, _ in kinds if kind == "step_removed"}


def test_taking_another_branch_is_attribute_changed(trace_capture: Capture) -> None:
    def run(threshold: int) -> Trace:
        with trace_capture("flujo") as cap:
            Flujo(route(threshold), pipeline_name="branch").run(7)
        return cap.trace

    diff = run(5).diff(run(50))
    assert {(e.kind, e.path, e.expected, e.actual) for e in diff if e.kind == "attribute_changed"} == {
        ("attribute_changed", "attributes.branch", "big", "small")
    }
    assert all(e.step and e.step.step_id == "route" for e in diff)


def test_one_more_loop_iteration_is_step_added(trace_capture: Capture) -> None:
    def run(limit: int) -> Trace:
        with trace_capture("flujo") as cap:
            Flujo(grow_loop(limit=limit), pipeline_name="loop").run(1)
        return cap.trace

    diff = run(20).diff(run(40))
    added = [e.step for e in diff if e.kind == "step_added" and e.step]
    assert {(s.parent, s.step_id, s.loop_index) for s in added} == {("grow", "inc", 3), ("grow", "double", 3)}
