"""The adapter registry behind ``Trace.from_any``.

An adapter detects the objects it understands and converts them into a ``Trace``.
Framework adapters register here too; they must detect without importing their
framework so the core stays importable with no framework installed.

A file or JSON text is read and parsed here, once: the adapters are handed the
parsed value (a dict or a list; JSON lines become a list), never the path, so no
adapter reads or parses it again. A document no framework adapter claims must be in
the tracediff format, and every error names the file.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from ..errors import GoldenFileError, UnknownTraceError
from ..model import Trace
from ..model.files import read_trace_text


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


_ADAPTERS: list[Adapter] = [_TraceAdapter(), _DictAdapter()]
_TEXT_ORIGIN = "<JSON text given to Trace.from_any()>"
_READERS = ("json", "file")
"""What the registry reads itself (JSON text, files) before handing the parsed value on."""


@functools.cache
def load_framework_adapters() -> None:
    """Register the framework adapters (once); their frameworks are not imported."""
    from .adapters import framework_adapters

    # Before the generic dict reader (a framework's JSON export can look like a dict
    # with "steps"), after the Trace pass-through and user adapters.
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


def parse_json_text(text: str) -> Any:
    """JSON, or JSON lines as a list; ``json.JSONDecodeError`` (of the whole text) when neither."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as whole:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise
        try:
            return [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            raise whole from None


class _Document:
    """A file or JSON text, read and parsed once; ``value`` is what the adapters see."""

    def __init__(self, obj: str | bytes | os.PathLike[str]) -> None:
        if isinstance(obj, (str, bytes)):
            self.origin = _TEXT_ORIGIN
            text = obj.decode("utf-8", errors="replace") if isinstance(obj, bytes) else obj
        else:
            self.origin = os.fspath(obj)
            text = read_trace_text(Path(self.origin))
        self.error: json.JSONDecodeError | None = None
        self.value: Any = text
        try:
            self.value = parse_json_text(text)
        except json.JSONDecodeError as exc:
            self.error = exc

    def as_trace(self) -> Trace:
        """The document in the tracediff format, or the error that says why not."""
        if self.error is not None:
            raise GoldenFileError(self.origin, f"is not valid JSON ({self.error})")
        return Trace.from_data(self.value, origin=self.origin)


def _is_document(obj: object) -> bool:
    if isinstance(obj, os.PathLike):
        return True
    return isinstance(obj, (str, bytes)) and obj.lstrip()[:1] in ("{", "[", b"{", b"[")


def from_any(obj: Any) -> Trace:
    load_framework_adapters()
    document: _Document | None = None
    for adapter in _ADAPTERS:
        if document is None and _is_document(obj) and _is_builtin(adapter):
            document = _Document(obj)  # first built-in adapter: parse once, for all of them
        if isinstance(adapter, _DictAdapter) and document is not None:
            return document.as_trace()  # no framework claimed it: it must be a tracediff file
        value = document.value if document is not None else obj
        if adapter.detect(value):
            return adapter.convert(value)
    kind = type(obj)
    names = ", ".join([*(a.name for a in _ADAPTERS), *_READERS])
    raise UnknownTraceError(
        f"Trace.from_any() does not know how to read a {kind.__module__}.{kind.__qualname__}. "
        f"Known adapters: {names}. Pass a Trace, a tracediff dict/JSON/file, a supported "
        f"framework's trace object, or register an adapter with "
        f"pytest_tracediff.register_adapter()."
    )


def _is_builtin(adapter: Adapter) -> bool:
    """Framework and generic adapters see parsed documents; user adapters see what was given."""
    return type(adapter).__module__.startswith(__package__ or "pytest_tracediff.sources")
