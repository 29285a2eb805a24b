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

from ..errors import CaptureError, MissingFrameworkError, UnknownFrameworkError
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

# What to check when a framework was watched and produced nothing, by adapter name.
_EMPTY_HINTS = {
    "stroma": "run the graph (`await runner.run(...)`) inside the `with` block",
    "dagron": "run the DAG (`executor.execute(...)`) inside the `with` block",
    "flujo": "run the pipeline inside the `with` block",
    "noukai": "start the flow run inside the `with` block",
    "otel": "start and end the spans inside the block with a tracer from the global provider "
    "(`opentelemetry.trace.get_tracer`); for spans of a TracerProvider your code holds, pass its "
    "InMemorySpanExporter to Trace.from_any",
    "pydantic-ai": "run the agent inside the block; an agent built with its own `instrument=` setting is not captured",
    "langgraph": "invoke a compiled graph inside the block; runs outside a compiled graph are not recorded",
    "openai-agents": "run `Runner.run`/`run_sync` inside the block; a trace started before the block is not captured",
}


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
                raise UnknownFrameworkError(unknown[0], {spelling: a.name for spelling, a in known.items()})
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
        if not traces:
            raise CaptureError(f"cap.trace: the block produced no trace. {self._why_empty()}")
        if len(traces) != 1:
            sources = ", ".join(t.source for t in traces)
            raise CaptureError(
                f"cap.trace needs exactly one trace, but the block produced {len(traces)} "
                f"({sources}); use cap.traces for all of them"
            )
        return traces[0]

    def _why_empty(self) -> str:
        """What was watched and, per framework, what to check."""
        if not self._adapters:
            names = ", ".join(sorted({a.name for a in capturing_adapters()}))
            return (
                f"Nothing was watched: none of the frameworks trace_capture() can capture is installed ({names}). "
                "Install the one your pipeline uses (`pip install 'pytest-tracediff[<framework>]'`); "
                'trace_capture("<framework>") says what it needs on this Python.'
            )
        hints = "; ".join(
            f"{a.name}: {_EMPTY_HINTS.get(a.name, 'run it inside the `with` block')}" for a in self._adapters
        )
        return f"Watched: {', '.join(a.name for a in self._adapters)}. Check that {hints}."
