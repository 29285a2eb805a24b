"""The Trace model: file format, round trips, from_any and its adapters, golden errors."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pytest_tracediff import (
    GoldenFileError,
    Step,
    StepStatus,
    Tokens,
    Trace,
    TraceDiffError,
    UnknownTraceError,
    register_adapter,
    unregister_adapter,
)
from pytest_tracediff.model import group_attempts
from pytest_tracediff.sources.registry import adapters


def sample() -> Trace:
    return Trace(
        source="checkout",
        status="completed",
        run_id="run-7",
        start=1700000000.5,
        duration=1.25,
        attributes={"env": "ci", "zone": "é"},
        steps=[
            Step(step_id="pipeline", input={"order": 7}, start=1700000000.5, duration=1.2, span_id="1", level=0),
            Step(
                step_id="llm",
                parent="pipeline",
                attempt=2,
                loop_index=3,
                status=StepStatus.FAILED,
                failure_class="RateLimitError",
                error="slow down",
                model="gpt-4o",
                tokens=Tokens(prompt=12, completion=3, total=15),
                cost=Decimal("0.0100"),
                input=[1, 2.5, None, True, "x"],
                output={"nested": {"list": [{"a": 1}]}},
                attributes={"retry_after": 2},
                parent_span_id="1",
            ),
        ],
    )


# -- round trips -------------------------------------------------------------------


def test_to_json_and_load_round_trip(tmp_path: Path) -> None:
    trace = sample()
    path = tmp_path / "golden" / "trace.json"
    trace.save(path)
    loaded = Trace.load(path)
    assert loaded.model_dump() == trace.model_dump()
    assert loaded.to_json() == trace.to_json()
    assert loaded.steps[1].cost == Decimal("0.0100")
    assert str(loaded.steps[1].cost) == "0.0100"


def test_save_leaves_no_temp_files(tmp_path: Path) -> None:
    sample().save(tmp_path / "t.json")
    sample().save(tmp_path / "t.json")
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_to_json_layout() -> None:
    text = sample().to_json()
    assert text.endswith("}\n")
    data = json.loads(text)
    assert list(data)[:3] == ["format", "version", "source"]
    assert (data["format"], data["version"]) == ("pytest-tracediff", 1)
    assert list(data["steps"][1])[:4] == ["step_id", "parent", "attempt", "loop_index"]
    assert data["steps"][1]["cost"] == "0.0100"
    assert data["steps"][1]["tokens"] == {"prompt": 12, "completion": 3, "total": 15}
    assert "é" in text  # not escaped


def test_a_full_step_is_written_in_field_order() -> None:
    # Identity first, payloads last, volatile fields at the end: Step's own field order.
    step = Step(
        step_id="s",
        parent="p",
        attempt=2,
        loop_index=0,
        status=StepStatus.FAILED,
        failure_class="E",
        error="boom",
        model="m",
        tokens=Tokens(prompt=1),
        cost=Decimal("0.5"),
        input={"a": 1},
        output=[1],
        attributes={"k": "v"},
        start=1.0,
        duration=2.0,
        span_id="x",
        parent_span_id="y",
        level=3,
    )
    assert list(Trace(steps=[step]).to_dict()["steps"][0]) == list(Step.model_fields)


def test_to_dict_leaves_unset_fields_out() -> None:
    assert Trace(steps=[Step(step_id="a")]).to_dict() == {
        "format": "pytest-tracediff",
        "version": 1,
        "source": "unknown",
        "steps": [{"step_id": "a", "attempt": 1, "status": "completed"}],
    }


def test_to_json_never_writes_nan() -> None:
    trace = Trace(steps=[Step(step_id="a", output={"x": math.nan, "y": -math.inf})])
    assert json.loads(trace.to_json())["steps"][0]["output"] == {"x": "NaN", "y": "-Infinity"}


def test_from_dict_round_trip() -> None:
    trace = sample()
    assert Trace.from_dict(trace.to_dict()).model_dump() == trace.model_dump()


def test_from_json_reads_older_layouts_without_optional_fields() -> None:
    text = json.dumps({"format": "pytest-tracediff", "version": 1, "steps": [{"step_id": "a"}]})
    trace = Trace.from_json(text)
    assert trace.source == "unknown"
    assert trace.steps[0].status is StepStatus.COMPLETED


# -- cost --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [(0.1, "0.1"), (0.3, "0.3"), (1e-7, "1E-7"), ("0.10", "0.10"), (2, "2"), (Decimal("1.005"), "1.005")],
)
def test_cost_is_an_exact_decimal(given: Any, expected: str) -> None:
    cost = Step(step_id="a", cost=given).cost
    assert isinstance(cost, Decimal)
    assert str(cost) == expected


def test_float_cost_from_a_dict_is_exact() -> None:
    trace = Trace.from_dict({"steps": [{"step_id": "a", "cost": 0.1}, {"step_id": "b", "cost": 0.2}]})
    costs = [step.cost for step in trace.steps]
    assert costs == [Decimal("0.1"), Decimal("0.2")]
    assert sum(c for c in costs if c is not None) == Decimal("0.3")


# -- equality and helpers ---------------------------------------------------------------


def test_equality_is_normalized_equality() -> None:
    a = Trace(run_id="1", steps=[Step(step_id="a", start=1.0, output="x")])
    b = Trace(run_id="2", steps=[Step(step_id="a", start=2.0, output="x")])
    c = Trace(steps=[Step(step_id="a", output="y")])
    assert a == b
    assert a != c
    assert (a == "not a trace") is False
    with pytest.raises(TypeError):
        hash(a)


def test_repr() -> None:
    assert repr(sample()) == "<Trace source='checkout' status='completed' steps=2>"
    assert str(sample()) == repr(sample())


def test_step_path_label_and_failed() -> None:
    step = Step(step_id="llm", parent="pipeline", attempt=2, loop_index=3, status=StepStatus.TIMED_OUT)
    assert step.path == "pipeline/llm"
    assert step.label() == "pipeline/llm[3] (attempt 2)"
    assert step.failed
    assert not Step(step_id="x", status=StepStatus.SKIPPED).failed
    assert Step(step_id="x").path == "x"


def test_attempt_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempt"):
        Step(step_id="x", attempt=0)


def test_group_attempts() -> None:
    steps = [
        Step(step_id="a", attempt=1, status=StepStatus.FAILED),
        Step(step_id="a", attempt=2),
        Step(step_id="a", attempt=1),
        Step(step_id="a", parent="p", attempt=2),
        Step(step_id="b", attempt=3),
    ]
    groups = group_attempts(steps)
    assert [[s.attempt for s in g] for g in groups] == [[1, 2], [1], [2], [3]]


# -- from_any ----------------------------------------------------------------------


def test_from_any_returns_a_trace_as_is() -> None:
    trace = sample()
    assert Trace.from_any(trace) is trace


def test_from_any_reads_dicts_json_bytes_and_paths(tmp_path: Path) -> None:
    trace = sample()
    path = tmp_path / "t.json"
    trace.save(path)
    for form in (trace.to_dict(), trace.to_json(), "  \n" + trace.to_json(), trace.to_json().encode(), path):
        assert Trace.from_any(form).model_dump() == trace.model_dump(), type(form)


def test_from_any_on_an_unknown_object() -> None:
    class Mystery:
        pass

    with pytest.raises(UnknownTraceError) as info:
        Trace.from_any(Mystery())
    message = str(info.value)
    assert f"{__name__}.test_from_any_on_an_unknown_object.<locals>.Mystery" in message
    assert "register_adapter" in message
    assert "Known adapters: trace, " in message
    assert "dict, json, file" in message
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, TraceDiffError)


@pytest.mark.parametrize("value", [42, "trace.json", None, ["steps"], {"no": "steps"}])
def test_from_any_rejects_other_values(value: object) -> None:
    name = re.escape(f"read a {type(value).__module__}.{type(value).__qualname__}")
    with pytest.raises(UnknownTraceError, match=name):
        Trace.from_any(value)


def test_from_any_on_a_dict_with_bad_steps() -> None:
    with pytest.raises(UnknownTraceError, match=r"steps\.0\.status.*Trace\.to_dict\(\)"):
        Trace.from_any({"steps": [{"step_id": "a", "status": "exploded"}]})


class Run:
    """A foreign framework's run object."""

    def __init__(self, names: list[str]) -> None:
        self.names = names


class RunAdapter:
    name = "myframework"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, Run)

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, Run)
        return Trace(source=self.name, steps=[Step(step_id=n) for n in obj.names])


@pytest.fixture
def run_adapter() -> Iterator[RunAdapter]:
    adapter = RunAdapter()
    register_adapter(adapter)
    yield adapter
    if adapter in adapters():
        unregister_adapter(adapter)


def test_registered_adapter_is_used(run_adapter: RunAdapter) -> None:
    trace = Trace.from_any(Run(["a", "b"]))
    assert trace.source == "myframework"
    assert [s.step_id for s in trace.steps] == ["a", "b"]
    assert adapters()[0] is run_adapter


def test_registered_adapter_is_named_in_errors(run_adapter: RunAdapter) -> None:
    with pytest.raises(UnknownTraceError, match="Known adapters: myframework, trace"):
        Trace.from_any(object())


def test_unregistered_adapter_is_no_longer_used(run_adapter: RunAdapter) -> None:
    unregister_adapter(run_adapter)
    assert run_adapter not in adapters()
    with pytest.raises(UnknownTraceError, match=r"test_model\.Run"):
        Trace.from_any(Run(["a"]))


def test_later_adapters_override_earlier_ones() -> None:
    class TraceOverride:
        name = "override"

        def detect(self, obj: object) -> bool:
            return isinstance(obj, Trace)

        def convert(self, obj: object) -> Trace:
            return Trace(source="overridden")

    adapter = TraceOverride()
    register_adapter(adapter)
    try:
        assert Trace.from_any(sample()).source == "overridden"
    finally:
        unregister_adapter(adapter)
    assert Trace.from_any(sample()).source == "checkout"


def test_register_adapter_rejects_non_adapters() -> None:
    with pytest.raises(TypeError, match="is not an adapter: it needs name, detect\\(\\) and convert\\(\\)"):
        register_adapter(object())  # type: ignore[arg-type]


# -- broken golden files ------------------------------------------------------------


VALID = sample().to_json()

BROKEN: dict[str, tuple[str | bytes, str]] = {
    "truncated": (VALID[: len(VALID) // 2], "is not valid JSON"),
    "not-json": ("hello world", "is not valid JSON"),
    "json-list": ("[1, 2]", "does not hold a JSON object"),
    "other-format": ('{"format": "syrupy", "version": 1}', "is not a pytest-tracediff file (format='syrupy')"),
    "no-format": ('{"steps": []}', "is not a pytest-tracediff file (format=None)"),
    "future-version": (VALID.replace('"version": 1', '"version": 2'), "has format version 2"),
    "text-version": (VALID.replace('"version": 1', '"version": "1"'), "has format version '1'"),
    "bad-status": (VALID.replace('"failed"', '"exploded"'), "has an invalid field steps.1.status"),
    "steps-not-list": (
        '{"format": "pytest-tracediff", "version": 1, "steps": 3}',
        "has an invalid field steps",
    ),
    "unknown-field": (
        '{"format": "pytest-tracediff", "version": 1, "steps": [{"step_id": "a", "colour": 1}]}',
        "has an invalid field steps.0.colour",
    ),
    "empty": ("", "is empty"),
    "blank": ("  \n\n", "is empty"),
    "not-utf8": (b"\xff\xfe\x00{", "is not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_golden_raises_golden_file_error(tmp_path: Path, case: str) -> None:
    content, problem = BROKEN[case]
    path = tmp_path / f"{case}.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(GoldenFileError) as info:
        Trace.load(path)
    message = str(info.value)
    assert message.startswith(f"trace file {path} {problem}")
    assert "--trace-snapshot-update" in message
    assert info.value.path == str(path)


def test_golden_that_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "trace.json"
    folder.mkdir()
    with pytest.raises(GoldenFileError) as info:
        Trace.load(folder)
    assert str(info.value).startswith(f"trace file {folder} is a directory, not a trace file")
    assert "--trace-snapshot-update" in str(info.value)


def test_from_json_errors_name_the_origin() -> None:
    with pytest.raises(GoldenFileError, match=r"^trace file golden/x\.json is not valid JSON"):
        Trace.from_json("{", origin="golden/x.json")
    with pytest.raises(GoldenFileError, match=re.escape("<JSON text given to Trace.from_any()> has format version 9")):
        Trace.from_any('{"format": "pytest-tracediff", "version": 9}')


# -- reading a file: once -------------------------------------------------------------

_OTLP_EXPORT = {
    "resourceSpans": [
        {
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "0af7651916cd43dd8448eb211c80319c",
                            "spanId": "b7ad6b7169203331",
                            "name": "answer",
                            "startTimeUnixNano": "1000",
                            "endTimeUnixNano": "5000",
                        }
                    ]
                }
            ]
        }
    ]
}


@pytest.mark.parametrize("kind", ["golden", "otlp", "otlp-json-lines"])
def test_from_any_reads_and_parses_a_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Every adapter is offered the parsed value; none reads or parses the file again."""
    path = tmp_path / f"{kind}.json"
    if kind == "golden":
        sample().save(path)
    elif kind == "otlp":
        path.write_text(json.dumps(_OTLP_EXPORT), encoding="utf-8")
    else:
        path.write_text(json.dumps(_OTLP_EXPORT) + "\n" + json.dumps(_OTLP_EXPORT) + "\n", encoding="utf-8")
    reads: list[Path] = []
    parses: list[str] = []
    os_open, loads = os.open, json.loads

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> int:
        if Path(file) == path:
            reads.append(path)
        return os_open(file, *args, **kwargs)

    def counting_loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        parses.append(text)
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr(json, "loads", counting_loads)
    trace = Trace.from_any(path)
    assert reads == [path]
    assert len(parses) == (1 if kind != "otlp-json-lines" else 3)  # whole text, then each of 2 lines
    assert trace.source == ("otel" if kind.startswith("otlp") else sample().source)
