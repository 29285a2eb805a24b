"""Every golden the plugin writes can be read back, says the same thing under every hash
seed, and holds the whole value (issue 12: unreadable goldens, numpy, hash seeds)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_tracediff import Step, StepStatus, Tokens, Trace
from pytest_tracediff.errors import GoldenFileError, UnstorableTraceError
from pytest_tracediff.model.canonical import canonical
from pytest_tracediff.normalize import normalize

numpy: Any
try:  # imported once, here: numpy cannot be imported again after pytester's in-process runs
    numpy = importlib.import_module("numpy")
except ImportError:  # the tests that need it skip
    numpy = None

pytest_plugins = ["pytester"]
needs_numpy = pytest.mark.skipif(numpy is None, reason="numpy is not installed (the test extra has it)")

UPDATE = "--trace-snapshot-update"


def round_trip(trace: Trace) -> Trace:
    text = normalize(trace).to_json()
    back = Trace.from_json(text)
    assert back.to_json() == text
    return back


# -- values a golden cannot hold: one clear error naming the step and field -----------


def test_a_nan_cost_is_refused_with_the_step_and_field_named() -> None:
    trace = Trace(steps=[Step(step_id="llm")])
    trace.steps[0].cost = Decimal("NaN")  # assignment is not validated (as a recorder step allows)
    with pytest.raises(UnstorableTraceError) as info:
        normalize(trace).to_json()
    message = str(info.value)
    assert "step 'llm' (attempt 1)" in message
    assert "cost is NaN" in message
    assert "exclude=['cost']" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [("tokens", Tokens(prompt=10**5000)), ("attempt", 10**5000), ("loop_index", -(10**5000))],
    ids=["tokens", "attempt", "loop_index"],
)
def test_an_int_over_4300_digits_is_refused_with_the_field_named(field: str, value: Any) -> None:
    trace = Trace(steps=[Step(step_id="llm")])
    setattr(trace.steps[0], field, value)
    with pytest.raises(UnstorableTraceError, match=rf"step 'llm' .*: {field}\S* has 5001 digits"):
        normalize(trace).to_json()


def test_a_payload_int_over_4300_digits_is_stored_as_a_marker() -> None:
    back = round_trip(Trace(steps=[Step(step_id="s", output=10**5000)]))
    assert back.steps[0].output == "<int of 16610 bits>"


def test_a_nan_cost_in_a_recorded_step_fails_the_test_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from decimal import Decimal

        def test_nan(trace_recorder, trace_snapshot):
            with trace_recorder.step("llm") as step:
                step.cost = Decimal("NaN")
            assert trace_recorder.trace == trace_snapshot
        """
    )
    result = pytester.runpytest(UPDATE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*UnstorableTraceError: step 'llm' (attempt 1): cost is NaN*"])
    assert not list(pytester.path.rglob("*.trace.json"))  # nothing unreadable was written


# -- lone surrogates (surrogateescape'd file names, broken decoders) are stored escaped ----


def test_lone_surrogates_are_stored_escaped_and_read_back() -> None:
    step = Step(
        step_id="read",
        status=StepStatus.FAILED,
        error="No such file: 'caf\udce9.txt'",
        output={"name\ud800": ["a\udfffb", "ok"]},
        model="m\ud83d",
    )
    back = round_trip(Trace(source="s\ud800", steps=[step]))
    assert back.steps[0].error == "No such file: 'caf\\udce9.txt'"
    assert back.steps[0].output == {"name\\ud800": ["a\\udfffb", "ok"]}
    assert back.steps[0].model == "m\\ud83d"
    assert back.source == "s\\ud800"
    # Real characters (also astral ones) are untouched.
    assert round_trip(Trace(steps=[Step(step_id="é", output="😀 日本")])).steps[0].output == "😀 日本"


def test_a_golden_with_lone_surrogates_passes_on_the_next_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_tracediff import Trace, Step

        def test_bad_text(trace_snapshot):
            name = b"caf\\xe9.txt".decode("utf-8", "surrogateescape")
            step = Step(step_id="open", status="failed", error=f"missing {name}", output={name: 1})
            assert Trace(steps=[step]) == trace_snapshot
        """
    )
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)


# -- deep goldens ----------------------------------------------------------------------


def _deep_golden(depth: int) -> str:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    body = {"format": "pytest-tracediff", "version": 1, "source": "x", "steps": [{"step_id": "a", "output": "X"}]}
    # json.dumps itself recurses: build the nesting as text.
    return json.dumps(body).replace('"X"', "[" * depth + "1" + "]" * depth)


def test_a_golden_nested_too_deeply_to_parse_is_a_golden_file_error(tmp_path: Path) -> None:
    golden = tmp_path / "deep.trace.json"
    golden.write_text(_deep_golden(900))  # deeper than the plugin writes, still readable
    assert normalize(Trace.load(golden)).steps[0].output is not None
    golden.write_text(_deep_golden(10_000))
    with pytest.raises(GoldenFileError, match=r"deep\.trace\.json nests deeper than"):
        Trace.load(golden)


def test_a_deep_golden_fails_its_test_without_a_recursion_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_deep_golden="""
        from pytest_tracediff import Trace, Step

        def test_deep(trace_snapshot):
            assert Trace(steps=[Step(step_id="a", output=1)]) == trace_snapshot
        """
    )
    folder = pytester.path / "__trace_snapshots__" / "test_deep_golden"
    folder.mkdir(parents=True)
    (folder / "test_deep.trace.json").write_text(_deep_golden(10_000))
    result = pytester.runpytest("-p", "no:cacheprovider", "test_deep_golden.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_deep.trace.json nests deeper than*"])
    assert "RecursionError" not in result.stdout.str()


def test_the_deepest_payload_the_plugin_writes_reads_back() -> None:
    value: Any = 1
    for _ in range(5000):
        value = [value]
    round_trip(Trace(steps=[Step(step_id="s", output=value, attributes={"a": value})]))


# -- numpy and other array-likes: stored whole ---------------------------------------------


@needs_numpy
def test_a_large_numpy_array_is_stored_whole() -> None:
    np = numpy
    before = np.arange(5000)
    after = before.copy()
    after[2500] = -1
    assert canonical(before) == list(range(5000))
    assert canonical(before) != canonical(after)
    assert canonical({"m": np.eye(2), "i": np.int64(3), "b": np.bool_(True)}) == {
        "b": True,
        "i": 3,
        "m": [[1.0, 0.0], [0.0, 1.0]],
    }


@needs_numpy
def test_a_changed_element_of_a_large_array_fails_the_golden(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os
        import numpy as np
        from pytest_tracediff import Trace, Step

        def test_array(trace_snapshot):
            data = np.arange(5000)
            if os.environ.get("CHANGE"):
                data[2500] = -1
            assert Trace(steps=[Step(step_id="embed", output=data)]) == trace_snapshot
        """
    )
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)
    os.environ["CHANGE"] = "1"
    try:
        result = pytester.runpytest()
    finally:
        del os.environ["CHANGE"]
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*output*2500*-1*"])


class OnlyArray:
    """An array-like that offers only the numpy protocol."""

    def __init__(self, values: list[int]) -> None:
        self.values = values

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        assert numpy is not None
        return numpy.array(self.values)

    def __repr__(self) -> str:
        return "OnlyArray(...)"


class OnlyToList:
    """An array-like with ``tolist`` alone (``array.array``, tensors)."""

    def tolist(self) -> list[int]:
        return list(range(2000))

    def __repr__(self) -> str:
        return "OnlyToList(...)"


class LyingToList:
    """``tolist`` that does not return data: not an array-like, kept as its repr."""

    def tolist(self) -> object:
        return self

    def __repr__(self) -> str:
        return "LyingToList()"


def test_array_likes_are_stored_through_tolist_or_the_array_protocol() -> None:
    import array

    assert canonical(OnlyToList()) == list(range(2000))
    assert canonical(array.array("i", [3, 1, 2])) == [3, 1, 2]
    assert canonical(LyingToList()) == "LyingToList()"
    if numpy is not None:
        assert canonical(OnlyArray([1, 2, 3])) == [1, 2, 3]


# -- hash-seed-independent goldens ------------------------------------------------------------

SEED_PROBE = """
import sys
from types import SimpleNamespace
from pytest_tracediff.model.canonical import canonical, canonical_json
tags = {f"tag{i}" for i in range(20)}
payload = {"ns": SimpleNamespace(tags=tags, n=1), "nested": [SimpleNamespace(s=frozenset(tags))]}
print(canonical_json(canonical(payload)))
"""


@pytest.mark.slow
def test_namespace_payloads_give_the_same_golden_under_every_hash_seed() -> None:
    outputs = {
        subprocess.run(
            [sys.executable, "-c", SEED_PROBE],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outputs) == 1, outputs


def test_a_namespace_is_stored_as_its_fields() -> None:
    assert canonical(SimpleNamespace(tags={"b", "a"}, n=1)) == {"n": 1, "tags": ["a", "b"]}


# -- the invariant: whatever the plugin writes, it reads back ----------------------------------

# st.characters() never yields lone surrogates; they are drawn on their own.
TEXT = st.lists(st.integers(0xD800, 0xDFFF).map(chr) | st.characters(), max_size=8).map("".join)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.decimals())
PAYLOAD = st.recursive(
    LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(TEXT, children, max_size=3),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    step_id=TEXT.filter(bool),
    error=st.none() | TEXT,
    model=st.none() | TEXT,
    output=PAYLOAD,
    attributes=st.dictionaries(TEXT, PAYLOAD, max_size=3),
    cost=st.none() | st.decimals(allow_nan=False, allow_infinity=False),
    tokens=st.none() | st.builds(Tokens, prompt=st.none() | st.integers(0, 10**12)),
)
def test_every_golden_the_plugin_writes_reads_back_the_same(
    step_id: str, error: str | None, model: str | None, output: Any, attributes: dict[str, Any], **rest: Any
) -> None:
    step = Step(step_id=step_id, error=error, model=model, output=output, attributes=attributes, **rest)
    round_trip(Trace(steps=[step]))
