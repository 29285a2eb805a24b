"""Every output channel is redacted the same way: goldens and their file names, the failure
output at -vv, artifacts (actual, diffs, Chrome trace), the HTML report, JUnit XML, the
GitHub step summary, and the CLI's show / compare / convert.

A run plants secret shapes in free text, an error message, a dict key, an attribute, the
trace source and a parametrize id, fails against its golden with every report option on,
then the CLI reads what it wrote; no channel may hold any secret.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Realistic fake shapes (never real secrets), each of a provider format the rules know.
SECRETS = {
    "openai": "sk-proj-" + "Tq8vB2xN5mK9pL3wR7yH1cJ4dF6gZ0aE" + "s2U5",
    "github": "ghp_" + "r8Kd2PqW9xLm4Tz7Vb1Nc5Hy3Jf6Gs0Qe8Aa",
    "slack": "xoxb-" + "2468013579-1357924680-" + "Zq7Wd9Lk3Xv5Bn1Mc8Rt4Yp6",
    "stripe": "sk_live_" + "51Hc8Kx2Lm9Qp4Rt7Vz3Wb6Nd",
    "anthropic": "sk-ant-api03-" + "Xy7Qm2Lp9Rk4Tz8Wv3Nb6Hd1Jf5Gs0Ae2Cu7Io4Pk9Mx3Zq8Lr5Tw1Vy6Bn3" + "-AbCdEfAA",
    "aws-id": "AKIA" + "Q7XK2LM9PZ4RT8WV",
}
# The id of the parametrized test carries one too.
PARAM = SECRETS["github"]

SUITE = f"""
import os
import pytest
from pytest_tracediff import Step, StepStatus, Trace

S = {SECRETS!r}
VERSION = os.environ.get("VERSION", "old")


@pytest.mark.parametrize("secret", [{PARAM!r}])
def test_leak(secret, trace_snapshot):
    steps = [
        Step(
            step_id="call",
            input={{"prompt": "use " + S["openai"] + " to call", S["slack"]: "key as a dict key"}},
            output="answer " + VERSION + " with " + S["stripe"],
            attributes={{"note": "signed with " + S["anthropic"], "param": secret}},
        ),
        Step(
            step_id="charge",
            status=StepStatus.FAILED,
            failure_class="AuthError",
            error="AuthError: rejected " + S["aws-id"] + " (" + VERSION + ")",
        ),
    ]
    assert Trace(source="bot " + S["github"], steps=steps) == trace_snapshot
"""


def _leaks(text: str, *, test_id_shown: bool = False) -> list[str]:
    """Which secrets (or a 12-character piece of one's random part) appear in ``text``.

    ``test_id_shown``: pytest itself prints the test id (with its parametrize value) in its
    own lines and JUnit's ``testcase`` name, and in a failure's traceback the test's source
    and arguments (``secret = 'ghp_...'``); those are the user's, not ours to hide.
    """
    if test_id_shown:
        text = text.replace(f"test_leak[{PARAM}]", "test_leak[...]").replace(repr(PARAM), "'...'")
    return [name for name, secret in SECRETS.items() if secret in text or secret[-12:] in text]


def _cli(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_tracediff", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.slow
def test_no_channel_holds_a_planted_secret(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_chan=SUITE)
    created = pytester.runpytest_subprocess("--trace-snapshot-update", "-p", "no:cacheprovider")
    created.assert_outcomes(passed=1)

    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("VERSION", "new")
    failed = pytester.runpytest_subprocess(
        "-vv",
        "-p",
        "no:cacheprovider",
        "--trace-artifacts",
        "art",
        "--trace-report",
        "report.html",
        "--junitxml",
        "junit.xml",
    )
    failed.assert_outcomes(failed=1)

    goldens = sorted((pytester.path / "__trace_snapshots__").rglob("*.trace.json"))
    artifacts = sorted(p for p in (pytester.path / "art").rglob("*") if p.is_file())
    assert len(goldens) == 1
    assert {p.name for p in artifacts} == {"actual.trace.json", "diff.txt", "diff.json", "trace.chrome.json"}
    # A raw export (times, ids, unredacted) for the CLI to read.
    raw = pytester.path / "raw.json"
    pytester.makepyfile(
        export=f"""
from pytest_tracediff import Step, StepStatus, Trace
S = {SECRETS!r}
Trace(source="bot", steps=[Step(step_id="s", status=StepStatus.FAILED, error="bad " + S["openai"],
      output={{"k": S["stripe"]}})]).save({str(raw)!r})
"""
    )
    subprocess.run([sys.executable, "export.py"], cwd=pytester.path, check=True, timeout=60)
    assert _leaks(raw.read_text()), "the raw export must hold the secrets for this test to mean anything"

    channels: dict[str, str] = {
        "terminal (-vv)": failed.stdout.str() + failed.stderr.str(),
        "golden file name": " ".join(str(p.relative_to(pytester.path)) for p in [*goldens, *artifacts]),
        "HTML report": (pytester.path / "report.html").read_text(),
        "JUnit XML": (pytester.path / "junit.xml").read_text(),
        "GitHub step summary": summary.read_text(),
        "cli show golden": _cli("show", goldens[0], cwd=pytester.path),
        "cli show raw export": _cli("show", raw, cwd=pytester.path),
        "cli convert raw export": _cli("convert", raw, cwd=pytester.path),
    }
    channels.update({f"golden {p.name}": p.read_text() for p in goldens})
    channels.update({f"artifact {p.name}": p.read_text() for p in artifacts})
    actual = next(p for p in artifacts if p.name == "actual.trace.json")
    for fmt in ("text", "json", "markdown"):
        channels[f"cli compare --format {fmt}"] = _cli(
            "compare", goldens[0], actual, "--format", fmt, "--verbose", cwd=pytester.path
        )
    pytest_own = {"terminal (-vv)", "JUnit XML"}
    leaks = {
        channel: found
        for channel, text in channels.items()
        if (found := _leaks(text, test_id_shown=channel in pytest_own))
    }
    assert leaks == {}
    assert "<redacted" in channels["terminal (-vv)"]  # redacted, not merely absent
