"""Every user mistake gets one exception whose message names the object and the fix."""

from __future__ import annotations

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


class GoldenMissingError(AssertionError):
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
