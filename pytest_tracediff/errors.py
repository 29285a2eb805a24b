"""Every exception pytest-tracediff raises on purpose, in one place.

Each derives from ``TraceDiffError`` and says what is wrong, naming the file or
object, and how to fix it. Stdlib only: every layer may import this module.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .compare.budget import BudgetReport

UPDATE_FLAG = "--trace-snapshot-update"


class TraceDiffError(Exception):
    """Base class of the errors pytest-tracediff raises on purpose."""


class GoldenFileError(TraceDiffError):
    """A golden or trace file that cannot be read as a trace."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"trace file {path} {problem}. If it is a golden, fix it by hand or "
            f"regenerate it with `pytest {UPDATE_FLAG}` (then review the change in git)."
        )


class UnstorableTraceError(ValueError, TraceDiffError):
    """A trace holds a value a golden cannot hold (it could not be read back)."""


class GoldenMissingError(AssertionError, TraceDiffError):
    """Raised, never written silently, when a test has no golden yet."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"trace golden {path} does not exist. Create it with `pytest {UPDATE_FLAG}`, review it, and commit it."
        )


class UnknownTraceError(TypeError, TraceDiffError):
    """``Trace.from_any`` was given something no adapter understands."""


STROMA_PIN = "stroma==0.3.2"
"""stroma's metadata pulls in crewai (~1 GB, never imported): it is installed with --no-deps."""

MIN_PYTHON = {"stroma": (3, 12), "dagron": (3, 12), "flujo": (3, 13), "pydantic-ai": (3, 11)}
"""Extras whose framework needs a newer Python than we do (their Requires-Python or wheels);
the extras' markers in pyproject.toml say the same."""


def install_advice(extra: str, version: tuple[int, int] | None = None) -> str:
    """What installs ``pytest-tracediff[extra]``'s framework, true for this Python."""
    major, minor = version or sys.version_info[:2]
    command = f"`pip install 'pytest-tracediff[{extra}]'`"
    if extra == "stroma":
        command += f" and then `pip install --no-deps '{STROMA_PIN}'` (the extra holds only what stroma imports)"
    need = MIN_PYTHON.get(extra)
    if need is not None and (major, minor) < need:
        return (
            f"it needs Python {need[0]}.{need[1]} or newer and this is Python {major}.{minor}: run the tests "
            f"under Python {need[0]}.{need[1]}+ (e.g. a venv made with python{need[0]}.{need[1]}), "
            f"and there {command}"
        )
    return f"install it with {command}"


class MissingFrameworkError(ImportError, TraceDiffError):
    """An adapter's framework is not installed; the message says how, for this Python."""

    def __init__(self, framework: str, extra: str) -> None:
        self.framework = framework
        self.extra = extra
        super().__init__(f"{framework} is not installed; {install_advice(extra)}.")


class UnknownFrameworkError(ValueError, TraceDiffError):
    """``trace_capture("name")`` with a name no capturing adapter has (a typo, usually)."""

    def __init__(self, name: str, spellings: Mapping[str, str]) -> None:
        """``spellings``: every accepted name (adapter and import names) -> the adapter's name."""
        import difflib  # only on this error: the plugin's import stays light

        close = difflib.get_close_matches(name, list(spellings), n=1, cutoff=0.6)
        hint = f" Did you mean {spellings[close[0]]!r}?" if close else ""
        known = ", ".join(sorted(set(spellings.values())))
        super().__init__(f"trace_capture() has no framework named {name!r}.{hint} Known: {known}.")


class CaptureError(TraceDiffError):
    """A capture block produced no trace or more than one, or a framework's internals moved."""


class TraceAssertionError(AssertionError, TraceDiffError):
    """A behaviour assertion failed; ``problems`` lists each offending item."""

    def __init__(self, headline: str, problems: Sequence[str] = ()) -> None:
        self.headline = headline
        self.problems = list(problems)
        super().__init__("\n".join([headline, *(f"  - {p}" for p in self.problems)]))


class BudgetExceededError(AssertionError, TraceDiffError):
    """A run total grew past its budget; ``report`` holds every total."""

    def __init__(self, report: BudgetReport) -> None:
        self.report = report
        super().__init__(report.render())
