"""TraceRecorder: what plain sync, async and threaded Python code records."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from pytest_tracediff import Step, StepStatus, Trace, TraceRecorder


def summary(steps: list[Step]) -> list[tuple[str, int, str, Any, Any]]:
    return [(s.path, s.attempt, s.status.value, s.input, s.output) for s in steps]


# -- decorator and context manager ---------------------------------------------


def test_bare_decorator_records_arguments_and_result() -> None:
    rec = TraceRecorder()

    @rec.step
    def add(a: int, b: int = 5) -> int:
        return a + b

    assert add(1, b=2) == 3
    assert add.__name__ == "add"
    [step] = rec.trace.steps
    assert (step.step_id, step.parent, step.attempt) == ("add", "", 1)
    assert step.status is StepStatus.COMPLETED
    assert step.input == {"a": 1, "b": 2}
    assert step.output == 3
    assert step.failure_class is None
    assert step.error is None


def test_decorator_with_a_name() -> None:
    rec = TraceRecorder()

    @rec.step("load_user")
    def load(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "roles": ("admin",)}

    load(7)
    [step] = rec.trace.steps
    assert step.step_id == "load_user"
    assert step.input == {"user_id": 7}
    assert step.output == {"id": 7, "roles": ["admin"]}


def test_decorated_method_does_not_record_self() -> None:
    rec = TraceRecorder()

    class Service:
        @rec.step
        def lookup(self, key: str) -> str:
            return key.upper()

    assert Service().lookup("k") == "K"
    assert rec.trace.steps[0].input == {"key": "k"}


def test_context_manager() -> None:
    rec = TraceRecorder(source="checkout")
    with rec.step("load", input={"order": 1}) as step:
        step.output = {"items": 2}
        step.attributes["db"] = "primary"
    trace = rec.trace
    assert trace.source == "checkout"
    assert trace.status == "completed"
    [recorded] = trace.steps
    assert (recorded.step_id, recorded.input, recorded.output) == ("load", {"order": 1}, {"items": 2})
    assert recorded.attributes == {"db": "primary"}
    assert recorded.status is StepStatus.COMPLETED
    assert recorded.start is not None
    assert recorded.duration is not None
    assert recorded.duration >= 0


def test_context_manager_needs_a_name() -> None:
    rec = TraceRecorder()
    with pytest.raises(TypeError, match="needs a step name"), rec.step():
        pass


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts must be >= 1, got 0"):
        TraceRecorder().step("x", max_attempts=0)


def test_async_with() -> None:
    rec = TraceRecorder()

    async def main() -> None:
        async with rec.step("fetch", input="url") as step:
            await asyncio.sleep(0)
            step.output = "body"

    asyncio.run(main())
    assert summary(rec.trace.steps) == [("fetch", 1, "completed", "url", "body")]


def test_async_decorated_function() -> None:
    rec = TraceRecorder()

    @rec.step
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    assert asyncio.run(double(21)) == 42
    assert summary(rec.trace.steps) == [("double", 1, "completed", {"x": 21}, 42)]


def test_async_decorated_function_with_retries() -> None:
    rec = TraceRecorder()
    calls = []

    @rec.step("flaky", max_attempts=3)
    async def flaky() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        if len(calls) < 3:
            raise ConnectionError(f"try {len(calls)}")
        return "ok"

    assert asyncio.run(flaky()) == "ok"
    assert [(s.attempt, s.status.value, s.error) for s in rec.trace.steps] == [
        (1, "failed", "try 1"),
        (2, "failed", "try 2"),
        (3, "completed", None),
    ]


# -- nesting -------------------------------------------------------------------


def test_nested_steps_get_parent_paths() -> None:
    rec = TraceRecorder()

    @rec.step
    def loop_step(i: int) -> int:
        return i

    with rec.step("pipeline"):
        with rec.step("loop1"):
            loop_step(0)
            loop_step(1)
        with rec.step("finish"):
            pass
    paths = [s.path for s in rec.trace.steps]
    assert paths == [
        "pipeline",
        "pipeline/loop1",
        "pipeline/loop1/loop_step",
        "pipeline/loop1/loop_step",
        "pipeline/finish",
    ]
    assert rec.trace.steps[2].parent == "pipeline/loop1"


def test_nesting_survives_an_exception_in_a_child() -> None:
    rec = TraceRecorder()
    with rec.step("outer"):
        with pytest.raises(KeyError), rec.step("inner"):
            raise KeyError("k")
        with rec.step("after"):
            pass
    with rec.step("top"):
        pass
    assert [s.path for s in rec.trace.steps] == ["outer", "outer/inner", "outer/after", "top"]


def test_async_tasks_inherit_the_parent() -> None:
    rec = TraceRecorder()

    async def child(n: int) -> None:
        async with rec.step("child", input=n):
            await asyncio.sleep(0)

    async def main() -> None:
        async with rec.step("root"):
            await asyncio.gather(child(1), child(2))

    asyncio.run(main())
    assert sorted((s.path, s.input) for s in rec.trace.steps) == [
        ("root", None),
        ("root/child", 1),
        ("root/child", 2),
    ]


# -- failures and retries ----------------------------------------------------------


def test_exception_is_recorded_and_propagates() -> None:
    rec = TraceRecorder()

    @rec.step
    def parse(text: str) -> int:
        return int(text)

    with pytest.raises(ValueError, match="invalid literal"):
        parse("abc")
    [step] = rec.trace.steps
    assert step.status is StepStatus.FAILED
    assert step.failure_class == "ValueError"
    assert step.error == "invalid literal for int() with base 10: 'abc'"
    assert step.output is None
    assert rec.trace.status == "failed"


def test_exception_in_context_manager() -> None:
    rec = TraceRecorder()
    with pytest.raises(RuntimeError), rec.step("save"):
        raise RuntimeError("disk full")
    [step] = rec.trace.steps
    assert (step.status, step.failure_class, step.error) == (StepStatus.FAILED, "RuntimeError", "disk full")


def test_timeout_is_timed_out() -> None:
    rec = TraceRecorder()
    with pytest.raises(TimeoutError), rec.step("call"):
        raise TimeoutError("no answer in 5s")
    [step] = rec.trace.steps
    assert step.status is StepStatus.TIMED_OUT
    assert step.failure_class == "TimeoutError"
    assert step.error == "no answer in 5s"
    assert rec.trace.status == "failed"


def test_asyncio_timeout_is_timed_out() -> None:
    rec = TraceRecorder()

    @rec.step
    async def slow() -> None:
        await asyncio.wait_for(asyncio.sleep(10), timeout=0.001)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(slow())
    assert rec.trace.steps[0].status is StepStatus.TIMED_OUT


def test_cancelled_task_is_cancelled() -> None:
    rec = TraceRecorder()

    async def main() -> None:
        async def work() -> None:
            async with rec.step("work"):
                await asyncio.sleep(10)

        task = asyncio.create_task(work())
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    [step] = rec.trace.steps
    assert (step.status, step.failure_class) == (StepStatus.CANCELLED, "CancelledError")


def test_max_attempts_retries_record_each_attempt() -> None:
    rec = TraceRecorder()
    failures = iter([ConnectionError("reset"), ConnectionError("reset again")])

    @rec.step("charge", max_attempts=4)
    def charge(amount: int) -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return f"charged {amount}"

    assert charge(10) == "charged 10"
    assert [(s.attempt, s.status.value, s.failure_class, s.input) for s in rec.trace.steps] == [
        (1, "failed", "ConnectionError", {"amount": 10}),
        (2, "failed", "ConnectionError", {"amount": 10}),
        (3, "completed", None, {"amount": 10}),
    ]
    assert rec.trace.status == "completed"  # the step recovered


def test_exhausted_retries_raise_the_last_error() -> None:
    rec = TraceRecorder()
    count = 0

    @rec.step("always", max_attempts=3)
    def always() -> None:
        nonlocal count
        count += 1
        raise OSError(f"failure {count}")

    with pytest.raises(OSError, match="failure 3"):
        always()
    assert [(s.attempt, s.error) for s in rec.trace.steps] == [(1, "failure 1"), (2, "failure 2"), (3, "failure 3")]
    assert rec.trace.status == "failed"


def test_retry_on_limits_what_is_retried() -> None:
    rec = TraceRecorder()

    @rec.step("lookup", max_attempts=3, retry_on=(ConnectionError,))
    def lookup() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        lookup()
    assert len(rec.trace.steps) == 1


def test_call_after_a_failed_call_is_the_next_attempt() -> None:
    rec = TraceRecorder()
    for attempt in range(3):
        try:
            with rec.step("fetch", input={"try": attempt}):
                if attempt < 2:
                    raise ConnectionError("busy")
        except ConnectionError:
            pass
    with rec.step("fetch"):  # after a success: a new occurrence
        pass
    assert [s.attempt for s in rec.trace.steps] == [1, 2, 3, 1]


def test_call_after_another_steps_failure_is_attempt_one() -> None:
    rec = TraceRecorder()
    with pytest.raises(ValueError, match="bad"), rec.step("a"):
        raise ValueError("bad")
    with rec.step("b"):
        pass
    assert [(s.step_id, s.attempt) for s in rec.trace.steps] == [("a", 1), ("b", 1)]


def test_retry_attempts_are_counted_per_parent() -> None:
    rec = TraceRecorder()
    with pytest.raises(ValueError, match="bad"), rec.step("x"):
        raise ValueError("bad")
    with rec.step("outer"), rec.step("x"):
        pass
    assert [(s.path, s.attempt) for s in rec.trace.steps] == [("x", 1), ("outer", 1), ("outer/x", 1)]


# -- snapshots -------------------------------------------------------------------


def test_recorded_input_is_a_snapshot() -> None:
    rec = TraceRecorder()
    data = {"items": [1, 2]}
    with rec.step("ctx", input=data):
        data["items"].append(3)

    @rec.step
    def consume(items: list[int]) -> int:
        items.append(99)
        return len(items)

    values = [1]
    consume(values)
    values.append(100)
    first, second = rec.trace.steps
    assert first.input == {"items": [1, 2]}
    assert second.input == {"items": [1]}
    assert second.output == 2


def test_recorded_output_is_a_snapshot() -> None:
    rec = TraceRecorder()
    result: list[int] = []

    @rec.step
    def build() -> list[int]:
        result.append(1)
        return result

    build()
    result.append(2)
    assert rec.trace.steps[0].output == [1]


def test_trace_is_a_copy() -> None:
    rec = TraceRecorder()
    with rec.step("a") as step:
        step.output = {"x": 1}
    snapshot = rec.trace
    snapshot.steps[0].output["x"] = 2
    assert rec.trace.steps[0].output == {"x": 1}


def test_trace_status_while_running_and_clear() -> None:
    rec = TraceRecorder()
    with rec.step("long"):
        assert rec.trace.status == "running"
        assert rec.trace.steps[0].status is StepStatus.RUNNING
    assert rec.trace.status == "completed"
    rec.clear()
    assert rec.trace.steps == []
    with rec.step("again"):
        pass
    assert [s.path for s in rec.trace.steps] == ["again"]


def test_sequential_steps_keep_their_order() -> None:
    rec = TraceRecorder()
    for name in ("zeta", "alpha", "mid"):
        with rec.step(name):
            pass
    assert [s.step_id for s in rec.trace.normalized().steps] == ["zeta", "alpha", "mid"]


# -- concurrency ---------------------------------------------------------------------


def run_threads(open_order: list[int], finish_order: list[int]) -> tuple[list[Any], str]:
    """Three workers whose steps overlap; they open and finish in the given orders."""
    rec = TraceRecorder()
    n = len(open_order)
    may_open = [threading.Event() for _ in range(n)]
    all_open = threading.Barrier(n)
    may_finish = [threading.Event() for _ in range(n)]

    def worker(i: int) -> None:
        may_open[i].wait(5)
        with rec.step("worker", input={"n": i}) as step:
            position = open_order.index(i)
            if position + 1 < n:
                may_open[open_order[position + 1]].set()
            all_open.wait(5)  # every worker is inside its step now
            may_finish[i].wait(5)
            with rec.step("child", input={"n": i}) as child:
                child.output = i * 10
            step.output = i
        position = finish_order.index(i)
        if position + 1 < n:
            may_finish[finish_order[position + 1]].set()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    may_open[open_order[0]].set()
    may_finish[finish_order[0]].set()
    for thread in threads:
        thread.join(10)
    raw = [(s.path, s.input["n"]) for s in rec.trace.steps]
    return raw, rec.trace.normalized().to_json()


def test_overlapping_threads_normalize_identically() -> None:
    raw_a, json_a = run_threads(open_order=[0, 1, 2], finish_order=[0, 1, 2])
    raw_b, json_b = run_threads(open_order=[2, 0, 1], finish_order=[2, 1, 0])
    raw_c, json_c = run_threads(open_order=[1, 2, 0], finish_order=[1, 0, 2])
    # The recordings really differ...
    assert raw_a[:3] == [("worker", 0), ("worker", 1), ("worker", 2)]
    assert raw_b[:3] == [("worker", 2), ("worker", 0), ("worker", 1)]
    assert [n for path, n in raw_b if path == "worker/child"] == [2, 1, 0]
    assert len({tuple(raw_a), tuple(raw_b), tuple(raw_c)}) == 3
    # ...the normalized traces do not, and each child follows its own worker.
    assert json_a == json_b == json_c
    steps = Trace.from_json(json_a).steps
    assert [(s.path, s.input, s.output) for s in steps] == [
        ("worker", {"n": 0}, 0),
        ("worker/child", {"n": 0}, 0),
        ("worker", {"n": 1}, 1),
        ("worker/child", {"n": 1}, 10),
        ("worker", {"n": 2}, 2),
        ("worker/child", {"n": 2}, 20),
    ]


def run_gather(delays: list[float]) -> tuple[list[Any], str]:
    """Three fetches gathered under one step; ``delays`` decides who finishes first."""
    rec = TraceRecorder()

    @rec.step("fetch")
    async def fetch(n: int) -> dict[str, int]:
        await asyncio.sleep(delays[n])
        async with rec.step("parse", input=n) as step:
            await asyncio.sleep(delays[n] / 2)
            step.output = n * 2
        return {"n": n}

    async def main() -> None:
        async with rec.step("crawl"):
            await asyncio.gather(*(fetch(n) for n in range(len(delays))))
        async with rec.step("report"):
            pass

    asyncio.run(main())
    raw = [(s.path, s.output) for s in rec.trace.steps]
    return raw, rec.trace.normalized().to_json()


def test_gathered_steps_normalize_identically_whatever_the_finish_order() -> None:
    raw_a, json_a = run_gather([0.001, 0.02, 0.04])
    raw_b, json_b = run_gather([0.04, 0.02, 0.001])
    # The children really were recorded in other orders...
    assert [out for path, out in raw_a if path.endswith("parse")] == [0, 2, 4]
    assert [out for path, out in raw_b if path.endswith("parse")] == [4, 2, 0]
    # ...yet the normalized traces are identical, each child under its own fetch.
    assert json_a == json_b
    assert [(s.path, s.output) for s in Trace.from_json(json_a).steps] == [
        ("crawl", None),
        ("crawl/fetch", {"n": 0}),
        ("crawl/fetch/parse", 0),
        ("crawl/fetch", {"n": 1}),
        ("crawl/fetch/parse", 2),
        ("crawl/fetch", {"n": 2}),
        ("crawl/fetch/parse", 4),
        ("report", None),
    ]


@pytest.mark.parametrize("options", [{"max_attempts": 3}, {"retry_on": (ValueError,)}])
def test_retry_options_on_a_with_block_are_a_type_error(options: dict[str, Any]) -> None:
    """A with block runs its body once: retry options there would be silently ignored."""
    rec = TraceRecorder()
    with pytest.raises(TypeError, match="retries only as a decorator"), rec.step("charge", **options):
        pass  # pragma: no cover - never entered
    assert rec.trace.steps == []


def test_retry_options_on_an_async_with_block_are_a_type_error() -> None:
    async def run() -> None:
        async with TraceRecorder().step("charge", max_attempts=2):
            pass  # pragma: no cover - never entered

    with pytest.raises(TypeError, match="retries only as a decorator"):
        asyncio.run(run())
