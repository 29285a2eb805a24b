"""The payload differ (``compare/values.py``) against the DeepDiff report it replaces.

The reference below is the payload diff as it was before our own differ: DeepDiff's
tree view behind a ``repr`` equality. On canonical JSON (what normalization gives)
both must give the very same entries: kinds, paths, values (types included), order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_tracediff.compare.diff import _format_path, _value_entries
from pytest_tracediff.compare.entries import ABSENT, DiffEntry
from pytest_tracediff.compare.values import NotJson, changes, same
from pytest_tracediff.model.canonical import canonical

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the reference: DeepDiff behind a repr equality ------------------------------------


def _reference_entries(kind: str, root: str, a: Any, b: Any) -> list[DiffEntry]:
    from deepdiff import DeepDiff

    if a is b or (a == b and repr(a) == repr(b)):
        return []
    tree = DeepDiff(a, b, view="tree", verbose_level=2)
    entries: list[DiffEntry] = []
    for report in tree.values():
        for level in report:
            path = _format_path(root, level.path(output_format="list"))
            t1 = ABSENT if type(level.t1).__name__ == "NotPresent" else level.t1
            t2 = ABSENT if type(level.t2).__name__ == "NotPresent" else level.t2
            entries.append(DiffEntry(kind, None, path, t1, t2))
    if not entries:
        entries.append(DiffEntry(kind, None, root, a, b))
    entries.sort(key=lambda e: e.path)
    return entries


def _exact(entries: list[DiffEntry]) -> list[tuple[str, str, str, str]]:
    # repr tells 1, 1.0 and True apart, which DiffEntry's == does not.
    return [(e.kind, e.path, repr(e.expected), repr(e.actual)) for e in entries]


# -- canonical JSON, and values near it -------------------------------------------------

# A small alphabet and small numbers, so that equal items, shared keys and 1 / 1.0 / True
# collisions are common.
key = st.sampled_from(["a", "b", "c", "d", "0", "x y"])
leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-2, max_value=3)
    | st.sampled_from([0.0, 1.0, 1.5, -2.25])
    | st.sampled_from(["", "a", "b", "line\nbreak"])
)
value = st.recursive(
    leaf,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(key, children, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """``original`` with a few local edits: changed, inserted, removed or retyped items."""
    if draw(st.integers(0, 5)) == 0:
        return draw(value)
    if isinstance(original, list):
        items = list(original)
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from(["insert", "remove", "change", "deeper"]))
            if op == "insert":
                items.insert(draw(st.integers(0, len(items))), draw(leaf))
            elif items and op == "remove":
                del items[draw(st.integers(0, len(items) - 1))]
            elif items:
                at = draw(st.integers(0, len(items) - 1))
                items[at] = draw(leaf) if op == "change" else draw(mutated(items[at]))
        return items
    if isinstance(original, dict):
        out = dict(original)
        for _ in range(draw(st.integers(0, 3))):
            k = draw(key)
            op = draw(st.sampled_from(["set", "remove", "deeper"]))
            if op == "remove":
                out.pop(k, None)
            elif op == "deeper" and k in out:
                out[k] = draw(mutated(out[k]))
            else:
                out[k] = draw(value)
        return out
    return draw(leaf) if draw(st.booleans()) else original


@st.composite
def payload_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    a = draw(value)
    return canonical(a), canonical(draw(mutated(a)))


@SETTINGS
@given(payload_pairs())
def test_own_differ_gives_deepdiffs_entries(pair: tuple[Any, Any]) -> None:
    a, b = pair
    assert _exact(_value_entries("output_changed", None, "output", a, b)) == _exact(
        _reference_entries("output_changed", "output", a, b)
    )


@SETTINGS
@given(payload_pairs())
def test_same_is_equality_as_json(pair: tuple[Any, Any]) -> None:
    a, b = pair
    as_json = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert same(a, b) is as_json


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([1], [True]),  # difflib finds them equal: no structural change, the whole value
        ([1, 2, 3, 4, 5], [9, 1, 2, 3, 4]),  # aligned: one removed, one added
        ([1, 2, 3], [3, 4]),  # by index: fewer reports
        ([1, 2, 3, 9], [0, 1, 5, 6, 7, 9]),  # an insert, then a replaced run longer on the right
        ({"a": 1, "b": 2, "c": 3}, {"a": 1, "x": 2, "y": 3}),  # few common keys: the whole dict
        ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2.0}], "c": None}),
    ],
)
def test_known_deepdiff_readings(a: Any, b: Any) -> None:
    assert _exact(_value_entries("k", None, "v", a, b)) == _exact(_reference_entries("k", "v", a, b))


def test_key_order_and_types() -> None:
    assert same({"a": 1, "b": [1.5, None]}, {"b": [1.5, None], "a": 1})
    assert not same({"a": 1}, {"a": 1.0})
    assert not same([True], [1])
    assert not same({"a": 1}, {"a": 1, "b": 2})
    assert not same({1: "x"}, {1.0: "x"})  # equal keys of other types: compared as printed
    assert not same(-0.0, 0.0)


def test_other_objects_go_to_deepdiff() -> None:
    with pytest.raises(NotJson):
        changes({"a": (1, 2)}, {"a": (1, 3)})
    entries = _value_entries("k", None, "v", {"a": (1, 2)}, {"a": (1, 3)})
    assert _exact(entries) == _exact(_reference_entries("k", "v", {"a": (1, 2)}, {"a": (1, 3)}))


class _Ambiguous:
    """An object whose ``==`` gives something with no truth value, as numpy arrays do."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> Any:
        return self

    def __bool__(self) -> bool:
        raise ValueError("the truth value is ambiguous")

    def __repr__(self) -> str:
        return f"Ambiguous({self.value})"

    __hash__ = None  # type: ignore[assignment]


def test_objects_without_a_truth_value_are_never_the_same() -> None:
    # Not equal as recorded: the diff then compares their canonical forms.
    assert not same({"a": _Ambiguous(1)}, {"a": _Ambiguous(1)})
    assert not same([_Ambiguous(1)], [_Ambiguous(2)])


def test_a_trace_holding_numpy_arrays_diffs_by_their_values() -> None:
    np = pytest.importorskip("numpy")
    from pytest_tracediff import Step, Trace

    def trace(values: list[int]) -> Trace:
        return Trace(steps=[Step(step_id="embed", output={"vector": np.array(values)})])

    assert not trace([1, 2]).diff(trace([1, 2]))
    entry = trace([1, 2]).diff(trace([1, 3])).to_list()[0]
    assert (entry["kind"], entry["path"], entry["expected"], entry["actual"]) == (
        "output_changed",
        "output.vector[1]",
        2,
        3,
    )
