"""Every exception pytest-tracediff raises on purpose, in one place.

Each derives from ``TraceDiffError`` and says what is wrong, naming the file or
object, and how to fix it. Stdlib only: every layer may import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class MissingFrameworkError(ImportError, TraceDiffError):
    """An adapter's framework is not installed."""

    def __init__(self, framework: str, extra: str) -> None:
        super().__init__(f"{framework} is not installed; install it with `pip install 'pytest-tracediff[{extra}]'`.")


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
