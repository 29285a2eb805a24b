"""CI gate and reports: the run summary, GITHUB_STEP_SUMMARY, JUnit properties,
--trace-artifacts and the --trace-report HTML page (real pytest runs, pytester)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_tracediff.report.html import render_report

pytest_plugins = ["pytester"]

UPDATE = "--trace-snapshot-update"

# Three traced tests whose behaviour variant.json switches; one payload is hostile HTML.
CONFTEST = """
import json, pathlib, time
import pytest

def variant():
    path = pathlib.Path(__file__).with_name("variant.json")
    return json.loads(path.read_text()) if path.exists() else {}

@pytest.fixture
def variant_data():
    return variant()
"""

SUITE = """
import threading, time
from decimal import Decimal
from pytest_tracediff import StepStatus, Tokens
from concurrent.futures import ThreadPoolExecutor
import contextvars

def run(rec, v):
    with rec.step("pipeline", input={"order": 7}):
        with rec.step("load_order") as s:
            time.sleep(0.02)
            s.output = {"items": [{"sku": "a", "price": 5}, {"sku": "b", "price": v.get("price", 9.99)}]}
        with rec.step("llm_call") as s:
            s.model = "gpt-x"
            s.tokens = Tokens(prompt=10, completion=5, total=15)
            s.cost = Decimal("0.0012")
            s.output = v.get("note", "<script>alert('x')</script>")

        both_running = threading.Barrier(2)  # the two steps overlap in time, always

        def work(name):
            with rec.step("work_" + name) as s:
                both_running.wait(timeout=30)
                time.sleep(0.01)
                s.output = name

        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(contextvars.copy_context().run, work, n) for n in "ab"]
            [f.result() for f in futures]

def test_checkout(trace_recorder, trace_snapshot, variant_data):
    run(trace_recorder, variant_data)
    assert trace_recorder.trace == trace_snapshot

def test_refund(trace_recorder, trace_snapshot):
    with trace_recorder.step("refund") as s:
        s.output = {"ok": True}
    assert trace_recorder.trace == trace_snapshot

def test_plain():
    assert True
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shop=SUITE)
    run(pytester, UPDATE).assert_outcomes(passed=3)
    return pytester


def run(pytester: pytest.Pytester, *args: str, workers: int = 0) -> pytest.RunResult:
    extra = ("-n", str(workers)) if workers else ("-p", "no:xdist")
    return pytester.runpytest("-p", "no:cacheprovider", *extra, *args)


def change(pytester: pytest.Pytester, **variant: object) -> None:
    (pytester.path / "variant.json").write_text(json.dumps(variant))


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}


CHECKOUT = "test_shop.py::test_checkout"
GOLDEN = "__trace_snapshots__/test_shop/test_checkout.trace.json"
SUMMARY = "1 change: 1 output changed"


# -- summary -------------------------------------------------------------------


def test_summary_counts_and_nothing_written_without_options(project: pytest.Pytester) -> None:
    before = files(project.path)
    result = run(project, "--trace-artifacts", "artifacts")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*trace snapshot summary*", "trace goldens: 2 checked: 2 matched"])
    assert files(project.path) == before  # artifacts only for failures

    change(project, price=19.99)
    before = files(project.path)
    result = run(project)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["trace goldens: 2 checked: 1 matched, 1 changed"])
    assert files(project.path) == before  # a failure, but no option: nothing written

    result = run(project, UPDATE)
    result.stdout.fnmatch_lines(["trace goldens: 2 checked: 1 matched, 1 written (0 created, 1 updated)"])

    (project.path / "test_shop.py").write_text(SUITE.replace("def test_refund", "def _refund"))
    result = run(project)
    result.stdout.fnmatch_lines(["trace goldens: 1 checked: 1 matched; 1 unused"])

    (project.path / "test_shop.py").write_text(SUITE)
    next(project.path.rglob("test_checkout.trace.json")).unlink()
    result = run(project)
    result.stdout.fnmatch_lines(["trace goldens: 2 checked: 1 matched, 1 missing"])


def test_github_step_summary_untouched_without_traces(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step_summary.md"
    summary.write_text("before\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    run(pytester).assert_outcomes(passed=1)
    assert summary.read_text() == "before\n"


# -- one failing CI run: every output ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_ci_run_outputs(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    step_summary = project.path / "step_summary.md"
    step_summary.write_text("# earlier step\nkept\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    change(project, price=19.99)
    result = run(
        project,
        "--junitxml=junit.xml",
        "--trace-artifacts=out/artifacts",
        "--trace-report=reports/trace.html",
        workers=workers,
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["trace goldens: 2 checked: 1 matched, 1 changed"])
    check_step_summary(step_summary)
    check_junit(project.path / "junit.xml")
    check_artifacts(project.path / "out" / "artifacts")
    check_html(project.path / "reports" / "trace.html")

    text = step_summary.read_text()
    run(project, workers=workers)  # a second run appends again
    assert step_summary.read_text().startswith(text)
    assert step_summary.read_text().count("Trace regression summary") == 2


def check_step_summary(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("# earlier step\nkept\n")  # appended, never truncated
    assert "| checked | matched | changed | corrupt | missing | written | unused |" in text
    assert "| 2 | 1 | 1 | 0 | 0 | 0 | 0 |" in text
    rows = [line for line in text.splitlines() if line.startswith(f"| {CHECKOUT} |")]
    assert rows == [f"| {CHECKOUT} | {GOLDEN} | {SUMMARY} |"]


def check_junit(path: Path) -> None:
    root = ET.parse(path).getroot()
    props = {
        case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in root.iter("testcase")
    }
    assert props["test_checkout"] == [("tracediff", f"{SUMMARY} (golden: {GOLDEN})")]
    assert props["test_refund"] == []


def check_artifacts(root: Path) -> None:
    assert sorted(p.name for p in root.iterdir()) == ["test_shop.py.test_checkout"]
    folder = root / "test_shop.py.test_checkout"
    assert sorted(p.name for p in folder.iterdir()) == [
        "actual.trace.json",
        "diff.json",
        "diff.txt",
        "trace.chrome.json",
    ]

    actual = json.loads((folder / "actual.trace.json").read_text())
    assert actual["format"] == "pytest-tracediff"
    assert "duration" not in (folder / "actual.trace.json").read_text()  # normalized
    diff = json.loads((folder / "diff.json").read_text())
    assert diff == [
        {
            "kind": "output_changed",
            "step": {"id": "load_order", "attempt": 1, "parent": "pipeline"},
            "path": "output.items[1].price",
            "expected": 9.99,
            "actual": 19.99,
            "rank": 1,
            "echo_group": 1,
        }
    ]
    text = (folder / "diff.txt").read_text()
    assert f"test: {CHECKOUT}" in text
    assert SUMMARY in text
    assert "output.items[1].price: 9.99 -> 19.99" in text

    chrome = json.loads((folder / "trace.chrome.json").read_text())
    spans = {e["name"]: e for e in chrome["traceEvents"] if e["ph"] == "X"}
    assert set(spans) == {"pipeline", "load_order", "llm_call", "work_a", "work_b"}
    assert 15_000 <= spans["load_order"]["dur"] < 5_000_000  # slept 20 ms: microseconds, real timing
    assert spans["pipeline"]["dur"] >= spans["load_order"]["dur"] + spans["work_a"]["dur"]
    assert spans["pipeline"]["ts"] == 0
    assert spans["work_a"]["ts"] >= spans["load_order"]["ts"] + spans["load_order"]["dur"]
    assert spans["llm_call"]["args"] == {
        "path": "pipeline/llm_call",
        "status": "completed",
        "attempt": 1,
        "model": "gpt-x",
        "tokens": {"prompt": 10, "completion": 5, "total": 15},
        "cost": "0.0012",
    }
    # one thread per parent path; overlapping siblings get a lane of their own
    assert spans["pipeline"]["tid"] != spans["load_order"]["tid"]
    assert spans["work_a"]["tid"] != spans["work_b"]["tid"]
    names = {e["args"]["name"] for e in chrome["traceEvents"] if e["name"] == "thread_name"}
    assert names == {"(root)", "pipeline", "pipeline [lane 2]"}


def check_html(path: Path) -> None:
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # self-contained: nothing fetched
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    for fetch in ("http://", "https://", "<link", "@import", "url(", "fetch(", "XMLHttpRequest"):
        assert fetch not in page
    # user data is escaped
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own
    # counts, both traced tests, the diff and the highlighted changed path
    assert '<div class="card changed"><b>1</b><span>changed</span></div>' in page
    assert '<div class="card matched"><b>1</b><span>matched</span></div>' in page
    assert CHECKOUT in page
    assert "test_shop.py::test_refund" in page
    assert SUMMARY in page
    assert '<span class="path">output.items[1].price</span>' in page
    assert "<h3>golden</h3>" in page
    assert "<h3>actual</h3>" in page


def test_chrome_trace_lays_out_steps_without_timings() -> None:
    from pytest_tracediff.model import Step, Trace
    from pytest_tracediff.report.chrome import chrome_trace

    trace = Trace(steps=[Step(step_id="a", start=100.0, duration=0.5), Step(step_id="b"), Step(step_id="c")])
    events = [e for e in chrome_trace(trace)["traceEvents"] if e["ph"] == "X"]
    assert [(e["name"], e["ts"], e["dur"]) for e in events] == [
        ("a", 0.0, 500_000.0),
        ("b", 500_000.0, 1000.0),
        ("c", 501_000.0, 1000.0),
    ]
    assert "note" not in events[0]["args"]
    assert "no timing recorded" in events[1]["args"]["note"]


def test_artifact_folder_names_are_safe() -> None:
    from pytest_tracediff.report.artifacts import artifact_dirname

    assert artifact_dirname("tests/test_x.py::test_a[1]") == "tests.test_x.py.test_a[1]"
    odd = artifact_dirname("tests/test_x.py::test_a[../../etc/passwd:é]")
    assert not re.search(r"[/:\\]|^\.", odd)
    assert re.search(r"~[0-9a-f]{12}$", odd)


# -- HTML report ---------------------------------------------------------------


def test_html_report_escapes_everything() -> None:
    evil = "<script>alert(1)</script>\"'&"
    page = render_report(
        {
            "counts": {"checked": 1, "changed": 1},
            "unused": [evil],
            "records": [
                {
                    "nodeid": evil,
                    "golden": evil,
                    "outcome": "failed",
                    "summary": evil,
                    "actual": {"steps": [{"step_id": evil, "parent": evil, "status": "failed", "output": evil}]},
                    "expected": {"steps": [{"step_id": evil, "model": evil}]},
                    "diff": [{"kind": "output_changed", "step": {"id": evil}, "path": evil, "expected": evil}],
                }
            ],
        }
    )
    assert "<script>alert" not in page
    assert page.count("<script>") == 1


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def sample_report() -> str:
    """A report as a CI run would write it: real traces, a real diff."""
    from decimal import Decimal

    from pytest_tracediff.model import Step, StepStatus, Tokens, Trace

    def checkout(price: float, retries: int, extra: bool) -> Trace:
        steps = [Step(step_id="pipeline", input={"order": 7}, output={"ok": True})]
        steps.append(
            Step(
                step_id="load_order",
                parent="pipeline",
                output={"items": [{"sku": "a", "price": 5}, {"sku": "b", "price": price}]},
            )
        )
        for n in range(1, retries + 2):
            failed = n <= retries
            steps.append(
                Step(
                    step_id="charge_card",
                    parent="pipeline",
                    attempt=n,
                    status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
                    failure_class="GatewayTimeout" if failed else None,
                    error="gateway timeout" if failed else None,
                    output=None if failed else {"charged": True},
                )
            )
        steps.append(
            Step(
                step_id="summarize",
                parent="pipeline",
                model="gpt-x",
                tokens=Tokens(prompt=812, completion=64, total=876),
                cost=Decimal("0.0042"),
                output="<script>alert('x')</script> Order of 2 items",
            )
        )
        if extra:
            steps.append(Step(step_id="fraud_check", parent="pipeline", output={"score": 0.1}))
        steps.append(Step(step_id="send_email", parent="pipeline", output={"sent": True}))
        return Trace(source="recorder", status="completed", steps=steps)

    golden, actual = checkout(9.99, 0, False), checkout(19.99, 1, True)
    diff = golden.diff(actual)
    refund = Trace(source="recorder", status="completed", steps=[Step(step_id="refund", output={"ok": True})])
    return render_report(
        {
            "counts": {"checked": 3, "matched": 1, "changed": 1, "missing": 1, "written": 0, "unused": 0},
            "unused": [],
            "records": [
                {
                    "nodeid": "tests/test_shop.py::test_checkout",
                    "golden": "tests/__trace_snapshots__/test_shop/test_checkout.trace.json",
                    "outcome": "failed",
                    "summary": diff.summary(),
                    "actual": json.loads(actual.normalized().to_json()),
                    "expected": json.loads(golden.normalized().to_json()),
                    "diff": json.loads(json.dumps(diff.to_list(), default=str)),
                },
                {
                    "nodeid": "tests/test_shop.py::test_refund[<b>eur</b>]",
                    "golden": "tests/__trace_snapshots__/test_shop/test_refund[<b>eur</b>].trace.json",
                    "outcome": "missing",
                    "summary": "golden missing",
                    "actual": refund.to_dict(),
                    "expected": None,
                    "diff": [],
                },
                {
                    "nodeid": "tests/test_shop.py::test_refund[usd]",
                    "golden": "tests/__trace_snapshots__/test_shop/test_refund[usd].trace.json",
                    "outcome": "matched",
                    "summary": "matched",
                    "actual": refund.to_dict(),
                    "expected": None,
                    "diff": [],
                },
            ],
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize("width", [900, 1440])
def test_html_report_renders_in_a_browser(tmp_path: Path, width: int) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    page = tmp_path / "trace.html"
    page.write_text(sample_report(), encoding="utf-8")
    url = page.as_uri()
    screenshot = tmp_path / "report.png"
    shot = _headless(chromium, tmp_path / "profile", f"--screenshot={screenshot}", f"--window-size={width},2000", url)
    assert screenshot.exists(), shot.stderr
    assert screenshot.stat().st_size > 10_000
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    dom = _headless(chromium, tmp_path / "profile2", "--dump-dom", url)
    errors = [
        line
        for line in (shot.stderr + dom.stderr).splitlines()
        if "Uncaught" in line or re.search(r"CONSOLE.*(error|Error)", line)
    ]
    assert errors == []
    assert 'class="trace is-failing" open=""' in dom.stdout
    assert "output.items[1].price" in dom.stdout
    assert "<script>alert" not in dom.stdout.split("<script>")[0]  # the payload stayed text
    if os.environ.get("TRACEDIFF_SCREENSHOT"):
        shutil.copy(screenshot, os.environ["TRACEDIFF_SCREENSHOT"])
