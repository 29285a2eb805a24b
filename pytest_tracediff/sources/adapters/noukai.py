"""The noukai-sdk adapter (``noukai-sdk`` 0.5.x, import name ``noukai_sdk``).

noukai runs flows on its server; the SDK is an HTTP client that fetches traces
after the fact. What this adapter reads:

- ``noukai_sdk.Trace`` (``run.trace()``): the run summary and the LATEST attempt
  of every step (per loop iteration). Earlier attempts of a retried step are
  not in it: alone, a ``Trace`` gives one ``Step`` per step, with its real
  attempt number.
- ``(Trace, histories)``: the trace plus ``StepAttempts`` from
  ``run.step_trace(step_id, attempt="all")``, as a mapping ``{step_id:
  StepAttempts}``, a list, or the rest of the tuple. Every attempt of every
  retried step is then a ``Step``, in attempt order where the step ran.
  ``fetch_full_trace(run)`` / ``await fetch_full_trace_async(run)`` fetch exactly
  that and return the converted ``Trace``.
- ``StepAttempts``, one ``StepTrace``, or a list of them (no run summary).
- A list of stream events from ``run.live_trace()`` (``RunStarted``,
  ``StepStarted``, ``StepInput``, ``StepCompleted``, ``StepFailed``,
  ``FlowCompleted``): a retry is a ``step_started`` after a ``step_error`` of the
  same step. Events carry no loop index, no timestamps and no skipped steps.
- The JSON of any of these: ``model_dump()`` or ``model_dump(by_alias=True)``
  (snake_case or camelCase), as a dict or list, JSON text, bytes or a ``.json``
  path; a ``(Trace, histories)`` pair dumps to a JSON list.

Per attempt: ``step_id``, ``attempt``, ``loop_index``, ``status``, ``model_used``,
``tokens``, ``cost_usd`` (a decimal string, kept exact as ``Decimal``),
``input_context``/``output_context`` as input/output, ``error_context`` as
``failure_class`` (its ``type``/``errorType``/``code``) and ``error`` (its
``message``/``error``/``detail``) with its other keys under
``attributes["error_context"]``. ``truncated`` snapshots are marked
``attributes["truncated"] = True`` together with ``input_size_bytes`` and
``output_size_bytes`` (the only record of what was cut off); the sizes of
untruncated snapshots are left out, as they only repeat the snapshots. The run's
``status`` is the trace's status. Volatile: ``flow_run.id`` -> ``run_id``,
``started_at`` -> ``start``, ``duration_ms`` -> ``duration``. Left out:
``completed_at``, ``flow_id``, ``trigger_type``, ``step_count``, the events'
display ``name`` and ``step_index``.

Capture (``trace_capture()``): noukai has no in-process tracing to switch on and
no hook for "a run finished", so the block patches ``noukai_sdk.Flow.execute``
and ``noukai_sdk.AsyncFlow.execute`` (the public classes' methods, restored on
exit, also when the block raises) to (1) pass ``trace=True``, the SDK's own
switch that makes the server keep input/output snapshots, and (2) after a call
that returns a finished run (``status`` ``completed``/``failed``), fetch its full
trace (``run.trace()`` plus ``step_trace(..., attempt="all")`` for every retried
step) through the same client and collect it. The user's call returns the same
result; the fetch costs one GET per run plus one per retried step. A failed fetch
never breaks the user's call: it is reported when ``cap.trace`` converts it.
Not captured: ``execute_async()`` jobs, ``steps()``/``events()`` streams, and a
paused tool-call run resumed by hand; use ``fetch_full_trace`` for those.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...model import Step, StepStatus, Tokens, Trace
from ._common import decimal_or_none, epoch_seconds, first_item, from_module, load_json, malformed, patched, require

NAME = "noukai"
FRAMEWORK = "noukai_sdk"

_STATUS = {
    "running": StepStatus.RUNNING,
    "completed": StepStatus.COMPLETED,
    "failed": StepStatus.FAILED,
    "skipped": StepStatus.SKIPPED,
}
_CLASS_KEYS = ("type", "errorType", "error_type", "code")
_MESSAGE_KEYS = ("message", "error", "detail")
# Keys of a dumped StepTrace that no tracediff step dict has.
_STEP_KEYS = frozenset(
    {
        "stepId",
        "loopIndex",
        "startedAt",
        "durationMs",
        "modelUsed",
        "costUsd",
        "inputContext",
        "outputContext",
        "errorContext",
        "started_at",
        "completed_at",
        "duration_ms",
        "model_used",
        "cost_usd",
        "input_context",
        "output_context",
        "error_context",
        "truncated",
    }
)
_EVENT_TYPES = {
    "run_started": "RunStarted",
    "flow_started": "RunStarted",
    "step_started": "StepStarted",
    "step_input": "StepInput",
    "step_output": "StepOutput",
    "step_completed": "StepCompleted",
    "step_error": "StepFailed",
    "step_paused": "StepPaused",
    "step_paused_for_tool_calls": "ToolCallsRequired",
    "flow_completed": "FlowCompleted",
}
_MODEL_NAMES = {"trace": "Trace", "attempts": "StepAttempts", "step": "StepTrace"}


# -- shape sniffing (no import) -------------------------------------------------


def _kind(obj: object) -> str | None:
    """``"trace"``, ``"attempts"``, ``"step"``, ``"event"`` or None, for an SDK object or its dump."""
    if from_module(obj, FRAMEWORK):
        name = type(obj).__name__
        for kind, model in _MODEL_NAMES.items():
            if name == model:
                return kind
        return "event" if isinstance(getattr(obj, "event_type", None), str) else None
    if not isinstance(obj, Mapping):
        return None
    if ("flowRun" in obj or "flow_run" in obj) and isinstance(obj.get("steps"), list):
        return "trace"
    if ("stepId" in obj or "step_id" in obj) and isinstance(obj.get("attempts"), list):
        return "attempts"
    if ("stepId" in obj or "step_id" in obj) and "attempt" in obj and "status" in obj and _STEP_KEYS & obj.keys():
        return "step"
    if obj.get("eventType") in _EVENT_TYPES:
        return "event"
    if obj.get("event_type") in _EVENT_TYPES and {"step_id", "execution_id", "flow_id"} & obj.keys():
        return "event"
    return None


def _container_kind(obj: object) -> str | None:
    """The kind of ``obj`` itself, or of the first item of a list/tuple."""
    if isinstance(obj, (list, tuple)):
        return _kind(first_item(obj))
    return _kind(obj)


# -- conversion -----------------------------------------------------------------


class _FetchFailed:
    """Collected in place of a trace that capture could not fetch."""

    def __init__(self, execution_id: str, error: BaseException) -> None:
        self.execution_id = execution_id
        self.error = error


def _first_error(exc: Any) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or '(top level)'}: {first['msg']}"


def _validate(sdk: Any, kind: str, value: object, where: str) -> Any:
    from pydantic import ValidationError

    try:
        return getattr(sdk, _MODEL_NAMES[kind]).model_validate(value)
    except ValidationError as exc:
        raise malformed(NAME, f"{where} is not a noukai {_MODEL_NAMES[kind]}: {_first_error(exc)}") from None


def _error_parts(context: Mapping[str, Any] | None) -> tuple[str | None, str | None, dict[str, Any]]:
    """``error_context`` -> (failure_class, error, the keys left)."""
    if not context:
        return None, None, {}
    rest = dict(context)
    failure_class = next((str(rest.pop(k)) for k in _CLASS_KEYS if isinstance(rest.get(k), str)), None)
    error = next((rest.pop(k) for k in _MESSAGE_KEYS if isinstance(rest.get(k), str)), None)
    if error is None and rest:
        error, rest = json.dumps(rest, sort_keys=True, default=str), {}
    return failure_class, error, rest


def _cost(value: object, where: str) -> Any:
    if value is None or value == "":
        return None
    cost = decimal_or_none(value)
    if cost is None:
        raise malformed(NAME, f"{where} has cost_usd {value!r}, which is not a decimal number")
    return cost


def _seconds(ms: object) -> float | None:
    return ms / 1000 if isinstance(ms, (int, float)) and not isinstance(ms, bool) else None


def _tokens(tokens: Any) -> Tokens | None:
    if tokens is None:
        return None
    return Tokens(prompt=tokens.prompt, completion=tokens.completion, total=tokens.total)


def _step(attempt: Any, loop_index: int | None) -> Step:
    """One SDK ``StepTrace`` -> one ``Step``."""
    where = f"step {attempt.step_id!r} attempt {attempt.attempt}"
    if attempt.attempt < 1:
        raise malformed(NAME, f"{where}: attempt numbers start at 1")
    failure_class, error, rest = _error_parts(attempt.error_context)
    attributes: dict[str, Any] = {}
    if rest:
        attributes["error_context"] = rest
    if attempt.truncated:
        attributes["truncated"] = True
        attributes["input_size_bytes"] = attempt.input_size_bytes
        attributes["output_size_bytes"] = attempt.output_size_bytes
    start = epoch_seconds(attempt.started_at)
    duration = _seconds(attempt.duration_ms)
    end = epoch_seconds(attempt.completed_at)
    if duration is None and start is not None and end is not None:
        duration = end - start
    return Step(
        step_id=attempt.step_id,
        attempt=attempt.attempt,
        loop_index=loop_index,
        status=_STATUS[attempt.status],
        failure_class=failure_class,
        error=error,
        model=attempt.model_used,
        tokens=_tokens(attempt.tokens),
        cost=_cost(attempt.cost_usd, where),
        input=attempt.input_context,
        output=attempt.output_context,
        attributes=attributes,
        start=start,
        duration=duration,
    )


def _histories(sdk: Any, items: Any) -> list[Any]:
    """``StepAttempts`` from a mapping ``{step_id: ...}``, a list, or one of them (objects or dumps)."""
    out: list[Any] = []
    if isinstance(items, Mapping) and _kind(items) is None:
        for step_id, value in items.items():
            history = {"step_id": step_id, "attempts": list(value)} if isinstance(value, (list, tuple)) else value
            out.append(_validate(sdk, "attempts", history, f"the attempts of step {step_id!r}"))
    elif isinstance(items, (list, tuple)):
        for item in items:
            out.extend(_histories(sdk, item))
    else:
        out.append(_validate(sdk, "attempts", items, "a step history"))
    return out


def _merge(latest: list[Any], histories: list[Any]) -> list[Step]:
    """The trace's latest attempts, each preceded by its earlier attempts from the histories."""
    keys = [(s.step_id, s.loop_index) for s in latest]
    known = set(keys)
    extra: dict[tuple[str, int | None], dict[int, Any]] = {}
    for history in histories:
        for attempt in history.attempts:
            key = (attempt.step_id, attempt.loop_index)
            if key not in known:
                # A history fetched without loop_index may leave loopIndex out.
                same_id = [k for k in known if k[0] == attempt.step_id]
                if len(same_id) != 1:
                    raise malformed(
                        NAME,
                        f"attempt {attempt.attempt} of step {attempt.step_id!r} (loop index {attempt.loop_index}) "
                        f"matches no step of the trace; pass the histories of this run's steps only",
                    )
                key = same_id[0]
            extra.setdefault(key, {})[attempt.attempt] = attempt
    steps: list[Step] = []
    for key, step in zip(keys, latest, strict=True):
        attempts = {**extra.get(key, {}), step.attempt: step}  # the trace's copy of its attempt wins
        steps.extend(_step(attempts[n], key[1]) for n in sorted(attempts))
    return steps


def _from_trace(trace: Any, histories: list[Any]) -> Trace:
    run = trace.flow_run
    return Trace(
        source=NAME,
        status=run.status,
        steps=_merge(trace.steps, histories),
        run_id=run.id,
        start=epoch_seconds(run.started_at),
        duration=_seconds(run.duration_ms),
    )


def _event(sdk: Any, raw: object, index: int) -> Any:
    """An SDK stream event from an event or its dump; None for event types the SDK does not know."""
    from pydantic import ValidationError

    if not isinstance(raw, Mapping):
        if _kind(raw) != "event":
            raise malformed(NAME, f"item {index} of the event list is a {type(raw).__name__}, not a noukai event")
        return raw
    kind = raw.get("eventType", raw.get("event_type"))
    if kind not in _EVENT_TYPES:
        return None  # forward-compatible, as the SDK's own stream parser
    try:
        return getattr(sdk, _EVENT_TYPES[kind]).model_validate({**raw, "eventType": kind})
    except ValidationError as exc:
        raise malformed(NAME, f"event {index} ({kind}): {_first_error(exc)}") from None


def _from_events(sdk: Any, events: list[Any]) -> Trace:
    steps: list[Step] = []
    running: dict[str, Step] = {}
    latest: dict[str, Step] = {}
    run_id: str | None = None
    status: str | None = None
    for index, raw in enumerate(events):
        event = _event(sdk, raw, index)
        if event is None:
            continue
        kind = event.event_type
        step_id = getattr(event, "step_id", None)
        if kind in ("run_started", "flow_started"):
            run_id = event.execution_id or event.run_id
        elif kind == "step_started" and step_id is not None:
            previous = latest.get(step_id)
            attempt = previous.attempt + 1 if previous is not None and previous.status is StepStatus.FAILED else 1
            step = Step(step_id=step_id, attempt=attempt, status=StepStatus.RUNNING)
            steps.append(step)
            running[step_id] = latest[step_id] = step
        elif kind == "step_input" and step_id in running:
            running[step_id].input = event.input_data
        elif kind in ("step_completed", "step_error") and step_id is not None:
            found = running.pop(step_id, None)
            if found is not None:
                step = found
            else:  # finished without a start event (a stream joined late)
                step = Step(step_id=step_id)
                steps.append(step)
                latest[step_id] = step
            if kind == "step_completed":
                step.status = StepStatus.COMPLETED
                step.output = event.output
                step.tokens = _tokens(event.tokens)
                step.cost = _cost(event.cost_usd, f"the step_completed event of {step_id!r}")
                step.duration = _seconds(event.duration_ms)
            else:
                step.status = StepStatus.FAILED
                step.failure_class, step.error, rest = _error_parts(event.error)
                if rest:
                    step.attributes["error_context"] = rest
        elif kind == "flow_completed":
            run_id = run_id or event.execution_id or event.run_id
            reported = (event.summary or {}).get("status")
            failed = any(s.status is StepStatus.FAILED for s in latest.values())
            status = reported if isinstance(reported, str) else ("failed" if failed else "completed")
    return Trace(source=NAME, status=status, steps=steps, run_id=run_id)


def _convert(sdk: Any, data: object) -> Trace:
    kind = _container_kind(data)
    items: list[Any] = list(data) if isinstance(data, (list, tuple)) else [data]
    if kind == "event":
        return _from_events(sdk, items)
    if kind == "trace":
        trace = _validate(sdk, "trace", items[0], "the trace")
        return _from_trace(trace, _histories(sdk, items[1:]))
    if kind == "attempts":
        histories = _histories(sdk, items)
        return Trace(source=NAME, steps=[_step(a, a.loop_index) for h in histories for a in h.attempts])
    if kind == "step":
        attempts = [_validate(sdk, "step", item, f"item {i}") for i, item in enumerate(items)]
        return Trace(source=NAME, steps=[_step(a, a.loop_index) for a in attempts])
    raise malformed(NAME, f"a {type(data).__name__} is not a noukai Trace, StepAttempts, StepTrace or event list")


# -- fetching -------------------------------------------------------------------


def _retried(trace: Any) -> list[Any]:
    return [step for step in trace.steps if step.attempt > 1]


def _fetch(run: Any) -> tuple[Any, list[Any]]:
    trace = run.trace()
    if inspect.isawaitable(trace):
        if inspect.iscoroutine(trace):
            trace.close()
        raise TypeError("fetch_full_trace() got an AsyncRun; use `await fetch_full_trace_async(run)`")
    histories = [run.step_trace(s.step_id, attempt="all", loop_index=s.loop_index) for s in _retried(trace)]
    return trace, histories


async def _fetch_async(run: Any) -> tuple[Any, list[Any]]:
    trace = run.trace()
    if not inspect.isawaitable(trace):
        raise TypeError("fetch_full_trace_async() got a sync Run; use fetch_full_trace(run)")
    trace = await trace
    histories = [await run.step_trace(s.step_id, attempt="all", loop_index=s.loop_index) for s in _retried(trace)]
    return trace, histories


def fetch_full_trace(run: Any) -> Trace:
    """The whole trace of a noukai run, every attempt of every retried step included.

    ``run`` is a ``noukai_sdk.Run`` (``flow.run(result.execution_id)``). Calls
    ``run.trace()`` and, for each step whose latest attempt is > 1,
    ``run.step_trace(step_id, attempt="all", loop_index=...)``.
    """
    return ADAPTER.convert(_fetch(run))


async def fetch_full_trace_async(run: Any) -> Trace:
    """``fetch_full_trace`` for a ``noukai_sdk.AsyncRun``."""
    return ADAPTER.convert(await _fetch_async(run))


# -- capture --------------------------------------------------------------------


def _finished(result: Any) -> str | None:
    execution_id = getattr(result, "execution_id", None)
    if isinstance(execution_id, str) and getattr(result, "status", None) in ("completed", "failed"):
        return execution_id
    return None


def _traced_execute(original: Callable[..., Any], collect: Callable[[object], None]) -> Callable[..., Any]:
    @functools.wraps(original)
    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["trace"] = True
        result = original(self, *args, **kwargs)
        execution_id = _finished(result)
        if execution_id is not None:
            try:
                collect(_fetch(self.run(execution_id)))
            except Exception as exc:
                collect(_FetchFailed(execution_id, exc))
        return result

    return execute


def _traced_execute_async(original: Callable[..., Any], collect: Callable[[object], None]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["trace"] = True
        result = await original(self, *args, **kwargs)
        execution_id = _finished(result)
        if execution_id is not None:
            try:
                collect(await _fetch_async(self.run(execution_id)))
            except Exception as exc:
                collect(_FetchFailed(execution_id, exc))
        return result

    return execute


class NoukaiAdapter:
    """Reads noukai-sdk traces, step histories, stream events and their JSON dumps."""

    name = NAME
    framework = FRAMEWORK
    extra = NAME

    def detect(self, obj: object) -> bool:
        if _container_kind(obj) is not None:
            return True
        if isinstance(obj, (str, bytes, os.PathLike, Path)):
            return _container_kind(load_json(obj)) is not None
        return False

    def convert(self, obj: object) -> Trace:
        if isinstance(obj, _FetchFailed):
            error = obj.error
            raise malformed(
                NAME,
                f"the trace of execution {obj.execution_id} could not be fetched after execute(): "
                f"{type(error).__name__}: {error}",
            )
        data: Any = obj
        if isinstance(obj, (str, bytes, os.PathLike, Path)):
            data = load_json(obj)
            if data is None:
                raise malformed(NAME, "the text or file given is not JSON")
        sdk = require(FRAMEWORK, self.extra)
        return _convert(sdk, data)

    @contextmanager
    def capture(self, collect: Callable[[object], None]) -> Iterator[None]:
        sdk = require(FRAMEWORK, self.extra)
        flow, async_flow = sdk.Flow, sdk.AsyncFlow
        with (
            patched(flow, "execute", _traced_execute(flow.execute, collect)),
            patched(async_flow, "execute", _traced_execute_async(async_flow.execute, collect)),
        ):
            yield


ADAPTER = NoukaiAdapter()
