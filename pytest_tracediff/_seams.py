"""Where ``Trace``'s convenience methods find the stages above the model.

``Trace.normalized()``, ``Trace.diff()``, ``Trace.from_any()`` and the redacting
``repr`` belong to the public API, but their work is done by higher layers. The model
must not import them, so it calls through this table, which the package root (the
one place that knows every layer) fills with ``"module:function"`` names at import.
A name is imported on first use, so binding costs nothing. Stdlib only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_targets: dict[str, str] = {}
_resolved: dict[str, Callable[..., Any]] = {}


def bind(**targets: str) -> None:
    """Name the implementation of each seam, as ``"package.module:function"``."""
    _targets.update(targets)
    for name in targets:
        _resolved.pop(name, None)


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run the implementation bound to ``name``."""
    function = _resolved.get(name)
    if function is None:
        module, _, attribute = _targets[name].partition(":")
        function = _resolved[name] = getattr(importlib.import_module(module), attribute)
    return function(*args, **kwargs)
