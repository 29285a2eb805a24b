"""The plugin as users meet it: real pytest runs in a temp dir (pytester)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

UPDATE = "--trace-snapshot-update"

# A small checkout pipeline whose behaviour the tests switch through variant.json.
CONFTEST = """
import json, pathlib, random, time
import pytest

def variant():
    path = pathlib.Path(__file__).with_name("variant.json")
    return json.loads(path.read_text()) if path.exists() else {}

def run_checkout(rec):
    v = variant()
    with rec.step("pipeline", input={"order": 7}):
        with rec.step("load_order") as s:
            time.sleep(random.random() / 200)  # timing jitter must never matter
            s.output = {"items": [{"sku": "a", "price": 5}, {"sku": "b", "price": v.get("price", 9.99)}]}
        if v.get("insert"):
            with rec.step("validate_address") as s:
                s.output = "ok"
        for attempt in range(1 + v.get("retries", 0)):
            try:
                with rec.step("charge_card", input={"amount": v.get("amount", 14.99)}) as s:
                    if attempt < v.get("retries", 0):
                        raise ConnectionError("gateway timeout")
                    if v.get("fail"):
                        raise ValueError("card declined")
                    s.output = {"charged": True}
                    s.attributes["gateway"] = v.get("gateway", "stripe")
                break
            except ConnectionError:
                continue
            except ValueError:
                break
        if not v.get("drop_email"):
            with rec.step("send_email") as s:
                s.output = {"sent": True}

@pytest.fixture
def checkout(trace_recorder):
    run_checkout(trace_recorder)
    return trace_recorder.trace
"""

TEST_CHECKOUT = """
def test_checkout(checkout, trace_snapshot):
    assert checkout == trace_snapshot
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shop=TEST_CHECKOUT)
    return pytester


def golden(pytester: pytest.Pytester, name: str = "test_checkout", module: str = "test_shop") -> Path:
    return pytester.path / "__trace_snapshots__" / module / f"{name}.trace.json"


def set_variant(pytester: pytest.Pytester, **variant: object) -> None:
    (pytester.path / "variant.json").write_text(json.dumps(variant))


def snapshot_bytes(pytester: pytest.Pytester) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(pytester.path.rglob("*.trace.json"))}


def test_missing_golden_fails_and_names_the_fix(project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GoldenMissingError: trace golden __trace_snapshots__/test_shop/test_checkout.trace.json"
            " does not exist. Create it with `pytest --trace-snapshot-update`*",
            "trace goldens: 1 checked: 0 matched, 1 missing",
            "  missing  __trace_snapshots__/test_shop/test_checkout.trace.json",
        ]
    )
    assert not golden(project).exists()
    assert not (project.path / "__trace_snapshots__").exists()


def test_update_creates_then_plain_runs_pass_without_touching_files(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest(UPDATE)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["trace goldens: 1 checked: 0 matched, 1 written (1 created, 0 updated)"])
    data = json.loads(golden(project).read_text())
    assert data["format"] == "pytest-tracediff"
    assert [s["step_id"] for s in data["steps"]] == [
        "pipeline",
        "load_order",
        "charge_card",
        "send_email",
    ]
    assert "duration" not in golden(project).read_text()
    before = snapshot_bytes(project)
    mtime = golden(project).stat().st_mtime_ns

    for _ in range(2):  # timing jitter and new run ids change nothing
        project.runpytest().assert_outcomes(passed=1)
    rerun = project.runpytest(UPDATE)
    rerun.assert_outcomes(passed=1)
    rerun.stdout.fnmatch_lines(["trace goldens: 1 checked: 1 matched"])
    assert snapshot_bytes(project) == before
    assert golden(project).stat().st_mtime_ns == mtime


def test_update_rewrites_changed_goldens(project: pytest.Pytester) -> None:
    project.runpytest(UPDATE).assert_outcomes(passed=1)
    set_variant(project, price=19.99)
    project.runpytest().assert_outcomes(failed=1)
    assert '"price": 9.99' in golden(project).read_text()  # never rewritten without the flag
    result = project.runpytest(UPDATE)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["trace goldens: 1 checked: 0 matched, 1 written (0 created, 1 updated)"])
    assert '"price": 19.99' in golden(project).read_text()
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("variant", "summary", "detail"),
    [
        (
            {"insert": True},
            "1 change: 1 step added",
            "+ step added: pipeline/validate_address (attempt 1)",
        ),
        (
            {"drop_email": True},
            "1 change: 1 step removed",
            "- step removed: pipeline/send_email (attempt 1)",
        ),
        ({"fail": True}, "*status changed*", 'status: "completed" -> "failed"'),
        ({"retries": 1}, "*1 attempts changed*", "attempts: 1 -> 2"),
        ({"price": 19.99}, "1 change: 1 output changed", "output.items[1].price: 9.99 -> 19.99"),
        ({"amount": 24.99}, "1 change: 1 input changed", "input.amount: 14.99 -> 24.99"),
        (
            {"gateway": "adyen"},
            "1 change: 1 attribute changed",
            'attributes.gateway: "stripe" -> "adyen"',
        ),
    ],
)
def test_each_diff_kind_is_rendered_in_the_failure(
    project: pytest.Pytester, variant: dict[str, object], summary: str, detail: str
) -> None:
    project.runpytest(UPDATE).assert_outcomes(passed=1)
    set_variant(project, **variant)
    result = project.runpytest("-vv")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*{summary}*",
            "*golden: __trace_snapshots__/test_shop/test_checkout.trace.json (if the change is intended:*",
        ]
    )
    assert detail in result.stdout.str()
    assert "'steps': [" not in result.stdout.str()  # a diff, not a dict dump


def test_error_change_is_reported(project: pytest.Pytester) -> None:
    set_variant(project, fail=True)
    project.runpytest(UPDATE).assert_outcomes(passed=1)
    project.path.joinpath("conftest.py").write_text(
        project.path.joinpath("conftest.py").read_text().replace("card declined", "insufficient funds")
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 change: 1 error changed*", '*error: "card declined" -> "insufficient funds"*'])


def test_verbose_failure_shows_whole_payloads(project: pytest.Pytester) -> None:
    project.runpytest(UPDATE).assert_outcomes(passed=1)
    set_variant(project, insert=True, price=19.99)
    short = project.runpytest().stdout.str()
    long = project.runpytest("-vv").stdout.str()
    assert "2 changes: 1 step added, 1 output changed" in short
    assert '"status": "completed"' in long
    assert long.count("\n") > short.count("\n")


def test_trace_equality_failure_shows_a_diff(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_tracediff import Trace, Step

        def test_two_runs():
            baseline = Trace(steps=[Step(step_id="a", output=1), Step(step_id="b", output=2)])
            current = Trace(steps=[Step(step_id="a", output=1), Step(step_id="x"), Step(step_id="b", output=3)])
            assert current == baseline
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*2 changes: 1 step added, 1 output changed*",
            "*+ step added: x (attempt 1)*",
            "*output: 2 -> 3*",
        ]
    )


def test_named_snapshots_and_unused_deletion(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_multi="""
        from pytest_tracediff import Trace, Step

        def test_two(trace_snapshot):
            assert Trace(steps=[Step(step_id="first")]) == trace_snapshot(name="before_retry")
            assert Trace(steps=[Step(step_id="second")]) == trace_snapshot(name="after_retry")

        def test_gone(trace_snapshot):
            assert Trace(steps=[Step(step_id="x")]) == trace_snapshot
        """
    )
    pytester.runpytest(UPDATE).assert_outcomes(passed=2)
    folder = pytester.path / "__trace_snapshots__" / "test_multi"
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_gone.trace.json",
        "test_two[after_retry].trace.json",
        "test_two[before_retry].trace.json",
    ]
    # Drop one named assertion and one whole test.
    pytester.makepyfile(
        test_multi="""
        from pytest_tracediff import Trace, Step

        def test_two(trace_snapshot):
            assert Trace(steps=[Step(step_id="first")]) == trace_snapshot(name="before_retry")
        """
    )
    plain = pytester.runpytest()
    plain.stdout.fnmatch_lines(["trace goldens: 1 checked: 1 matched; 2 unused", "*deletes the unused*"])
    assert plain.ret == pytest.ExitCode.TESTS_FAILED  # an unused golden fails a plain run, as in syrupy
    assert len(list(folder.iterdir())) == 3  # reported, never deleted without the flag
    result = pytester.runpytest(UPDATE)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["trace goldens: 1 checked: 1 matched; 2 unused deleted"])
    assert sorted(p.name for p in folder.iterdir()) == ["test_two[before_retry].trace.json"]
    assert result.ret == 0
    pytester.runpytest().assert_outcomes(passed=1)


def test_deselected_and_failing_tests_keep_their_goldens(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_keep="""
        import os
        from pytest_tracediff import Trace, Step

        def test_a(trace_snapshot):
            assert Trace(steps=[Step(step_id="a")]) == trace_snapshot

        def test_b(trace_snapshot):
            if os.environ.get("BREAK_B"):
                raise RuntimeError("broken before asserting")
            assert Trace(steps=[Step(step_id="b")]) == trace_snapshot
        """
    )
    pytester.runpytest(UPDATE).assert_outcomes(passed=2)
    pytester.runpytest(UPDATE, "-k", "test_a").assert_outcomes(passed=1, deselected=1)
    pytester.runpytest(UPDATE, "test_keep.py::test_a").assert_outcomes(passed=1)
    monkeypatch.setenv("BREAK_B", "1")
    pytester.runpytest(UPDATE).assert_outcomes(passed=1, failed=1)
    names = sorted(p.name for p in (pytester.path / "__trace_snapshots__" / "test_keep").iterdir())
    assert names == ["test_a.trace.json", "test_b.trace.json"]


def test_flag_leaves_other_syrupy_snapshots_alone(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(
        test_mixed="""
        import os
        from pytest_tracediff import Trace, Step

        def test_plain(snapshot):
            assert {"value": os.environ.get("VALUE", "1")} == snapshot

        def test_trace(trace_snapshot):
            assert Trace(steps=[Step(step_id="s", output=os.environ.get("VALUE", "1"))]) == trace_snapshot
        """
    )
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=2)
    amber = pytester.path / "__snapshots__" / "test_mixed.ambr"
    before = amber.read_bytes()
    monkeypatch.setenv("VALUE", "2")
    result = pytester.runpytest(UPDATE)
    result.assert_outcomes(passed=1, failed=1)  # the plain snapshot still fails
    assert amber.read_bytes() == before
    assert '"output": "2"' in golden(pytester, "test_trace", "test_mixed").read_text()


def test_concurrent_steps_give_one_golden_whatever_the_finish_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_parallel="""
        import os, threading, time
        from concurrent.futures import ThreadPoolExecutor

        def test_fan_out(trace_recorder, trace_snapshot):
            order = os.environ["ORDER"].split(",")
            barrier = threading.Barrier(len(order))

            def fetch(name):
                with trace_recorder.step(f"fetch_{name}") as s:
                    barrier.wait()  # all running before any finishes
                    time.sleep(order.index(name) * 0.01)
                    s.output = {"source": name}

            with ThreadPoolExecutor(len(order)) as pool:
                list(pool.map(fetch, sorted(order)))
            assert trace_recorder.trace == trace_snapshot
        """
    )
    monkeypatch.setenv("ORDER", "a,b,c")
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    first = snapshot_bytes(pytester)
    for order in ("c,b,a", "b,a,c"):
        monkeypatch.setenv("ORDER", order)
        pytester.runpytest().assert_outcomes(passed=1)
        pytester.runpytest(UPDATE).assert_outcomes(passed=1)
        assert snapshot_bytes(pytester) == first


def test_ini_and_marker_normalization_options(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini(
        """
        [pytest]
        trace_snapshot_mask =
            order-\\d+ => <order>
        """
    )
    pytester.makepyfile(
        test_opts="""
        import os
        import pytest
        from pytest_tracediff import Trace, Step

        @pytest.mark.trace_snapshot(exclude=["output.generated_at_ms"])
        def test_opts(trace_snapshot):
            n = os.environ["N"]
            step = Step(step_id="s", output={"id": f"order-{n}", "generated_at_ms": int(n) * 1000, "kept": 1})
            assert Trace(steps=[step]) == trace_snapshot
        """
    )
    monkeypatch.setenv("N", "1")
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    text = golden(pytester, "test_opts", "test_opts").read_text()
    assert "<order>" in text
    assert "generated_at_ms" not in text
    monkeypatch.setenv("N", "2")
    pytester.runpytest().assert_outcomes(passed=1)


def test_bad_mask_line_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntrace_snapshot_mask = no arrow here\n")
    pytester.makepyfile("def test_x(trace_snapshot):\n    pass\n")
    result = pytester.runpytest()
    assert "must look like: REGEX => PLACEHOLDER" in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        # Broken after the header: found as the steps are read, one at a time.
        ('{"format": "pytest-tracediff", "version": 1, "steps": [{"step_id": "a"}, {"step_id": ', "is not valid JSON"),
        ("", "is empty"),
        ('{"format": "pytest-tracediff", "version": 99, "steps": []}', "format version 99"),
        (
            '{"format": "pytest-tracediff", "version": 1, "steps": [{"status": "done"}]}',
            "invalid field",
        ),
    ],
)
def test_corrupt_golden_fails_clearly_and_is_only_replaced_with_the_flag(
    project: pytest.Pytester, content: str, problem: str
) -> None:
    project.makepyfile(test_other="def test_fine():\n    assert True\n")
    target = golden(project)
    target.parent.mkdir(parents=True)
    target.write_text(content)
    result = project.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [f"*GoldenFileError: trace file __trace_snapshots__/test_shop/test_checkout.trace.json*{problem}*"]
    )
    result.stdout.fnmatch_lines(["*--trace-snapshot-update*"])
    assert target.read_text() == content
    project.runpytest(UPDATE).assert_outcomes(passed=2)
    assert json.loads(target.read_text())["format"] == "pytest-tracediff"


def test_layout_only_edit_of_a_golden_is_not_rewritten(project: pytest.Pytester) -> None:
    project.runpytest(UPDATE).assert_outcomes(passed=1)
    data = json.loads(golden(project).read_text())
    compact = json.dumps(data)  # same content, different layout
    golden(project).write_text(compact)
    project.runpytest().assert_outcomes(passed=1)
    project.runpytest(UPDATE).assert_outcomes(passed=1)
    assert golden(project).read_text() == compact


def test_no_trace_snapshot_no_output(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "trace snapshot summary" not in result.stdout.str()


def test_a_comparison_equal_as_recorded_normalizes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comparing reads the golden and compares as recorded: only writing a golden
    normalizes a whole trace (a change normalizes just its changed steps, in the diff).
    Unnamed and named goldens keep syrupy's names whichever path runs."""
    import pytest_tracediff.golden.snapshot as snapshot_module
    from pytest_tracediff.normalize import normalize, normalized_json

    calls: list[str] = []

    def counting(real: Any) -> Any:
        def count(trace: Any, options: Any = None) -> Any:
            calls.append(trace.source)
            return real(trace, options)

        return count

    # A whole trace normalized, or normalized as it is written.
    monkeypatch.setattr(snapshot_module, "normalize", counting(normalize))
    monkeypatch.setattr(snapshot_module, "normalized_json", counting(normalized_json))
    test = """
        from pytest_tracediff import Trace, Step

        def test_three(trace_snapshot):
            assert Trace(source="one", steps=[Step(step_id="a", output={"n": 1, "when": 0.5})]) == trace_snapshot
            assert Trace(source="named", steps=[Step(step_id="b")]) == trace_snapshot(name="x")
            assert Trace(source="two", steps=[Step(step_id="c", output=OUT)]) == trace_snapshot
        """
    pytester.makepyfile(test_three=test.replace("OUT", "[1, 2]"))
    pytester.runpytest_inprocess(UPDATE).assert_outcomes(passed=1)
    folder = pytester.path / "__trace_snapshots__" / "test_three"
    # syrupy counts the named comparison too: the second unnamed golden is ".2", as before.
    names = ["test_three.2.trace.json", "test_three.trace.json", "test_three[x].trace.json"]
    assert sorted(p.name for p in folder.iterdir()) == names
    assert len(calls) == 3  # each written golden is normalized once

    calls.clear()
    pytester.runpytest_inprocess().assert_outcomes(passed=1)
    assert calls == []
    calls.clear()
    pytester.runpytest_inprocess(UPDATE).assert_outcomes(passed=1)
    assert calls == []

    pytester.makepyfile(test_three=test.replace("OUT", "[1, 3]"))
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*output changed: c (attempt 1) output?1?: 2 -> 3*", "*test_three.2.trace.json*"])
    assert calls == []
    pytester.runpytest_inprocess(UPDATE).assert_outcomes(passed=1)
    assert calls == ["two"]
    assert sorted(p.name for p in folder.iterdir()) == names
    assert '"output": [\n        1,\n        3\n      ]' in (folder / names[0]).read_text()
    pytester.runpytest_inprocess().assert_outcomes(passed=1)
