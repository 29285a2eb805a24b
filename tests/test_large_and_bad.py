"""Large traces (truncation with a marker) and hostile payloads: clear errors or stable data."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_tracediff import GoldenFileError, NormalizeOptions, Step, Trace, UnknownTraceError
from pytest_tracediff.normalize.truncate import truncate

pytest_plugins = ["pytester"]


def test_long_strings_and_lists_are_cut_with_a_marker_and_hash() -> None:
    data = {"text": "a" * 50 + "TAIL", "items": list(range(10))}
    out = truncate(data, max_string=20, max_items=3)
    assert out["text"].startswith("a" * 20 + "…<truncated 34 chars, sha256 ")
    assert out["items"][:3] == [0, 1, 2]
    assert out["items"][3].startswith("<truncated 7 items, sha256 ")
    assert len(out["items"]) == 4
    # A change past the cut still changes the golden.
    changed = truncate({"text": "a" * 50 + "TAIX", "items": [*range(9), 99]}, max_string=20, max_items=3)
    assert changed["text"] != out["text"]
    assert changed["items"][3] != out["items"][3]


def test_truncation_is_idempotent_and_off_by_default() -> None:
    options = NormalizeOptions(max_string=10, max_items=2)
    trace = Trace(steps=[Step(step_id="s", output={"t": "x" * 100, "l": [1, 2, 3, 4]}, error="e" * 40)])
    once = trace.normalized(options)
    assert once.normalized(options).to_json() == once.to_json()
    assert once.steps[0].error is not None
    assert "…<truncated 30 chars" in once.steps[0].error
    assert "x" * 100 in trace.normalized().to_json()  # no limit unless configured


def test_ini_and_marker_truncation(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntrace_snapshot_max_string = 16\n")
    pytester.makepyfile(
        """
        import pytest
        from pytest_tracediff import Trace, Step

        def test_ini(trace_snapshot):
            assert Trace(steps=[Step(step_id="s", output="y" * 1000)]) == trace_snapshot

        @pytest.mark.trace_snapshot(max_items=2)
        def test_marker(trace_snapshot):
            assert Trace(steps=[Step(step_id="s", output=list(range(100)))]) == trace_snapshot
        """
    )
    pytester.runpytest("--trace-snapshot-update").assert_outcomes(passed=2)
    folder = pytester.path / "__trace_snapshots__" / "test_ini_and_marker_truncation"
    ini_golden = (folder / "test_ini.trace.json").read_text()
    assert "y" * 17 not in ini_golden
    assert "…<truncated 984 chars, sha256" in ini_golden
    assert "<truncated 98 items, sha256" in (folder / "test_marker.trace.json").read_text()
    pytester.runpytest().assert_outcomes(passed=2)


def test_bad_limit_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntrace_snapshot_max_items = lots\n")
    pytester.makepyfile("def test_x(trace_snapshot):\n    pass\n")
    result = pytester.runpytest()
    assert "trace_snapshot_max_items must be a whole number >= 1, got 'lots'" in result.stdout.str()


class Cyclic:
    def __init__(self) -> None:
        self.me = self

    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


def _nested(depth: int) -> list[object]:
    root: list[object] = []
    node = root
    for _ in range(depth):
        child: list[object] = []
        node.append(child)
        node = child
    return root


def _cyclic_dict() -> dict[str, object]:
    d: dict[str, object] = {}
    d["self"] = d
    return d


def _cyclic_list() -> list[object]:
    lst: list[object] = []
    lst.append(lst)
    return lst


BAD_PAYLOADS: dict[str, Callable[[], object]] = {
    "cyclic dict": _cyclic_dict,
    "cyclic list": _cyclic_list,
    "repr raises": Cyclic,
    "nan and inf": lambda: {"nan": math.nan, "inf": math.inf, "-inf": -math.inf},
    "huge int": lambda: 10**20000,
    "non-string keys": lambda: {1: "a", (2, 3): "b", None: "c", 1.5: "d", frozenset({1}): "e"},
    "10 MB string": lambda: "z" * 10_000_000,
    "bytes": lambda: b"\x00\xff" * 10,
    "deep nesting": lambda: _nested(5000),
}


@pytest.mark.timeout(120)  # a hang guard, not a speed target (benchmarks/ has those)
@pytest.mark.parametrize("name", sorted(BAD_PAYLOADS))
def test_bad_payloads_give_stable_json(name: str) -> None:
    payload = BAD_PAYLOADS[name]()
    trace = Trace(steps=[Step(step_id="s", input=payload, output=payload)])
    first = trace.normalized().to_json()
    assert trace.normalized().to_json() == first  # stable
    assert Trace.from_json(first).normalized().to_json() == first  # and loadable


@pytest.mark.parametrize("obj", [object(), 3.5, [1, 2], {"no": "steps"}])
def test_unknown_objects_raise_one_clear_error(obj: object) -> None:
    with pytest.raises(UnknownTraceError, match="register_adapter"):
        Trace.from_any(obj)


def test_a_missing_file_is_a_golden_file_error_naming_it() -> None:
    with pytest.raises(GoldenFileError, match=r"missing\.trace\.json does not exist"):
        Trace.from_any(Path("missing.trace.json"))


def test_fixture_call_takes_the_marker_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_tracediff import Trace, Step

        def test_call(trace_snapshot):
            step = Step(step_id="s", output={"session": "abc-123", "blob": "q" * 50, "n": list(range(9))})
            view = trace_snapshot(name="v", redact_keys=["^session$"], max_string=12, max_items=2)
            assert Trace(steps=[step]) == view
        """
    )
    pytester.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    golden = pytester.path / "__trace_snapshots__" / "test_fixture_call_takes_the_marker_options"
    text = (golden / "test_call[v].trace.json").read_text()
    assert "abc-123" not in text
    assert "<redacted>" in text
    assert "…<truncated 38 chars" in text
    assert "<truncated 7 items" in text
    pytester.runpytest().assert_outcomes(passed=1)
