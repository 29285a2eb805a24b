"""dagron (``pip install 'pytest-tracediff[dagron]'``): runs of dagron's DAG executors.

Accepted objects (``Trace.from_any`` / ``ADAPTER.convert``):

- ``dagron.ExecutionResult`` (what ``executor.execute(tasks)`` returns) and the results that
  wrap or mirror it: ``CachedExecutionResult`` and ``DistributedExecutionResult`` (their
  ``execution_result``) and ``IncrementalResult``. The steps come from the result's
  ``trace``; ``node_results`` adds each node's return value as the step ``output`` and the
  exception type as ``failure_class``. Nodes that are in ``node_results`` but not in the
  trace (``IncrementalExecutor``'s reused nodes, every node of a
  ``PartitionedDAGExecutor``, whose sub-executors' traces dagron drops, or every node of a
  run without tracing) become steps of their own, at the end, as one unordered group.
- ``dagron.execution.tracing.ExecutionTrace`` (``result.trace``) and a list of its
  ``TraceEvent``s (``trace.events``, ``trace.events_for_node(name)``);
- ``trace.to_json()`` (text, bytes, a ``.json`` path or the parsed list) and
  ``trace.to_chrome_trace()`` (text, bytes, a ``.json`` path or the parsed dict).
  These have no outputs and no exception types (dagron keeps only ``str(error)``); the
  Chrome export also has no skipped or cancelled nodes and no step boundaries.

Mapping: one ``Step`` per node lifecycle, in recorded order, all at the top level (dagron
has no nesting and no retries, so ``attempt`` is 1). ``node_started`` opens the step;
``node_completed``/``node_failed``/``node_timed_out`` end it as ``completed``/``failed``/
``timed_out`` with ``error``; ``node_skipped`` (a missing task, or a descendant of a failed
node under ``fail_fast=True``) and ``node_cancelled`` (``cancel_event``) are steps that never
ran. ``node_cache_hit`` (``CachedDAGExecutor``) is a ``completed`` step with
``attributes["cache"] == "hit"``; a ``node_cache_miss`` before a start sets ``"miss"``.
``resource_acquired`` (``ResourceAwareExecutor``) sets ``attributes["resources"]`` to the
node's requirement (``{"gpu": 1}``; ``resource_released`` repeats it and is left out). A
``node_completed`` without ``node_started`` (``CheckpointExecutor.resume`` loading a
checkpoint) gets ``attributes["restored"] = True``; ``IncrementalExecutor``'s reused and
early-cutoff nodes get ``attributes["reused"]``/``["early_cutoff"]``. The run status is
``failed`` if a node failed or timed out, else ``cancelled``/``running``/``completed``.

Concurrency: nodes of one execution step run concurrently, so every node step gets the
``step_index`` of its enclosing ``step_started`` as ``level`` and normalization orders each
step's nodes canonically; completion order never reaches a golden. Traces without step
events come from executors that run either strictly one node at a time (Cached,
Incremental, Checkpoint, Conditional, Dynamic: their topological order is kept) or
dynamically (the ResourceAware executors, whose events follow completion order): when
resource events are present, or any node starts while another is still open, all node
steps form one unordered group (``level`` 0), so such goldens list nodes by name.
``step_index`` itself is NOT kept as an attribute: it depends on ``max_workers`` and
``costs`` (``max_workers=1`` gives one node per step), which change the schedule, not what
the nodes do. Changing them may still reorder the golden's steps.

Left out: every ``timestamp`` and ``duration`` (only in the volatile ``start``/
``duration``), the ``cache_key`` of cache hits (it hashes the task's source code, so it
changes with a comment), ``execution_*``/``step_*`` events (structure only),
``NodeResult.duration_seconds``. Unknown node event types are listed in
``attributes["events"]`` rather than dropped.

Capture (``trace_capture("dagron")``): dagron has no global tracing switch and no hook
that sees every run (a ``HookRegistry`` belongs to one executor and does not see
``enable_tracing``). Tracing is off by default, and every executor copies its
``enable_tracing`` argument to the private attribute ``_enable_tracing``, which its
``execute()`` reads when it starts (``ExecutionTrace() if self._enable_tracing else None``).
For each executor class below, restored on exit (also when the block raises):

- ``_enable_tracing`` becomes a class property that reads ``True``; its setter stores the
  constructor's value in the instance ``__dict__``, so removing the property on exit brings
  back each executor's own setting. Executors created before the block are traced too,
  and ``Pipeline.execute``/``Flow.run`` (which build a ``DAGExecutor``/``AsyncDAGExecutor``
  from their ``enable_tracing`` argument) are covered through them.
- ``execute`` (and ``CheckpointExecutor.resume``) is wrapped: each result it returns goes
  to ``collect``. ``PartitionedDAGExecutor.execute`` runs one ``DAGExecutor`` per
  partition: a context variable keeps those inner runs out, so one call is one trace.

Covered: ``DAGExecutor``, ``AsyncDAGExecutor``, ``ResourceAwareExecutor``,
``AsyncResourceAwareExecutor``, ``CachedDAGExecutor``, ``CheckpointExecutor``,
``ConditionalExecutor``, ``DynamicExecutor``, ``IncrementalExecutor``,
``DistributedExecutor``, ``PartitionedDAGExecutor``, and through them ``Pipeline`` and
``Flow``. An ``execute()`` that raises (dagron catches node errors, so only a callback,
hook or a ResourceAware pre-check can) yields no trace: dagron hands its trace out only in
the result. Executors running in other threads during the block are captured too.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...model import FAILING_STATUSES, Step, StepStatus, Trace
from . import _common

SOURCE = "dagron"
_ROOT = "dagron"

_RESULT_WRAPPERS = frozenset({"CachedExecutionResult", "DistributedExecutionResult"})
_RESULTS = frozenset({"ExecutionResult", "IncrementalResult"}) | _RESULT_WRAPPERS
_TRACE, _EVENT = "ExecutionTrace", "TraceEvent"

_ENDS = {
    "node_completed": StepStatus.COMPLETED,
    "node_failed": StepStatus.FAILED,
    "node_timed_out": StepStatus.TIMED_OUT,
}
_NEVER_RAN = {"node_skipped": StepStatus.SKIPPED, "node_cancelled": StepStatus.CANCELLED}
_STRUCTURE = frozenset({"execution_started", "execution_completed", "step_started", "step_completed"})
_EVENT_TYPES = frozenset(
    {
        *_ENDS,
        *_NEVER_RAN,
        *_STRUCTURE,
        "node_started",
        "node_gate_waiting",
        "node_gate_resolved",
        "resource_acquired",
        "resource_released",
        "node_cache_hit",
        "node_cache_miss",
    }
)
# NodeStatus values of node_results entries that the trace does not mention.
_NODE_STATUS = {
    "completed": StepStatus.COMPLETED,
    "cache_hit": StepStatus.COMPLETED,
    "failed": StepStatus.FAILED,
    "timed_out": StepStatus.TIMED_OUT,
    "skipped": StepStatus.SKIPPED,
    "cancelled": StepStatus.CANCELLED,
    "pending": StepStatus.RUNNING,
    "running": StepStatus.RUNNING,
}
# Metadata keys dagron itself sets, mapped elsewhere or volatile.
_KNOWN_METADATA = frozenset({"cache_key", "resources"})


def _dagron_class(obj: object) -> str | None:
    """The dagron class name ``obj`` is (a subclass of) among the accepted ones."""
    if not _common.from_module(obj, _ROOT):
        return None
    for cls in type(obj).__mro__:
        if cls.__name__ in _RESULTS or cls.__name__ in (_TRACE, _EVENT):
            return cls.__name__
    return None


def _is_event_list(data: object) -> bool:
    first = _common.first_item(data)
    return isinstance(first, Mapping) and first.get("event_type") in _EVENT_TYPES and "timestamp" in first


def _is_chrome(data: object) -> bool:
    if not isinstance(data, Mapping):
        return False
    events = data.get("traceEvents")
    if not isinstance(events, list) or not events:
        return False
    return all(
        isinstance(e, Mapping) and e.get("cat") in ("node", "execution") and e.get("ph") in ("B", "E") for e in events
    )


def _exported(obj: object) -> Any:
    """The parsed ``to_json()``/``to_chrome_trace()`` export in ``obj``, else None."""
    data = obj if isinstance(obj, (list, Mapping)) else _common.load_json(obj)
    return data if _is_event_list(data) or _is_chrome(data) else None


class DagronAdapter:
    name = SOURCE
    framework = "dagron"
    extra = "dagron"

    def detect(self, obj: object) -> bool:
        if _dagron_class(obj) is not None:
            return True
        first = _common.first_item(obj)
        if first is not None and _dagron_class(first) == _EVENT:
            return True
        return _exported(obj) is not None

    def convert(self, obj: object) -> Trace:
        kind = _dagron_class(obj)
        if kind in _RESULTS:
            return _from_result(obj)
        if kind == _TRACE:
            return _Builder(_events_of(obj)).trace()
        first = _common.first_item(obj)
        if first is not None and _dagron_class(first) == _EVENT:
            assert isinstance(obj, (list, tuple))
            return _Builder(_read_events(obj)).trace()
        data = _exported(obj)
        if isinstance(data, list):
            return _Builder(_read_events(data)).trace()
        if isinstance(data, Mapping):
            return _Builder(_chrome_events(data["traceEvents"])).trace()
        raise _common.malformed(SOURCE, f"{type(obj).__qualname__} is not a dagron result, trace or export")

    def capture(self, collect: Callable[[object], None]) -> AbstractContextManager[None]:
        return _capture(collect)


ADAPTER = DagronAdapter()


# -- reading --------------------------------------------------------------------


@dataclass
class _Event:
    kind: str
    timestamp: float | None = None
    node: str | None = None
    step_index: int | None = None
    duration: float | None = None
    error: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _events_of(trace: Any) -> list[_Event]:
    events = getattr(trace, "events", None)
    if not isinstance(events, list):
        raise _common.malformed(SOURCE, f"{type(trace).__qualname__}.events is not a list of TraceEvent")
    return _read_events(events)


def _read_events(raw_events: list[Any] | tuple[Any, ...]) -> list[_Event]:
    """``TraceEvent`` objects or ``to_json()`` records, checked."""
    events: list[_Event] = []
    checked: set[type] = set()  # classes known to be a Mapping or dagron's TraceEvent
    for index, raw in enumerate(raw_events):
        cls = type(raw)
        if cls not in checked:
            if not isinstance(raw, Mapping) and _dagron_class(raw) != _EVENT:
                raise _common.malformed(SOURCE, f"event {index} is a {cls.__qualname__}, not a TraceEvent")
            checked.add(cls)
        # A TraceEvent is a plain dataclass: its fields are its __dict__.
        fields: Mapping[str, Any] = raw if isinstance(raw, Mapping) else vars(raw)
        events.append(_checked_event(fields, index))
    return events


def _checked_event(fields: Mapping[str, Any], index: int) -> _Event:
    kind = fields.get("event_type")
    kind = getattr(kind, "value", kind)  # the TraceEventType enum, or its value in JSON
    if not isinstance(kind, str):
        raise _common.malformed(SOURCE, f"event {index} has no event_type")
    node, step_index = fields.get("node_name"), fields.get("step_index")
    error, metadata = fields.get("error"), fields.get("metadata")
    if node is None:
        if kind.startswith(("node_", "resource_")):
            raise _common.malformed(SOURCE, f"event {index} ({kind}) has no node_name")
    elif type(node) is not str:
        raise _common.malformed(SOURCE, f"event {index} ({kind}) has a non-string node_name {node!r}")
    if step_index is not None and type(step_index) is not int:
        raise _common.malformed(SOURCE, f"event {index} ({kind}) has a non-integer step_index {step_index!r}")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, Mapping):
        raise _common.malformed(SOURCE, f"event {index} ({kind}) has metadata that is not a dict")
    return _Event(
        kind,
        _number(fields.get("timestamp")),
        node,
        step_index,
        _number(fields.get("duration")),
        None if error is None else str(error),
        metadata,
    )


def _chrome_events(records: list[Any]) -> list[_Event]:
    """``to_chrome_trace()`` keeps node begin/end pairs and the run's begin/end only."""
    events: list[_Event] = []
    for index, record in enumerate(records):
        ts = _number(record.get("ts"))
        seconds = None if ts is None else ts / 1_000_000
        if record.get("cat") == "execution":
            kind = "execution_started" if record["ph"] == "B" else "execution_completed"
            events.append(_Event(kind, seconds))
            continue
        node = record.get("name")
        if not isinstance(node, str):
            raise _common.malformed(SOURCE, f"Chrome trace event {index} has no node name")
        if record["ph"] == "B":
            events.append(_Event("node_started", seconds, node))
            continue
        args = record.get("args")
        if not isinstance(args, Mapping):
            args = {}
        kind = args.get("status", "node_completed")
        if kind not in _ENDS:
            raise _common.malformed(SOURCE, f"Chrome trace event {index} has an unknown status {kind!r}")
        error = args.get("error")
        events.append(_Event(kind, seconds, node, error=None if error is None else str(error)))
    return events


def _number(value: object) -> float | None:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int or (kind is not bool and isinstance(value, (int, float))):
        return float(value)  # type: ignore[arg-type]
    return None


# -- building -------------------------------------------------------------------


class _Builder:
    """Steps from events; node results (outputs, exception types) added on top.

    Steps are kept as plain dicts of ``Step`` fields until ``finish``: setting fields on
    pydantic models one by one costs more than the whole conversion otherwise does.
    """

    def __init__(self, events: list[_Event]) -> None:
        self.events = events
        self.steps: list[dict[str, Any]] = []
        self.open: dict[str, dict[str, Any]] = {}
        self.early: dict[str, dict[str, Any]] = {}  # attributes seen before a node's step
        self.attempts: Counter[str] = Counter()
        self.last: dict[str, dict[str, Any]] = {}
        self.stepped = any(e.kind == "step_started" for e in events)
        self.unordered = not self.stepped and _dynamic(events)
        self.level: int | None = 0 if self.unordered else None

    def trace(self, duration: float | None = None) -> Trace:
        self.build()
        return self.finish(duration)

    def build(self) -> None:
        steps_seen = 0
        for event in self.events:
            if event.kind == "step_started":
                self.level = event.step_index if event.step_index is not None else steps_seen
                steps_seen += 1
            elif event.node is not None:
                self.node_event(event.node, event.kind, event)

    def node_event(self, node: str, kind: str, event: _Event) -> None:
        if kind == "node_started":
            self.open[node] = self.new_step(node, StepStatus.RUNNING, event)
        elif kind in _ENDS:
            step = self.open.pop(node, None)
            if step is None:
                step = self.new_step(node, StepStatus.RUNNING, event)
                step["attributes"]["restored"] = True
            step["status"] = _ENDS[kind]
            step["duration"] = event.duration
            step["error"] = event.error
            self.metadata(step, event)
        elif kind in _NEVER_RAN:
            self.metadata(self.new_step(node, _NEVER_RAN[kind], event), event)
        elif kind == "node_cache_hit":
            self.new_step(node, StepStatus.COMPLETED, event)["attributes"]["cache"] = "hit"
        elif kind == "node_cache_miss":
            self.attributes_of(node)["cache"] = "miss"
        elif kind == "resource_acquired":
            if event.metadata.get("resources"):  # {} for a node without requirements
                self.attributes_of(node)["resources"] = event.metadata["resources"]
        elif kind != "resource_released":
            # Gate events (dagron never emits them in 0.1.1) and types newer than 0.1.1.
            entry: Any = {"event": kind, "metadata": dict(event.metadata)} if event.metadata else kind
            self.attributes_of(node).setdefault("events", []).append(entry)

    def new_step(self, node: str, status: StepStatus, event: _Event) -> dict[str, Any]:
        self.attempts[node] += 1
        step = {
            "step_id": node,
            "attempt": self.attempts[node],
            "status": status,
            "attributes": self.early.pop(node, None) or {},
            "start": event.timestamp,
            "level": self.level,
        }
        self.steps.append(step)
        self.last[node] = step
        return step

    def attributes_of(self, node: str) -> dict[str, Any]:
        step = self.open.get(node)
        if step is not None:
            attributes: dict[str, Any] = step["attributes"]
            return attributes
        return self.early.setdefault(node, {})

    def metadata(self, step: dict[str, Any], event: _Event) -> None:
        if event.metadata:
            extra = {k: v for k, v in event.metadata.items() if k not in _KNOWN_METADATA}
            if extra:
                step["attributes"].setdefault("metadata", {}).update(extra)

    def add_results(self, node_results: Mapping[str, Any], marks: Mapping[str, set[str]]) -> None:
        """Outputs and exception types from ``node_results``; untraced nodes as steps."""
        levels = [s["level"] for s in self.steps if s["level"] is not None]
        untraced_level = max(levels) + 1 if levels else 0
        for name, result in node_results.items():
            status = getattr(getattr(result, "status", None), "value", None)
            if not isinstance(name, str) or status not in _NODE_STATUS:
                raise _common.malformed(SOURCE, f"node_results[{name!r}] is not a NodeResult")
            step = self.last.get(name)
            if step is None:
                self.attempts[name] += 1
                step = {"step_id": name, "status": _NODE_STATUS[status], "attributes": {}, "level": untraced_level}
                if status == "cache_hit":
                    step["attributes"]["cache"] = "hit"
                self.steps.append(step)
            for mark, names in marks.items():
                if name in names:
                    step["attributes"][mark] = True
            if step.get("duration") is None:
                step["duration"] = _number(getattr(result, "duration_seconds", None))
            error = getattr(result, "error", None)
            if isinstance(error, BaseException):
                step["failure_class"] = type(error).__name__
                if step.get("error") is None:
                    step["error"] = str(error)
            if step["status"] == StepStatus.COMPLETED:
                step["output"] = getattr(result, "result", None)

    def finish(self, duration: float | None) -> Trace:
        statuses = {step["status"] for step in self.steps}
        if statuses & FAILING_STATUSES:
            status = "failed"
        elif StepStatus.CANCELLED in statuses:
            status = "cancelled"
        elif StepStatus.RUNNING in statuses:
            status = "running"
        else:
            status = "completed"
        if duration is None:
            stamps = [e.timestamp for e in self.events if e.timestamp is not None]
            duration = max(stamps) - min(stamps) if stamps else None
        steps = [Step(**step) for step in self.steps]
        return Trace(source=SOURCE, status=status, steps=steps, duration=duration)


def _dynamic(events: list[_Event]) -> bool:
    """True when the order of node events depends on timing: resource events
    (ResourceAware executors) or a node starting while another is still running."""
    running: set[str] = set()
    for event in events:
        if event.kind.startswith("resource_"):
            return True
        if event.kind == "node_started" and event.node is not None:
            if running:
                return True
            running.add(event.node)
        elif event.kind in _ENDS:
            running.discard(event.node or "")
    return False


def _from_result(result: Any) -> Trace:
    kind = _dagron_class(result)
    if kind in _RESULT_WRAPPERS:
        result = getattr(result, "execution_result", None)
        if _dagron_class(result) != "ExecutionResult":
            raise _common.malformed(SOURCE, f"{kind}.execution_result is not an ExecutionResult")
    node_results = getattr(result, "node_results", None)
    if not isinstance(node_results, Mapping):
        raise _common.malformed(SOURCE, f"{type(result).__qualname__}.node_results is not a dict")
    trace = getattr(result, "trace", None)
    if trace is not None and _dagron_class(trace) != _TRACE:
        raise _common.malformed(SOURCE, f"{type(result).__qualname__}.trace is not an ExecutionTrace")
    builder = _Builder([] if trace is None else _events_of(trace))
    builder.build()
    marks = {}
    for mark in ("reused", "early_cutoff"):  # IncrementalResult
        names = getattr(result, mark, None)
        if isinstance(names, list):
            marks[mark] = set(names)
    builder.add_results(node_results, marks)
    return builder.finish(_number(getattr(result, "total_duration_seconds", None)))


# -- capture --------------------------------------------------------------------

# (module, class, methods that return a traced result, runs other executors inside)
_EXECUTORS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("dagron.execution.executor", "DAGExecutor", ("execute",), False),
    ("dagron.execution.executor", "AsyncDAGExecutor", ("execute",), False),
    ("dagron.execution.resources", "ResourceAwareExecutor", ("execute",), False),
    ("dagron.execution.resources", "AsyncResourceAwareExecutor", ("execute",), False),
    ("dagron.execution.cached_executor", "CachedDAGExecutor", ("execute",), False),
    ("dagron.execution.checkpoint", "CheckpointExecutor", ("execute", "resume"), False),
    ("dagron.execution.conditions", "ConditionalExecutor", ("execute",), False),
    ("dagron.execution.dynamic", "DynamicExecutor", ("execute",), False),
    ("dagron.execution.incremental", "IncrementalExecutor", ("execute",), False),
    ("dagron.execution.distributed_executor", "DistributedExecutor", ("execute",), False),
    ("dagron.execution.distributed", "PartitionedDAGExecutor", ("execute",), True),
)

# True inside a PartitionedDAGExecutor.execute: its per-partition runs are not collected.
_INSIDE_DELEGATING: contextvars.ContextVar[bool] = contextvars.ContextVar("tracediff_dagron_inner", default=False)


def _set_tracing(self: Any, value: Any) -> None:
    self.__dict__["_enable_tracing"] = value


def _del_tracing(self: Any) -> None:
    self.__dict__.pop("_enable_tracing", None)


# Reads True for every instance; keeps what the constructor set for after the capture.
_TRACING_ON = property(lambda self: True, _set_tracing, _del_tracing, "forced on by pytest-tracediff")


def _pick(result: Any) -> Any:
    return None if _INSIDE_DELEGATING.get() else result


def _delegating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        token = _INSIDE_DELEGATING.set(True)
        try:
            return method(*args, **kwargs)
        finally:
            _INSIDE_DELEGATING.reset(token)

    return run


@contextmanager
def _capture(collect: Callable[[object], None]) -> Iterator[None]:
    _common.require("dagron", "dagron")
    with ExitStack() as stack:
        for module_name, class_name, methods, delegates in _EXECUTORS:
            module = importlib.import_module(module_name)
            _common.require_attributes(module, class_name)
            cls = getattr(module, class_name)
            _common.require_attributes(cls, *methods)
            # _enable_tracing is set per instance in __init__: the class-level property overrides it.
            stack.enter_context(_common.patched(cls, "_enable_tracing", _TRACING_ON, add=True))
            for name in methods:
                method = cls.__dict__[name]
                if delegates:
                    method = _delegating(method)
                stack.enter_context(_common.patched(cls, name, _common.collecting(method, collect, _pick)))
        yield
