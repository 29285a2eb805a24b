"""Every code block in README.md is checked, so the README cannot drift from the code.

- ``python``: every block compiles; a block that is a complete test file runs with
  pytester (golden created, then compared); the others are snippets (they use names the
  reader has: a graph, an agent, ``trace``) and are listed in ``SNIPPETS`` with the reason.
- ``bash``: every block is valid bash; each simple command names a program we know and
  only options that exist: pytest's (parsed by pytest with this plugin), the CLI's
  (parsed by its own parser), tox envs from tox.ini, extras from pyproject.toml.
- ``ini``: pytest reads it as the project's config, every key is one of our options, and
  a trace test passes under it.
- ``text``: sample output, not run; the formats are asserted where they are made
  (tests/test_first_hour.py for the summary, the diff tests for the failure lines).
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_tracediff.cli import CliError, build_parser
from pytest_tracediff.errors import STROMA_PIN

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int

    @property
    def head(self) -> str:
        return self.text.splitlines()[0]

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang}: {self.head[:40]})"


BLOCKS = [
    Block(m.group(1), m.group(2), README[: m.start()].count("\n") + 1)
    for m in re.finditer(r"(?ms)^```(\w*)\n(.*?)^```", README)
]

_WHOLE = "; the whole test runs in examples/frameworks"
SNIPPETS = {
    "@recorder.step(max_attempts=3, retry_on=(GatewayTimeout,))": "pipeline fragments (the first test has them whole)",
    "def test_etl(trace_capture, trace_snapshot):": "needs dagron and a DAG" + _WHOLE,
    "def test_support_agent(trace_capture, trace_snapshot):": "needs LangGraph and a graph" + _WHOLE,
    "def test_refund(trace_capture, trace_snapshot):": "needs the OpenAI Agents SDK and agents" + _WHOLE,
    "from opentelemetry.sdk.trace import TracerProvider": "needs a third-party instrumentor (OpenInference)",
    '@pytest.mark.trace_snapshot(exclude=["output.generated_at_ms"], mask=[(r"session-\\w+", "<session>")])': (
        "a marker on a test body left out"
    ),
    '@pytest.mark.trace_snapshot(redact_keys=["^internal_ref$"], redact_patterns=[r"ORD-\\d{4}"])': (
        "a marker on a test body left out"
    ),
    "from pytest_tracediff import assert_budget, totals": "uses a `trace` and a golden the reader has",
}
"""Python blocks that are not complete tests, by first line, and why."""

NEEDS = {"from pydantic_ai import Agent": "pydantic_ai"}
"""Complete tests that need a framework: run where it is installed (tox env py312-agents)."""


def blocks(lang: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang == lang]


def test_every_block_has_a_known_language() -> None:
    assert {b.lang for b in BLOCKS} == {"python", "bash", "ini", "text"}, [str(b) for b in BLOCKS if not b.lang]


def test_snippet_list_is_current() -> None:
    heads = {b.head for b in blocks("python")}
    assert set(SNIPPETS) <= heads, "a README snippet listed here is gone: remove it from SNIPPETS"
    assert set(NEEDS) <= heads


# -- python ----------------------------------------------------------------------


@pytest.mark.parametrize("block", blocks("python"), ids=str)
def test_python_block_compiles(block: Block) -> None:
    compile(block.text, str(block), "exec")


@pytest.mark.parametrize("block", [b for b in blocks("python") if b.head not in SNIPPETS], ids=str)
def test_python_block_runs_as_a_test_file(block: Block, pytester: pytest.Pytester) -> None:
    assert "def test_" in block.text, f"{block} is no test: run it here or list it in SNIPPETS with the reason"
    module = NEEDS.get(block.head)
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{block} needs {module}")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_readme_block=block.text)
    # pydantic-ai's run_sync leaves its event loop's generators to the garbage collector (as in tox).
    args = ["-p", "no:cacheprovider", *(["-W", "ignore::ResourceWarning"] if module else [])]
    pytester.runpytest(*args).assert_outcomes(failed=1)  # no golden yet: fails, writes nothing
    assert not (pytester.path / "__trace_snapshots__").exists()
    pytester.runpytest(*args, "--trace-snapshot-update").assert_outcomes(passed=1)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["trace goldens: 1 checked: 1 matched"])


# -- ini ------------------------------------------------------------------------


def our_ini_names() -> set[str]:
    from pytest_tracediff.plugin import settings

    names: set[str] = set()

    class Recorder:
        def addini(self, name: str, *args: object, **kwargs: object) -> None:
            names.add(name)

    settings.add_ini_options(Recorder())  # type: ignore[arg-type]
    return names


@pytest.mark.parametrize("block", blocks("ini"), ids=str)
def test_ini_block_is_a_working_config(block: Block, pytester: pytest.Pytester) -> None:
    parsed = configparser.ConfigParser()
    parsed.read_string(block.text)
    assert parsed.sections() == ["pytest"]
    assert set(parsed["pytest"]) <= our_ini_names()
    pytester.makeini(block.text)
    pytester.makepyfile(
        test_x="""
        from pytest_tracediff import Trace, Step

        def test_x(trace_snapshot):
            assert Trace(steps=[Step(step_id="a", output={"score": 0.5})]) == trace_snapshot
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "--trace-snapshot-update").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# -- bash -----------------------------------------------------------------------


def commands(text: str) -> list[list[str]]:
    """Simple commands of a block: comments dropped, split at && || | ; and >> redirections."""
    out = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        command: list[str] = []
        tokens = list(lexer)
        skip_next = False
        for token in tokens:
            if skip_next:
                skip_next = False
                continue
            if token in ("&&", "||", "|", ";"):
                out.append(command)
                command = []
            elif token in (">", ">>"):
                skip_next = True  # the redirection's target
            else:
                command.append(token)
        if command:
            out.append(command)
    return [c for c in out if c]


_PYPROJECT = (ROOT / "pyproject.toml").read_text()
EXTRAS = set(
    re.findall(
        r"(?m)^([\w-]+) = \[",
        _PYPROJECT[_PYPROJECT.index("[project.optional-dependencies]") : _PYPROJECT.index("[project.scripts]")],
    )
)
TOX_ENVS = set(re.findall(r"(?m)^\[testenv:([\w-]+)\]", (ROOT / "tox.ini").read_text())) | set(
    re.findall(r"py3\d+", (ROOT / "tox.ini").read_text().split("\n", 2)[1])
)


def check_command(argv: list[str], pytester: pytest.Pytester) -> None:
    program, args = argv[0], argv[1:]
    if program == ".ci/pythons":
        script = ROOT / program
        assert script.is_file(), program
        assert script.stat().st_mode & 0o111, f"{program} is not executable"
        return check_command(args, pytester)
    name = program.rsplit("/", 1)[-1]
    if name.startswith("python") and args[:1] == ["-m"]:
        module, rest = args[1], args[2:]
        if module == "pytest":
            return check_command(["pytest", *rest], pytester)
        assert module == "venv", f"python -m {module}"
        return None
    if name == "pytest":
        pytester.parseconfig(*args)  # pytest with this plugin: a UsageError names an unknown option
        return None
    if name == "pytest-tracediff":
        try:
            build_parser().parse_args(args)
        except CliError as exc:
            pytest.fail(f"{argv}: {exc}")
        return None
    if name == "pip":
        assert args[0] == "install"
        for spec in args[1:]:
            if spec.startswith("-"):
                continue
            if spec.startswith("stroma"):
                assert spec == STROMA_PIN
                continue
            extras = re.fullmatch(r"(?:pytest-tracediff|\.)\[([\w,-]+)\]", spec)
            if extras:
                assert set(extras.group(1).split(",")) <= EXTRAS, spec
            else:
                assert spec in ("pytest-tracediff", "tox>=4.11"), spec
        return None
    if name == "tox":
        for i, arg in enumerate(args):
            if arg == "-e":
                assert set(args[i + 1].split(",")) <= TOX_ENVS
        return None
    assert name == "git", f"README runs {argv}: teach tests/test_readme.py about it"
    assert args[0] in ("add", "diff"), argv
    return None


@pytest.mark.parametrize("block", blocks("bash"), ids=str)
def test_bash_block_is_valid_and_names_real_options(block: Block, pytester: pytest.Pytester) -> None:
    bash = shutil.which("bash")
    if bash is not None:
        syntax = subprocess.run([bash, "-n"], input=block.text, capture_output=True, text=True, check=False)
        assert syntax.returncode == 0, syntax.stderr
    for argv in commands(block.text):
        check_command(argv, pytester)


def test_bash_checks_can_fail(pytester: pytest.Pytester) -> None:
    with pytest.raises(pytest.UsageError):
        check_command(["pytest", "--trace-snapshot-updates"], pytester)
    with pytest.raises(pytest.fail.Exception):
        check_command(["pytest-tracediff", "convert", "x.json", "--output-dir", "y"], pytester)
    with pytest.raises(AssertionError):
        check_command(["pip", "install", "pytest-tracediff[langchain]"], pytester)
    with pytest.raises(AssertionError):
        check_command(["tox", "-e", "py39"], pytester)


def test_the_readme_commands_are_what_ci_runs() -> None:
    """.ci/run runs the README's test command verbatim."""
    test_command = blocks("bash")[-1].text.strip()
    assert test_command.endswith(".ci/pythons .venv/bin/tox")
    assert test_command in (ROOT / ".ci" / "run").read_text()
