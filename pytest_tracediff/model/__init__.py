"""The model: what a trace is, and its golden file format. Imports nothing above it.

Exports load lazily, so ``model.files`` (used at collection) does not import pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .step import FAILING_STATUSES, Step, StepStatus, Tokens, group_attempts
    from .trace import GOLDEN_FORMAT, GOLDEN_VERSION, TRACE_SUFFIX, Trace

__all__ = [
    "FAILING_STATUSES",
    "GOLDEN_FORMAT",
    "GOLDEN_VERSION",
    "TRACE_SUFFIX",
    "Step",
    "StepStatus",
    "Tokens",
    "Trace",
    "group_attempts",
]

_EXPORTS = {name: "step" for name in ("FAILING_STATUSES", "Step", "StepStatus", "Tokens", "group_attempts")}
_EXPORTS.update({name: "trace" for name in ("GOLDEN_FORMAT", "GOLDEN_VERSION", "TRACE_SUFFIX", "Trace")})
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
