"""Trace.diff: the right kind of entry, on the right step and path, and nothing else."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pytest_tracediff import DiffEntry, Step, StepRef, StepStatus, Tokens, Trace, TraceDiff
from pytest_tracediff.compare.diff import diff_golden
from pytest_tracediff.compare.entries import ABSENT
from pytest_tracediff.model.golden_text import GoldenText


def trace(*steps: Step, **fields: Any) -> Trace:
    fields.setdefault("source", "test")
    fields.setdefault("status", "completed")
    return Trace(steps=list(steps), **fields)


def only(diff: TraceDiff) -> DiffEntry:
    assert len(diff) == 1, diff.render()
    return diff.entries[0]


CART = {"items": [{"sku": f"s{i}", "price": 1.0 + i} for i in range(3)] + [{"sku": "s3", "price": 9.99}]}


# -- one entry of each kind ---------------------------------------------------


def test_step_added() -> None:
    a = trace(Step(step_id="load"), Step(step_id="save"))
    b = trace(Step(step_id="load"), Step(step_id="check", output={"ok": True}), Step(step_id="save"))
    entry = only(a.diff(b))
    assert entry.kind == "step_added"
    assert entry.step == StepRef("check", 1)
    assert entry.expected is ABSENT
    assert entry.actual == {"status": "completed", "attempts": 1, "output": {"ok": True}}


def test_step_removed() -> None:
    a = trace(Step(step_id="load"), Step(step_id="check", parent="p", status=StepStatus.FAILED, error="x"))
    b = trace(Step(step_id="load"))
    entry = only(a.diff(b))
    assert entry.kind == "step_removed"
    assert entry.step == StepRef("check", 1, parent="p")
    assert entry.expected == {"status": "failed", "attempts": 1, "error": "x"}
    assert entry.actual is ABSENT


FAILED = StepStatus.FAILED

# (expected trace, actual trace, the one entry as (kind, step, path, expected, actual))
ONE_ENTRY: dict[str, tuple[Trace, Trace, tuple[str, StepRef | None, str, Any, Any]]] = {
    "status": (
        trace(Step(step_id="charge")),
        trace(Step(step_id="charge", status=StepStatus.SKIPPED)),
        ("status_changed", StepRef("charge", 1), "status", "completed", "skipped"),
    ),
    "run status": (
        trace(status="completed"),
        trace(status="failed"),
        ("status_changed", None, "status", "completed", "failed"),
    ),
    "attempt count": (
        trace(Step(step_id="call", status=FAILED, error="flaky"), Step(step_id="call", attempt=2, output="ok")),
        trace(Step(step_id="call", output="ok")),
        ("attempts_changed", StepRef("call", 1), "attempts", 2, 1),
    ),
    # Same number of attempts, numbered differently: the goldens differ, so must the diff.
    "attempt number": (
        trace(Step(step_id="call", attempt=1)),
        trace(Step(step_id="call", attempt=2)),
        ("attempts_changed", StepRef("call", 2), "attempt", 1, 2),
    ),
    "error": (
        trace(Step(step_id="io", status=FAILED, failure_class="OSError", error="disk full")),
        trace(Step(step_id="io", status=FAILED, failure_class="OSError", error="denied")),
        ("error_changed", StepRef("io", 1), "error", "disk full", "denied"),
    ),
    "failure class": (
        trace(Step(step_id="io", status=FAILED, failure_class="OSError")),
        trace(Step(step_id="io", status=FAILED, failure_class="ValueError")),
        ("error_changed", StepRef("io", 1), "failure_class", "OSError", "ValueError"),
    ),
    "error appearing": (
        trace(Step(step_id="io")),
        trace(Step(step_id="io", error="late warning")),
        ("error_changed", StepRef("io", 1), "error", ABSENT, "late warning"),
    ),
    "input": (
        trace(Step(step_id="search", input={"query": "cats", "limit": 10})),
        trace(Step(step_id="search", input={"query": "dogs", "limit": 10})),
        ("input_changed", StepRef("search", 1), "input.query", "cats", "dogs"),
    ),
}


@pytest.mark.parametrize("case", list(ONE_ENTRY))
def test_one_change_is_one_entry_of_its_kind(case: str) -> None:
    expected, actual, want = ONE_ENTRY[case]
    entry = only(expected.diff(actual))
    assert (entry.kind, entry.step, entry.path, entry.expected, entry.actual) == want


def test_output_changed_names_the_exact_path() -> None:
    changed = json.loads(json.dumps(CART))
    changed["items"][3]["price"] = 19.99
    a = trace(Step(step_id="load_cart", parent="checkout", output=CART))
    b = trace(Step(step_id="load_cart", parent="checkout", output=changed))
    entry = only(a.diff(b))
    assert entry.kind == "output_changed"
    assert entry.step == StepRef("load_cart", 1, parent="checkout")
    assert entry.path == "output.items[3].price"
    assert entry.expected == 9.99
    assert entry.actual == 19.99


def test_output_key_added_and_removed() -> None:
    a = trace(Step(step_id="s", output={"keep": 1, "old": 2}))
    b = trace(Step(step_id="s", output={"keep": 1, "new": 3}))
    entries = {e.path: (e.expected, e.actual) for e in a.diff(b)}
    assert entries == {"output.new": (ABSENT, 3), "output.old": (2, ABSENT)}


def test_output_path_quotes_keys_that_are_not_identifiers() -> None:
    a = trace(Step(step_id="s", output={"unit price": 1}))
    b = trace(Step(step_id="s", output={"unit price": 2}))
    assert only(a.diff(b)).path == 'output["unit price"]'


def test_output_type_changed() -> None:
    a = trace(Step(step_id="s", output={"v": [1, 2]}))
    b = trace(Step(step_id="s", output={"v": "1,2"}))
    entry = only(a.diff(b))
    assert (entry.path, entry.expected, entry.actual) == ("output.v", [1, 2], "1,2")


@pytest.mark.parametrize(
    ("field", "before", "after", "path"),
    [
        ("attributes", {"host": "a"}, {"host": "b"}, "attributes.host"),
        ("model", "gpt-4o", "gpt-4o-mini", "model"),
        ("tokens", Tokens(prompt=10, total=12), Tokens(prompt=11, total=12), "tokens.prompt"),
    ],
)
def test_attribute_changed(field: str, before: Any, after: Any, path: str) -> None:
    a = trace(Step(step_id="llm", **{field: before}))
    b = trace(Step(step_id="llm", **{field: after}))
    entry = only(a.diff(b))
    assert (entry.kind, entry.path) == ("attribute_changed", path)
    assert entry.step == StepRef("llm", 1)


def test_cost_changed() -> None:
    a = trace(Step(step_id="llm", cost=Decimal("0.10")))
    b = trace(Step(step_id="llm", cost=Decimal("0.12")))
    entry = only(a.diff(b))
    assert (entry.kind, entry.path, entry.expected, entry.actual) == (
        "attribute_changed",
        "cost",
        "0.1",
        "0.12",
    )


def test_run_level_changes() -> None:
    a = Trace(source="one", attributes={"env": "ci"})
    b = Trace(source="two", attributes={"env": "dev"})
    assert [(e.kind, e.step, e.path, e.expected, e.actual) for e in a.diff(b)] == [
        ("attribute_changed", None, "source", "one", "two"),
        ("attribute_changed", None, "attributes.env", "ci", "dev"),
    ]


def test_loop_index_is_part_of_the_step() -> None:
    a = trace(*(Step(step_id="item", loop_index=i, output=i) for i in range(3)))
    b = trace(*(Step(step_id="item", loop_index=i, output=i) for i in (0, 2)))
    entry = only(a.diff(b))
    assert entry.kind == "step_removed"
    assert entry.step == StepRef("item", 1, loop_index=1)
    assert str(entry.step) == "item[1] (attempt 1)"


def test_direction_is_expected_to_actual() -> None:
    small, big = trace(Step(step_id="a")), trace(Step(step_id="a"), Step(step_id="b"))
    assert only(small.diff(big)).kind == "step_added"
    assert only(big.diff(small)).kind == "step_removed"


# -- alignment: one change, one entry -----------------------------------------


def fifty(ids: list[str]) -> list[Step]:
    return [Step(step_id=ids[i % len(ids)], input={"i": i}, output={"n": i * 3}) for i in range(50)]


STEP_ID_CYCLES = {
    "unique": [f"step_{i}" for i in range(50)],
    "cycling": ["fetch", "parse", "embed", "store", "log"],
    "all-same": ["fetch"],
}


@pytest.mark.parametrize("ids", list(STEP_ID_CYCLES.values()), ids=list(STEP_ID_CYCLES))
@pytest.mark.parametrize("position", [0, 1, 24, 49, 50])
@pytest.mark.parametrize("new_id", ["audit", "fetch"])
def test_one_inserted_step_is_one_entry(ids: list[str], position: int, new_id: str) -> None:
    steps = fifty(ids)
    inserted = Step(step_id=new_id, input={"i": -1}, output={"extra": True})
    a = Trace(steps=steps)
    b = Trace(steps=[*steps[:position], inserted, *steps[position:]])
    entry = only(a.diff(b))
    assert entry.kind == "step_added"
    repeated = any(s.step_id == new_id for s in steps)  # then labelled by occurrence: "fetch #3"
    occurrence = 1 + sum(s.step_id == new_id for s in steps[:position]) if repeated else None
    assert entry.step == StepRef(new_id, 1)
    assert entry.step is not None
    assert entry.step.occurrence == occurrence
    assert entry.actual["output"] == {"extra": True}


@pytest.mark.parametrize("ids", list(STEP_ID_CYCLES.values()), ids=list(STEP_ID_CYCLES))
@pytest.mark.parametrize("position", [0, 17, 49])
def test_one_removed_step_is_one_entry(ids: list[str], position: int) -> None:
    steps = fifty(ids)
    b = Trace(steps=[*steps[:position], *steps[position + 1 :]])
    entry = only(Trace(steps=steps).diff(b))
    assert entry.kind == "step_removed"
    assert entry.expected["output"] == {"n": position * 3}


@pytest.mark.parametrize("ids", list(STEP_ID_CYCLES.values()), ids=list(STEP_ID_CYCLES))
def test_one_changed_output_in_a_long_trace_is_one_entry(ids: list[str]) -> None:
    steps = fifty(ids)
    changed = [*steps[:30], steps[30].model_copy(update={"output": {"n": -1}}), *steps[31:]]
    entry = only(Trace(steps=steps).diff(Trace(steps=changed)))
    assert (entry.kind, entry.path, entry.expected, entry.actual) == ("output_changed", "output.n", 90, -1)


def test_insertion_and_change_together_give_two_entries() -> None:
    steps = fifty(["fetch"])
    actual = [*steps[:10], Step(step_id="fetch", output="new"), *steps[10:]]
    actual[40] = actual[40].model_copy(update={"output": {"n": 0}})
    diff = Trace(steps=steps).diff(Trace(steps=actual))
    assert diff.counts() == {"step_added": 1, "output_changed": 1}
    changed = next(e for e in diff if e.kind == "output_changed")
    assert (changed.expected, changed.actual) == (39 * 3, 0)


def test_volatile_differences_give_no_entries() -> None:
    a = trace(Step(step_id="a", start=1.0, duration=2.0, span_id="x", output="0x7f3a12345678"))
    b = trace(Step(step_id="a", start=5.0, duration=0.1, span_id="y", output="0x7f3a87654321"))
    assert not a.diff(b)
    assert a == b


# -- TraceDiff behaviour -------------------------------------------------------


def test_equal_traces_give_a_falsy_diff() -> None:
    a = trace(Step(step_id="a", output=CART))
    b = Trace.from_json(a.to_json())
    diff = a.diff(b)
    assert not diff
    assert len(diff) == 0
    assert list(diff) == []
    assert diff.summary() == "no changes"
    assert diff.render() == "no changes"
    assert diff.to_list() == []
    assert repr(diff) == "<TraceDiff no changes>"


def test_different_traces_give_a_truthy_diff() -> None:
    diff = trace(Step(step_id="a")).diff(trace(Step(step_id="b")))
    assert diff
    assert diff.counts() == {"step_added": 1, "step_removed": 1}


def two_changes() -> TraceDiff:
    a = trace(Step(step_id="load", output=CART), Step(step_id="pay"))
    changed = json.loads(json.dumps(CART))
    changed["items"][3]["price"] = 19.99
    b = trace(Step(step_id="load", output=changed), Step(step_id="audit"), Step(step_id="pay"))
    return a.diff(b)


def test_render_starts_with_the_summary() -> None:
    diff = two_changes()
    lines = diff.render().splitlines()
    assert lines[0] == "2 changes: 1 step added, 1 output changed"
    assert diff.summary() == lines[0]
    assert repr(diff) == "<TraceDiff 2 changes: 1 step added, 1 output changed>"


def test_render_names_each_change() -> None:
    text = two_changes().render()
    assert "output changed: load (attempt 1)" in text
    assert "output.items[3].price: 9.99 -> 19.99" in text
    assert "step added: audit (attempt 1)" in text


def test_summary_plurals() -> None:
    a = trace(Step(step_id="a", output=1), Step(step_id="b", output=2))
    b = trace(Step(step_id="a", output=3), Step(step_id="b", output=4), Step(step_id="c"), Step(step_id="d"))
    assert a.diff(b).summary() == "4 changes: 2 steps added, 2 outputs changed"
    assert trace().diff(trace(Step(step_id="x"))).summary() == "1 change: 1 step added"


def test_render_verbose_shows_whole_payloads() -> None:
    long_text = "word " * 60
    a = trace(Step(step_id="gen", output={"text": long_text, "n": 1}))
    b = trace(Step(step_id="gen", output={"text": long_text, "n": 2}), Step(step_id="big", output=long_text))
    short = a.diff(b).render()
    full = a.diff(b).render(verbose=True)
    assert long_text not in short
    assert "..." in short
    assert json.dumps(long_text) in full
    assert full.splitlines()[0] == short.splitlines()[0] == "2 changes: 1 step added, 1 output changed"


def test_to_list_is_json_serializable() -> None:
    a = trace(
        Step(step_id="a", output={"x": 1}, cost=Decimal("0.5"), tokens=Tokens(prompt=1)),
        Step(step_id="gone", parent="p", loop_index=2),
    )
    b = trace(
        Step(step_id="a", output={"x": 2}, cost=Decimal("0.75"), tokens=Tokens(prompt=2)),
        Step(step_id="new"),
        attributes={"k": "v"},
    )
    ranked = json.loads(json.dumps(a.diff(b).to_list()))
    # Most important first: what ran, then outputs, then attributes, then cost and tokens.
    assert [(d["kind"], d["path"], d["rank"], d["echo_group"]) for d in sorted(ranked, key=lambda d: d["rank"])] == [
        ("step_removed", "", 1, 1),
        ("step_added", "", 2, 2),
        ("output_changed", "output.x", 3, 3),
        ("attribute_changed", "attributes.k", 4, 4),
        ("attribute_changed", "cost", 5, 5),
        ("attribute_changed", "tokens.prompt", 6, 6),
    ]
    data = [{k: v for k, v in d.items() if k not in ("rank", "echo_group")} for d in ranked]
    assert {
        "kind": "output_changed",
        "step": {"id": "a", "attempt": 1},
        "path": "output.x",
        "expected": 1,
        "actual": 2,
    } in data
    assert {
        "kind": "step_removed",
        "step": {"id": "gone", "attempt": 1, "parent": "p", "loop_index": 2},
        "path": "",
        "expected": {"status": "completed", "attempts": 1},
        "actual": None,
    } in data
    assert {"kind": "attribute_changed", "step": None, "path": "attributes.k", "expected": None, "actual": "v"} in data
    assert [d["kind"] for d in data].count("attribute_changed") == 3  # cost, tokens, run attributes


@pytest.mark.parametrize(
    ("before", "after"),
    [(1, 1.0), (1, True), (1.0, True), (0, False), ([1], [1.0]), ({"v": 1}, {"v": True})],
)
def test_int_float_and_bool_are_different(before: Any, after: Any) -> None:
    a = trace(Step(step_id="s", output=before))
    b = trace(Step(step_id="s", output=after))
    assert before == after  # equal in Python...
    diff = a.diff(b)
    assert len(diff) == 1  # ...but not in a golden
    entry = diff[0]
    assert entry.kind == "output_changed"
    assert repr(entry.expected) != repr(entry.actual)
    assert a != b


def test_int_float_change_deep_in_a_payload_names_the_path() -> None:
    a = trace(Step(step_id="s", output={"rows": [{"qty": 1}]}))
    b = trace(Step(step_id="s", output={"rows": [{"qty": 1.0}]}))
    entry = only(a.diff(b))
    assert entry.path == "output.rows[0].qty"
    assert type(entry.expected) is int
    assert type(entry.actual) is float


def test_diff_entries_support_indexing_and_slicing() -> None:
    diff = two_changes()
    assert diff[0] is diff.entries[0]
    assert diff[-1] is diff.entries[1]
    assert list(diff[0:1]) == [diff.entries[0]]


def test_a_parsed_golden_builds_only_the_steps_that_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_tracediff.compare import diff as diff_module
    from pytest_tracediff.errors import GoldenFileError

    built: list[str] = []
    real = diff_module._golden_step

    def counting(data: Any, index: int, origin: str) -> Step:
        built.append(data["step_id"])
        return real(data, index, origin)

    monkeypatch.setattr(diff_module, "_golden_step", counting)
    trace = Trace(steps=[Step(step_id=f"s{i}", output=i) for i in range(500)])
    golden = trace.normalized().to_dict()
    changed = trace.model_copy(deep=True)
    changed.steps[3].output = 30
    del changed.steps[7]
    diff = diff_module.diff_golden(GoldenText(json.dumps(golden), "g.trace.json"), changed)
    assert [(e.kind, e.path) for e in diff] == [("output_changed", "output"), ("step_removed", "")]
    assert built == ["s3", "s7"]

    golden["steps"][1]["status"] = "exploded"  # a hand edit: read, so named
    with pytest.raises(GoldenFileError, match=r"g\.trace\.json has an invalid field steps\.1\.status"):
        diff_module.diff_golden(GoldenText(json.dumps(golden), "g.trace.json"), changed)


def test_a_golden_read_step_by_step_diffs_as_the_golden_read_whole_when_keys_cross() -> None:
    # Keys that moved past a long unchanged run: the gap before it holds no common key and
    # is too big for an LCS. Its steps were paired in order, each with a step of another
    # key, and equal contents hid the change. The moved golden steps are read again.
    def trace(*groups: list[str]) -> Trace:
        return Trace(steps=[Step(step_id=name, output=1) for group in groups for name in group])

    x, a, y = ([f"{p}{i}" for i in range(n)] for p, n in (("x", 1500), ("a", 1501), ("y", 1500)))
    golden, live = trace(x, a, y), trace(y, a, x)
    text = golden.normalized().to_json()
    entries = diff_golden(GoldenText(text, "g.trace.json"), live).to_list()
    assert entries == Trace.from_json(text).diff(live).to_list()
    assert {entry["kind"] for entry in entries} >= {"step_added", "step_removed"}
