"""Capturing traces from frameworks without changing user code.

``TraceCapture`` enters the ``capture()`` of every capturing adapter whose framework
is installed (or only the ones asked for): each forces its framework's tracing on and
hands every trace object produced to ``collect``. Leaving the block restores every
patch and global setting, also when the block raises.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Protocol, runtime_checkable

from ..errors import CaptureError, MissingFrameworkError
from ..model import Trace
from .registry import Adapter, adapters, load_framework_adapters


@runtime_checkable
class CapturingAdapter(Adapter, Protocol):
    """An adapter that can also switch its framework's tracing on for a while."""

    framework: str
    """Import name of the framework, e.g. ``"dagron"``."""
    extra: str
    """The pip extra that installs it: ``pytest-tracediff[<extra>]``."""

    def capture(self, collect: Callable[[object], None]) -> AbstractContextManager[None]:
        """Force tracing on; call ``collect(obj)`` for each trace produced; restore on exit."""
        ...


def installed(framework: str) -> bool:
    """True when ``framework`` can be imported; does not import it."""
    try:
        return importlib.util.find_spec(framework) is not None
    except (ImportError, ValueError):
        return False


def capturing_adapters() -> list[CapturingAdapter]:
    load_framework_adapters()
    return [a for a in adapters() if isinstance(a, CapturingAdapter)]


FALLBACK_SOURCES = frozenset({"otel"})


class TraceCapture:
    """``with TraceCapture() as cap: ...`` then ``cap.trace`` / ``cap.traces``."""

    def __init__(self, frameworks: Iterable[str] | None = None) -> None:
        # Either the adapter's name ("otel") or its import name ("opentelemetry.sdk").
        known = {a.framework: a for a in capturing_adapters()}
        known.update({a.name: a for a in capturing_adapters()})
        if frameworks is None:
            every = {a.framework: a for a in known.values()}
            self._adapters = [a for name, a in sorted(every.items()) if installed(name)]
        else:
            wanted = list(frameworks)
            unknown = [f for f in wanted if f not in known]
            if unknown:
                raise ValueError(f"no capturing adapter for {unknown}; known: {sorted(known)}")
            missing = [known[f] for f in wanted if not installed(known[f].framework)]
            if missing:
                raise MissingFrameworkError(missing[0].framework, missing[0].extra)
            self._adapters = [known[f] for f in wanted]
        self._raw: list[tuple[str, object]] = []
        self._stack: ExitStack | None = None

    @property
    def frameworks(self) -> list[str]:
        """The frameworks this capture switches on."""
        return [a.framework for a in self._adapters]

    def _collector(self, adapter: CapturingAdapter) -> Callable[[object], None]:
        def collect(obj: object) -> None:
            self._raw.append((adapter.name, obj))

        return collect

    def __enter__(self) -> TraceCapture:
        if self._stack is not None:
            raise RuntimeError("this TraceCapture is already active")
        stack = ExitStack()
        try:
            for adapter in self._adapters:
                stack.enter_context(adapter.capture(self._collector(adapter)))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def close(self) -> None:
        """Restore everything if the block is still open (the fixture's teardown)."""
        self.__exit__(None, None, None)

    @property
    def raw(self) -> list[object]:
        """The framework objects as collected, in order."""
        return [obj for _, obj in self._raw]

    @property
    def traces(self) -> list[Trace]:
        """Every trace produced in the block, converted, in the order they finished."""
        by_name = {a.name: a for a in self._adapters}
        return [by_name[name].convert(obj) for name, obj in self._raw]

    @property
    def trace(self) -> Trace:
        """The one trace produced in the block.

        OpenTelemetry spans are a fallback: frameworks that emit them as well as
        their own trace (flujo, noukai) would otherwise give two traces of one run.
        """
        traces = self.traces
        if len(traces) > 1:
            primary = [t for t in traces if t.source not in FALLBACK_SOURCES]
            if len(primary) == 1:
                return primary[0]
        if len(traces) != 1:
            sources = ", ".join(t.source for t in traces) or "none"
            raise CaptureError(
                f"cap.trace needs exactly one trace, but the block produced {len(traces)} "
                f"({sources}); use cap.traces for all of them"
            )
        return traces[0]
