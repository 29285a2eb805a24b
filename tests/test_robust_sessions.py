"""Runs that compare one golden more than once, or spread it over workers: xdist,
``--keep-duplicates``, pytest-repeat (issue 12, "Files and processes")."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

UPDATE = "--trace-snapshot-update"

TWO_TESTS = """
from pytest_tracediff import Trace, Step

def test_one(trace_snapshot):
    assert Trace(steps=[Step(step_id="s", output=1)]) == trace_snapshot

def test_two(trace_snapshot):
    assert Trace(steps=[Step(step_id="s", output=2)]) == trace_snapshot
"""

# Each run of the test in one process sees the next value: duplicates disagree.
COUNTING = """
from pytest_tracediff import Trace, Step

RUNS = [0]

def test_count(trace_snapshot):
    RUNS[0] += 1
    assert Trace(steps=[Step(step_id="s", output=RUNS[0])]) == trace_snapshot
"""


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("workers", [None, "2"])
def test_an_update_that_deletes_an_unused_golden_exits_0_with_and_without_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: str | None
) -> None:
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)  # when this suite runs under xdist itself
    pytester.makepyfile(test_pair=TWO_TESTS)
    pytester.runpytest_subprocess(UPDATE, "-p", "no:cacheprovider").assert_outcomes(passed=2)
    folder = pytester.path / "__trace_snapshots__" / "test_pair"
    (folder / "test_gone.trace.json").write_bytes((folder / "test_one.trace.json").read_bytes())
    extra = ("-n", workers) if workers else ("-p", "no:xdist")
    result = pytester.runpytest_subprocess(UPDATE, "-p", "no:cacheprovider", *extra)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*1 unused deleted*"])
    assert "snapshot unused" not in result.stdout.str()
    assert result.ret == 0
    assert names(folder) == ["test_one.trace.json", "test_two.trace.json"]


def test_duplicates_that_disagree_are_never_counted_as_passed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_count=COUNTING)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)  # golden: output 1
    result = pytester.runpytest("--keep-duplicates", "test_count.py", "test_count.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*trace goldens: 1 checked: 0 matched, 1 changed*"])
    # The other order too: a later pass never hides an earlier failure.
    (pytester.path / "__trace_snapshots__" / "test_count" / "test_count.trace.json").write_text(
        (pytester.path / "__trace_snapshots__" / "test_count" / "test_count.trace.json")
        .read_text()
        .replace('"output": 1', '"output": 2')
    )
    result = pytester.runpytest("--keep-duplicates", "test_count.py", "test_count.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*trace goldens: 1 checked: 0 matched, 1 changed*"])


def test_an_update_whose_duplicates_disagree_says_the_golden_is_not_deterministic(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_count=COUNTING)
    result = pytester.runpytest(UPDATE, "--keep-duplicates", "test_count.py", "test_count.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*trace goldens: 1 checked: 0 matched, 1 written (1 created, 0 updated)*",
            "*__trace_snapshots__/test_count/test_count.trace.json was written more than once in this run "
            "with different content*",
        ]
    )


REPEATED = """
import pytest
from pytest_tracediff import Trace, Step

def test_one(trace_snapshot):
    assert Trace(steps=[Step(step_id="s", output=1)]) == trace_snapshot

@pytest.mark.parametrize("x", [1, 2])
def test_param(x, trace_snapshot):
    assert Trace(steps=[Step(step_id="s", output=x)]) == trace_snapshot
"""


def test_pytest_repeat_compares_every_repetition_with_the_regular_golden(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_repeat")
    pytester.makepyfile(test_rep=REPEATED)
    pytester.runpytest(UPDATE).assert_outcomes(passed=3)
    folder = pytester.path / "__trace_snapshots__" / "test_rep"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(before) == ["test_one.trace.json", "test_param[1].trace.json", "test_param[2].trace.json"]
    result = pytester.runpytest(UPDATE, "--count", "2")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*trace goldens: 3 checked: 3 matched*"])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    pytester.runpytest("--count", "3").assert_outcomes(passed=9)


def test_a_rerun_by_pytest_rerunfailures_replaces_the_failed_attempt(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_rerunfailures")
    pytester.makepyfile(test_count=COUNTING)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    golden = pytester.path / "__trace_snapshots__" / "test_count" / "test_count.trace.json"
    golden.write_text(golden.read_text().replace('"output": 1', '"output": 2'))
    result = pytester.runpytest("--reruns", "1")  # fails once (output 1), then passes (output 2)
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    result.stdout.fnmatch_lines(["*trace goldens: 1 checked: 1 matched*"])
    # Duplicates: output 1 fails, 2 passes; then 3 fails and 4 fails for good.
    result = pytester.runpytest("--reruns", "1", "--keep-duplicates", "test_count.py", "test_count.py")
    assert result.parseoutcomes() == {"passed": 1, "failed": 1, "rerun": 2}
    result.stdout.fnmatch_lines(["*trace goldens: 1 checked: 0 matched, 1 changed*"])
