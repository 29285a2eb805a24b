"""stroma (``pip install 'pytest-tracediff[stroma]'``): runs of ``StromaRunner``.

Accepted objects (``Trace.from_any`` / ``ADAPTER.convert``):

- ``stroma.ExecutionResult`` (what ``await runner.run(...)`` returns): the steps of its
  ``trace``, the run status (``completed``/``failed``/``partial``/``resumed``) and the run's
  ``total_cost_usd`` (a ``Decimal``) and ``total_tokens`` as run attributes;
- ``stroma.ExecutionTrace`` (``result.trace``) and a list of ``stroma.TraceEvent``
  (``trace.failures()``, ``trace.events_for(id)``): the steps only;
- the export ``trace.to_json()`` as text, bytes, a ``.json`` path or the parsed list.

Mapping: one ``Step`` per ``TraceEvent`` (stroma records one event per attempt), in
recorded order: ``node_id`` -> ``step_id``, ``attempt``, ``input_state`` -> ``input``,
``output_state`` -> ``output``; a ``failure`` makes the step ``failed`` with the
``FailureClass`` value (``RECOVERABLE``/``TERMINAL``/``AMBIGUOUS``) as ``failure_class`` and
``failure_message`` as ``error``. ``timestamp_utc`` and ``duration_ms`` become the volatile
``start``/``duration``; ``run_id`` becomes the trace's volatile ``run_id``.

Left out: the per-event ``run_id``, ``timestamp_utc`` and ``duration_ms`` (volatile) and the
result's ``final_state`` (it is the last completed step's output, or the first step's input,
so it would only repeat a step's change at run level). stroma does not record per-step
tokens, cost or model, the exception type (a node timeout is a ``RECOVERABLE`` failure
with an empty message, as stroma records it), nor the nodes that never ran after a failure
(so there are no ``skipped`` steps).

``parallel(p, q)``: stroma records ONE pseudo-event ``"parallel(p, q)"`` (input: the state
fanned out; output: the merged dict; a failure of either member fails it, without saying
which). It stays one step with that id and ``attributes["parallel"] = ["p", "q"]`` (the
members in declared order, which is also the merge order). It is not expanded into one
step per member because stroma records nothing per member: expanded steps would carry
invented inputs, outputs and statuses. The members run with ``asyncio.gather``, whose
results are in declared order, so the step is deterministic and needs no ``level``. A
member without a stroma id appears in the id as its ``repr`` (``<function f at 0x...>``);
the address is dropped so that the id is the same in every run.

Capture (``trace_capture("stroma")``): stroma has no global tracing switch and no hook
registry (``NodeHooks`` belong to one runner's config), but tracing is always on and every
run goes through ``StromaRunner.run``. Two patches, restored on exit:

- ``StromaRunner.run`` is wrapped: each ``ExecutionResult`` it returns goes to
  ``collect``. When ``run`` raises instead (an input ``ContractViolation`` is raised before
  stroma records anything for that node, and escapes ``run``), the partial
  ``ExecutionTrace`` of that run goes to ``collect`` before the error propagates.
- ``ReliabilityContext.for_run`` is wrapped only to find that partial trace: ``run``
  creates its per-run context (which owns the ``ExecutionTrace``) there and keeps it in a
  local variable. A context variable private to the capture ties the context to the
  ``run`` call that created it, so nested and concurrent runs are kept apart; contexts
  created outside ``run`` (freestanding ``execute_step``/``StromaStep``) are not
  captured: pass their ``ctx.trace`` to ``Trace.from_any`` yourself.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import ValidationError

from ...model import Step, StepStatus, Trace
from . import _common

SOURCE = "stroma"
_ROOT = "stroma"
_RESULT, _TRACE, _EVENT = "ExecutionResult", "ExecutionTrace", "TraceEvent"
# Keys every event of ``ExecutionTrace.to_json()`` has; a foreign list of dicts lacks them.
_EVENT_KEYS = frozenset({"node_id", "run_id", "attempt", "input_state", "output_state"})
# The address in the repr of a parallel member without a stroma id.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")
_PARALLEL_PREFIX = "parallel("


def _stroma_class(obj: object) -> str | None:
    """``ExecutionResult``/``ExecutionTrace``/``TraceEvent`` when ``obj`` is (a subclass of) one."""
    for cls in type(obj).__mro__:
        module = cls.__module__ or ""
        if (module == _ROOT or module.startswith(_ROOT + ".")) and cls.__name__ in (_RESULT, _TRACE, _EVENT):
            return cls.__name__
    return None


def _is_event_dict(obj: object) -> bool:
    return isinstance(obj, Mapping) and obj.keys() >= _EVENT_KEYS


def _exported(obj: object) -> list[Any] | None:
    """The event list of a ``to_json()`` export (text, bytes, path or parsed), else None."""
    data = obj if isinstance(obj, list) else _common.load_json(obj)
    if isinstance(data, list) and _is_event_dict(_common.first_item(data)):
        return data
    return None


class StromaAdapter:
    name = SOURCE
    framework = "stroma"
    extra = "stroma"

    def detect(self, obj: object) -> bool:
        kind = _stroma_class(obj)
        if kind is not None:
            return kind != _EVENT  # a single event is not a run; a list of them is
        first = _common.first_item(obj)
        if first is not None and _stroma_class(first) == _EVENT:
            return True
        return _exported(obj) is not None

    def convert(self, obj: object) -> Trace:
        kind = _stroma_class(obj)
        if kind == _RESULT:
            return _from_result(obj)
        if kind == _TRACE:
            return _from_events(_events_of(obj))
        first = _common.first_item(obj)
        if first is not None and _stroma_class(first) == _EVENT:
            assert isinstance(obj, (list, tuple))
            return _from_events(list(obj))
        exported = _exported(obj)
        if exported is not None:
            return _from_events(exported)
        raise _common.malformed(
            SOURCE,
            f"a {type(obj).__qualname__} is none of ExecutionResult, ExecutionTrace, a list of "
            f"TraceEvent or the output of ExecutionTrace.to_json()",
        )

    def capture(self, collect: Callable[[object], None]) -> AbstractContextManager[None]:
        return _capture(collect)


# -- conversion ---------------------------------------------------------------


def _events_of(trace: Any) -> list[Any]:
    try:
        return list(trace)
    except TypeError:
        raise _common.malformed(SOURCE, f"its trace, a {type(trace).__qualname__}, is not iterable") from None


def _from_result(result: Any) -> Trace:
    missing = [name for name in ("run_id", "status", "trace") if not hasattr(result, name)]
    if missing:
        raise _common.malformed(SOURCE, f"the ExecutionResult has no {', '.join(missing)}")
    trace = _from_events(_events_of(result.trace))
    status = result.status
    status = status.value if isinstance(status, Enum) else status
    attributes: dict[str, Any] = {}
    cost = _common.decimal_or_none(getattr(result, "total_cost_usd", None))
    if cost is not None:
        attributes["total_cost_usd"] = _plain(cost)
    tokens = getattr(result, "total_tokens", None)
    if isinstance(tokens, int) and not isinstance(tokens, bool):
        attributes["total_tokens"] = tokens
    return trace.model_copy(
        update={
            "status": None if status is None else str(status).lower(),
            "attributes": attributes,
            "run_id": None if result.run_id is None else str(result.run_id),
        }
    )


def _plain(value: Decimal) -> Decimal:
    """One spelling per amount: stroma's total is the int 0 before any node records a
    cost and the float 0.0 after; both must read "0" in a golden, and 1e-07 "0.0000001"."""
    if not value.is_finite():
        return value
    if value.is_zero():
        return Decimal(0)
    return Decimal(format(value.normalize(), "f"))


def _from_events(events: list[Any]) -> Trace:
    steps = [_step(event, index) for index, event in enumerate(events)]
    run_id = _field(events[0], "run_id", 0, default=None) if events else None
    starts = [s.start for s in steps if s.start is not None]
    ends = [s.start + s.duration for s in steps if s.start is not None and s.duration is not None]
    start = min(starts) if starts else None
    return Trace(
        source=SOURCE,
        steps=steps,
        run_id=None if run_id is None else str(run_id),
        start=start,
        duration=max(ends) - start if ends and start is not None else None,
    )


_REQUIRED = object()


def _field(event: Any, name: str, index: int, default: Any = _REQUIRED) -> Any:
    """A field of a ``TraceEvent`` or of one exported event dict."""
    if isinstance(event, Mapping):
        if name in event:
            return event[name]
    elif _stroma_class(event) == _EVENT:
        if hasattr(event, name):
            return getattr(event, name)
    else:
        raise _common.malformed(SOURCE, f"event #{index} is a {type(event).__qualname__}, not a TraceEvent")
    if default is _REQUIRED:
        raise _common.malformed(SOURCE, f"event #{index} has no {name!r}")
    return default


def _step(event: Any, index: int) -> Step:
    node_id = _field(event, "node_id", index)
    if not isinstance(node_id, str) or not node_id:
        raise _common.malformed(SOURCE, f"event #{index} has node_id {node_id!r}, not a non-empty string")
    attempt = _field(event, "attempt", index)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise _common.malformed(SOURCE, f"event #{index} ({node_id}) has attempt {attempt!r}, not an int >= 1")
    failure = _field(event, "failure", index, default=None)
    if isinstance(failure, Enum):
        failure = failure.value
    message = _field(event, "failure_message", index, default=None)
    step_id = _ADDRESS.sub(">", node_id)
    members = _parallel_members(step_id)
    duration_ms = _field(event, "duration_ms", index, default=None)
    try:
        return Step(
            step_id=step_id,
            attempt=attempt,
            status=StepStatus.COMPLETED if failure is None else StepStatus.FAILED,
            failure_class=None if failure is None else str(failure),
            error=None if message is None else str(message),
            input=_field(event, "input_state", index),
            output=_field(event, "output_state", index, default=None),
            attributes={} if members is None else {"parallel": members},
            start=_common.epoch_seconds(_field(event, "timestamp_utc", index, default=None)),
            duration=_seconds(duration_ms),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _common.malformed(SOURCE, f"event #{index} ({node_id}): {first['loc']}: {first['msg']}") from None


def _seconds(milliseconds: object) -> float | None:
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, (int, float)):
        return None
    return milliseconds / 1000


def _parallel_members(node_id: str) -> list[str] | None:
    """``["p", "q"]`` for ``"parallel(p, q)"`` (nesting kept whole), else None."""
    if not (node_id.startswith(_PARALLEL_PREFIX) and node_id.endswith(")")):
        return None
    inner = node_id[len(_PARALLEL_PREFIX) : -1]
    members: list[str] = []
    depth, begin = 0, 0
    for position, char in enumerate(inner):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
        elif char == "," and depth == 0 and inner.startswith(", ", position):
            members.append(inner[begin:position])
            begin = position + 2
    if depth != 0:
        return None
    members.append(inner[begin:])
    return members if all(members) else None


# -- capture ------------------------------------------------------------------


@contextmanager
def _capture(collect: Callable[[object], None]) -> Iterator[None]:
    stroma = _common.require("stroma", "stroma")
    runner_class, context_class = stroma.StromaRunner, stroma.ReliabilityContext

    # The per-run contexts of the ``run`` call being awaited; private to this capture so
    # nested captures do not see each other's runs.
    current: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
        "pytest_tracediff_stroma_run", default=None
    )
    original_run = runner_class.run
    original_for_run = context_class.__dict__["for_run"]

    @functools.wraps(original_run)
    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        contexts: list[Any] = []
        token = current.set(contexts)
        try:
            result = await original_run(self, *args, **kwargs)
        except (Exception, asyncio.CancelledError):
            if contexts:
                collect(contexts[0].trace)
            raise
        finally:
            current.reset(token)
        collect(result)
        return result

    @functools.wraps(original_for_run.__func__)
    def for_run(cls: Any, *args: Any, **kwargs: Any) -> Any:
        context = original_for_run.__func__(cls, *args, **kwargs)
        contexts = current.get()
        if contexts is not None and not contexts:
            contexts.append(context)
        return context

    with ExitStack() as stack:
        stack.enter_context(_common.patched(runner_class, "run", run))
        stack.enter_context(_common.patched(context_class, "for_run", classmethod(for_run)))
        yield


ADAPTER = StromaAdapter()
