"""flujo (``flujo==0.6.x``): ``PipelineResult``, its ``trace_tree`` span, ``result.model_dump_json()``.

What is read
    ``PipelineResult.step_history`` (``StepResult``: name, output, success, attempts,
    token_counts, cost_usd, feedback, metadata_, nested step_history) is the backbone;
    the ``trace_tree`` span of each top-level step adds the step's input and the steps
    that never produced a ``StepResult`` (a human-in-the-loop step waiting for input:
    status ``running``). flujo records an input as ``str(input)``: a container of
    literals is read back with ``ast.literal_eval`` (so dict/set order cannot matter),
    anything else stays that string (``"7"`` for the int 7).
    Inner steps of loops, branches and parallel steps get no spans in flujo:

    - loop iterations come from the loop's ``step_history`` (flat, every iteration in
      order) and ``metadata_["iterations"]``: the children get ``loop_index`` 0, 1, ...
    - a conditional step gets ``attributes.branch`` (``metadata_["executed_branch_key"]``);
      flujo keeps nothing of the steps inside the branch.
    - a parallel step's output dict is split into one child step per branch (in
      declared order, ``level`` 0 so normalization orders them canonically); a failed
      branch's ``StepResult`` gives the child its status, error, cost and tokens.
    - ``runner.as_step(...)`` steps (output: a nested ``PipelineResult``) get the nested
      run's steps as children and its final output as their output.

    Retries: flujo keeps only ``StepResult.attempts``. A step with ``attempts=n`` becomes
    n steps: attempts 1..n-1 ``failed`` with no error (flujo does not keep why an
    earlier attempt failed, nor its output) and attempt n with the real outcome, output,
    cost and tokens. A loop's ``attempts`` counts iterations, not retries: not expanded.
    Failures: ``feedback`` is the error; the exception class named in it
    (``"... failed with ValueError: ..."``) is the ``failure_class``; ``TimeoutError``
    (``timeout_s``) gives status ``timed_out``.
    Tokens/cost: ``token_counts`` -> ``Tokens(total=...)`` and ``cost_usd`` -> ``Decimal``,
    left out when zero. Composite steps (loops, parallel, as_step) carry flujo's totals
    of their children. flujo counts a ``str`` output as 1 token.
    Run status: ``completed``, ``failed`` or ``paused`` (waiting for a human). flujo also
    calls a run ``paused`` when a loop body failed; with a failed step it is ``failed``.
    Steps flujo never reached are not in its result, so they are absent (not ``skipped``).
    Trace attributes: ``pipeline`` (the pipeline name) and ``pipeline_version`` unless
    ``latest``.

What is left out
    ``branch_context`` (a full context dump with the run id), span ids and times,
    ``latency_s`` (kept only in the volatile ``duration``), ``flujo.run_id`` (kept only in
    the volatile ``run_id``), a generated ``unnamed_<timestamp>`` pipeline name, flujo's
    internal metadata flags (``on_step_failure_dispatched``, ``nested_usage_aggregated``).
    Parallel output keys come in completion order; children follow the declared order.

Capture (``capture``) -- no public hook serves: hooks are per runner and passed at
construction, and the default runner writes ``./flujo_ops.db`` and ``./flujo.lock``.
For the block it

- patches ``Flujo._run_async_impl`` (every ``run``, ``run_async``, ``run_result_async``,
  ``run_outcomes_async`` and ``stream_async`` goes through it) and ``Flujo.resume_async``
  to hand each final ``PipelineResult`` to ``collect`` (once per object: a resumed run
  completes the paused result in place; runs nested in another run, e.g. ``as_step``,
  are part of the outer trace and not collected again; a flujo error carrying a
  partial ``.result``, e.g. ``UsageLimitExceededError``, hands that in);
- the first time a runner runs in the block: adds a ``TraceManager`` hook when its
  tracing is off (``enable_tracing=False`` or ``FLUJO_DISABLE_TRACING``) and swaps its
  state backend for an ``InMemoryBackend`` when it has a persistent one (the default
  writes ``./flujo_ops.db``); both are put back when the block ends;
- sets ``FLUJO_STATE_URI=memory://`` (runners created in the block, and flujo's span
  export, persist nothing);
- replaces ``flujo.infra.lockfile.write_lockfile`` with a no-op (flujo writes
  ``./flujo.lock`` after every successful ``run()``; its only switch, test mode, also
  changes state handling and logs spurious errors).

Everything is restored on exit, also when the block raises. Importing flujo takes about a
second and emits DeprecationWarnings from its dependencies: it is imported only by
``capture``, with warnings silenced, so ``-W error`` suites still work.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import Any

from ...model import Step, StepStatus, Tokens, Trace
from ._common import (
    decimal_or_none,
    environment,
    from_module,
    load_json,
    malformed,
    patched,
    require,
)

SOURCE = "flujo"

_RESULT_KEYS = frozenset({"step_history", "trace_tree", "total_cost_usd"})
_SPAN_KEYS = frozenset({"span_id", "name", "children", "attributes", "status", "start_time"})
_STEP_RESULT_KEYS = frozenset({"name", "success", "attempts", "latency_s", "feedback", "metadata_"})
_INTERNAL_METADATA = frozenset({"on_step_failure_dispatched", "nested_usage_aggregated", "executed_branches"})
_MAX_LITERAL = 100_000
_UNNAMED = re.compile(r"unnamed_\d{8}_\d{6}")
_EXCEPTION = re.compile(r"failed with ([A-Za-z_][\w.]*)(?::|$)")
_SPAN_STATUS = {
    "completed": StepStatus.COMPLETED,
    "failed": StepStatus.FAILED,
    "running": StepStatus.RUNNING,
    "paused": StepStatus.RUNNING,
}

# True while a captured run executes in this context: runs started inside it are nested.
_IN_RUN: ContextVar[bool] = ContextVar("pytest_tracediff_flujo_in_run", default=False)


# -- reading objects and their JSON dumps alike ---------------------------------


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _is_result(obj: Any) -> bool:
    """A ``PipelineResult`` or its JSON (``model_dump_json()``, flujo's own serializer), parsed."""
    if isinstance(obj, Mapping):
        return obj.keys() >= _RESULT_KEYS and isinstance(obj.get("step_history"), list)
    return from_module(obj, "flujo") and all(hasattr(obj, k) for k in _RESULT_KEYS)


def _is_span(obj: Any) -> bool:
    """A ``flujo.tracing.manager.Span`` or its dict form."""
    if isinstance(obj, Mapping):
        return obj.keys() >= _SPAN_KEYS and isinstance(obj.get("children"), list)
    return from_module(obj, "flujo") and all(hasattr(obj, k) for k in _SPAN_KEYS)


def _is_step_result(obj: Any) -> bool:
    if isinstance(obj, Mapping):
        return obj.keys() >= _STEP_RESULT_KEYS
    return from_module(obj, "flujo") and all(hasattr(obj, k) for k in _STEP_RESULT_KEYS)


def _parsed(obj: object) -> Any:
    if isinstance(obj, Mapping) or from_module(obj, "flujo"):
        return obj
    return load_json(obj)


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise malformed(SOURCE, f"{what} is a {type(value).__name__}, not a list")
    return list(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


# -- conversion --------------------------------------------------------------------


class _Converter:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def level(self, history: list[Any], spans: list[Any], parent: str, iterations: int | None) -> None:
        """Steps of one pipeline level: the results in order, each paired with its span."""
        names = [self._name(result) for result in history]
        loop_indices = _loop_indices(names, iterations) if iterations is not None else [None] * len(names)
        next_span = 0
        for result, name, loop_index in zip(history, names, loop_indices, strict=True):
            span = None
            for k in range(next_span, len(spans)):
                if _get(spans[k], "name") == name:
                    for unmatched in spans[next_span:k]:
                        self.span_only(unmatched, parent)
                    span, next_span = spans[k], k + 1
                    break
            self.result(result, name, span, parent, loop_index)
        for unmatched in spans[next_span:]:
            self.span_only(unmatched, parent)

    @staticmethod
    def _name(result: Any) -> str:
        name = _get(result, "name")
        if not isinstance(name, str):
            raise malformed(SOURCE, f"a step result has no name: {type(result).__name__}")
        return name

    def result(self, result: Any, name: str, span: Any, parent: str, loop_index: int | None) -> None:
        """One ``StepResult``: its attempts, then its children."""
        success = bool(_get(result, "success"))
        metadata = _get(result, "metadata_") or {}
        if not isinstance(metadata, Mapping):
            metadata = {}
        span_attributes = _get(span, "attributes") or {} if span is not None else {}
        iterations = metadata.get("iterations")
        is_loop = isinstance(iterations, int) or span_attributes.get("flujo.step.policy") == "DefaultLoopStepExecutor"
        attempts = _get(result, "attempts")
        attempts = attempts if isinstance(attempts, int) and attempts > 1 and not is_loop else 1
        path = f"{parent}/{name}" if parent else name

        output = _get(result, "output")
        expand: Callable[[], None] | None = None
        history = _list(_get(result, "step_history"), f"step_history of {path!r}")
        branches = metadata.get("executed_branches")
        if _is_result(output):
            nested_history = _list(_get(output, "step_history"), f"nested result of {path!r}")
            nested_spans = _list(_get(_get(output, "trace_tree"), "children"), f"nested spans of {path!r}")
            expand = functools.partial(self.level, nested_history, nested_spans, path, None)
            output = _get(nested_history[-1], "output") if nested_history else None
        elif isinstance(output, Mapping) and isinstance(branches, list) and output and set(output) <= set(branches):
            expand = functools.partial(self.branches, branches, output, path)
            output = None
        elif history:
            spans = _list(_get(span, "children"), f"spans of {path!r}") if span is not None else []
            loop = iterations if is_loop and isinstance(iterations, int) else None
            expand = functools.partial(self.level, history, spans, path, loop)
        elif _is_step_result(output):
            output = _get(output, "output")

        step = self._outcome(result, name, parent, success, metadata)
        step.attempt = attempts
        step.loop_index = loop_index
        step.output = output
        if span is not None:
            step.input = _input(span_attributes.get("step_input"))
            step.span_id = _get(span, "span_id")
            step.parent_span_id = _get(span, "parent_span_id")
            if span_attributes.get("flujo.cache.hit") is True:
                step.attributes["cache_hit"] = True
            model = span_attributes.get("aros.model_id")
            if isinstance(model, str):
                step.model = model
        if is_loop and not success and step.failure_class is None:
            reason = metadata.get("exit_reason")
            step.failure_class = reason if isinstance(reason, str) else None
        # The attempts before the last one failed (flujo retries only on failure); every
        # attempt got the same input, but flujo keeps nothing else of them.
        for attempt in range(1, attempts):
            self.steps.append(
                Step(
                    step_id=name,
                    parent=parent,
                    attempt=attempt,
                    loop_index=loop_index,
                    status=StepStatus.FAILED,
                    input=step.input,
                    model=step.model,
                )
            )
        self.steps.append(step)
        if expand is not None:
            expand()

    def _outcome(self, result: Any, name: str, parent: str, success: bool, metadata: Mapping[str, Any]) -> Step:
        """The last attempt of a result, without output/input: status, error, usage, attributes."""
        feedback = _get(result, "feedback")
        feedback = feedback if isinstance(feedback, str) and feedback else None
        attributes: dict[str, Any] = {}
        for key, value in metadata.items():
            if value is None or key in _INTERNAL_METADATA:
                continue
            attributes["branch" if key == "executed_branch_key" else str(key)] = value
        if success and feedback is not None:
            attributes["feedback"] = feedback
        step = Step(step_id=name, parent=parent, attributes=attributes, duration=_number(_get(result, "latency_s")))
        if not success:
            failure_class = _exception_name(feedback)
            if failure_class is None and isinstance(metadata.get("exception_type"), str):
                failure_class = metadata["exception_type"]
            step.status = _failed_status(failure_class)
            step.failure_class = failure_class
            step.error = feedback
        step.tokens = _tokens(_get(result, "token_counts"))
        step.cost = _cost(_get(result, "cost_usd"))
        return step

    def branches(self, names: list[Any], outputs: Mapping[Any, Any], parent: str) -> None:
        """A parallel step's branches in declared order: each one's output, or its
        ``StepResult`` when it failed. They ran concurrently: ``level`` 0."""
        for name in names:
            if name not in outputs:
                continue
            value = outputs[name]
            if _is_step_result(value):
                metadata = _get(value, "metadata_")
                metadata = metadata if isinstance(metadata, Mapping) else {}
                step = self._outcome(value, str(name), parent, bool(_get(value, "success")), metadata)
                step.output = _get(value, "output")
            else:
                step = Step(step_id=str(name), parent=parent, output=value)
            step.level = 0
            self.steps.append(step)

    def span_only(self, span: Any, parent: str) -> None:
        """A span with no ``StepResult``: a step still running (paused for a human) or a span-only trace."""
        name = _get(span, "name")
        if not isinstance(name, str):
            raise malformed(SOURCE, "a span has no name")
        attributes = _get(span, "attributes") or {}
        if not isinstance(attributes, Mapping):
            raise malformed(SOURCE, f"span {name!r} has attributes of type {type(attributes).__name__}")
        status = _SPAN_STATUS.get(str(_get(span, "status")), StepStatus.RUNNING)
        feedback = attributes.get("feedback")
        step = Step(
            step_id=name,
            parent=parent,
            status=status,
            input=_input(attributes.get("step_input")),
            tokens=_tokens(attributes.get("flujo.budget.actual_tokens")),
            cost=_cost(attributes.get("flujo.budget.actual_cost_usd")),
            duration=_number(attributes.get("latency_s")),
            span_id=_get(span, "span_id"),
            parent_span_id=_get(span, "parent_span_id"),
        )
        attempt = attributes.get("flujo.attempt_number")
        if isinstance(attempt, int) and attempt > 1:
            step.attempt = attempt
        if status == StepStatus.FAILED:
            step.failure_class = _exception_name(feedback)
            step.status = _failed_status(step.failure_class)
            step.error = feedback if isinstance(feedback, str) and feedback else None
        if attributes.get("flujo.cache.hit") is True:
            step.attributes["cache_hit"] = True
        self.steps.append(step)
        path = f"{parent}/{name}" if parent else name
        for child in _list(_get(span, "children"), f"children of span {name!r}"):
            self.span_only(child, path)


def _input(recorded: Any) -> Any:
    """A span's ``step_input``: flujo records ``str(input)``. A container of literals is read
    back (``ast.literal_eval``) so that dict and set order, e.g. a parallel step's output
    in completion order, cannot reach a golden; anything else stays the recorded string."""
    if not isinstance(recorded, str) or recorded[:1] not in ("{", "[", "(") or len(recorded) > _MAX_LITERAL:
        return recorded
    try:
        value = ast.literal_eval(recorded)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return recorded
    return value if isinstance(value, (dict, list, tuple, set)) else recorded


def _exception_name(feedback: Any) -> str | None:
    if not isinstance(feedback, str):
        return None
    found = _EXCEPTION.search(feedback)
    return found.group(1) if found else None


def _failed_status(failure_class: str | None) -> StepStatus:
    if failure_class is not None and failure_class.rsplit(".", 1)[-1] == "TimeoutError":
        return StepStatus.TIMED_OUT
    return StepStatus.FAILED


def _tokens(value: Any) -> Tokens | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Tokens(total=value)
    return None


def _cost(value: Any) -> Any:
    cost = decimal_or_none(value)
    return cost if cost is not None and cost.is_finite() and not cost.is_zero() else None


def _loop_indices(names: list[str], iterations: int) -> list[int | None]:
    """Iteration of each result in a loop's flat step_history.

    Every iteration runs the same body, so the names repeat with the body's length;
    only the last iteration can be shorter (it failed part-way). When the names do
    not repeat that way, a new iteration starts wherever the first body step reappears.
    """
    n = len(names)
    if n == 0 or iterations < 1:
        return [None] * n
    size = -(-n // iterations)
    if (iterations - 1) * size < n and all(names[i] == names[i % size] for i in range(n)):
        return [i // size for i in range(n)]
    indices: list[int | None] = []
    current = -1
    for name in names:
        if name == names[0]:
            current += 1
        indices.append(current)
    return indices if current + 1 == iterations else [None] * n


def _pipeline_attributes(root: Any) -> dict[str, Any]:
    attributes = _get(root, "attributes") or {} if root is not None else {}
    out: dict[str, Any] = {}
    if not isinstance(attributes, Mapping):
        return out
    name = attributes.get("flujo.pipeline.name")
    if isinstance(name, str) and not _UNNAMED.fullmatch(name):
        out["pipeline"] = name
    version = attributes.get("flujo.pipeline.version")
    if isinstance(version, str) and version != "latest":
        out["pipeline_version"] = version
    return out


def _root_times(root: Any) -> float | None:
    start, end = _number(_get(root, "start_time")), _number(_get(root, "end_time"))
    return end - start if start is not None and end is not None else None


def _run_id(root: Any, result: Any) -> str | None:
    attributes = _get(root, "attributes") if root is not None else None
    run_id = attributes.get("flujo.run_id") if isinstance(attributes, Mapping) else None
    if run_id is None and result is not None:
        run_id = _get(_get(result, "final_pipeline_context"), "run_id")
    return run_id if isinstance(run_id, str) else None


def convert_result(result: Any) -> Trace:
    """The trace of a ``PipelineResult`` (or its parsed ``model_dump_json()``)."""
    history = _list(_get(result, "step_history"), "step_history")
    root = _get(result, "trace_tree")
    if root is not None and not _is_span(root):
        raise malformed(SOURCE, f"trace_tree is a {type(root).__name__}, not a flujo Span")
    spans = _list(_get(root, "children"), "trace_tree.children") if root is not None else []
    converter = _Converter()
    converter.level(history, spans, "", None)
    if _get(result, "success"):
        status = "completed"
    else:
        context_status = _get(_get(result, "final_pipeline_context"), "status")
        paused = _get(root, "status") == "paused" if root is not None else context_status == "paused"
        # flujo also marks a run "paused" when a loop body fails: a real pause has no failed step.
        status = "paused" if paused and all(_get(r, "success") for r in history) else "failed"
    return Trace(
        source=SOURCE,
        status=status,
        steps=converter.steps,
        attributes=_pipeline_attributes(root),
        run_id=_run_id(root, result),
        duration=_root_times(root) if root is not None else None,
    )


def convert_span(root: Any) -> Trace:
    """The trace of a ``trace_tree`` alone: no outputs, loop iterations or retries (flujo keeps
    those only in the ``PipelineResult``)."""
    converter = _Converter()
    for child in _list(_get(root, "children"), "children of the root span"):
        converter.span_only(child, "")
    status = _get(root, "status")
    return Trace(
        source=SOURCE,
        status=status if isinstance(status, str) else None,
        steps=converter.steps,
        attributes=_pipeline_attributes(root),
        run_id=_run_id(root, None),
        duration=_root_times(root),
    )


# -- capture -------------------------------------------------------------------------


def _import_flujo() -> Any:
    with warnings.catch_warnings():
        # flujo's dependencies warn on import (opentelemetry._events, ...): not the user's concern.
        warnings.simplefilter("ignore")
        return require("flujo", SOURCE)


def _no_lockfile(*args: Any, **kwargs: Any) -> None:
    """Stands in for ``write_lockfile`` during a capture: no ``./flujo.lock``."""


class _Runners:
    """Runners switched to tracing and in-memory state for the block, and how to undo it."""

    def __init__(self, trace_manager: type[Any], memory_backend: type[Any]) -> None:
        self._trace_manager = trace_manager
        self._memory_backend = memory_backend
        self._undo: dict[int, tuple[Any, list[Callable[[], None]]]] = {}

    def prepare(self, runner: Any) -> None:
        if id(runner) in self._undo:
            return
        undo: list[Callable[[], None]] = []
        self._undo[id(runner)] = (runner, undo)
        hooks = getattr(runner, "hooks", None)
        if getattr(runner, "_trace_manager", None) is None and isinstance(hooks, list):
            manager = self._trace_manager()
            hook = manager.hook  # one bound-method object, so it can be found again

            runner.hooks = [*hooks, hook]
            runner._trace_manager = manager

            def untrace() -> None:
                runner.hooks = [h for h in runner.hooks if h is not hook]
                runner._trace_manager = None

            undo.append(untrace)
        backend = getattr(runner, "state_backend", None)
        if backend is not None and not isinstance(backend, self._memory_backend):
            runner.state_backend = self._memory_backend()
            undo.append(lambda: setattr(runner, "state_backend", backend))

    def restore(self) -> None:
        for _runner, undo in reversed(list(self._undo.values())):
            for step in reversed(undo):
                step()
        self._undo.clear()


class _Collector:
    def __init__(self, collect: Callable[[object], None], is_result: Callable[[Any], bool]) -> None:
        self._collect = collect
        self._is_result = is_result
        self._seen: dict[int, object] = {}

    def __call__(self, obj: Any) -> None:
        if self._is_result(obj) and id(obj) not in self._seen:
            self._seen[id(obj)] = obj  # kept alive, so the id cannot be reused
            self._collect(obj)

    def from_error(self, error: BaseException) -> None:
        self(getattr(error, "result", None))


def _tracing_run(original: Any, collector: _Collector, runners: _Runners) -> Any:
    @functools.wraps(original)
    async def run_async_impl(self: Any, *args: Any, **kwargs: Any) -> Any:
        runners.prepare(self)
        nested = _IN_RUN.get()
        inner = original(self, *args, **kwargs)
        try:
            while True:
                # Set only while flujo works, never while the caller holds the iterator.
                token = _IN_RUN.set(True)
                try:
                    item = await inner.__anext__()
                except StopAsyncIteration:
                    break
                except Exception as error:
                    if not nested:
                        collector.from_error(error)
                    raise
                finally:
                    _IN_RUN.reset(token)
                if not nested:
                    collector(item)
                yield item
        finally:
            await inner.aclose()

    return run_async_impl


def _tracing_resume(original: Any, collector: _Collector, runners: _Runners) -> Any:
    @functools.wraps(original)
    async def resume_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        runners.prepare(self)
        nested = _IN_RUN.get()
        token = _IN_RUN.set(True)
        try:
            result = await original(self, *args, **kwargs)
        except Exception as error:
            if not nested:
                collector.from_error(error)
            raise
        finally:
            _IN_RUN.reset(token)
        if not nested:
            collector(result)
        return result

    return resume_async


@contextmanager
def _capture(collect: Callable[[object], None]) -> Iterator[None]:
    _import_flujo()
    flujo_class = importlib.import_module("flujo.application.runner").Flujo
    result_class = importlib.import_module("flujo.domain.models").PipelineResult
    lockfile = importlib.import_module("flujo.infra.lockfile")
    memory_backend = importlib.import_module("flujo.state.backends.memory").InMemoryBackend
    trace_manager = importlib.import_module("flujo.tracing.manager").TraceManager

    collector = _Collector(collect, lambda obj: isinstance(obj, result_class))
    runners = _Runners(trace_manager, memory_backend)
    with ExitStack() as stack:
        stack.enter_context(environment(FLUJO_STATE_URI="memory://"))
        stack.enter_context(patched(lockfile, "write_lockfile", _no_lockfile))
        run = _tracing_run(flujo_class._run_async_impl, collector, runners)
        resume = _tracing_resume(flujo_class.resume_async, collector, runners)
        stack.enter_context(patched(flujo_class, "_run_async_impl", run))
        stack.enter_context(patched(flujo_class, "resume_async", resume))
        stack.callback(runners.restore)
        yield


class FlujoAdapter:
    """``PipelineResult`` / ``trace_tree`` / their JSON -> ``Trace``; capture for in-process runs."""

    name = SOURCE
    framework = "flujo"
    extra = "flujo"

    def detect(self, obj: object) -> bool:
        if isinstance(obj, (str, bytes)) and obj.lstrip()[:1] not in ("{", b"{"):
            return False
        data = _parsed(obj)
        if data is None:
            return False
        if _is_result(data):
            return True
        return _is_span(data) and (not isinstance(data, Mapping) or data.get("name") == "pipeline_run")

    def convert(self, obj: object) -> Trace:
        data = _parsed(obj)
        if data is not None and _is_result(data):
            return convert_result(data)
        if data is not None and _is_span(data):
            return convert_span(data)
        raise malformed(
            SOURCE,
            f"expected a flujo PipelineResult, its trace_tree Span, or the JSON of "
            f"result.model_dump_json(); got {type(obj).__module__}.{type(obj).__qualname__}",
        )

    def capture(self, collect: Callable[[object], None]) -> Any:
        """Force tracing and in-memory state on every flujo run in the block; collect each result."""
        return _capture(collect)


ADAPTER = FlujoAdapter()
