"""The noukai adapter against the REAL noukai-sdk client and a real HTTP server.

The server (``noukai_server.py``) is a small stand-in for the noukai API on
127.0.0.1: it runs canned flows with a loop, a retried step and a failing step,
and answers execute, trace, step trace (``attempt=all``) and the SSE live trace
the way the SDK expects. Nothing of the SDK is mocked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

noukai_sdk = pytest.importorskip("noukai_sdk")

from noukai_server import NoukaiServer, StepSpec  # noqa: E402

from pytest_tracediff import (  # noqa: E402
    StepStatus,
    Trace,
    TraceAssertionError,
    UnknownTraceError,
    assert_no_failures,
    assert_retries,
)
from pytest_tracediff.sources.adapters.noukai import ADAPTER, fetch_full_trace, fetch_full_trace_async  # noqa: E402
from pytest_tracediff.sources.capture import CapturingAdapter  # noqa: E402
from pytest_tracediff.sources.registry import adapters  # noqa: E402

ESSAY = "Teh cat sat on the mat. The dog barked"


def _extract(state: dict[str, Any]) -> list[str]:
    return [s.strip() for s in state["message"].split(".") if s.strip()]


def _check(state: dict[str, Any]) -> dict[str, Any]:
    return {"sentence": state["item"], "misspelled": [w for w in state["item"].split() if w in ("Teh", "teh")]}


def grade_flow(
    *, grade: str = "B", grade_failures: int = 1, insert: StepSpec | None = None, loop_failures: int = 0
) -> list[StepSpec]:
    """The spelling flow: extract (LLM), check_sentence (loop), grade (LLM, retried), notify."""
    steps = [
        StepSpec("extract", _extract, model="gpt-4o-mini", prompt_tokens=42, completion_tokens=17, cost_usd="0.000150"),
        StepSpec("check_sentence", _check, loop_over="extract", inputs=(), failures=loop_failures),
        StepSpec(
            "grade",
            lambda state: {"grade": grade, "feedback": "check the spelling of 'Teh'"},
            model="gpt-4o",
            prompt_tokens=120,
            completion_tokens=8,
            cost_usd="0.001234",
            failures=grade_failures,
            inputs=("message", "check_sentence"),
        ),
        StepSpec("notify", lambda state: {"sent": True, "to": state.get("email")}, inputs=("email",)),
    ]
    if insert is not None:
        steps.insert(3, insert)
    return steps


def publish_flow() -> list[StepSpec]:
    """A flow whose publish step fails on every attempt: the run fails, notify is skipped."""
    return [
        StepSpec(
            "draft",
            lambda s: {"text": s["message"].upper()},
            model="gpt-4o-mini",
            prompt_tokens=12,
            completion_tokens=15,
            cost_usd="0.000020",
        ),
        StepSpec(
            "publish",
            lambda s: {"url": "https://cms.example/p/1"},
            fail=True,
            max_attempts=3,
            error={"type": "ToolError", "message": "CMS answered 503 Service Unavailable", "code": "UPSTREAM_5XX"},
        ),
        StepSpec("notify", lambda s: {"sent": True}),
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[NoukaiServer]:
    with NoukaiServer() as running:
        yield running


@pytest.fixture
def flows(server: NoukaiServer) -> NoukaiServer:
    server.lose_runs = False
    server.add_flow("acme/spelling/grade-3", grade_flow())
    server.add_flow("acme/spelling/publish", publish_flow())
    return server


@pytest.fixture
def client(flows: NoukaiServer) -> Iterator[Any]:
    with flows.connect(noukai_sdk.Noukai(api_key="nk_test_key", org="acme", project="spelling", timeout=10)) as c:
        yield c


def execute(client: Any, slug: str = "grade-3", **kwargs: Any) -> Any:
    """Run a flow with trace=True; the ``Run`` proxy of the execution."""
    flow = client.flow(slug)
    result = flow.execute(message=ESSAY, parameters={"email": "kid@example.org"}, trace=True, **kwargs)
    return flow.run(result.execution_id)


def run_async(server: NoukaiServer, body: Callable[[Any], Any]) -> Any:
    """``body(async_client)`` on a fresh AsyncNoukai pointed at ``server``."""

    async def main() -> Any:
        client = noukai_sdk.AsyncNoukai(api_key="nk_test_key", org="acme", project="spelling", timeout=10)
        async with await server.connect_async(client):
            return await body(client)

    return asyncio.run(main())


# -- execute -> trace -> conversion -> golden ---------------------------------------


def test_execute_fetch_full_trace_golden(client: Any, trace_snapshot: Any) -> None:
    trace = fetch_full_trace(execute(client))
    assert trace.source == "noukai"
    assert trace.status == "completed"
    assert [(s.step_id, s.loop_index, s.attempt, s.status.value) for s in trace.steps] == [
        ("extract", None, 1, "completed"),
        ("check_sentence", 0, 1, "completed"),
        ("check_sentence", 1, 1, "completed"),
        ("grade", None, 1, "failed"),
        ("grade", None, 2, "completed"),
        ("notify", None, 1, "completed"),
    ]
    assert_retries(trace, "grade", 1)
    assert_no_failures(trace)  # the retry recovered...
    with pytest.raises(TraceAssertionError, match="grade"):
        assert_no_failures(trace, strict=True)  # ...but an attempt failed
    grade = trace.steps[4]
    assert grade.cost == Decimal("0.001234")
    assert isinstance(grade.cost, Decimal)
    assert (grade.model, grade.tokens and grade.tokens.total) == ("gpt-4o", 128)
    failed = trace.steps[3]
    assert (failed.failure_class, failed.error) == ("RateLimitError", "upstream model rate limited (429)")
    assert failed.attributes == {"error_context": {"retryable": True}}
    # Volatile data is there, in the volatile fields only.
    assert trace.run_id
    assert trace.start
    assert trace.duration
    assert all(s.start is not None and s.duration is not None for s in trace.steps)
    assert trace == trace_snapshot


def test_golden_has_no_volatile_values(client: Any) -> None:
    trace = fetch_full_trace(execute(client))
    text = trace.normalized().to_json()
    assert trace.run_id is not None
    assert trace.run_id not in text
    for volatile in ('Z"', "started", "duration", "flow_id", "flowId", "run_id"):
        assert volatile not in text


def test_trace_alone_holds_only_the_latest_attempt(client: Any) -> None:
    trace = Trace.from_any(execute(client).trace())
    assert [(s.step_id, s.attempt) for s in trace.steps if s.step_id == "grade"] == [("grade", 2)]
    assert len(trace.steps) == 5


def test_step_trace_attempt_all(client: Any, flows: NoukaiServer) -> None:
    run = execute(client)
    history = run.step_trace("grade", attempt="all")
    assert isinstance(history, noukai_sdk.StepAttempts)
    assert [(a.attempt, a.status) for a in history.attempts] == [(1, "failed"), (2, "completed")]
    assert any(path.endswith("/steps/grade/trace?attempt=all") for _, path in flows.requests)
    first = run.step_trace("grade", attempt=1)
    assert isinstance(first, noukai_sdk.StepTrace)
    assert first.error_context == {
        "type": "RateLimitError",
        "message": "upstream model rate limited (429)",
        "retryable": True,
    }
    trace = Trace.from_any(history)
    assert [(s.step_id, s.attempt, s.status) for s in trace.steps] == [
        ("grade", 1, StepStatus.FAILED),
        ("grade", 2, StepStatus.COMPLETED),
    ]
    assert trace.status is None  # a step history has no run summary
    assert Trace.from_any(first).steps == trace.steps[:1]


def test_fetch_full_trace_fetches_every_attempt_of_every_retried_step(client: Any, flows: NoukaiServer) -> None:
    flows.add_flow("acme/spelling/grade-3", grade_flow(grade_failures=2, loop_failures=1))
    run = execute(client)
    before = len(flows.requests)
    trace = fetch_full_trace(run)
    asked = [path.split("?", 1)[1] for _, path in flows.requests[before:] if "/steps/" in path]
    # One history per retried step and loop iteration; not for steps that ran once.
    assert sorted(asked) == ["attempt=all", "attempt=all&loop_index=0", "attempt=all&loop_index=1"]
    assert [(s.step_id, s.loop_index, s.attempt, s.status.value) for s in trace.steps] == [
        ("extract", None, 1, "completed"),
        ("check_sentence", 0, 1, "failed"),
        ("check_sentence", 0, 2, "completed"),
        ("check_sentence", 1, 1, "failed"),
        ("check_sentence", 1, 2, "completed"),
        ("grade", None, 1, "failed"),
        ("grade", None, 2, "failed"),
        ("grade", None, 3, "completed"),
        ("notify", None, 1, "completed"),
    ]
    assert_retries(trace, "grade", 2)


def test_one_history_for_all_loop_iterations(client: Any, flows: NoukaiServer) -> None:
    # step_trace without loop_index answers every iteration's attempts; each joins its own iteration.
    flows.add_flow("acme/spelling/grade-3", grade_flow(grade_failures=0, loop_failures=1))
    run = execute(client)
    history = run.step_trace("check_sentence", attempt="all")
    assert [(a.loop_index, a.attempt) for a in history.attempts] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    trace = Trace.from_any((run.trace(), {"check_sentence": history}))
    assert trace == fetch_full_trace(run)
    assert [(s.loop_index, s.attempt) for s in trace.steps if s.step_id == "check_sentence"] == [
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
    ]


def test_permanent_failure_and_skipped_steps(client: Any, trace_snapshot: Any) -> None:
    trace = fetch_full_trace(execute(client, "publish"))
    assert trace.status == "failed"
    assert [(s.step_id, s.attempt, s.status.value) for s in trace.steps] == [
        ("draft", 1, "completed"),
        ("publish", 1, "failed"),
        ("publish", 2, "failed"),
        ("publish", 3, "failed"),
        ("notify", 1, "skipped"),
    ]
    publish = trace.steps[3]
    assert publish.failure_class == "ToolError"
    assert publish.error == "CMS answered 503 Service Unavailable"
    assert publish.attributes == {"error_context": {"code": "UPSTREAM_5XX"}}
    with pytest.raises(TraceAssertionError, match="publish"):
        assert_no_failures(trace)
    assert trace == trace_snapshot


def test_without_trace_flag_only_failed_steps_keep_snapshots(client: Any) -> None:
    flow = client.flow("grade-3")
    result = flow.execute(message=ESSAY)  # trace=False: the server keeps no snapshots...
    trace = fetch_full_trace(flow.run(result.execution_id))
    assert [s.output for s in trace.steps if s.status is StepStatus.COMPLETED] == [None] * 5
    failed = next(s for s in trace.steps if s.failed)
    assert failed.input is not None  # ...except for failed attempts
    assert failed.input["message"] == ESSAY
    assert trace.steps[4].tokens is not None  # timing, tokens and cost are always there


def test_truncated_snapshots_keep_their_sizes(flows: NoukaiServer, client: Any) -> None:
    flows.snapshot_limit = 40
    try:
        trace = fetch_full_trace(execute(client))
    finally:
        flows.snapshot_limit = 4096
    extract = trace.steps[0]
    assert extract.attributes["truncated"] is True
    assert extract.attributes["output_size_bytes"] == len(
        json.dumps(_extract({"message": ESSAY}), separators=(",", ":"))
    )
    assert "preview" in extract.output
    notify = trace.steps[-1]
    assert notify.output == {"sent": True, "to": "kid@example.org"}
    assert notify.attributes == {}  # small snapshots are whole: no sizes


# -- the forms convert accepts -----------------------------------------------------


def test_pair_forms_and_json_dumps_give_the_same_trace(client: Any, tmp_path: Path) -> None:
    run = execute(client)
    expected = fetch_full_trace(run)
    trace = run.trace()
    history = run.step_trace("grade", attempt="all")
    path = tmp_path / "noukai-trace.json"
    path.write_text(json.dumps([trace.model_dump(by_alias=True), [history.model_dump(by_alias=True)]]))
    forms: list[Any] = [
        (trace, {"grade": history}),
        (trace, [history]),
        (trace, history),
        [trace, {"grade": history.attempts}],
        [trace.model_dump(by_alias=True), {"grade": history.model_dump(by_alias=True)}],
        [trace.model_dump(), [history.model_dump()]],
        json.dumps([trace.model_dump(by_alias=True), history.model_dump(by_alias=True)]),
        json.dumps([trace.model_dump(mode="json"), history.model_dump(mode="json")]).encode(),
        path,
    ]
    for form in forms:
        assert ADAPTER.detect(form), form
        converted = Trace.from_any(form)
        assert converted.normalized().to_json() == expected.normalized().to_json()
        assert [s.start for s in converted.steps] == [s.start for s in expected.steps]  # volatile kept in memory
        assert converted.run_id == expected.run_id


def test_trace_dump_forms(client: Any) -> None:
    trace = execute(client).trace()
    expected = Trace.from_any(trace)
    for dump in (
        trace.model_dump(),
        trace.model_dump(by_alias=True),
        trace.model_dump(by_alias=True, exclude_none=True),
        trace.model_dump_json(),
        trace.model_dump_json(by_alias=True),
        trace.model_dump_json(by_alias=True).encode(),
    ):
        assert ADAPTER.detect(dump)
        assert Trace.from_any(dump).normalized().to_json() == expected.normalized().to_json()
    steps = Trace.from_any(trace.steps)  # a list of StepTrace
    assert steps.steps == expected.steps
    assert steps.status is None


# -- SSE live trace ----------------------------------------------------------------


def test_live_trace_events(client: Any, trace_snapshot: Any) -> None:
    run = execute(client)
    events = list(run.live_trace())
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted"
    assert kinds[-1] == "FlowCompleted"
    assert "step_progress" not in {e.event_type for e in events}  # unknown to the SDK: dropped
    failed = [e for e in events if isinstance(e, noukai_sdk.StepFailed)]
    assert [(e.event_type, e.step_id) for e in failed] == [("step_error", "grade")]
    completed = [e.step_id for e in events if isinstance(e, noukai_sdk.StepCompleted)]
    assert completed == ["extract", "check_sentence", "check_sentence", "grade", "notify"]
    assert events[0].execution_id == run.execution_id

    trace = Trace.from_any(events)
    assert trace.run_id == run.execution_id
    assert [(s.step_id, s.attempt, s.status.value) for s in trace.steps] == [
        ("extract", 1, "completed"),
        ("check_sentence", 1, "completed"),
        ("check_sentence", 1, "completed"),
        ("grade", 1, "failed"),
        ("grade", 2, "completed"),
        ("notify", 1, "completed"),
    ]
    assert trace.steps[4].cost == Decimal("0.001234")
    assert Trace.from_any([e.model_dump(by_alias=True) for e in events]) == trace
    assert Trace.from_any(json.dumps([e.model_dump() for e in events])) == trace
    assert trace == trace_snapshot


def test_async_client_live_trace_and_fetch(flows: NoukaiServer, client: Any) -> None:
    async def body(aclient: Any) -> tuple[Trace, list[str]]:
        flow = aclient.flow("grade-3")
        result = await flow.execute(message=ESSAY, parameters={"email": "kid@example.org"}, trace=True)
        run = flow.run(result.execution_id)
        kinds = [event.event_type async for event in run.live_trace()]
        return await fetch_full_trace_async(run), kinds

    trace, kinds = run_async(flows, body)
    assert kinds.count("step_error") == 1
    assert trace == fetch_full_trace(execute(client))


def test_fetch_full_trace_names_the_variant_for_the_wrong_run(client: Any, flows: NoukaiServer) -> None:
    sync_run = execute(client)

    async def wrong(aclient: Any) -> None:
        fetch_full_trace(aclient.flow("grade-3").run(sync_run.execution_id))

    with pytest.raises(TypeError, match="fetch_full_trace_async"):
        run_async(flows, wrong)
    with pytest.raises(TypeError, match=r"fetch_full_trace\(run\)"):
        asyncio.run(fetch_full_trace_async(sync_run))


# -- stability ----------------------------------------------------------------------


def test_golden_is_byte_identical_over_20_runs(client: Any) -> None:
    traces = [fetch_full_trace(execute(client)) for _ in range(20)]
    goldens = {t.normalized().to_json() for t in traces}
    assert len(goldens) == 1
    assert len({t.run_id for t in traces}) == 20  # every run really had its own id...
    assert len({tuple(s.duration for s in t.steps) for t in traces}) > 1  # ...and timings


# -- behaviour changes ----------------------------------------------------------------

FACT_CHECK = StepSpec(
    "fact_check",
    lambda s: {"ok": True},
    model="gpt-4o-mini",
    fail=True,
    max_attempts=2,
    error={"type": "ContentFilterError", "message": "response blocked by the content filter"},
)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param((grade_flow(grade="C"), "output_changed", "grade", "output.grade"), id="changed-output"),
        pytest.param((grade_flow(grade_failures=2), "attempts_changed", "grade", "attempts"), id="extra-retry"),
        pytest.param((grade_flow(insert=FACT_CHECK), "step_added", "fact_check", ""), id="new-failing-step"),
    ],
)
def test_behaviour_change_is_reported(
    flows: NoukaiServer, client: Any, case: tuple[list[StepSpec], str, str, str]
) -> None:
    changed, kind, step, path = case
    baseline = fetch_full_trace(execute(client))
    flows.add_flow("acme/spelling/grade-3", changed)
    actual = fetch_full_trace(execute(client))
    diff = baseline.diff(actual)
    assert diff
    hits = [e for e in diff if e.kind == kind and e.step is not None and e.step.step_id == step]
    assert hits, diff.render()
    assert hits[0].path == path
    assert all(e.step is None or e.step.step_id in (step, "notify") for e in diff), diff.render()
    if kind == "step_added":
        assert hits[0].actual["status"] == "failed"
        assert ("status_changed", "completed", "failed") in [(e.kind, e.expected, e.actual) for e in diff]
        assert any(e.kind == "status_changed" and e.step and e.step.step_id == "notify" for e in diff)


# -- capture --------------------------------------------------------------------------


def test_adapter_is_registered_and_captures() -> None:
    assert ADAPTER in adapters()
    assert isinstance(ADAPTER, CapturingAdapter)
    assert (ADAPTER.name, ADAPTER.framework, ADAPTER.extra) == ("noukai", "noukai_sdk", "noukai")


def test_capture_forces_trace_and_collects_the_full_trace(client: Any, trace_capture: Any) -> None:
    original = noukai_sdk.Flow.execute
    with trace_capture("noukai_sdk") as cap:
        assert noukai_sdk.Flow.execute is not original
        flow = client.flow("grade-3")
        result = flow.execute(message=ESSAY, parameters={"email": "kid@example.org"})  # no trace=True
        assert isinstance(result, noukai_sdk.ExecuteResult)
        assert result.status == "completed"
    assert noukai_sdk.Flow.execute is original
    trace = cap.trace
    assert trace.run_id == result.execution_id
    assert trace.steps[0].output is not None  # snapshots: tracing was forced on
    assert_retries(trace, "grade", 1)  # every attempt, not only the latest
    assert trace == fetch_full_trace(execute(client))


def test_capture_async_and_several_runs(flows: NoukaiServer, trace_capture: Any) -> None:
    original = noukai_sdk.AsyncFlow.execute

    async def body(aclient: Any) -> None:
        await aclient.flow("grade-3").execute(message=ESSAY)
        await aclient.flow("publish").execute(message="hello")

    with trace_capture("noukai_sdk") as cap:
        run_async(flows, body)
    assert noukai_sdk.AsyncFlow.execute is original
    assert [(t.status, len(t.steps)) for t in cap.traces] == [("completed", 6), ("failed", 5)]


def test_capture_restores_when_the_block_raises(client: Any, trace_capture: Any) -> None:
    original = (noukai_sdk.Flow.execute, noukai_sdk.AsyncFlow.execute)
    with pytest.raises(noukai_sdk.FlowNotFoundError), trace_capture("noukai_sdk"):
        client.flow("no-such-flow").execute(message="x")
    assert vars(noukai_sdk.Flow)["execute"] is original[0]
    assert vars(noukai_sdk.AsyncFlow)["execute"] is original[1]


def test_capture_reports_a_trace_it_could_not_fetch(flows: NoukaiServer, client: Any, trace_capture: Any) -> None:
    flows.lose_runs = True
    with trace_capture("noukai_sdk") as cap:
        result = client.flow("grade-3").execute(message=ESSAY)  # the user's call still works
    assert result.status == "completed"
    with pytest.raises(UnknownTraceError, match=f"{result.execution_id} could not be fetched.*FlowNotFoundError"):
        _ = cap.trace


# -- detect / malformed ----------------------------------------------------------------


@pytest.mark.parametrize(
    "foreign",
    [
        None,
        42,
        "not json",
        "{}",
        b"[1, 2]",
        Path("missing.json"),
        Path("README.md"),
        [],
        [1, 2],
        {"steps": []},
        {"format": "pytest-tracediff", "version": 1, "source": "x", "steps": [{"step_id": "a", "attempt": 1}]},
        [{"step_id": "a", "attempt": 1, "status": "completed", "loop_index": None}],
        [{"event_type": "step_started", "node_name": "a", "step_index": 0}],
        Trace(source="noukai").to_json(),
        Trace(source="noukai"),
    ],
)
def test_detect_is_false_for_foreign_objects(foreign: object) -> None:
    assert not ADAPTER.detect(foreign)


def test_detect_is_false_for_sdk_objects_that_hold_no_trace(client: Any) -> None:
    result = client.flow("grade-3").execute(message=ESSAY)
    assert not ADAPTER.detect(result)
    assert not ADAPTER.detect(client)
    assert not ADAPTER.detect(client.flow("grade-3").run(result.execution_id))


def test_malformed_input_gets_a_clear_error(client: Any) -> None:
    run = execute(client)
    dump = run.trace().model_dump(by_alias=True)
    bad_status = json.loads(json.dumps(dump))
    bad_status["steps"][0]["status"] = "exploded"
    with pytest.raises(UnknownTraceError, match=r"noukai Trace: steps\.0\.status"):
        Trace.from_any(bad_status)
    bad_cost = json.loads(json.dumps(dump))
    bad_cost["steps"][0]["costUsd"] = "about a cent"
    with pytest.raises(UnknownTraceError, match="cost_usd 'about a cent'"):
        Trace.from_any(bad_cost)
    stranger = {"stepId": "translate", "attempts": [{**dump["steps"][0], "stepId": "translate"}]}
    with pytest.raises(UnknownTraceError, match=r"'translate'.*matches no step"):
        Trace.from_any([dump, stranger])
    with pytest.raises(UnknownTraceError, match="not a noukai event"):
        Trace.from_any([*run.live_trace(), 3])
