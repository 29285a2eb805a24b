"""What a new user meets first: the one end-of-run summary, install advice, capture errors,
-vv payloads and the HTML report's aligned golden/actual rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_tracediff.errors import MIN_PYTHON, STROMA_PIN, MissingFrameworkError, install_advice
from pytest_tracediff.report.html import render_report

UPDATE = "--trace-snapshot-update"
ROOT = Path(__file__).resolve().parent.parent

SUITE = """
import os
from pytest_tracediff import TraceRecorder

def run(value):
    rec = TraceRecorder()
    with rec.step("fetch", input={"q": "a"}) as s:
        s.output = value
    return rec.trace

def test_pass(trace_snapshot):
    assert run(1) == trace_snapshot

def test_change(trace_snapshot):
    assert run(int(os.environ.get("CHANGE", "2"))) == trace_snapshot

def test_missing(trace_snapshot):
    assert run(3) == trace_snapshot

def test_corrupt(trace_snapshot):
    assert run(4) == trace_snapshot
"""

KINDS = ("pass", "change", "missing", "corrupt", "unused")


def golden(pytester: pytest.Pytester, name: str) -> Path:
    return pytester.path / "__trace_snapshots__" / "test_kinds" / f"test_{name}.trace.json"


def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, ...]) -> None:
    """Goldens for every test, then each kind in ``kinds`` made to happen."""
    monkeypatch.delenv("CHANGE", raising=False)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_kinds=SUITE)
    assert pytester.runpytest(UPDATE).ret == 0
    if "change" in kinds:
        monkeypatch.setenv("CHANGE", "5")
    if "missing" in kinds:
        golden(pytester, "missing").unlink()
    if "corrupt" in kinds:
        golden(pytester, "corrupt").write_text("{broken")
    if "unused" in kinds:
        golden(pytester, "gone").write_text(golden(pytester, "pass").read_text())


def summary_block(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "trace snapshot summary" in line)
    block = []
    for line in lines[start + 1 :]:
        if line.startswith(("=", "-")):
            break
        block.append(line)
    return block


EXPECTED = {
    (): ["trace goldens: 4 checked: 4 matched"],
    ("change",): [
        "trace goldens: 4 checked: 3 matched, 1 changed",
        "  changed  __trace_snapshots__/test_kinds/test_change.trace.json",
        "  if intended: `pytest --trace-snapshot-update` rewrites the changed trace goldens (nothing else), "
        "then review `git diff`",
    ],
    ("missing",): [
        "trace goldens: 4 checked: 3 matched, 1 missing",
        "  missing  __trace_snapshots__/test_kinds/test_missing.trace.json",
        "  if intended: `pytest --trace-snapshot-update` creates the missing trace goldens (nothing else), "
        "then review `git diff`",
    ],
    ("corrupt",): [
        "trace goldens: 4 checked: 3 matched, 1 corrupt",
        "  corrupt  __trace_snapshots__/test_kinds/test_corrupt.trace.json",
        "  if intended: `pytest --trace-snapshot-update` replaces the corrupt trace goldens (nothing else), "
        "then review `git diff`",
    ],
    ("unused",): [
        "trace goldens: 4 checked: 4 matched; 1 unused",
        "  unused   __trace_snapshots__/test_kinds/test_gone.trace.json",
        "  if intended: `pytest --trace-snapshot-update` deletes the unused trace goldens (nothing else), "
        "then review `git diff`",
    ],
    KINDS: [
        "trace goldens: 4 checked: 1 matched, 1 changed, 1 corrupt, 1 missing; 1 unused",
        "  changed  __trace_snapshots__/test_kinds/test_change.trace.json",
        "  corrupt  __trace_snapshots__/test_kinds/test_corrupt.trace.json",
        "  missing  __trace_snapshots__/test_kinds/test_missing.trace.json",
        "  unused   __trace_snapshots__/test_kinds/test_gone.trace.json",
        "  if intended: `pytest --trace-snapshot-update` rewrites the changed, replaces the corrupt, creates the "
        "missing and deletes the unused trace goldens (nothing else), then review `git diff`",
    ],
}


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])
@pytest.mark.parametrize("kinds", list(EXPECTED), ids=lambda k: "+".join(k) or "pass")
def test_one_summary_for_each_combination(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, ...], workers: int
) -> None:
    project(pytester, monkeypatch, kinds)
    args = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    result = pytester.runpytest(*args)
    assert summary_block(result.stdout.str()) == EXPECTED[kinds]
    failed = sum(kind in kinds for kind in ("change", "missing", "corrupt"))
    result.assert_outcomes(passed=4 - failed, failed=failed)
    assert result.ret == (pytest.ExitCode.OK if not kinds else pytest.ExitCode.TESTS_FAILED)
    out = result.stdout.str()
    assert "--snapshot-update" not in out.replace(UPDATE, "")  # syrupy's advice rewrites every snapshot
    assert "snapshot report summary" not in out  # one summary, not syrupy's second one

    # The update run accepts everything, and says so in the same terms.
    update = pytester.runpytest(UPDATE, *args)
    assert update.ret == 0
    written = [k for k in ("change", "missing", "corrupt") if k in kinds]
    created = int("missing" in kinds)
    line = f"trace goldens: 4 checked: {4 - len(written)} matched"
    if written:
        line += f", {len(written)} written ({created} created, {len(written) - created} updated)"
    if "unused" in kinds:
        line += "; 1 unused deleted"
    block = summary_block(update.stdout.str())
    assert block[0] == line
    assert len(block) == 1 + len(written) + ("unused" in kinds)
    assert summary_block(pytester.runpytest(*args).stdout.str()) == EXPECTED[()]


def test_report_and_artifact_paths_are_printed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    project(pytester, monkeypatch, ())
    result = pytester.runpytest("--trace-report", "out/report.html", "--trace-artifacts", "out/artifacts")
    block = summary_block(result.stdout.str())
    assert block[-2:] == [
        "trace report: out/report.html",
        "trace artifacts: none written to out/artifacts (no failing comparison)",
    ]
    assert (pytester.path / "out" / "report.html").is_file()
    monkeypatch.setenv("CHANGE", "5")
    result = pytester.runpytest("--trace-artifacts", "out/artifacts")
    assert summary_block(result.stdout.str())[-1] == (
        "trace artifacts: out/artifacts (1 failing comparison(s), one folder each)"
    )
    assert [p.name for p in (pytester.path / "out" / "artifacts").iterdir()] == ["test_kinds.py.test_change"]


def test_corrupt_golden_is_its_own_kind_in_the_html_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester, monkeypatch, ("corrupt",))
    pytester.runpytest("--trace-report", "r.html")
    page = (pytester.path / "r.html").read_text()
    assert '<div class="card corrupt"><b>1</b><span>corrupt</span></div>' in page
    assert '<div class="card changed zero"><b>0</b><span>changed</span></div>' in page
    assert '<span class="badge b-corrupt">corrupt</span>' in page
    assert "is not valid JSON" in page


def test_verbose_payloads_are_real_lines(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(
        test_vv="""
        import os
        from pytest_tracediff import TraceRecorder

        def test_added(trace_snapshot):
            rec = TraceRecorder()
            with rec.step("fetch") as s:
                s.output = 1
            if os.environ.get("ADD"):
                with rec.step("summarize") as s:
                    s.output = "first line\\nsecond line"
            assert rec.trace == trace_snapshot
        """
    )
    pytester.runpytest(UPDATE)
    monkeypatch.setenv("ADD", "1")
    result = pytester.runpytest("-vv")
    explanation = [line for line in result.stdout.lines if line.startswith("E ")]
    assert explanation
    assert not [line for line in explanation if "\\n" in line]  # pytest escapes newlines inside a line
    result.stdout.fnmatch_lines(['E *"output": "first line', "E *second line*"])


# -- install advice and capture errors ----------------------------------------------


def test_install_advice_names_the_python_a_framework_needs() -> None:
    assert install_advice("dagron", (3, 11)).startswith("it needs Python 3.12 or newer and this is Python 3.11")
    assert install_advice("flujo", (3, 12)).startswith("it needs Python 3.13 or newer and this is Python 3.12")
    assert install_advice("flujo", (3, 13)) == "install it with `pip install 'pytest-tracediff[flujo]'`"
    stroma = install_advice("stroma", (3, 13))
    assert f"`pip install --no-deps '{STROMA_PIN}'`" in stroma
    assert "pytest-tracediff[stroma]" in stroma
    assert str(MissingFrameworkError("langgraph", "langgraph")) == (
        "langgraph is not installed; install it with `pip install 'pytest-tracediff[langgraph]'`."
    )


def test_install_advice_agrees_with_the_extras_and_tox() -> None:
    """The minimum Pythons are the extras' markers; the stroma pin is the one tox installs."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text[text.index("[project.optional-dependencies]") : text.index("[project.scripts]")]
    extras = dict(re.findall(r"^([\w-]+) = \[(.*?)\]\s*$", section, re.M | re.S))
    markers = {
        extra: (int(found[0][0]), int(found[0][1]))
        for extra, specs in extras.items()
        if extra != "all" and (found := re.findall(r"python_version >= '(\d+)\.(\d+)'", specs))
    }
    assert {k: v for k, v in MIN_PYTHON.items() if k in markers} == markers
    assert set(MIN_PYTHON) - set(markers) == {"stroma", "pydantic-ai"}  # no marker: pip itself refuses
    assert f'--no-deps "{STROMA_PIN}"' in (ROOT / "tox.ini").read_text()


def test_unknown_framework_name_suggests_the_close_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_typo="""
        def test_typo(trace_capture):
            with trace_capture("dagorn"):
                pass
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*UnknownFrameworkError: trace_capture() has no framework named 'dagorn'. Did you mean 'dagron'? Known: *"]
    )


# -- HTML report ---------------------------------------------------------------


def _report() -> str:
    from pytest_tracediff.model import Step, Trace

    def run(extra: bool, answer: str) -> Trace:
        steps = [Step(step_id="agent"), Step(step_id="plan", parent="agent")]
        if extra:
            steps.append(Step(step_id="lookup", parent="agent"))
        steps += [Step(step_id="answer", parent="agent", output=answer), Step(step_id="send", parent="agent")]
        return Trace(steps=steps)

    golden, actual = run(False, "It ships on Monday."), run(True, "It ships on Tuesday.")
    diff = golden.diff(actual)
    return render_report(
        {
            "counts": {"checked": 1, "changed": 1},
            "records": [
                {
                    "nodeid": "t.py::test_x",
                    "golden": "g.trace.json",
                    "outcome": "failed",
                    "summary": diff.summary(),
                    "actual": actual.normalized().to_dict(),
                    "expected": golden.normalized().to_dict(),
                    "diff": diff.to_list(),
                }
            ],
        }
    )


def test_html_golden_and_actual_rows_are_aligned_with_a_gap() -> None:
    page = _report()
    table = page[page.index('<table class="sbs">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr class="step[^"]*">(.*?)</tr>', table)
    names = [re.findall(r'<span class="name">(?:<span class="tw">[^<]*</span>)?([^<.]+)', row) for row in rows]
    gaps = [row.count('class="side gap"') for row in rows]
    assert [(n, g) for n, g in zip(names, gaps, strict=True)] == [
        (["agent", "agent"], 0),
        (["plan", "plan"], 0),
        (["lookup"], 1),  # added: a gap on the golden side, every later row stays level
        (["answer", "answer"], 0),
        (["send", "send"], 0),
    ]
    assert '<td class="side gap">not in the golden</td>' in rows[2]


def test_html_marks_the_changed_words_of_a_string() -> None:
    page = _report()
    assert "It ships on <del>Monday</del>." in page
    assert "It ships on <ins>Tuesday</ins>." in page
