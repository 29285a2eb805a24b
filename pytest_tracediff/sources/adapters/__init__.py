"""Framework adapters: one public module per source, each exposing ``ADAPTER``.

Modules are discovered, so adding an adapter is adding a module. Each must import
its framework only inside functions: importing this package costs nothing when a
framework is not installed.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry imports this package to discover the adapters
    from ..registry import Adapter


def framework_adapters() -> list[Adapter]:
    """The ``ADAPTER`` of every public module here, in name order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f".{name}", __name__).ADAPTER for name in names]
