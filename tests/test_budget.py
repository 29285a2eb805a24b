"""Run budgets (budget.py), numeric tolerances (tolerance.py) and their ini options."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pytest_tracediff import BudgetExceededError, BudgetReport, Step, StepStatus, Tokens, Trace, assert_budget, totals
from pytest_tracediff.compare.budget import budget_report
from pytest_tracediff.compare.tolerance import Tolerance, apply_tolerances, parse_tolerance_line, tolerances_from
from pytest_tracediff.golden.gate import gate_from_ini

pytest_plugins = ["pytester"]


def run(tokens: tuple[int, ...] = (100, 50), costs: tuple[str, ...] = ("0.02", "0.01"), retries: int = 0) -> Trace:
    steps = [Step(step_id="plan", tokens=Tokens(total=tokens[0]), cost=Decimal(costs[0]), duration=1.0)]
    for attempt in range(1, retries + 2):
        failed = attempt <= retries
        steps.append(
            Step(
                step_id="answer",
                attempt=attempt,
                status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
                # No total recorded: prompt + completion count.
                tokens=Tokens(prompt=tokens[1] - 20, completion=20),
                cost=Decimal(costs[1]),
                duration=float(attempt),
            )
        )
    return Trace(source="test", steps=steps)


# -- totals ----------------------------------------------------------------------


def test_totals_sum_tokens_cost_and_count_steps_and_attempts() -> None:
    result = totals(run(retries=2))
    assert result == {"tokens": 100 + 3 * 50, "cost": Decimal("0.05"), "steps": 2, "attempts": 4}
    assert isinstance(result["cost"], Decimal)
    assert totals(Trace()) == {"tokens": 0, "cost": Decimal(0), "steps": 0, "attempts": 0}


def test_totals_ignore_durations_and_read_goldens(tmp_path: Path) -> None:
    slow = run()
    for step in slow.steps:
        step.duration = 1000.0
    assert totals(slow) == totals(run())
    path = tmp_path / "g.trace.json"
    run().normalized().save(path)
    assert totals(path) == totals(str(path)) == totals(run())  # the golden keeps tokens and cost


# -- assert_budget ---------------------------------------------------------------


def test_within_budget_returns_report_with_improvements() -> None:
    report = assert_budget(run(tokens=(110, 50), costs=("0.01", "0.01")), run(), cost=1.0, tokens=1.1)
    assert isinstance(report, BudgetReport)
    assert report.ok
    assert report.regressions == []
    assert [e.name for e in report.improvements] == ["cost"]
    assert report["cost"].ratio == pytest.approx(2 / 3)
    assert report["tokens"].ratio == pytest.approx(160 / 150)


def test_limit_is_exact_at_the_boundary() -> None:
    base = run(tokens=(100, 0), costs=("0.10", "0"))
    # 100 * 1.1 is 110.00000000000001 in floats; the budget allows exactly 110.
    assert_budget(run(tokens=(110, 0), costs=("0.11", "0")), base, tokens=1.1, cost=1.1)
    with pytest.raises(BudgetExceededError):
        assert_budget(run(tokens=(111, 0), costs=("0.10", "0")), base, tokens=1.1)
    with pytest.raises(BudgetExceededError):
        assert_budget(run(tokens=(100, 0), costs=("0.111", "0")), base, cost=1.1)


def test_exceeded_message_lists_every_total_and_improvements() -> None:
    with pytest.raises(BudgetExceededError) as info:
        assert_budget(run(costs=("0.04", "0.01"), tokens=(90, 50), retries=1), run(), cost=1.25, attempts=2)
    error = info.value
    assert isinstance(error, AssertionError)
    message = str(error)
    assert message.splitlines()[0] == "run totals over budget: cost"
    assert "cost     baseline 0.03, actual 0.06, ratio 2.000, limit 1.25  OVER BUDGET" in message
    assert "tokens   baseline 150, actual 190, ratio 1.267, limit -" in message  # two answer attempts
    assert "attempts baseline 2, actual 3, ratio 1.500, limit 2" in message
    assert "steps    baseline 2, actual 2, ratio 1.000, limit -" in message
    assert [e.name for e in error.report.regressions] == ["cost"]
    data = error.report.to_dict()
    assert data["regressions"] == ["cost"]
    assert data["totals"][1] == {
        "name": "cost",
        "baseline": "0.03",
        "actual": "0.06",
        "ratio": 2.0,
        "limit": 1.25,
        "exceeded": True,
        "improved": False,
    }


def test_improvement_is_reported_in_a_failure() -> None:
    with pytest.raises(BudgetExceededError, match=r"improved: cost") as info:
        assert_budget(run(tokens=(500, 50), costs=("0.001", "0.001")), run(), tokens=2)
    assert "cost     baseline 0.03, actual 0.002, ratio 0.067, limit -  improved" in str(info.value)
    assert [e.name for e in info.value.report.improvements] == ["cost"]


def test_baseline_from_golden_path_and_dict(tmp_path: Path) -> None:
    path = tmp_path / "base.trace.json"
    run().normalized().save(path)
    for baseline in (path, str(path), run().to_dict(), run().to_json()):
        with pytest.raises(BudgetExceededError):
            assert_budget(run(tokens=(1000, 50)), baseline, tokens=1.5)
        assert_budget(run(), baseline, tokens=1.0, cost=1.0, steps=1.0, attempts=1.0)


def test_zero_baseline_and_bad_limits() -> None:
    empty = Trace(steps=[Step(step_id="plan"), Step(step_id="answer")])
    report = budget_report(run(), empty)
    assert report["cost"].ratio == float("inf")
    assert report["cost"].to_dict()["ratio"] is None  # JSON has no infinity
    with pytest.raises(BudgetExceededError, match="ratio inf"):
        assert_budget(run(), empty, cost=100)
    assert_budget(empty, empty, cost=1.0, tokens=1.0)  # 0 of 0: ratio 1
    for bad in (0, -1, float("nan"), float("inf"), "x", True):
        with pytest.raises(ValueError, match="budget cost"):
            assert_budget(run(), run(), cost=bad)  # type: ignore[arg-type]


# -- tolerances ------------------------------------------------------------------


def scored(score: float, label: str = "ok", cost: str = "0.10") -> Trace:
    return Trace(steps=[Step(step_id="rank", output={"score": score, "label": label}, cost=Decimal(cost))])


def test_tolerance_drops_wobble_but_keeps_real_changes() -> None:
    rules = {"output.score": {"rel": 1e-6, "abs": 1e-9}}
    wobble = scored(0.1).diff(scored(0.1 + 1e-12))
    assert len(wobble) == 1  # without tolerance it is a change
    assert not apply_tolerances(wobble, rules)
    real = scored(0.1).diff(scored(0.2, label="bad"))
    kept = apply_tolerances(real, rules)
    assert [e.path for e in kept] == ["output.label", "output.score"]
    other_path = scored(0.1).diff(scored(0.1 + 1e-12))
    assert len(apply_tolerances(other_path, {"output.other": {"rel": 1.0}})) == 1


def test_tolerance_globs_costs_and_non_numbers() -> None:
    cost = scored(0.1, cost="0.10").diff(scored(0.1, cost="0.1000001"))
    assert [e.path for e in cost] == ["cost"]
    assert not apply_tolerances(cost, ["cost rel=1e-3"])
    assert apply_tolerances(cost, ["cost rel=1e-9"])
    text = scored(0.1, label="1.0").diff(scored(0.1, label="1.00000001"))
    assert apply_tolerances(text, ["output.* rel=0.5"])  # strings are never numbers
    glob = scored(0.1).diff(scored(0.1000001))
    assert not apply_tolerances(glob, [Tolerance("*.score", abs=1e-3)])


def test_parse_tolerance_lines() -> None:
    assert parse_tolerance_line("output.score rel=1e-6 abs=1e-9") == Tolerance("output.score", 1e-6, 1e-9)
    assert parse_tolerance_line("  x   abs=2 ") == Tolerance("x", 0.0, 2.0)
    assert tolerances_from("a rel=1") == (Tolerance("a", 1.0),)
    for bad in ("", "x", "x rel", "x rel=a", "x foo=1", "x rel=1 rel=2", "x rel=-1"):
        with pytest.raises(ValueError, match="tolerance"):
            parse_tolerance_line(bad)
    with pytest.raises(ValueError, match="unknown keys"):
        tolerances_from({"x": {"relative": 1.0}})


def test_gate_from_ini_names_the_bad_setting() -> None:
    with pytest.raises(ValueError, match="trace_budget_cost"):
        gate_from_ini({"cost": "lots"}, [])
    with pytest.raises(ValueError, match="trace_tolerance"):
        gate_from_ini({}, ["output.score tight"])
    assert not gate_from_ini({"cost": ""}, []).active
    assert gate_from_ini({"cost": "1.5"}, []).limits == {"cost": 1.5}


# -- ini options through pytest --------------------------------------------------

CONFTEST = """
import json, pathlib
from decimal import Decimal
import pytest
from pytest_tracediff import Step, Tokens, Trace

@pytest.fixture
def agent_run():
    path = pathlib.Path(__file__).with_name("variant.json")
    v = json.loads(path.read_text()) if path.exists() else {}
    return Trace(source="agent", steps=[
        Step(step_id="plan", tokens=Tokens(total=v.get("plan", 100)), cost=Decimal(v.get("cost", "0.02")),
             output={"score": v.get("score", 0.1), "label": v.get("label", "ok")}),
        Step(step_id="answer", tokens=Tokens(total=v.get("answer", 100)), cost=Decimal("0.01")),
    ])
"""

TEST = """
def test_agent(agent_run, trace_snapshot):
    assert agent_run == trace_snapshot
"""


@pytest.fixture
def agent(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TEST)
    return pytester


def configure(pytester: pytest.Pytester, **ini: str) -> None:
    lines = "\n".join(f"{key} = {value}" for key, value in ini.items())
    pytester.makeini(f"[pytest]\n{lines}\n")


def variant(pytester: pytest.Pytester, **values: object) -> None:
    (pytester.path / "variant.json").write_text(json.dumps(values))


def golden_of(pytester: pytest.Pytester) -> Path:
    return pytester.path / "__trace_snapshots__" / "test_agent" / "test_agent.trace.json"


def test_ini_budget_fails_an_otherwise_matching_trace(agent: pytest.Pytester) -> None:
    # Per-step tokens wobble within tolerance (no diff), but the total grows 30%.
    configure(agent, trace_budget_tokens="1.2", trace_tolerance="\n    tokens.* rel=0.5")
    agent.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    golden = golden_of(agent).read_text()
    variant(agent, plan=130, answer=130)
    result = agent.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*run totals over budget: tokens",
            "*tokens   baseline 200, actual 260, ratio 1.300, limit 1.2  OVER BUDGET",
            "*golden: __trace_snapshots__/test_agent/test_agent.trace.json*",
            "trace goldens: 1 checked: 0 matched, 1 changed",
        ]
    )
    assert "changes" not in result.stdout.str()  # no diff: only the budget failed
    variant(agent, plan=110, answer=110)  # +10%: within budget and tolerance
    agent.runpytest().assert_outcomes(passed=1)
    assert golden_of(agent).read_text() == golden


def test_ini_budget_improvement_is_a_summary_line_not_a_failure(agent: pytest.Pytester) -> None:
    configure(agent, trace_budget_tokens="1.0", trace_tolerance="\n    tokens.* rel=0.5")
    agent.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    variant(agent, plan=80, answer=90)
    result = agent.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*trace budgets: 1 total(s) improved*",
            "*__trace_snapshots__/test_agent/test_agent.trace.json: tokens 200 -> 170 (ratio 0.850)",
        ]
    )
    xdist = agent.runpytest("-p", "xdist", "-n", "2")
    xdist.assert_outcomes(passed=1)
    xdist.stdout.fnmatch_lines(["*trace budgets: 1 total(s) improved*"])


def test_ini_budget_on_a_changed_trace_shows_diff_and_budget(agent: pytest.Pytester) -> None:
    configure(agent, trace_budget_cost="1.1")
    agent.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    variant(agent, cost="0.05")
    result = agent.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ['*~ attribute changed: plan (attempt 1) cost: "0.02" -> "0.05"', "*run totals over budget: cost"]
    )
    # Under the update flag the new totals are the new baseline: no budget failure.
    agent.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    agent.runpytest().assert_outcomes(passed=1)


def test_ini_tolerance_drops_wobble_keeps_real_changes(agent: pytest.Pytester) -> None:
    configure(agent, trace_tolerance="\n    output.score rel=1e-6 abs=1e-9")
    agent.runpytest("--trace-snapshot-update").assert_outcomes(passed=1)
    golden = golden_of(agent).read_text()
    variant(agent, score=0.1 + 1e-12)
    agent.runpytest().assert_outcomes(passed=1)
    update = agent.runpytest("--trace-snapshot-update")  # a wobble never rewrites the golden
    update.assert_outcomes(passed=1)
    update.stdout.fnmatch_lines(["trace goldens: 1 checked: 1 matched"])
    assert golden_of(agent).read_text() == golden
    variant(agent, score=0.1 + 1e-12, label="bad")
    result = agent.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 change: 1 output changed", '*output.label: "ok" -> "bad"'])
    assert "output.score" not in result.stdout.str()
    configure(agent)  # without the option the wobble is a change
    variant(agent, score=0.1 + 1e-12)
    agent.runpytest().assert_outcomes(failed=1)


def test_bad_ini_value_is_a_usage_error(agent: pytest.Pytester) -> None:
    configure(agent, trace_budget_steps="many")
    result = agent.runpytest("--trace-snapshot-update")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*trace_budget_steps: budget steps='many' is not a number*"])
