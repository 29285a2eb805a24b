"""LangGraph (and the LangChain runs inside it), captured natively through langchain-core callbacks.

Accepted input
    ``RecordedRun``: the run tree of one compiled-graph run as ``capture`` recorded it
    (``cap.raw`` holds them). LangGraph keeps no trace object of its own.

Conversion
    One ``Trace`` per run of a compiled graph, with one root step named by the graph's name
    (``LangGraph`` unless compiled with ``name=`` or run with ``run_name``): input = the graph
    input, output = the final state. Below it one step per node execution, named by the
    node: input = the state the node received, output = the update the node RETURNED (not
    the state after it; a ``Command`` as ``{"goto", "update"}``). The super-step is the
    step's ``level``, so nodes of one super-step are listed in a canonical order, never in
    thread order. A node attempt that failed and is run again at the same super-step (a
    ``RetryPolicy``) is the next ``attempt``.

    The branch a conditional edge chose is ``attributes.route`` of the node the edge leaves
    (its router's return value; a list when a node has several conditional edges), the one
    leaving START is the root's, a ``Command``'s ``goto`` is the node's route too. Tool runs
    (``ToolNode`` or a ``@tool`` invoked in a node) are child steps of the node: input = the
    arguments, output = the result (a ``ToolMessage``'s content). Tools of one node are one
    concurrent group (``ToolNode`` runs them in threads), ordered by name and content.
    Chat-model and LLM calls are child steps named by the model's run name (its class unless
    named): ``model`` from ``ls_model_name`` or the invocation's ``model``, ``tokens`` from
    ``usage_metadata`` (or ``llm_output.token_usage``), input = the messages, output = the
    reply. A subgraph's nodes nest under the node that ran it; other LangChain runs
    (a chain invoked inside a node) add no step, their tools and models count for the node.
    Runs outside a compiled graph are not recorded.

    A run that raised is ``failed`` with ``failure_class`` = the exception's class name and
    ``error`` = its message (never a traceback). A node paused by ``interrupt()`` is
    ``cancelled`` with the interrupt values in ``attributes.interrupt`` (the resuming run is
    a trace of its own); a ``Command(graph=Command.PARENT)`` raised to the parent graph is the
    node's output and route, not a failure.

    Messages become ``{"role", "content", "tool_calls": [{"name", "args"}], "tool_call_id",
    "name"}`` (``_common.chat_message``), a handled tool error's ``status``, and an
    ``artifact`` when there is one.

Dropped (volatile, or not behaviour)
    run ids, message ids, interrupt ids, tool-call ids of model replies, ``response_metadata``
    (timestamps, provider ids), ``additional_kwargs``, ``usage_metadata`` inside messages
    (it is the step's ``tokens``), tags, LangSmith metadata, checkpoint namespaces, the
    triggers of a node, times (only in ``start`` / ``duration``), streamed tokens, and
    retriever runs.

Capture (what is hooked, and why)
    langchain-core lets a library add a callback handler to every run configured while a
    context variable holds it (``langchain_core.tracers.context.register_configure_hook``,
    the way LangSmith's tracer and ``collect_runs`` are installed). The hook is registered
    once per process on the first capture (langchain-core keeps hooks in a global list with
    no way to remove one); while the variable is unset - before, after and outside every
    capture block - it adds nothing. ``capture`` sets the variable to a recorder for the
    block and resets it at exit, also when the block raises; the recorder is closed too, so
    a run still going on in another context records nothing more. No user code changes, no
    OpenInference, nothing written anywhere. Each graph run that finished in the block is
    passed to ``collect``; a run still open at exit is not.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from uuid import UUID

from ...errors import CaptureError
from ...model import Step, StepStatus, Tokens, Trace
from ._common import chat_message, require

SOURCE = "langgraph"

_NODE_TAG = re.compile(r"graph:step:\d+\Z")
_SEQ_TAG = re.compile(r"seq:step:(\d+)\Z")
_HIDDEN_TAG = "langsmith:hidden"  # langgraph.constants.TAG_HIDDEN: the START node's run


@dataclass
class RecordedRun:
    """One LangChain callback run (chain, tool, chat model or LLM) and the runs inside it."""

    kind: str
    """``chain``, ``tool``, ``chat_model`` or ``llm``."""
    name: str
    tags: tuple[str, ...]
    metadata: Mapping[str, Any]
    inputs: Any
    outputs: Any = None
    failure: tuple[str, str] | None = None
    """(exception class name, message) when the run raised."""
    interrupt: list[Any] | None = None
    """The values passed to ``interrupt()`` when the run paused there."""
    invocation: Mapping[str, Any] = field(default_factory=dict)
    children: list[RecordedRun] = field(default_factory=list)
    start: float | None = None
    end: float | None = None

    @property
    def node(self) -> str | None:
        """The graph node this run executes, or None when it is no node run."""
        node = self.metadata.get("langgraph_node")
        if self.kind == "chain" and node == self.name and any(_NODE_TAG.match(t) for t in self.tags):
            return str(node)
        return None

    @property
    def seq_position(self) -> int | None:
        """Position in its node's sequence (1: the node's function; later: its edges)."""
        for tag in self.tags:
            match = _SEQ_TAG.match(tag)
            if match:
                return int(match.group(1))
        return None


# -- converting ---------------------------------------------------------------------


class _Payloads:
    """Turns LangChain and LangGraph objects inside payloads into compact JSON-safe data."""

    def __init__(self) -> None:
        from langchain_core.messages import BaseMessage, ToolMessage

        self.message_type = BaseMessage
        self.tool_message_type = ToolMessage

    def __call__(self, value: Any) -> Any:
        if isinstance(value, self.message_type):
            return self.message(value)
        if isinstance(value, Mapping):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(item) for item in value]
        kind = type(value)
        if kind.__module__ == "langgraph.types" and kind.__name__ == "Command":
            fields = {"goto": value.goto, "update": value.update, "resume": value.resume, "graph": value.graph}
            return {key: self(item) for key, item in fields.items() if item not in (None, (), [], {})}
        if kind.__module__ == "langgraph.types" and kind.__name__ == "Send":
            return {"send": value.node, "arg": self(value.arg)}
        return value

    def message(self, message: Any) -> dict[str, Any]:
        calls = [{"name": c["name"], "args": self(c["args"])} for c in getattr(message, "tool_calls", None) or []]
        invalid = [
            {"name": c.get("name"), "args": c.get("args"), "error": c.get("error")}
            for c in getattr(message, "invalid_tool_calls", None) or []
        ]
        tool = isinstance(message, self.tool_message_type)
        return chat_message(
            message.type,
            self(message.content),
            tool_calls=calls,
            tool_call_id=getattr(message, "tool_call_id", None),
            name=message.name,
            invalid_tool_calls=invalid,
            status="error" if tool and message.status == "error" else None,
            artifact=self(getattr(message, "artifact", None)),
        )

    def tool_result(self, output: Any) -> Any:
        """A tool's result: the content of the ``ToolMessage`` it was wrapped in."""
        if isinstance(output, self.tool_message_type):
            if output.artifact is None and output.status != "error":
                return self(output.content)
            return self.message(output)
        return self(output)


def _tokens(response: Any) -> Tokens | None:
    """Token usage of an ``LLMResult``: the reply's ``usage_metadata``, else ``llm_output``."""
    for generations in getattr(response, "generations", None) or []:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if usage:
                return Tokens(
                    prompt=usage.get("input_tokens"),
                    completion=usage.get("output_tokens"),
                    total=usage.get("total_tokens"),
                )
    usage = (getattr(response, "llm_output", None) or {}).get("token_usage")
    if isinstance(usage, Mapping) and usage:
        return Tokens(
            prompt=usage.get("prompt_tokens"),
            completion=usage.get("completion_tokens"),
            total=usage.get("total_tokens"),
        )
    return None


def _model_name(run: RecordedRun) -> str | None:
    name = run.metadata.get("ls_model_name")
    for key in ("model", "model_name", "model_id"):
        if name is None:
            name = run.invocation.get(key)
    return None if name is None else str(name)


class _Converter:
    """Steps in pre-order from a run tree."""

    def __init__(self) -> None:
        self.payloads = _Payloads()
        self.steps: list[Step] = []

    def trace(self, root: RecordedRun) -> Trace:
        step = self.add(root, "", level=None)
        step.input = self.payloads(root.inputs)
        step.output = self.payloads(root.outputs)
        self.children(root, step)
        duration = None if root.start is None or root.end is None else root.end - root.start
        status = "failed" if root.failure else "completed" if root.end is not None else "running"
        return Trace(source=SOURCE, status=status, steps=self.steps, start=root.start, duration=duration)

    def add(self, run: RecordedRun, parent: str, level: int | None) -> Step:
        step = Step(step_id=run.name, parent=parent, level=level, start=run.start)
        if run.start is not None and run.end is not None:
            step.duration = run.end - run.start
        if run.failure is not None:
            step.status = StepStatus.FAILED
            step.failure_class, step.error = run.failure
        elif run.interrupt is not None:
            step.status = StepStatus.CANCELLED
            step.attributes["interrupt"] = self.payloads(run.interrupt)
        elif run.end is None:
            step.status = StepStatus.RUNNING
        self.steps.append(step)
        return step

    def children(self, run: RecordedRun, owner: Step) -> list[Any]:
        """Add the steps under ``owner`` from ``run``'s children (runs that are no step are
        looked through); return the routes chosen by ``run``'s conditional edges."""
        routes: list[Any] = []
        previous: dict[str, Step] = {}  # per node name, its last step under owner: retries
        for child in run.children:
            if child.node is not None:
                self.node(child, owner, previous)
            elif child.kind == "chain" and _routes(run, child):
                routes.append(self.payloads(child.outputs))
            elif child.kind == "chain":
                routes.extend(self.children(child, owner))
            elif child.kind == "tool":
                step = self.add(child, owner.path, level=_level(child))
                step.input = self.payloads(child.inputs)
                step.output = self.payloads.tool_result(child.outputs)
                _set_route(step, self.children(child, step))
            else:
                self.model(child, owner)
        return routes

    def node(self, run: RecordedRun, owner: Step, previous: dict[str, Step]) -> None:
        if _HIDDEN_TAG in run.tags:  # START: only its conditional edges matter
            _set_route(owner, self.children(run, owner))
            return
        step = self.add(run, owner.path, level=_level(run))
        earlier = previous.get(run.name)
        if earlier is not None and earlier.failed and earlier.level == step.level:
            step.attempt = earlier.attempt + 1
        previous[run.name] = step
        step.input = self.payloads(run.inputs)
        step.output = self.payloads(run.outputs)
        routes = self.children(run, step)
        if _is_command(run.outputs) and run.outputs.goto:
            routes.append(self.payloads(run.outputs.goto))
        _set_route(step, routes)

    def model(self, run: RecordedRun, owner: Step) -> None:
        step = self.add(run, owner.path, level=None)
        step.model = _model_name(run)
        batches = run.inputs
        step.input = self.payloads(batches[0] if len(batches) == 1 else batches)
        replies = [g.message if run.kind == "chat_model" else g.text for gs in _generations(run) for g in gs]
        step.output = self.payloads(replies[0] if len(replies) == 1 else replies)
        step.tokens = _tokens(run.outputs)


def _routes(node: RecordedRun, child: RecordedRun) -> bool:
    """True for a chain run right under a node run after the node's function: a router.

    langgraph runs a node as a sequence (function, state writer, one router per
    conditional edge) and tags each part's runs ``seq:step:<position>``; the writer
    makes no run, so position 2 and later are routers (START has no function).
    """
    position = child.seq_position
    return node.node is not None and position is not None and position >= 2


def _set_route(step: Step, routes: list[Any]) -> None:
    if routes:
        step.attributes["route"] = routes[0] if len(routes) == 1 else routes


def _level(run: RecordedRun) -> int | None:
    step = run.metadata.get("langgraph_step")
    return step if isinstance(step, int) else None


def _generations(run: RecordedRun) -> list[list[Any]]:
    return list(getattr(run.outputs, "generations", None) or [])


def _is_command(value: Any) -> bool:
    return type(value).__name__ == "Command" and type(value).__module__ == "langgraph.types"


# -- capturing -------------------------------------------------------------------------

_RECORDER: ContextVar[Any | None] = ContextVar("pytest_tracediff_langgraph_recorder", default=None)


def _installed_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def _register_hook() -> None:
    """Add ``_RECORDER`` to langchain-core's configure hooks, once per process.

    langchain-core keeps the hooks in a global list and offers no removal: the hook stays,
    and adds a handler only while ``_RECORDER`` holds one (inside a capture block).
    """
    from langchain_core.tracers import context

    register = getattr(context, "register_configure_hook", None)
    if register is None:
        raise CaptureError(
            f"langchain-core {_installed_version('langchain-core')} has no "
            "langchain_core.tracers.context.register_configure_hook, which the langgraph capture "
            "needs; install the versions of pytest-tracediff[langgraph]"
        )
    register(_RECORDER, True)


@functools.cache
def _recorder_class() -> type[Any]:
    """The callback handler class (built on first use: langchain-core is imported here only)."""
    from langchain_core.callbacks import BaseCallbackHandler

    class Recorder(BaseCallbackHandler):
        """Records each run of a compiled graph as a ``RecordedRun`` tree."""

        run_inline = True  # async runs: events in order, in the event loop's thread
        raise_error = False

        def __init__(self, collect: Callable[[object], None]) -> None:
            self.collect = collect
            self.runs: dict[UUID, RecordedRun] = {}
            self.roots: set[UUID] = set()
            self.lock = threading.Lock()
            self.closed = False

        def start(self, run_id: UUID, parent_run_id: UUID | None, run: RecordedRun) -> None:
            with self.lock:
                if self.closed:
                    return
                parent = self.runs.get(parent_run_id) if parent_run_id is not None else None
                if parent is not None:
                    parent.children.append(run)
                elif not _graph_root(run):
                    return
                else:
                    self.roots.add(run_id)
                run.start = time.time()
                self.runs[run_id] = run

        def end(self, run_id: UUID, outputs: Any = None, error: BaseException | None = None) -> None:
            with self.lock:
                run = self.runs.get(run_id)
                if run is None or self.closed:
                    return
                run.end = time.time()
                raised = {cls.__name__ for cls in type(error).__mro__} if error is not None else set()
                if error is None:
                    run.outputs = outputs
                elif "ParentCommand" in raised:  # Command(graph=PARENT): a jump, not a failure
                    run.outputs = error.args[0] if error.args else None
                elif "GraphInterrupt" in raised:  # paused by interrupt(): resumed by a later run
                    run.interrupt = [getattr(i, "value", i) for i in (error.args[0] if error.args else ())]
                else:
                    run.failure = (type(error).__name__, str(error))
                if run_id not in self.roots:
                    return
                self.roots.discard(run_id)
                self.forget(run)
            self.collect(run)

        def forget(self, run: RecordedRun) -> None:
            finished = {id(r) for r in _walk(run)}
            self.runs = {k: r for k, r in self.runs.items() if id(r) not in finished}

        def on_chain_start(
            self,
            serialized: dict[str, Any] | None,
            inputs: Any,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            tags: list[str] | None = None,
            metadata: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            name = kwargs.get("name") or _serialized_name(serialized) or "chain"
            self.start(run_id, parent_run_id, RecordedRun("chain", name, tuple(tags or ()), metadata or {}, inputs))

        def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self.end(run_id, outputs)

        def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self.end(run_id, error=error)

        def on_tool_start(
            self,
            serialized: dict[str, Any] | None,
            input_str: str,
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            tags: list[str] | None = None,
            metadata: dict[str, Any] | None = None,
            inputs: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            name = kwargs.get("name") or _serialized_name(serialized) or "tool"
            args = input_str if inputs is None else inputs
            self.start(run_id, parent_run_id, RecordedRun("tool", name, tuple(tags or ()), metadata or {}, args))

        def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self.end(run_id, output)

        def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self.end(run_id, error=error)

        def on_chat_model_start(
            self,
            serialized: dict[str, Any] | None,
            messages: list[list[Any]],
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            tags: list[str] | None = None,
            metadata: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            self.model("chat_model", serialized, messages, run_id, parent_run_id, tags, metadata, kwargs)

        def on_llm_start(
            self,
            serialized: dict[str, Any] | None,
            prompts: list[str],
            *,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            tags: list[str] | None = None,
            metadata: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            self.model("llm", serialized, [prompts], run_id, parent_run_id, tags, metadata, kwargs)

        def model(
            self,
            kind: str,
            serialized: dict[str, Any] | None,
            inputs: list[Any],
            run_id: UUID,
            parent_run_id: UUID | None,
            tags: list[str] | None,
            metadata: dict[str, Any] | None,
            kwargs: dict[str, Any],
        ) -> None:
            name = kwargs.get("name") or _serialized_name(serialized) or kind
            invocation = kwargs.get("invocation_params") or {}
            run = RecordedRun(kind, name, tuple(tags or ()), metadata or {}, inputs, invocation=invocation)
            self.start(run_id, parent_run_id, run)

        def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self.end(run_id, response)

        def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self.end(run_id, error=error)

    return Recorder


def _serialized_name(serialized: Mapping[str, Any] | None) -> str | None:
    if not serialized:
        return None
    name = serialized.get("name")
    if name is None and serialized.get("id"):
        name = serialized["id"][-1]
    return None if name is None else str(name)


def _graph_root(run: RecordedRun) -> bool:
    """A compiled graph's own run (langgraph tags every run in it with ``ls_integration``)."""
    return run.kind == "chain" and run.metadata.get("ls_integration") == "langgraph" and run.node is None


def _walk(run: RecordedRun) -> Iterator[RecordedRun]:
    yield run
    for child in run.children:
        yield from _walk(child)


@contextmanager
def _capture(collect: Callable[[object], None]) -> Iterator[None]:
    require("langgraph", "langgraph")
    require("langchain_core", "langgraph")
    _register_hook()
    recorder = _recorder_class()(collect)
    token = _RECORDER.set(recorder)
    try:
        yield
    finally:
        recorder.closed = True
        try:
            _RECORDER.reset(token)
        except ValueError:  # left in another context than entered: unset it here too
            _RECORDER.set(None)


class _LangGraphAdapter:
    name = "langgraph"
    framework = "langgraph"
    extra = "langgraph"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, RecordedRun)

    def convert(self, obj: object) -> Trace:
        assert isinstance(obj, RecordedRun)
        require("langchain_core", "langgraph")
        return _Converter().trace(obj)

    def capture(self, collect: Callable[[object], None]) -> Any:
        return _capture(collect)


ADAPTER = _LangGraphAdapter()
