"""Properties of normalization, serialization and diffing over generated traces."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_tracediff import Step, StepStatus, Tokens, Trace
from pytest_tracediff.model.golden_text import GoldenText

# Moderate example counts keep this file well under 20 s; CI runs it on every push.
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ------------------------------------------------------------------------

# Short text from a small alphabet, so that equal strings (and key collisions) happen.
short_text = st.text(alphabet="ab01 -_:/x", max_size=6)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | short_text
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(short_text, children, max_size=3),
    max_leaves=5,
)
json_dict = st.dictionaries(short_text, json_value, max_size=3)

tokens = st.builds(
    Tokens,
    prompt=st.none() | st.integers(0, 1000),
    completion=st.none() | st.integers(0, 1000),
    total=st.none() | st.integers(0, 2000),
)
costs = st.decimals(min_value=-10, max_value=100, places=4, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [Decimal("-0"), Decimal("0.00"), Decimal("0E-4"), Decimal("1E+2"), Decimal("0.10")]
)
times = st.floats(min_value=0, max_value=2e9, allow_nan=False)


@st.composite
def steps(draw: st.DrawFn) -> Step:
    status = draw(st.sampled_from(StepStatus))
    failed = status in (StepStatus.FAILED, StepStatus.TIMED_OUT)
    return Step(
        step_id=draw(st.sampled_from(["load", "parse", "call", "save"])),
        parent=draw(st.sampled_from(["", "", "pipeline", "pipeline/load"])),
        attempt=draw(st.integers(1, 3)),
        loop_index=draw(st.none() | st.integers(0, 2)),
        status=status,
        failure_class=draw(st.sampled_from(["ValueError", "TimeoutError"])) if failed else None,
        error=draw(short_text) if failed else draw(st.none() | short_text),
        model=draw(st.none() | st.sampled_from(["gpt-4o", "claude"])),
        tokens=draw(st.none() | tokens),
        cost=draw(st.none() | costs),
        input=draw(json_value),
        output=draw(json_value),
        attributes=draw(json_dict),
        start=draw(st.none() | times),
        duration=draw(st.none() | times),
        level=draw(st.none() | st.integers(0, 1)),
    )


@st.composite
def traces(draw: st.DrawFn, max_steps: int = 5) -> Trace:
    return Trace(
        source=draw(st.sampled_from(["recorder", "langgraph"])),
        status=draw(st.none() | st.sampled_from(["completed", "FAILED", "running"])),
        steps=draw(st.lists(steps(), max_size=max_steps)),
        attributes=draw(json_dict),
        run_id=draw(st.none() | short_text),
        start=draw(st.none() | times),
        duration=draw(st.none() | times),
    )


def mutate(trace: Trace, data: st.DataObject) -> Trace:
    """A copy of ``trace`` with one random change, which may or may not matter."""
    copy = trace.model_copy(deep=True)
    kinds = ["none", "volatile", "run"]
    if copy.steps:
        kinds += ["field", "field", "field", "remove", "swap"]
    kinds.append("insert")
    kind = data.draw(st.sampled_from(kinds), label="mutation")
    if kind == "volatile":
        copy.run_id = "other-run"
        for step in copy.steps:
            step.start, step.duration, step.span_id = 1.0, 2.0, "span"
    elif kind == "run":
        field = data.draw(st.sampled_from(["source", "status", "attributes"]))
        value: Any = {
            "source": st.sampled_from(["recorder", "langgraph"]),
            "status": st.none() | st.sampled_from(["completed", "COMPLETED", "failed"]),
            "attributes": json_dict,
        }[field]
        setattr(copy, field, data.draw(value))
    elif kind == "field":
        index = data.draw(st.integers(0, len(copy.steps) - 1))
        field, strategy = data.draw(
            st.sampled_from(
                [
                    ("step_id", st.sampled_from(["load", "parse", "other"])),
                    ("parent", st.sampled_from(["", "pipeline"])),
                    ("attempt", st.integers(1, 3)),
                    ("loop_index", st.none() | st.integers(0, 2)),
                    ("status", st.sampled_from(StepStatus)),
                    ("failure_class", st.none() | st.just("KeyError")),
                    ("error", st.none() | short_text),
                    ("model", st.none() | st.just("gpt-4o")),
                    ("tokens", st.none() | tokens),
                    ("cost", st.none() | costs),
                    ("input", json_value),
                    ("output", json_value),
                    ("attributes", json_dict),
                    ("level", st.none() | st.integers(0, 1)),
                ]
            )
        )
        setattr(copy.steps[index], field, data.draw(strategy, label=field))
    elif kind == "remove":
        del copy.steps[data.draw(st.integers(0, len(copy.steps) - 1))]
    elif kind == "swap" and len(copy.steps) > 1:
        i = data.draw(st.integers(0, len(copy.steps) - 2))
        copy.steps[i], copy.steps[i + 1] = copy.steps[i + 1], copy.steps[i]
    elif kind == "insert":
        copy.steps.insert(data.draw(st.integers(0, len(copy.steps))), data.draw(steps()))
    return copy


# -- properties -------------------------------------------------------------------------


@SETTINGS
@given(traces())
def test_normalize_is_idempotent(trace: Trace) -> None:
    once = trace.normalized()
    assert once.normalized().to_json() == once.to_json()


@SETTINGS
@given(traces())
def test_a_trace_has_no_diff_with_itself(trace: Trace) -> None:
    diff = trace.diff(trace)
    assert not diff
    assert diff.to_list() == []
    assert trace == trace.model_copy(deep=True)


@SETTINGS
@given(traces())
def test_json_round_trip(trace: Trace) -> None:
    loaded = Trace.from_json(trace.to_json())
    assert loaded.model_dump() == trace.model_dump()
    assert loaded.to_json() == trace.to_json()
    assert not trace.diff(loaded)


@SETTINGS
@given(traces())
def test_written_one_step_at_a_time_as_in_one_piece(trace: Trace) -> None:
    # The golden text is made step by step (never all steps as dicts at once), in the
    # encoder's own layout of the whole document; normalized as written, as normalized whole.
    from pydantic_core import to_json

    from pytest_tracediff.model.trace import golden_dict
    from pytest_tracediff.normalize import normalized_json

    assert trace.to_json() == to_json(golden_dict(trace), indent=2).decode() + "\n"
    assert normalized_json(trace) == trace.normalized().to_json()


@SETTINGS
@given(traces(), st.data())
def test_diff_is_empty_iff_normalized_json_is_equal(trace: Trace, data: st.DataObject) -> None:
    other = mutate(trace, data)
    same_json = trace.normalized().to_json() == other.normalized().to_json()
    diff = trace.diff(other)
    assert (not diff) == same_json, diff.render()
    assert (trace == other) == same_json


@SETTINGS
@given(traces(max_steps=3), traces(max_steps=3))
def test_diff_is_empty_iff_normalized_json_is_equal_for_unrelated_traces(a: Trace, b: Trace) -> None:
    same_json = a.normalized().to_json() == b.normalized().to_json()
    assert (not a.diff(b)) == same_json


@SETTINGS
@given(traces(), st.data())
def test_diff_entries_are_serializable_and_counted(trace: Trace, data: st.DataObject) -> None:
    import json

    diff = trace.diff(mutate(trace, data))
    entries = json.loads(json.dumps(diff.to_list(), allow_nan=False))
    assert len(entries) == len(diff) == sum(diff.counts().values())
    assert diff.render().splitlines()[0] == diff.summary()


@settings(max_examples=40, deadline=None)
@given(st.lists(steps(), min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_concurrent_group_order_does_not_matter(group: list[Step], rng: Any) -> None:
    # Same parent, same level: the recorded order of the group must not show.
    concurrent = [s.model_copy(update={"parent": "run", "level": 0}) for s in group]
    shuffled = list(concurrent)
    rng.shuffle(shuffled)
    root = Step(step_id="run", level=0)
    first = Trace(steps=[root, *concurrent]).normalized().to_json()
    second = Trace(steps=[root, *shuffled]).normalized().to_json()
    assert first == second


@settings(max_examples=100, deadline=None)
@given(costs)
def test_cost_normalizes_to_a_plain_decimal(cost: Decimal) -> None:
    text = Trace(steps=[Step(step_id="a", cost=cost)]).normalized().to_dict()["steps"][0]["cost"]
    assert "E" not in text
    assert Decimal(text) == cost


def _golden_of(trace: Trace) -> Trace:
    """The golden ``trace`` gives, as a comparison reads it back."""
    return Trace.from_json(trace.normalized().to_json())


def layout(data: dict[str, Any], draw: st.DataObject) -> str:
    """``data`` as JSON text laid out as goldens are written, or as a hand or another tool
    might: compact, other whitespace, the steps first or between header fields."""
    kind = draw.draw(st.sampled_from(["written", "compact", "spaced", "steps first", "steps between"]), label="layout")
    if kind == "compact":
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if kind == "spaced":
        return json.dumps(data, indent="\t", separators=(" ,\r\n", " : ")) + " \n"
    if kind in ("steps first", "steps between"):
        head = {k: v for k, v in data.items() if k != "steps"}
        cut = 0 if kind == "steps first" else len(head) // 2
        items = list(head.items())
        data = dict([*items[:cut], ("steps", data.get("steps", [])), *items[cut:]])
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def golden_text(trace: Trace, draw: st.DataObject, *, normalized: bool = True) -> GoldenText:
    return GoldenText(layout((trace.normalized() if normalized else trace).to_dict(), draw), "g.trace.json")


@SETTINGS
@given(traces(), st.data())
def test_same_as_recorded_is_never_wrong(trace: Trace, data: st.DataObject) -> None:
    # The passing path of a golden comparison: True must mean equal goldens, whatever
    # file it reads (a golden, a hand-written or older-layout file, a raw export).
    from pytest_tracediff.compare.diff import same_recorded

    other = mutate(trace, data)
    equal = trace.normalized().to_json() == other.normalized().to_json()
    header = {"format": "pytest-tracediff", "version": 1}
    files = [trace.normalized().to_dict(), trace.to_dict(), {**header, **trace.model_dump(mode="json")}]
    for file in files:
        if same_recorded(GoldenText(layout(file, data), "g.trace.json"), other):
            assert equal


def test_same_as_recorded_holds_for_a_trace_and_its_golden() -> None:
    # The other half: a trace normalization leaves as it is matches its golden as recorded.
    from pytest_tracediff.compare.diff import same_recorded

    trace = Trace(
        source="run",
        status="completed",
        attributes={"env": "ci"},
        steps=[
            Step(step_id="load", input={"b": [1, 2.5, None], "a": "x"}, start=1.0, duration=0.1),
            Step(step_id="call", parent="load", attempt=2, tokens=Tokens(prompt=3), cost=Decimal("0.5")),
            Step(step_id="save", loop_index=0, status=StepStatus.FAILED, failure_class="E", error="e"),
        ],
    )
    text = trace.normalized().to_json()
    tail = text.rstrip()[:-1] + ', "source": "run"}'  # a key after the steps: read whole
    for golden in (GoldenText(text, "g"), GoldenText(tail, "g")):
        assert same_recorded(golden, trace)
        assert not same_recorded(golden, trace.model_copy(update={"status": "failed"}))
        changed = trace.model_copy(deep=True)
        changed.steps[0].input["b"][1] = 2  # 2.5 -> 2: a value, then a type (2.0 vs 2)
        assert not same_recorded(golden, changed)
        changed.steps[0].input["b"][1] = 2.5
        assert same_recorded(golden, changed)
        changed.steps[1].attempt = 1
        assert not same_recorded(golden, changed)
        assert not same_recorded(golden, trace.model_copy(update={"steps": trace.steps[:2]}))
        assert not same_recorded(golden, trace.model_copy(update={"steps": [*trace.steps, Step(step_id="x")]}))


@SETTINGS
@given(traces(), st.data())
def test_a_golden_comparison_fails_iff_the_goldens_differ(trace: Trace, data: st.DataObject) -> None:
    # What a comparison that is not equal as recorded decides: an empty diff of the
    # golden, as read, with the normalized trace.
    from pytest_tracediff.compare.diff import diff_recorded

    other = mutate(trace, data)
    if data.draw(st.booleans(), label="masked"):  # equal once masked, never as recorded
        uuids = ["8c7f3a52-1b2d-4c9e-9f0a-3e5d7c1b2a90", "0d4e6f81-2c3b-4a5d-8e7f-9a0b1c2d3e4f"]
        trace = trace.model_copy(update={"steps": [*trace.steps, Step(step_id="id", output=uuids[0])]})
        other = other.model_copy(update={"steps": [*other.steps, Step(step_id="id", output=uuids[1])]})
    actual = other.normalized()
    equal = trace.normalized().to_json() == actual.to_json()
    assert (not diff_recorded(_golden_of(trace), actual)) == equal


def one_attempt_each(trace: Trace) -> Trace:
    """``trace`` as most runs are: no retries, no concurrency, every key once (the loop
    index numbers the steps), so that a golden comparison reads it step by step."""
    steps = [s.model_copy(update={"attempt": 1, "level": None, "loop_index": i}) for i, s in enumerate(trace.steps)]
    return trace.model_copy(update={"steps": steps})


@SETTINGS
@given(traces(max_steps=8), st.data())
def test_a_golden_read_step_by_step_diffs_as_read_whole(trace: Trace, data: st.DataObject) -> None:
    # The streaming path of a failing comparison (each golden step compared with the
    # live step of its key as it is read, only those that differ kept): the very entries
    # of diffing the golden read whole, whatever changed.
    from pytest_tracediff.compare.diff import diff_golden

    trace = one_attempt_each(trace)
    other = mutate(trace, data)
    change: bool = data.draw(st.booleans(), label="and an output changed")
    if change and other.steps:
        other.steps[data.draw(st.integers(0, len(other.steps) - 1))].output = {"changed": [1.5]}
    whole = Trace.from_json(trace.normalized().to_json()).diff(other)
    assert diff_golden(golden_text(trace, data), other).to_list() == whole.to_list()


@SETTINGS
@given(traces(), st.data())
def test_diff_from_a_parsed_golden_is_the_diff_from_its_trace(trace: Trace, data: st.DataObject) -> None:
    # A failing comparison reads the golden step by step, building only the steps that
    # differ: the very entries of diffing the golden read whole, in any layout.
    from pytest_tracediff.compare.diff import diff_golden

    other = mutate(trace, data)
    whole = Trace.from_json(trace.normalized().to_json()).diff(other)
    assert diff_golden(golden_text(trace, data), other).to_list() == whole.to_list()
