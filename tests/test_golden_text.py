"""Reading a golden step by step (``model.golden_text``): what ``json.loads`` reads, or its error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_tracediff.errors import GoldenFileError
from pytest_tracediff.model.golden_text import GoldenText, UnusualLayout
from pytest_tracediff.model.trace import parse_golden

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

leaf = (
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text('ab"\\ \n\u00e9', max_size=3)
)
value = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text("ab", max_size=2), inner, max_size=2),
    max_leaves=4,
)
fields = st.dictionaries(st.sampled_from(["source", "status", "attributes", "run_id"]), value, max_size=3)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A golden's text in one of several layouts, maybe broken by one edit."""
    steps = draw(st.lists(st.dictionaries(st.sampled_from(["step_id", "output"]), value), max_size=4))
    items: list[tuple[str, Any]] = [("format", "pytest-tracediff"), ("version", 1), *draw(fields).items()]
    items.insert(draw(st.integers(0, len(items))), ("steps", steps))
    if draw(st.booleans()):
        items.append(draw(st.sampled_from([("steps", []), ("format", "other"), ("source", "again")])))
    body = ",".join(f"{json.dumps(key)}{draw(st.sampled_from([':', ' : ']))}{json.dumps(val)}" for key, val in items)
    text = "{" + body + "}"
    if draw(st.booleans()):  # the written layout (no repeated key can be made so)
        text = json.dumps(dict(items), indent=draw(st.sampled_from([None, 2, "\t"]))) + "\n"
    edit = draw(st.sampled_from(["none", "cut", "drop", "insert"]))
    if edit == "none" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    if edit == "cut":
        return text[:at]
    if edit == "drop":
        return text[:at] + text[at + 1 :]
    return text[:at] + draw(st.sampled_from(list('{}[],:"0a \n'))) + text[at:]


def read(text: str) -> dict[str, Any]:
    """The file as a comparison reads it: head and steps, or the whole parse."""
    golden = GoldenText(text, "g.trace.json")
    try:
        steps = list(golden.steps())
    except UnusualLayout:
        return golden.parsed()
    assert [golden.at(start) for _, start in steps] == [step for step, _ in steps]
    out = dict(golden.head)
    if steps or '"steps"' in text:
        out["steps"] = [step for step, _ in steps]
    return out


@SETTINGS
@given(texts())
def test_reads_what_json_loads_reads_or_fails_with_its_error(text: str) -> None:
    try:
        expected: dict[str, Any] | str = parse_golden(text, "g.trace.json")
    except GoldenFileError as exc:
        expected = str(exc)
    try:
        got: dict[str, Any] | str = read(text)
    except GoldenFileError as exc:
        got = str(exc)
    if isinstance(expected, dict) and isinstance(got, dict):
        expected.setdefault("steps", [])
        got.setdefault("steps", [])
    assert got == expected


def test_a_written_golden_is_read_step_by_step() -> None:
    text = json.dumps(
        {"format": "pytest-tracediff", "version": 1, "source": "s", "steps": [{"step_id": "a"}, {"step_id": "b"}]},
        indent=2,
    )
    golden = GoldenText(text, "g.trace.json")
    assert golden.data is None
    assert golden.head == {"format": "pytest-tracediff", "version": 1, "source": "s"}
    assert [step for step, _ in golden.steps()] == [{"step_id": "a"}, {"step_id": "b"}]


@pytest.mark.parametrize(
    "text",
    [
        '{"steps": [], "format": "pytest-tracediff", "version": 1}',  # the header after the steps
        '{"format": "pytest-tracediff", "format": "pytest-tracediff", "version": 1, "steps": []}',  # a key twice
    ],
)
def test_other_layouts_are_parsed_whole(text: str) -> None:
    golden = GoldenText(text, "g.trace.json")
    assert golden.data == json.loads(text)
    with pytest.raises(UnusualLayout):
        list(golden.steps())


def test_a_key_after_the_steps_is_found_at_the_end() -> None:
    golden = GoldenText('{"format": "pytest-tracediff", "version": 1, "steps": [{"step_id": "a"}], "source": "s"}', "g")
    with pytest.raises(UnusualLayout):
        list(golden.steps())
    assert golden.parsed()["source"] == "s"


def test_a_break_after_the_header_is_the_json_error_naming_the_file() -> None:
    golden = GoldenText(
        '{"format": "pytest-tracediff", "version": 1, "steps": [{"step_id": "a"}, {"step', "g.trace.json"
    )
    steps = golden.steps()
    assert next(steps)[0] == {"step_id": "a"}
    with pytest.raises(GoldenFileError, match=r"g\.trace\.json is not valid JSON \(Unterminated string"):
        next(steps)
