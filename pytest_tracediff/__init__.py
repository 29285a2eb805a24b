"""pytest-tracediff: trace-based regression testing for pipelines, DAGs and agent flows.

Exports load lazily, so the pytest plugin adds no import cost to test runs that
do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _seams
from ._lazy import lazy_exports

if TYPE_CHECKING:
    from .compare.assertions import assert_no_failures, assert_retries, assert_steps, executed_steps
    from .compare.budget import BudgetReport, assert_budget, totals
    from .compare.diff import DiffEntry, StepRef, TraceDiff
    from .errors import (
        BudgetExceededError,
        CaptureError,
        GoldenFileError,
        GoldenMissingError,
        MissingFrameworkError,
        TraceAssertionError,
        TraceDiffError,
        UnknownTraceError,
    )
    from .golden.snapshot import TraceSnapshot
    from .model import Step, StepStatus, Tokens, Trace
    from .normalize import NormalizeOptions
    from .sources.capture import TraceCapture
    from .sources.recorder import TraceRecorder
    from .sources.registry import Adapter, register_adapter, unregister_adapter

__version__ = "0.1.0"

_EXPORTS = {
    "Trace": "model",
    "Step": "model",
    "StepStatus": "model",
    "Tokens": "model",
    "TraceDiff": "compare.diff",
    "DiffEntry": "compare.diff",
    "StepRef": "compare.diff",
    "NormalizeOptions": "normalize",
    "TraceRecorder": "sources.recorder",
    "TraceCapture": "sources.capture",
    "Adapter": "sources.registry",
    "register_adapter": "sources.registry",
    "unregister_adapter": "sources.registry",
    "TraceSnapshot": "golden.snapshot",
    "assert_no_failures": "compare.assertions",
    "assert_retries": "compare.assertions",
    "assert_steps": "compare.assertions",
    "executed_steps": "compare.assertions",
    "assert_budget": "compare.budget",
    "totals": "compare.budget",
    "BudgetReport": "compare.budget",
    "TraceDiffError": "errors",
    "TraceAssertionError": "errors",
    "BudgetExceededError": "errors",
    "CaptureError": "errors",
    "GoldenFileError": "errors",
    "GoldenMissingError": "errors",
    "UnknownTraceError": "errors",
    "MissingFrameworkError": "errors",
}

__all__ = [
    "Adapter",
    "BudgetExceededError",
    "BudgetReport",
    "CaptureError",
    "DiffEntry",
    "GoldenFileError",
    "GoldenMissingError",
    "MissingFrameworkError",
    "NormalizeOptions",
    "Step",
    "StepRef",
    "StepStatus",
    "Tokens",
    "Trace",
    "TraceAssertionError",
    "TraceCapture",
    "TraceDiff",
    "TraceDiffError",
    "TraceRecorder",
    "TraceSnapshot",
    "UnknownTraceError",
    "assert_budget",
    "assert_no_failures",
    "assert_retries",
    "assert_steps",
    "executed_steps",
    "register_adapter",
    "totals",
    "unregister_adapter",
]


__getattr__, _dir = lazy_exports(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


# The composition root: ``Trace``'s convenience methods reach the stages above the
# model through these seams (see ``_seams.py``); nothing is imported until used.
_seams.bind(
    normalize="pytest_tracediff.normalize.apply:normalize",
    diff="pytest_tracediff.compare.diff:diff_recorded",
    from_any="pytest_tracediff.sources.registry:from_any",
    redact_text="pytest_tracediff.normalize.redact:redact_text",
)
