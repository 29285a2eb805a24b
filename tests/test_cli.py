"""The ``pytest-tracediff`` command line (cli.py): compare, show, convert; exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from pytest_tracediff import Step, StepStatus, Tokens, Trace
from pytest_tracediff.cli import main


def trace(score: float = 0.5, answer_tokens: int = 50, retries: int = 0, extra: bool = False) -> Trace:
    steps = [
        Step(step_id="pipeline"),
        Step(step_id="plan", parent="pipeline", tokens=Tokens(total=100), cost=Decimal("0.02")),
    ]
    for attempt in range(1, retries + 2):
        failed = attempt <= retries
        steps.append(
            Step(
                step_id="answer",
                parent="pipeline",
                attempt=attempt,
                status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
                error="RateLimitError: slow down" if failed else None,
                tokens=Tokens(prompt=answer_tokens - 10, completion=10),
                cost=Decimal("0.01"),
                output=None if failed else {"score": score},
            )
        )
    if extra:
        steps.append(Step(step_id="review", parent="pipeline", output="ok"))
    return Trace(source="recorder", status="completed", steps=steps)


def save(path: Path, value: Trace) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    value.normalized().save(path)
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_module(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_tracediff", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


# -- no pytest, no tracebacks ------------------------------------------------------


def test_cli_module_does_not_import_pytest() -> None:
    code = "import sys; import pytest_tracediff.cli; assert 'pytest' not in sys.modules, 'pytest imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_subprocess_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    old = save(tmp_path / "old.trace.json", trace())
    same = save(tmp_path / "same.trace.json", trace())
    new = save(tmp_path / "new.trace.json", trace(score=0.7))
    ok = run_module("compare", old, same)
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout == "1 trace compared: 1 unchanged\n"
    changed = run_module("compare", old, new)
    assert changed.returncode == 1
    assert "output.score: 0.5 -> 0.7" in changed.stdout
    (tmp_path / "broken.json").write_text("{not json")
    for args in (
        ("compare", old, tmp_path / "missing.json"),
        ("compare", old, tmp_path / "broken.json"),
        ("compare", old),
        ("compare", old, new, "--format", "yaml"),
        ("compare", old, new, "--budget-cost", "-1"),
        ("frobnicate",),
        (),
    ):
        result = run_module(*args)
        assert result.returncode == 2, args
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr  # one line
        assert result.stderr.startswith("pytest-tracediff: error: ")
        assert "Traceback" not in result.stderr
    assert "broken.json: is not valid JSON" in run_module("show", tmp_path / "broken.json").stderr


def test_read_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = save(tmp_path / "good.trace.json", trace())
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "empty.trace.json").write_text("")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00{")
    (tmp_path / "future.trace.json").write_text(json.dumps({"format": "pytest-tracediff", "version": 99}))
    expected = {
        "list.json": "list.json: not a trace file pytest-tracediff reads (a tracediff golden, or a JSON export of "
        "stroma, dagron, flujo, noukai or OpenTelemetry/OTLP); it does not hold a JSON object",
        "empty.trace.json": "empty.trace.json: is empty",
        "future.trace.json": "future.trace.json: has format version 99",
        "binary.json": "binary.json: ",
    }
    for name, message in expected.items():
        code, out, err = cli(capsys, "compare", good, tmp_path / name)
        assert code == 2, name
        assert message in err
        assert out == ""
    code, _, err = cli(capsys, "show", tmp_path)
    assert code == 2
    assert "is a folder, expected a trace file" in err
    code, _, err = cli(capsys, "compare", tmp_path, good)
    assert code == 2
    assert "compare takes two files or two folders" in err


# -- compare -----------------------------------------------------------------------


def test_compare_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = save(tmp_path / "old.trace.json", trace())
    new = save(tmp_path / "new.trace.json", trace(score=0.7, extra=True))
    code, out, _ = cli(capsys, "compare", old, new)
    assert code == 1
    assert out.splitlines() == [
        f"CHANGED {new}: 2 changes: 1 step added, 1 output changed",
        '    + step added: pipeline/review (attempt 1) {"status": "completed", "attempts": 1, "output": "ok"}',
        "    ~ output changed: pipeline/answer (attempt 1) output.score: 0.5 -> 0.7",
        "1 trace compared: 1 changed, 0 unchanged",
    ]
    code, out, _ = cli(capsys, "compare", old, new, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["counts"] == {"changed": 1, "added": 0, "removed": 0, "unchanged": 0, "over_budget": 0}
    (entry,) = data["traces"]
    assert entry["status"] == "changed"
    assert [c["kind"] for c in entry["changes"]] == ["output_changed", "step_added"]
    assert entry["changes"][0] == {
        "kind": "output_changed",
        "step": {"id": "answer", "attempt": 1, "parent": "pipeline"},
        "path": "output.score",
        "expected": 0.5,
        "actual": 0.7,
        "rank": 2,
        "echo_group": 2,
    }
    code, out, _ = cli(capsys, "compare", old, new, "--format", "markdown")
    assert code == 1
    assert "| trace | status | changes |" in out
    assert "|---|---|---|" in out
    assert f"| `{new}` | changed | 2 changes: 1 step added, 1 output changed |" in out
    assert "<details><summary>" in out
    code, out, _ = cli(capsys, "compare", old, old, "--format", "json")
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_compare_folders_added_removed_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for root in (old, new):
        save(root / "test_a" / "test_same.trace.json", trace())
    save(old / "test_a" / "test_changed.trace.json", trace())
    save(new / "test_a" / "test_changed.trace.json", trace(retries=1))
    save(old / "test_b" / "test_gone.trace.json", trace())
    save(new / "test_b" / "test_new.trace.json", trace())
    (new / "test_a" / ".test_same.trace.json.x.tracediff-tmp").write_text("junk")  # interrupted update
    (new / "notes.txt").write_text("not a golden")
    code, out, _ = cli(capsys, "compare", old, new)
    assert code == 1
    lines = out.splitlines()
    assert "CHANGED test_a/test_changed.trace.json: 1 change: 1 attempts changed" in lines
    assert "ADDED test_b/test_new.trace.json: trace added" in lines
    assert "REMOVED test_b/test_gone.trace.json: trace removed" in lines
    assert lines[-1] == "4 traces compared: 1 changed, 1 added, 1 removed, 1 unchanged"
    assert "test_same" not in out
    code, out, _ = cli(capsys, "compare", old, new, "--format", "json")
    statuses = {t["name"]: t["status"] for t in json.loads(out)["traces"]}
    assert statuses == {
        "test_a/test_changed.trace.json": "changed",
        "test_a/test_same.trace.json": "unchanged",
        "test_b/test_gone.trace.json": "removed",
        "test_b/test_new.trace.json": "added",
    }
    code, out, _ = cli(capsys, "compare", old, new, "--format", "markdown")
    assert "| `test_b/test_new.trace.json` | added | trace added |" in out
    # Only an added golden is a change too.
    (old / "test_b" / "test_gone.trace.json").unlink()
    (new / "test_b" / "test_new.trace.json").unlink()
    save(old / "test_a" / "test_changed.trace.json", trace(retries=1))
    assert cli(capsys, "compare", old, new)[0] == 0
    save(new / "test_c" / "test_x.trace.json", trace())
    assert cli(capsys, "compare", old, new)[0] == 1
    empty_a, empty_b = tmp_path / "ea", tmp_path / "eb"
    empty_a.mkdir()
    empty_b.mkdir()
    code, _, err = cli(capsys, "compare", empty_a, empty_b)
    assert code == 2
    assert "no *.trace.json files under" in err


def test_compare_budget_pass_fail_and_improvement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = save(tmp_path / "old.trace.json", trace())
    more = save(tmp_path / "more.trace.json", trace(answer_tokens=90))  # tokens 150 -> 190
    code, out, _ = cli(capsys, "compare", old, more, "--budget-tokens", "1.25", "--exclude", "tokens.*")
    assert code == 1  # the diff is empty (tokens excluded) but the budget is exceeded
    assert "run totals over budget: tokens" in out
    assert "tokens   baseline 150, actual 190, ratio 1.267, limit 1.25  OVER BUDGET" in out
    assert out.splitlines()[-1] == "1 trace compared: 1 unchanged, 1 over budget"
    code, out, _ = cli(capsys, "compare", old, more, "--budget-tokens", "1.3", "--exclude", "tokens.*")
    assert (code, out) == (0, "1 trace compared: 1 unchanged\n")
    less = save(tmp_path / "less.trace.json", trace(answer_tokens=20))
    code, out, _ = cli(
        capsys, "compare", old, less, "--budget-tokens", "1.0", "--exclude", "tokens.*", "--format", "json"
    )
    assert code == 0  # an improvement is reported, not a failure
    (entry,) = json.loads(out)["traces"]
    assert entry["budget"]["improvements"] == ["tokens"]
    assert entry["budget"]["ok"] is True
    assert entry["over_budget"] is False


def test_compare_tolerance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = save(tmp_path / "old.trace.json", trace(score=0.1))
    wobble = save(tmp_path / "wobble.trace.json", trace(score=0.1 + 1e-12))
    assert cli(capsys, "compare", old, wobble)[0] == 1
    assert cli(capsys, "compare", old, wobble, "--tolerance", "output.score rel=1e-6 abs=1e-9")[0] == 0
    real = save(tmp_path / "real.trace.json", trace(score=0.2))
    code, out, _ = cli(capsys, "compare", old, real, "--tolerance", "output.score rel=1e-6 abs=1e-9")
    assert code == 1
    assert "output.score: 0.1 -> 0.2" in out
    code, _, err = cli(capsys, "compare", old, real, "--tolerance", "output.score loose")
    assert code == 2
    assert "--tolerance: tolerance line 'output.score loose'" in err


# -- show --------------------------------------------------------------------------


def test_show_tree_and_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save(tmp_path / "run.trace.json", trace(retries=1, extra=True))
    code, out, _ = cli(capsys, "show", path)
    assert code == 0
    assert out.splitlines() == [
        f"{path}: source recorder, status completed",
        "pipeline  completed  1 attempt",
        "  plan    completed  1 attempt                          100 tokens  cost 0.02",
        "  answer  completed  2 attempts: 1 failed, 1 completed  100 tokens  cost 0.02",
        "  review  completed  1 attempt",
        "totals: 4 steps, 5 attempts, 200 tokens, cost 0.04",
    ]
    failing = trace()
    failing.steps[-1].status = StepStatus.FAILED
    failing.steps[-1].error = "ValueError: bad answer"
    save(path, failing)
    assert "  answer  failed (ValueError: bad answer)  1 attempt" in cli(capsys, "show", path)[1]


# -- convert -----------------------------------------------------------------------

OTLP = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bot"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "tests"},
                    "spans": [
                        {
                            "traceId": "0af7651916cd43dd8448eb211c80319c",
                            "spanId": "b7ad6b7169203331",
                            "name": "answer",
                            "startTimeUnixNano": "1000",
                            "endTimeUnixNano": "5000",
                            "status": {"code": 1},
                        },
                        {
                            "traceId": "0af7651916cd43dd8448eb211c80319c",
                            "spanId": "00f067aa0ba902b7",
                            "parentSpanId": "b7ad6b7169203331",
                            "name": "llm",
                            "startTimeUnixNano": "2000",
                            "endTimeUnixNano": "4000",
                            "attributes": [
                                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-x"}},
                                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "30"}},
                            ],
                        },
                    ],
                }
            ],
        }
    ]
}


def test_convert_otlp_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps(OTLP))
    code, out, err = cli(capsys, "convert", export)
    assert (code, err) == (0, "")
    converted = Trace.from_json(out)
    assert converted.source == "otel"
    assert [(s.parent, s.step_id) for s in converted.steps] == [("", "answer"), ("answer", "llm")]
    assert converted.steps[1].tokens == Tokens(prompt=12, completion=30)
    assert "run_id" not in out
    assert "0af7651916cd43dd8448eb211c80319c" not in out  # normalized by default
    code, raw, _ = cli(capsys, "convert", export, "--raw")
    assert code == 0
    assert json.loads(raw)["run_id"] == "0af7651916cd43dd8448eb211c80319c"
    target = tmp_path / "out" / "run.trace.json"
    code, _, err = cli(capsys, "convert", export, "-o", target)
    assert code == 2
    assert f"{target}: cannot be written, {target.parent} does not exist (convert creates no folders)" in err
    assert not target.parent.exists()
    target.parent.mkdir()
    result = run_module("convert", export, "-o", target, "--normalize")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert target.read_text() == out
    # The converted file is a golden: show and compare read it.
    assert "42 tokens" in cli(capsys, "show", target)[1]
    assert cli(capsys, "compare", export, target)[0] == 0
    code, _, err = cli(capsys, "convert", export, "--raw", "--normalize")
    assert code == 2
    assert "not allowed with argument" in err


def test_convert_unknown_export_and_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"events": [1, 2]}))
    code, out, err = cli(capsys, "convert", foreign)
    assert (code, out) == (2, "")
    assert f"{foreign}: not a trace file pytest-tracediff reads" in err  # as `show` says it
    assert cli(capsys, "show", foreign)[2] == err
    good = save(tmp_path / "good.trace.json", trace())
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = cli(capsys, "convert", good, "-o", blocker / "x.json")
    assert code == 2
    assert "cannot be written" in err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("pytest-tracediff ")
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "--budget-cost RATIO" in capsys.readouterr().out
