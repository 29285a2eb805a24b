"""Normalization: volatile data out, payloads canonical, concurrent steps in one order."""

from __future__ import annotations

import itertools
import json
import tempfile
from decimal import Decimal
from typing import Any

import pytest

from pytest_tracediff import NormalizeOptions, Step, StepStatus, Tokens, Trace
from pytest_tracediff.normalize import canonical_order

TMP = tempfile.gettempdir()


def steps_of(trace: Trace) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = trace.to_dict()["steps"]
    return steps


def order(trace: Trace) -> list[tuple[str, Any]]:
    return [(step.path, step.input) for step in trace.steps]


# -- volatile fields ----------------------------------------------------------


def test_volatile_fields_are_dropped() -> None:
    trace = Trace(
        source="test",
        run_id="run-1",
        start=100.0,
        duration=2.0,
        steps=[
            Step(
                step_id="a",
                start=100.5,
                duration=0.25,
                span_id="s1",
                parent_span_id="s0",
                level=0,
                output=1,
            )
        ],
    )
    data = trace.normalized().to_dict()
    assert data == {
        "format": "pytest-tracediff",
        "version": 1,
        "source": "test",
        "steps": [{"step_id": "a", "attempt": 1, "status": "completed", "output": 1}],
    }


def test_runs_differing_only_in_volatile_fields_normalize_identically() -> None:
    first = Trace(
        run_id="r1",
        start=1.0,
        duration=5.0,
        steps=[Step(step_id="a", start=1.0, duration=0.1, span_id="x", level=3, output="ok")],
    )
    second = Trace(
        run_id="r2",
        start=99.0,
        duration=0.5,
        steps=[Step(step_id="a", start=98.0, duration=7.0, span_id="y", level=0, output="ok")],
    )
    assert first.to_json() != second.to_json()
    assert first.normalized().to_json() == second.normalized().to_json()


def test_normalize_does_not_modify_the_original() -> None:
    step = Step(step_id="a", start=1.0, span_id="s", level=1, input={"id": "0x7f3a12345678"})
    trace = Trace(run_id="r", steps=[step])
    trace.normalized()
    assert trace.run_id == "r"
    assert trace.steps[0].start == 1.0
    assert trace.steps[0].level == 1
    assert trace.steps[0].input == {"id": "0x7f3a12345678"}


def test_status_is_lowercased() -> None:
    assert Trace(status="COMPLETED").normalized().status == "completed"
    assert Trace(status=None).normalized().status is None


# -- masking -----------------------------------------------------------------


UUID_TEXT = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        (f"user {UUID_TEXT} logged in", "user <uuid> logged in"),
        (UUID_TEXT.upper(), "<uuid>"),
        ("at 2024-05-06T07:08:09.123456+02:00 ok", "at <datetime> ok"),
        ("2024-05-06 07:08", "<datetime>"),
        ("2024-05-06T07:08:09Z", "<datetime>"),
        ("<Client object at 0x7f3a12345678>", "<Client object at <addr>>"),
        ("id 0xDEADBEEF", "id <addr>"),
        (f"wrote {TMP}/pytest-of-me/pytest-3/test_x0/out.json", "wrote <tmp-path>"),
        (f"'{TMP}/abc/d.txt': not found", "'<tmp-path>': not found"),
        (f"{TMP}/a", "<tmp-path>"),
    ],
)
def test_default_maskers(raw: str, masked: str) -> None:
    assert NormalizeOptions().mask(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-06",  # a date alone is not volatile
        "version 1.2.3",
        "0x1234",  # too short for an address
        "/var/data/file.txt",
        "12345678-1234-5678-1234",
        "short",
    ],
)
def test_default_maskers_leave_other_text_alone(text: str) -> None:
    assert NormalizeOptions().mask(text) == text


def test_masking_applies_to_payloads_keys_and_errors() -> None:
    step = Step(
        step_id="call",
        status=StepStatus.FAILED,
        failure_class="OSError",
        error=f"cannot open {TMP}/run-42/data.db at 2024-01-01T00:00:00",
        input={"request": UUID_TEXT, UUID_TEXT: ["obj at 0x7f3a12345678"]},
        output={"written": f"{TMP}/x/y.json"},
        attributes={"trace": UUID_TEXT},
    )
    result = steps_of(Trace(steps=[step]).normalized())[0]
    assert result["error"] == "cannot open <tmp-path> at <datetime>"
    assert result["input"] == {"<uuid>": ["obj at <addr>"], "request": "<uuid>"}
    assert result["output"] == {"written": "<tmp-path>"}
    assert result["attributes"] == {"trace": "<uuid>"}


def test_masking_applies_to_trace_attributes() -> None:
    trace = Trace(attributes={"session": UUID_TEXT})
    assert trace.normalized().attributes == {"session": "<uuid>"}


def test_two_uuid_keys_both_survive_masking() -> None:
    other = "00000000-0000-0000-0000-000000000001"
    step = Step(step_id="a", output={UUID_TEXT: 1, other: 2})
    output = steps_of(Trace(steps=[step]).normalized())[0]["output"]
    assert output == {"<uuid>": 1, "<uuid> #2": 2}


def test_extra_maskers_apply_after_defaults() -> None:
    options = NormalizeOptions(maskers=((r"order-\d+", "<order>"), (r"<uuid>", "<id>")))
    step = Step(step_id="a", output=f"order-1234 by {UUID_TEXT}", error="order-9 failed")
    result = steps_of(Trace(steps=[step]).normalized(options))[0]
    assert result["output"] == "<order> by <id>"
    assert result["error"] == "<order> failed"


def test_default_maskers_can_be_turned_off() -> None:
    options = NormalizeOptions(default_maskers=False, maskers=((r"secret", "***"),))
    step = Step(step_id="a", output=f"{UUID_TEXT} 0x7f3a12345678 secret")
    result = steps_of(Trace(steps=[step]).normalized(options))[0]
    assert result["output"] == f"{UUID_TEXT} 0x7f3a12345678 ***"


def test_merged_options_keep_both() -> None:
    options = NormalizeOptions(exclude=("cost",), maskers=((r"a+", "A"),)).merged(
        exclude=("model",), maskers=((r"b+", "B"),)
    )
    assert options.exclude == ("cost", "model")
    assert options.mask("aaa bbb") == "A B"


# -- exclusions --------------------------------------------------------------


def normalized_step(step: Step, *exclude: str) -> dict[str, Any]:
    trace = Trace(steps=[step]).normalized(NormalizeOptions(exclude=exclude))
    return steps_of(trace)[0]


def test_exclude_a_nested_output_field() -> None:
    step = Step(step_id="a", output={"x": {"y": 1, "z": 2}, "y": 3})
    assert normalized_step(step, "output.x.y")["output"] == {"x": {"z": 2}, "y": 3}


def test_exclude_with_a_wildcard_at_any_depth() -> None:
    step = Step(
        step_id="a",
        input={"request_id": "r1", "q": "cats"},
        output={"meta": {"request_id": "r2", "page": 1}, "items": [{"request_id": "r3", "n": 1}]},
        attributes={"request_id": "r4", "host": "h"},
    )
    result = normalized_step(step, "*.request_id")
    assert result["input"] == {"q": "cats"}
    assert result["output"] == {"meta": {"page": 1}, "items": [{"n": 1}]}
    assert result["attributes"] == {"host": "h"}


def test_exclude_cost() -> None:
    step = Step(step_id="a", cost=Decimal("0.25"), model="gpt")
    result = normalized_step(step, "cost")
    assert "cost" not in result
    assert result["model"] == "gpt"


def test_exclude_one_token_count() -> None:
    step = Step(step_id="a", tokens=Tokens(prompt=10, completion=5, total=15))
    assert normalized_step(step, "tokens.prompt")["tokens"] == {"completion": 5, "total": 15}


def test_exclude_all_token_counts_drops_tokens() -> None:
    step = Step(step_id="a", tokens=Tokens(prompt=10))
    assert "tokens" not in normalized_step(step, "tokens.prompt")
    assert "tokens" not in normalized_step(Step(step_id="a", tokens=Tokens(total=3)), "tokens")


def test_exclude_attribute_on_steps_and_trace() -> None:
    trace = Trace(
        attributes={"host": "box-1", "env": "ci"},
        steps=[Step(step_id="a", attributes={"host": "box-1", "retries": 0})],
    )
    data = trace.normalized(NormalizeOptions(exclude=("attributes.host",))).to_dict()
    assert data["attributes"] == {"env": "ci"}
    assert data["steps"][0]["attributes"] == {"retries": 0}


def test_exclude_whole_payloads() -> None:
    step = Step(step_id="a", input={"a": 1}, output=[1, 2], attributes={"k": "v"}, error="e")
    result = normalized_step(step, "input", "output", "attributes", "error")
    assert result == {"step_id": "a", "attempt": 1, "status": "completed"}


def test_exclude_inside_lists() -> None:
    step = Step(step_id="a", output={"items": [{"price": 1, "ts": 5}, {"price": 2, "ts": 6}]})
    result = normalized_step(step, "output.items*.ts")
    assert result["output"] == {"items": [{"price": 1}, {"price": 2}]}


def test_exclude_does_not_touch_similar_names() -> None:
    step = Step(step_id="a", output={"x": {"y": 1, "yy": 2}, "xy": 3})
    assert normalized_step(step, "output.x.y")["output"] == {"x": {"yy": 2}, "xy": 3}


# -- cost --------------------------------------------------------------------


def test_cost_trailing_zeros_do_not_matter() -> None:
    a = Trace(steps=[Step(step_id="a", cost=Decimal("0.10"))])
    b = Trace(steps=[Step(step_id="a", cost=Decimal("0.1"))])
    assert a.normalized().to_json() == b.normalized().to_json()
    assert steps_of(a.normalized())[0]["cost"] == "0.1"
    assert not a.diff(b)


@pytest.mark.parametrize(
    ("cost", "text"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("1.50E-3"), "0.0015"),
        (Decimal("100.00"), "100"),
        (Decimal("0.000"), "0"),
        (Decimal("-0.00"), "0"),
        (Decimal("-1.20"), "-1.2"),
        (0.1, "0.1"),
        (3, "3"),
    ],
)
def test_cost_is_written_without_exponent(cost: Any, text: str) -> None:
    result = steps_of(Trace(steps=[Step(step_id="a", cost=cost)]).normalized())[0]
    assert result["cost"] == text


# -- concurrent steps ------------------------------------------------------------


def concurrent_steps() -> list[Step]:
    return [
        Step(step_id="fetch", parent="run", level=0, input={"url": "a"}, output=1),
        Step(step_id="fetch", parent="run", level=0, input={"url": "b"}, output=2),
        Step(step_id="parse", parent="run", level=0, input={"url": "c"}, output=3),
        Step(step_id="fetch", parent="run", level=0, input={"url": "c"}, output=4),
    ]


def test_concurrent_steps_in_any_order_normalize_identically() -> None:
    root = Step(step_id="run", level=0)
    after = Step(step_id="store", parent="run", level=1)
    results = {
        Trace(steps=[root, *perm, after]).normalized().to_json() for perm in itertools.permutations(concurrent_steps())
    }
    assert len(results) == 1
    normalized = Trace(steps=[root, *concurrent_steps(), after]).normalized()
    assert [(s.step_id, s.input) for s in normalized.steps] == [
        ("run", None),
        ("fetch", {"url": "a"}),
        ("fetch", {"url": "b"}),
        ("fetch", {"url": "c"}),
        ("parse", {"url": "c"}),
        ("store", None),
    ]


def family(name: str, n: int) -> list[Step]:
    """A concurrent step and its child, tied by span ids as a recorder would."""
    return [
        Step(step_id=name, level=0, span_id=f"{name}{n}", input=n),
        Step(step_id="child", parent=name, level=0, parent_span_id=f"{name}{n}", input=n * 10),
    ]


def test_children_follow_their_parent_in_any_order() -> None:
    families = [family("worker", 1), family("worker", 2), family("worker", 3)]
    results = set()
    for perm in itertools.permutations(families):
        trace = Trace(steps=[step for fam in perm for step in fam])
        results.add(trace.normalized().to_json())
    assert len(results) == 1
    normalized = Trace(steps=[s for fam in reversed(families) for s in fam]).normalized()
    assert order(normalized) == [
        ("worker", 1),
        ("worker/child", 10),
        ("worker", 2),
        ("worker/child", 20),
        ("worker", 3),
        ("worker/child", 30),
    ]


def test_children_found_by_path_when_there_are_no_span_ids() -> None:
    first = [Step(step_id="a", level=0, input=1), Step(step_id="leaf", parent="a", input=2)]
    second = [Step(step_id="b", level=0, input=3), Step(step_id="leaf", parent="b", input=4)]
    one = Trace(steps=first + second).normalized().to_json()
    two = Trace(steps=second + first).normalized().to_json()
    assert one == two
    assert order(Trace.from_json(one)) == [("a", 1), ("a/leaf", 2), ("b", 3), ("b/leaf", 4)]


def test_interleaved_children_are_regrouped_under_their_parent() -> None:
    # Two overlapping steps whose children were recorded interleaved.
    steps = [
        Step(step_id="w", level=0, span_id="1", input="x"),
        Step(step_id="w", level=0, span_id="2", input="y"),
        Step(step_id="c", parent="w", level=0, parent_span_id="2", input="y1"),
        Step(step_id="c", parent="w", level=0, parent_span_id="1", input="x1"),
        Step(step_id="c", parent="w", level=1, parent_span_id="2", input="y2"),
    ]
    assert order(Trace(steps=steps).normalized()) == [
        ("w", "x"),
        ("w/c", "x1"),
        ("w", "y"),
        ("w/c", "y1"),
        ("w/c", "y2"),
    ]


def test_different_levels_keep_their_order() -> None:
    steps = [
        Step(step_id="b", level=0),
        Step(step_id="a", level=1),
    ]
    assert [s.step_id for s in Trace(steps=steps).normalized().steps] == ["b", "a"]


def test_steps_without_level_keep_their_order_exactly() -> None:
    steps = [
        Step(step_id="zeta", input=3),
        Step(step_id="alpha", input=1),
        Step(step_id="alpha", input=0),
        Step(step_id="mid", parent="zeta", input=2),
    ]
    assert canonical_order(steps) == steps
    normalized = Trace(steps=steps).normalized()
    assert order(normalized) == [("zeta", 3), ("alpha", 1), ("alpha", 0), ("zeta/mid", 2)]


def test_unleveled_steps_are_not_reordered_next_to_leveled_ones() -> None:
    steps = [
        Step(step_id="z", input=1),
        Step(step_id="b", level=0, input=2),
        Step(step_id="a", level=0, input=3),
        Step(step_id="y", input=4),
    ]
    assert [s.step_id for s in Trace(steps=steps).normalized().steps] == ["z", "a", "b", "y"]


def test_retries_of_a_concurrent_step_stay_in_attempt_order() -> None:
    steps = [
        Step(step_id="call", level=0, attempt=2, input="a"),
        Step(step_id="call", level=0, attempt=1, input="a", status=StepStatus.FAILED),
    ]
    assert [s.attempt for s in Trace(steps=steps).normalized().steps] == [1, 2]


# -- idempotence -------------------------------------------------------------


def test_normalize_is_idempotent_on_a_rich_trace() -> None:
    options = NormalizeOptions(exclude=("*.secret",), maskers=((r"tok-\w+", "<tok>"),))
    trace = Trace(
        source="x",
        status="FAILED",
        attributes={"session": UUID_TEXT},
        steps=[
            Step(step_id="a", level=0, span_id="1", input={"secret": 1, 1: "tok-1", "1": "z"}),
            Step(step_id="a", level=0, span_id="2", output=f"{TMP}/f 0x7f3a12345678"),
            Step(step_id="c", parent="a", parent_span_id="1", cost=Decimal("1.500")),
        ],
    )
    once = trace.normalized(options)
    twice = once.normalized(options)
    assert once.to_json() == twice.to_json()
    data = json.loads(once.to_json())
    assert data["attributes"] == {"session": "<uuid>"}
    # The step with a null input sorts first; the child follows its own parent.
    assert [s["step_id"] for s in data["steps"]] == ["a", "a", "c"]
    assert data["steps"][0]["output"] == "<tmp-path> <addr>"
    assert data["steps"][1]["input"] == {"1": "<tok>", "1 #2": "z"}
    assert data["steps"][2]["cost"] == "1.5"


# -- JSON text in payloads is data (jsontext.py) --------------------------------


def one_step(**fields: Any) -> Step:
    return Trace(steps=[Step(step_id="s", **fields)]).normalized().steps[0]


def test_json_text_in_payloads_is_stored_parsed() -> None:
    step = one_step(
        input='{"city": "Paris", "units": "metric"}',
        output=' [1, {"b": 2}] ',
        attributes={"gen_ai.tool.call.arguments": '{"q": "{\\"nested\\": [true]}"}'},
    )
    assert step.input == {"city": "Paris", "units": "metric"}
    assert step.output == [1, {"b": 2}]
    assert step.attributes == {"gen_ai.tool.call.arguments": {"q": {"nested": [True]}}}


@pytest.mark.parametrize(
    "text",
    ['"a quoted string"', "42", "true", "null", "[orders] Refunds open", "{'python': 'repr'}", "{}x", "[1, 2"],
)
def test_scalars_and_non_json_stay_text(text: str) -> None:
    assert one_step(output=text).output == text


def test_json_text_over_the_size_cap_stays_text() -> None:
    from pytest_tracediff.normalize.jsontext import MAX_CHARS

    big = json.dumps({"k": "x" * MAX_CHARS})
    assert one_step(output=big).output == big


def test_json_text_is_masked_and_redacted_as_data() -> None:
    text = json.dumps({"api_key": "abc123", "id": "123e4567-e89b-12d3-a456-426614174000", "path": f"{TMP}/x"})
    assert one_step(input=text).input == {"api_key": "<redacted>", "id": "<uuid>", "path": "<tmp-path>"}
    # Text that only looks like JSON is masked as text.
    broken = '{"id": "123e4567-e89b-12d3-a456-426614174000",}'
    assert one_step(input=broken).input == '{"id": "<uuid>",}'
    # A key that looks like JSON stays a key, masked like any other.
    keyed = {'{"id": "123e4567-e89b-12d3-a456-426614174000"}': 1}
    assert one_step(output=keyed).output == {'{"id": "<uuid>"}': 1}


def test_parsing_json_text_is_idempotent_and_keeps_goldens_stable() -> None:
    trace = Trace(steps=[Step(step_id="s", input=json.dumps({"m": json.dumps([{"role": "user", "content": "[x]"}])}))])
    once = trace.normalized()
    assert once.steps[0].input == {"m": [{"role": "user", "content": "[x]"}]}
    assert once.normalized() == once
    assert Trace.from_json(once.to_json()).normalized().to_json() == once.to_json()


def test_json_text_changes_diff_as_paths() -> None:
    a = Trace(steps=[Step(step_id="tool", input=json.dumps({"city": "Paris", "units": "metric"}))])
    b = Trace(steps=[Step(step_id="tool", input=json.dumps({"city": "Lyon", "units": "metric"}))])
    (change,) = a.diff(b)
    assert (change.path, change.expected, change.actual) == ("input.city", "Paris", "Lyon")


# -- portable errors and paths (portable.py) ------------------------------------


def _real_traceback() -> str:
    import traceback

    def inner() -> None:
        json.loads("{broken")

    try:
        try:
            inner()
        except ValueError as exc:
            raise RuntimeError("could not read the config") from exc
    except RuntimeError:
        return traceback.format_exc()
    raise AssertionError("unreachable")


def test_tracebacks_keep_exception_lines_only() -> None:
    text = _real_traceback()
    assert 'File "' in text
    assert ", line " in text
    step = one_step(status=StepStatus.FAILED, error=text)
    assert step.error == (
        "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)\n"
        "RuntimeError: could not read the config"
    )
    assert one_step(error=step.error).error == step.error  # idempotent


def test_keep_tracebacks_keeps_frames_with_portable_paths() -> None:
    options = NormalizeOptions(keep_tracebacks=True)
    trace = Trace(steps=[Step(step_id="s", error=_real_traceback())])
    error = trace.normalized(options).steps[0].error
    assert error is not None
    assert "Traceback (most recent call last):" in error
    assert 'File "<stdlib>/json/__init__.py", line' in error
    assert trace.normalized(options).normalized(options) == trace.normalized(options)


def test_machine_paths_are_masked_and_rootdir_made_relative(tmp_path: Any) -> None:
    import os

    import _pytest

    home = os.path.expanduser("~")
    root = str(tmp_path / "project")
    options = NormalizeOptions(rootdir=root)
    text = " | ".join(
        [
            _pytest.__file__,
            json.__file__,
            f"{root}/tests/test_x.py",
            f"{home}/notes.txt",
            "/data/root/file.txt",
            "https://example.com/a/b",
        ]
    )
    step = Trace(steps=[Step(step_id="s", output={"where": text})]).normalized(options).steps[0]
    assert step.output["where"] == " | ".join(
        [
            "<site-packages>/_pytest/__init__.py",
            "<stdlib>/json/__init__.py",
            "tests/test_x.py",
            "~/notes.txt",
            "/data/root/file.txt",
            "https://example.com/a/b",
        ]
    )
    again = Trace(steps=[step]).normalized(options).steps[0]
    assert again.output == step.output


def test_default_masks_off_keeps_paths() -> None:
    options = NormalizeOptions(default_maskers=False)
    assert Trace(steps=[Step(step_id="s", output=json.__file__)]).normalized(options).steps[0].output == json.__file__
