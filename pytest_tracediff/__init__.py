"""pytest-tracediff: trace-based regression testing for pipelines, DAGs and agent flows.

Exports load lazily, so the pytest plugin adds no import cost to test runs that
do not use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .assertions import (
        TraceAssertionError,
        assert_no_failures,
        assert_retries,
        assert_steps,
        executed_steps,
    )
    from .budget import BudgetExceededError, BudgetReport, assert_budget, totals
    from .capture import CaptureError, TraceCapture
    from .diff import DiffEntry, StepRef, TraceDiff
    from .errors import (
        GoldenFileError,
        GoldenMissingError,
        MissingFrameworkError,
        TraceDiffError,
        UnknownTraceError,
    )
    from .model import Step, StepStatus, Tokens, Trace
    from .normalize import NormalizeOptions
    from .recorder import TraceRecorder
    from .registry import Adapter, register_adapter, unregister_adapter
    from .snapshot import TraceSnapshot

__version__ = "0.1.0"

_EXPORTS = {
    "Trace": "model",
    "Step": "model",
    "StepStatus": "model",
    "Tokens": "model",
    "TraceDiff": "diff",
    "DiffEntry": "diff",
    "StepRef": "diff",
    "NormalizeOptions": "normalize",
    "TraceRecorder": "recorder",
    "TraceSnapshot": "snapshot",
    "TraceCapture": "capture",
    "CaptureError": "capture",
    "Adapter": "registry",
    "register_adapter": "registry",
    "unregister_adapter": "registry",
    "assert_no_failures": "assertions",
    "assert_retries": "assertions",
    "assert_steps": "assertions",
    "executed_steps": "assertions",
    "TraceAssertionError": "assertions",
    "TraceDiffError": "errors",
    "assert_budget": "budget",
    "totals": "budget",
    "BudgetExceededError": "budget",
    "BudgetReport": "budget",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_tracediff' has no attribute {name!r}")
    # Not cached in globals(): the submodule stays the single source of truth, even
    # when pytester or a reload re-imports it.
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
