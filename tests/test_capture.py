"""TraceCapture's contract, with a small in-process 'framework' of our own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from pytest_tracediff import MissingFrameworkError, Step, Trace, register_adapter, unregister_adapter
from pytest_tracediff.errors import CaptureError
from pytest_tracediff.sources.capture import CapturingAdapter, TraceCapture


class Engine:
    """Stands for a framework whose runs produce a result with a trace when tracing is on."""

    tracing = False

    def run(self, name: str) -> dict[str, object]:
        return {"engine_trace": [name]} if Engine.tracing else {}


class EngineAdapter:
    framework = "json"  # any importable module: the adapter only needs find_spec to succeed
    extra = "engine"

    def __init__(self, name: str = "engine", source: str | None = None) -> None:
        self.name = name
        self.source = source or name

    def detect(self, obj: object) -> bool:
        return isinstance(obj, dict) and "engine_trace" in obj

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, dict)
        return Trace(source=self.source, steps=[Step(step_id=s) for s in obj["engine_trace"]])

    @contextmanager
    def capture(self, collect: Callable[[object], None]) -> Iterator[None]:
        original_run, original_tracing = Engine.run, Engine.tracing

        def run(engine: Engine, name: str) -> dict[str, object]:
            result = original_run(engine, name)
            collect(result)
            return result

        Engine.run, Engine.tracing = run, True  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            Engine.run, Engine.tracing = original_run, original_tracing  # type: ignore[method-assign]


@pytest.fixture
def engine_adapter() -> Iterator[EngineAdapter]:
    adapter = EngineAdapter()
    register_adapter(adapter)
    yield adapter
    unregister_adapter(adapter)


def test_the_test_adapter_is_a_capturing_adapter(engine_adapter: EngineAdapter) -> None:
    assert isinstance(engine_adapter, CapturingAdapter)


def test_capture_forces_tracing_and_collects(engine_adapter: EngineAdapter) -> None:
    with TraceCapture(["engine"]) as cap:
        Engine().run("load")
    assert Engine.tracing is False  # restored
    assert Engine().run("x") == {}
    assert [s.step_id for s in cap.trace.steps] == ["load"]
    assert cap.trace.source == "engine"


def test_capture_restores_when_the_block_raises(engine_adapter: EngineAdapter) -> None:
    original = Engine.run

    def crash() -> None:
        with TraceCapture(["engine"]):
            Engine().run("a")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    assert Engine.run is original
    assert Engine.tracing is False


def test_trace_needs_exactly_one(engine_adapter: EngineAdapter) -> None:
    with TraceCapture(["engine"]) as cap:
        pass
    with pytest.raises(CaptureError, match=r"produced no trace\. Watched: engine\. Check that engine: run it inside"):
        _ = cap.trace
    with TraceCapture(["engine"]) as cap:
        Engine().run("a")
        Engine().run("b")
    with pytest.raises(CaptureError, match=r"produced 2 .*use cap\.traces"):
        _ = cap.trace
    assert [t.steps[0].step_id for t in cap.traces] == ["a", "b"]


def test_default_capture_includes_installed_frameworks(engine_adapter: EngineAdapter) -> None:
    assert "json" in TraceCapture().frameworks


def test_unknown_and_missing_frameworks_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="no framework named 'nope'"):
        TraceCapture(["nope"])
    missing = EngineAdapter("ghost")
    missing.framework = "surely_not_installed_framework_xyz"
    register_adapter(missing)
    try:
        with pytest.raises(MissingFrameworkError, match=r"pytest-tracediff\[engine\]"):
            TraceCapture(["ghost"])
    finally:
        unregister_adapter(missing)


def test_otel_spans_are_a_fallback_when_a_framework_trace_exists(engine_adapter: EngineAdapter) -> None:
    echo = EngineAdapter("otel-echo", source="otel")
    register_adapter(echo)
    try:
        with TraceCapture(["engine", "otel-echo"]) as cap:
            Engine().run("a")  # both adapters see the run, as a framework with OTel instrumentation
        assert sorted(t.source for t in cap.traces) == ["engine", "otel"]
        assert cap.trace.source == "engine"
    finally:
        unregister_adapter(echo)


def test_fixture_closes_an_open_capture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_left_open(trace_capture):
            cap = trace_capture()
            cap.__enter__()  # never exited by the test: the fixture must close it
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_moved_framework_internal_is_a_capture_error_naming_framework_and_version() -> None:
    """A release whose private attribute is gone: one clear error, nothing patched."""
    from pytest_tracediff.sources.adapters._common import patched

    with pytest.raises(CaptureError) as info, patched(pytest, "_tracediff_no_such_hook", object()):
        pass  # pragma: no cover - never entered
    message = str(info.value)
    assert f"pytest {pytest.__version__} has no pytest._tracediff_no_such_hook" in message
    assert "internals moved" in message
    assert not hasattr(pytest, "_tracediff_no_such_hook")
