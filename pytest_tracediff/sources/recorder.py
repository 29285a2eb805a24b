"""The built-in recorder for plain Python pipelines (sync and async).

``recorder.step`` is both a decorator and a context manager. Nesting gives parent
paths (through a context variable, so asyncio tasks inherit it). A call made right
after a failed call of the same step, under the same parent, is recorded as its
next attempt. Steps that overlap in time under one parent share a ``level``, which
normalization uses to give them a canonical order.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar, overload

from ..model import FAILING_STATUSES, Step, StepStatus, Trace
from ..model.canonical import canonical

F = TypeVar("F", bound=Callable[..., Any])


Lane = tuple[int, int | None]
"""Where code runs: (thread id, asyncio task id or None)."""


def _lane() -> Lane:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        task = None
    return (threading.get_ident(), None if task is None else id(task))


_RETRY_ANY: tuple[type[BaseException], ...] = (Exception,)
"""The default of ``retry_on``: any exception is retried, up to ``max_attempts``."""


class _Frame:
    """One running step (or the root) and the children opened under it."""

    __slots__ = ("children", "lane", "last", "path", "span_id")

    def __init__(self, path: str, lane: Lane, span_id: str | None = None) -> None:
        self.path = path
        self.lane = lane
        self.span_id = span_id
        self.last: Step | None = None
        self.children: list[tuple[Step, Lane]] = []

    def levels(self) -> dict[int, int]:
        """Concurrency level of each child (by ``id``), deterministic whatever the timing.

        Children opened where this step runs are sequential. A run of children opened
        elsewhere (other threads, other asyncio tasks) is concurrent when it spans more
        than one lane: all of it shares one level and is ordered canonically. A run in a
        single other lane (``asyncio.run`` of a sequential coroutine) stays sequential.
        """
        out: dict[int, int] = {}
        level = 0
        segment: list[tuple[Step, Lane]] = []

        def flush() -> None:
            nonlocal level
            if len({lane for _, lane in segment}) > 1:
                for step, _ in segment:
                    out[id(step)] = level
                level += 1
            else:
                for step, _ in segment:
                    out[id(step)] = level
                    level += 1
            segment.clear()

        for step, lane in self.children:
            if lane == self.lane:
                flush()
                out[id(step)] = level
                level += 1
            else:
                segment.append((step, lane))
        flush()
        return out


class TraceRecorder:
    """Records steps into a ``Trace``; ``trace_recorder`` gives each test a fresh one."""

    def __init__(self, source: str = "recorder") -> None:
        self.source = source
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._root = _Frame("", _lane())
        self._frames: list[_Frame] = [self._root]
        self._next_span = 0
        self._frame: ContextVar[_Frame | None] = ContextVar(f"tracediff_frame_{id(self)}", default=None)

    @overload
    def step(self, name: F, /) -> F: ...

    @overload
    def step(
        self,
        name: str | None = None,
        /,
        *,
        input: Any = None,
        max_attempts: int = 1,
        retry_on: tuple[type[BaseException], ...] = _RETRY_ANY,
    ) -> StepScope: ...

    def step(
        self,
        name: Any = None,
        /,
        *,
        input: Any = None,
        max_attempts: int = 1,
        retry_on: tuple[type[BaseException], ...] = _RETRY_ANY,
    ) -> Any:
        """Decorate a function (``@rec.step``, ``@rec.step("id", max_attempts=3)``)
        or open one step (``with rec.step("id", input=x) as s: s.output = y``)."""
        if callable(name):
            return StepScope(self, None, None, 1, retry_on)(name)
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        return StepScope(self, name, input, max_attempts, retry_on)

    @property
    def trace(self) -> Trace:
        """A snapshot of what was recorded so far."""
        with self._lock:
            levels: dict[int, int] = {}
            for frame in self._frames:
                levels.update(frame.levels())
            steps = [step.model_copy(deep=True, update={"level": levels.get(id(step))}) for step in self._steps]
        finals: dict[tuple[str, str, int | None], Step] = {}
        for step in steps:
            finals[(step.parent, step.step_id, step.loop_index)] = step
        if any(s.status is StepStatus.RUNNING for s in steps):
            status = "running"
        elif any(s.status in FAILING_STATUSES for s in finals.values()):
            status = "failed"
        else:
            status = "completed"
        starts = [s.start for s in steps if s.start is not None]
        ends = [s.start + s.duration for s in steps if s.start is not None and s.duration is not None]
        return Trace(
            source=self.source,
            status=status,
            steps=steps,
            start=min(starts) if starts else None,
            duration=(max(ends) - min(starts)) if ends and starts else None,
        )

    def clear(self) -> None:
        with self._lock:
            self._steps.clear()
            self._root = _Frame("", _lane())
            self._frames = [self._root]

    # -- internals used by StepScope ----------------------------------------

    def _open(self, name: str, input: Any) -> tuple[Step, _Frame, object]:
        parent = self._frame.get() or self._root
        captured = canonical(input)
        with self._lock:
            previous = parent.last
            attempt = 1
            if previous is not None and previous.step_id == name and previous.status in FAILING_STATUSES:
                attempt = previous.attempt + 1
            # Span ids tie each step to the very step it ran in, so normalization
            # keeps children under their own parent when same-named steps overlap.
            self._next_span += 1
            step = Step(
                step_id=name,
                parent=parent.path,
                attempt=attempt,
                status=StepStatus.RUNNING,
                input=captured,
                start=time.time(),
                span_id=str(self._next_span),
                parent_span_id=parent.span_id,
            )
            self._steps.append(step)
            parent.last = step
            lane = _lane()
            parent.children.append((step, lane))
            child = _Frame(step.path, lane, step.span_id)
            self._frames.append(child)
        token = self._frame.set(child)
        return step, parent, token

    def _close(self, step: Step, parent: _Frame, token: Any, error: BaseException | None, began: float) -> None:
        self._frame.reset(token)
        with self._lock:
            step.duration = time.perf_counter() - began
            step.output = canonical(step.output)
            if error is None:
                if step.status is StepStatus.RUNNING:
                    step.status = StepStatus.COMPLETED
            else:
                step.status = _status_of(error)
                step.failure_class = type(error).__name__
                step.error = _message(error)


def _status_of(error: BaseException) -> StepStatus:
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return StepStatus.TIMED_OUT
    if isinstance(error, Exception):
        return StepStatus.FAILED
    return StepStatus.CANCELLED  # CancelledError, KeyboardInterrupt, SystemExit


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        return f"<{type(error).__name__}: str() raised>"


class StepScope:
    """One step: use as a decorator, or as a (async) context manager yielding the ``Step``."""

    def __init__(
        self,
        recorder: TraceRecorder,
        name: str | None,
        input: Any,
        max_attempts: int,
        retry_on: tuple[type[BaseException], ...],
    ) -> None:
        self._recorder = recorder
        self._name = name
        self._input = input
        self._max_attempts = max_attempts
        self._retry_on = retry_on
        self._open: list[tuple[Step, _Frame, Any, float]] = []

    # context manager -------------------------------------------------------

    def __enter__(self) -> Step:
        if self._name is None:
            raise TypeError("recorder.step() used as a context manager needs a step name")
        if self._max_attempts != 1 or self._retry_on != _RETRY_ANY:
            # A with block runs once: it cannot retry its own body.
            raise TypeError(
                f"recorder.step({self._name!r}, max_attempts=..., retry_on=...) retries only as a decorator: "
                f"write @recorder.step({self._name!r}, max_attempts={self._max_attempts}) on a function, "
                "or record each try with its own `with recorder.step(...)` block"
            )
        step, parent, token = self._recorder._open(self._name, self._input)
        self._open.append((step, parent, token, time.perf_counter()))
        return step

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        step, parent, token, began = self._open.pop()
        self._recorder._close(step, parent, token, error, began)

    async def __aenter__(self) -> Step:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, error, tb)

    # decorator -------------------------------------------------------------

    def __call__(self, func: F) -> F:
        name = self._name or func.__name__
        signature = inspect.signature(func)
        recorder, attempts, retry_on = self._recorder, self._max_attempts, self._retry_on

        def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return {"args": list(args), "kwargs": kwargs}
            return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}

        if inspect.iscoroutinefunction(func):

            async def once_async(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                with StepScope(recorder, name, arguments(args, kwargs), 1, _RETRY_ANY) as step:
                    result = await func(*args, **kwargs)
                    step.output = result
                    return result

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                for _ in range(attempts - 1):
                    try:
                        return await once_async(args, kwargs)
                    except retry_on:
                        pass
                return await once_async(args, kwargs)

            return run_async  # type: ignore[return-value]

        def once(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            with StepScope(recorder, name, arguments(args, kwargs), 1, _RETRY_ANY) as step:
                result = func(*args, **kwargs)
                step.output = result
                return result

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            for _ in range(attempts - 1):
                try:
                    return once(args, kwargs)
                except retry_on:
                    pass
            return once(args, kwargs)

        return run  # type: ignore[return-value]
