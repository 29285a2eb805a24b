"""The adapter registry behind ``Trace.from_any``.

An adapter detects the objects it understands and converts them into a ``Trace``.
Framework adapters register here too; they must detect without importing their
framework so the core stays importable with no framework installed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from ..errors import UnknownTraceError
from ..model import Trace


@runtime_checkable
class Adapter(Protocol):
    """Converts one family of trace objects into ``Trace``."""

    name: str

    def detect(self, obj: object) -> bool:
        """True when ``obj`` is this adapter's; must be cheap and import nothing."""
        ...

    def convert(self, obj: object) -> Trace:
        """The ``Trace`` for ``obj``; raise a clear error for a malformed one."""
        ...


class _TraceAdapter:
    name = "trace"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, Trace)

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, Trace)
        return obj


class _DictAdapter:
    """A dict in the tracediff format (``Trace.to_dict()``, a parsed golden)."""

    name = "dict"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, Mapping) and "steps" in obj

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, Mapping)
        try:
            return Trace.from_dict(dict(obj))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UnknownTraceError(
                f"dict given to Trace.from_any() has 'steps' but is not a tracediff trace: "
                f"{where}: {first['msg']}. See Trace.to_dict() for the expected shape."
            ) from None


class _JsonTextAdapter:
    name = "json"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, (str, bytes)) and obj.lstrip()[:1] in ("{", b"{")

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, (str, bytes))
        text = obj.decode("utf-8") if isinstance(obj, bytes) else obj
        return Trace.from_json(text, origin="<JSON text given to Trace.from_any()>")


class _PathAdapter:
    name = "file"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, (os.PathLike, Path))

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, os.PathLike)
        return Trace.load(Path(os.fspath(obj)))


_ADAPTERS: list[Adapter] = [_TraceAdapter(), _DictAdapter(), _JsonTextAdapter(), _PathAdapter()]


@functools.cache
def load_framework_adapters() -> None:
    """Register the framework adapters (once); their frameworks are not imported."""
    from .adapters import framework_adapters

    # Before the generic dict/JSON/file readers (a framework's JSON export can look
    # like a dict with "steps"), after the Trace pass-through and user adapters.
    position = next(i for i, a in enumerate(_ADAPTERS) if isinstance(a, _DictAdapter))
    _ADAPTERS[position:position] = framework_adapters()


def register_adapter(adapter: Adapter) -> None:
    """Add an adapter; later registrations are tried first, so they can override."""
    if not isinstance(adapter, Adapter):
        raise TypeError(f"{adapter!r} is not an adapter: it needs name, detect() and convert()")
    _ADAPTERS.insert(0, adapter)


def unregister_adapter(adapter: Adapter) -> None:
    _ADAPTERS.remove(adapter)


def adapters() -> list[Adapter]:
    """The adapters in the order ``from_any`` tries them."""
    load_framework_adapters()
    return list(_ADAPTERS)


def from_any(obj: Any) -> Trace:
    load_framework_adapters()
    for adapter in _ADAPTERS:
        if adapter.detect(obj):
            return adapter.convert(obj)
    kind = type(obj)
    names = ", ".join(a.name for a in _ADAPTERS)
    raise UnknownTraceError(
        f"Trace.from_any() does not know how to read a {kind.__module__}.{kind.__qualname__}. "
        f"Known adapters: {names}. Pass a Trace, a tracediff dict/JSON/file, a supported "
        f"framework's trace object, or register an adapter with "
        f"pytest_tracediff.register_adapter()."
    )
