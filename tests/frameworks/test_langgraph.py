"""The LangGraph adapter against real langgraph and langchain-core, with offline chat models."""

from __future__ import annotations

import asyncio
import operator
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph")

from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langchain_core.tracers.context import _configure_hooks
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command, RetryPolicy, interrupt

from pytest_tracediff import Trace
from pytest_tracediff.compare.entries import ABSENT, DiffEntry, StepRef
from pytest_tracediff.model import StepStatus, Tokens
from pytest_tracediff.sources.adapters import langgraph as adapter

Capture = Callable[..., Any]
OPENAI_KEY = "sk-proj-4f9Qx7LmZ2Rt8Kp1Wv6Yb3Nc"


class ForecastDown(ConnectionError):
    """The weather service did not answer."""


class Tools:
    """Two tools whose behaviour a test can change: fail, fail once, or be slow."""

    def __init__(self, *, forecast_fails: int = 0, slow: bool = False) -> None:
        self.forecast_fails = forecast_fails
        self.slow = slow

        @tool
        def forecast(city: str) -> str:
            """Tomorrow's weather in a city."""
            if self.forecast_fails:
                self.forecast_fails -= 1
                raise ForecastDown(f"no forecast for {city}")
            if self.slow:
                time.sleep(0.02)
            return f"rain in {city}"

        @tool
        def notify(to: str, text: str) -> str:
            """Send a note."""
            return f"sent to {to}"

        self.forecast, self.notify = forecast, notify


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


def replies(*tool_call_rounds: list[dict[str, Any]], answer: str = "Take an umbrella.") -> list[AIMessage]:
    """One AI reply per round of tool calls, then the answer (with token usage)."""
    out = []
    for n, round_ in enumerate(tool_call_rounds):
        calls = [dict(c, id=f"call_{n}_{i}") for i, c in enumerate(round_)]
        out.append(AIMessage("", tool_calls=calls))
    out.append(AIMessage(answer, usage_metadata={"input_tokens": 30, "output_tokens": 4, "total_tokens": 34}))
    return out


BASELINE = (call("forecast", city="Oslo"), call("notify", to="ana", text="umbrella"))


def agent_graph(
    messages: list[AIMessage], tools: Tools | None = None, *, handle_errors: bool = True, retry: bool = False
) -> Any:
    """agent -> (tools -> agent)* -> END: a chat model with two tools and a conditional edge."""
    tools = tools or Tools()
    model = GenericFakeChatModel(messages=iter(messages))

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    policy = RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False, retry_on=ForecastDown) if retry else None
    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node(
        "tools", ToolNode([tools.forecast, tools.notify], handle_tool_errors=handle_errors), retry_policy=policy
    )
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


def run(trace_capture: Capture, graph: Any, prompt: str = "Weather in Oslo tomorrow?") -> Trace:
    with trace_capture("langgraph") as cap:
        graph.invoke({"messages": [HumanMessage(prompt)]})
    trace: Trace = cap.trace
    return trace


def baseline(trace_capture: Capture) -> Trace:
    return run(trace_capture, agent_graph(replies(list(BASELINE))))


def step(trace: Trace, path: str, occurrence: int = 0) -> Any:
    return [s for s in trace.steps if s.path == path][occurrence]


# -- what a golden holds -------------------------------------------------------------


def test_agent_run_golden_is_identical_over_20_runs(trace_capture: Capture, trace_snapshot: Any) -> None:
    texts = {baseline(trace_capture).normalized().to_json() for _ in range(20)}
    assert len(texts) == 1
    trace = baseline(trace_capture)
    assert trace == trace_snapshot
    # The two tool calls ran in ToolNode's threads; they are one group, ordered by name.
    assert [s.step_id for s in trace.normalized().steps if s.parent == "LangGraph/tools"] == ["forecast", "notify"]


def test_steps_nodes_routes_tools_and_model_calls(trace_capture: Capture) -> None:
    trace = baseline(trace_capture).normalized()
    assert [s.path for s in trace.steps] == [
        "LangGraph",
        "LangGraph/agent",
        "LangGraph/agent/GenericFakeChatModel",
        "LangGraph/tools",
        "LangGraph/tools/forecast",
        "LangGraph/tools/notify",
        "LangGraph/agent",
        "LangGraph/agent/GenericFakeChatModel",
    ]
    root, agent, model, tools_node, forecast = trace.steps[:5]
    assert root.input == {"messages": [{"role": "human", "content": "Weather in Oslo tomorrow?"}]}
    assert root.output["messages"][-1] == {"role": "ai", "content": "Take an umbrella."}
    # The branch the conditional edge took is the deciding node's attribute, not a step.
    assert agent.attributes == {"route": "tools"}
    assert trace.steps[6].attributes == {"route": "__end__"}
    # A node's output is the update it returned, not the state after it.
    assert agent.input == root.input
    assert tools_node.output == {
        "messages": [
            {"role": "tool", "content": "rain in Oslo", "name": "forecast", "tool_call_id": "call_0_0"},
            {"role": "tool", "content": "sent to ana", "name": "notify", "tool_call_id": "call_0_1"},
        ]
    }
    assert (forecast.input, forecast.output) == ({"city": "Oslo"}, "rain in Oslo")
    # Model calls: compact messages in and out (no ids), token usage when the model gives it.
    assert model.input == [{"role": "human", "content": "Weather in Oslo tomorrow?"}]
    assert model.output == {
        "role": "ai",
        "tool_calls": [{"name": "forecast", "args": {"city": "Oslo"}}, {"name": "notify", "args": BASELINE[1]["args"]}],
    }
    assert model.tokens is None
    assert trace.steps[7].tokens == Tokens(prompt=30, completion=4, total=34)
    assert trace.steps[7].output == {"role": "ai", "content": "Take an umbrella."}
    assert "lc_run" not in trace.to_json()
    assert "<uuid>" not in trace.to_json()


def test_super_step_is_the_level(trace_capture: Capture) -> None:
    trace = baseline(trace_capture)
    assert [s.level for s in trace.steps if s.parent == "LangGraph"] == [1, 2, 3]
    assert {s.level for s in trace.steps if s.parent == "LangGraph/tools"} == {2}


# -- what a diff reports -----------------------------------------------------------------

FORECAST = StepRef("forecast", 1, "LangGraph/tools")


def tool_entries(expected: Trace, actual: Trace) -> list[DiffEntry]:
    """The diff entries about tool steps (the nodes above them change along, as they should)."""
    return [e for e in expected.diff(actual) if e.step is not None and e.step.parent == "LangGraph/tools"]


def test_changed_tool_argument_is_reported(trace_capture: Capture) -> None:
    actual = run(trace_capture, agent_graph(replies([call("forecast", city="Bergen"), BASELINE[1]])))
    assert tool_entries(baseline(trace_capture), actual) == [
        DiffEntry("input_changed", FORECAST, "input.city", "Oslo", "Bergen"),
        DiffEntry("output_changed", FORECAST, "output", "rain in Oslo", "rain in Bergen"),
    ]


def test_extra_tool_call_is_reported(trace_capture: Capture) -> None:
    actual = run(trace_capture, agent_graph(replies([*BASELINE, call("forecast", city="Bergen")])))
    [entry] = tool_entries(baseline(trace_capture), actual)
    assert (entry.kind, entry.step) == ("step_added", FORECAST)
    assert entry.actual["output"] == "rain in Bergen"


def test_changed_model_output_is_reported(trace_capture: Capture) -> None:
    actual = run(trace_capture, agent_graph(replies(list(BASELINE), answer="No umbrella needed.")))
    entries = baseline(trace_capture).diff(actual)
    assert DiffEntry(
        "output_changed",
        StepRef("GenericFakeChatModel", 1, "LangGraph/agent"),
        "output.content",
        "Take an umbrella.",
        "No umbrella needed.",
    ) in list(entries)
    assert {e.kind for e in entries} == {"output_changed"}


def test_raising_tool_is_reported_without_traceback(trace_capture: Capture) -> None:
    actual = run(trace_capture, agent_graph(replies(list(BASELINE)), Tools(forecast_fails=1)))
    assert tool_entries(baseline(trace_capture), actual) == [
        DiffEntry("status_changed", FORECAST, "status", "completed", "failed"),
        DiffEntry("error_changed", FORECAST, "failure_class", ABSENT, "ForecastDown"),
        DiffEntry("error_changed", FORECAST, "error", ABSENT, "no forecast for Oslo"),
        DiffEntry("output_changed", FORECAST, "output", "rain in Oslo", None),
    ]
    assert "Traceback" not in actual.normalized().to_json()


def test_node_retried_by_its_retry_policy_is_reported(trace_capture: Capture) -> None:
    graph = agent_graph(replies(list(BASELINE)), Tools(forecast_fails=1), handle_errors=False, retry=True)
    actual = run(trace_capture, graph)
    tools_runs = [s for s in actual.steps if s.path == "LangGraph/tools"]
    assert [(s.attempt, s.status, s.failure_class) for s in tools_runs] == [
        (1, StepStatus.FAILED, "ForecastDown"),
        (2, StepStatus.COMPLETED, None),
    ]
    entries = baseline(trace_capture).diff(actual)
    assert DiffEntry("attempts_changed", StepRef("tools", 2, "LangGraph"), "attempts", 1, 2) in list(entries)
    [added] = [e for e in entries if e.kind == "step_added"]
    assert added.step == FORECAST
    assert (added.actual["status"], added.actual["error"]) == ("failed", "no forecast for Oslo")


def test_tool_called_again_by_the_agent_after_an_error_is_reported(trace_capture: Capture) -> None:
    again = replies(list(BASELINE), [call("forecast", city="Oslo")])
    actual = run(trace_capture, agent_graph(again, Tools(forecast_fails=1)))
    entries = tool_entries(baseline(trace_capture), actual)
    assert DiffEntry("status_changed", FORECAST, "status", "completed", "failed") in entries
    assert [(e.kind, e.step, e.actual["status"]) for e in entries if e.kind == "step_added"] == [
        ("step_added", FORECAST, "completed")
    ]


def test_timing_only_change_passes(trace_capture: Capture) -> None:
    slow = run(trace_capture, agent_graph(replies(list(BASELINE)), Tools(slow=True)))
    expected = baseline(trace_capture)
    assert not expected.diff(slow)
    assert slow == expected


def test_api_key_forwarded_to_a_tool_never_reaches_a_golden(trace_capture: Capture, trace_snapshot: Any) -> None:
    prompt = f"Tell ana it rains. My OpenAI key is {OPENAI_KEY}"
    graph = agent_graph(replies([call("notify", to="ana", text=f"rain; key {OPENAI_KEY}")]))
    trace = run(trace_capture, graph, prompt)
    assert OPENAI_KEY in str(trace.steps[0].input)  # recorded as given, in memory
    assert trace == trace_snapshot
    assert OPENAI_KEY not in trace.normalized().to_json()
    assert step(trace.normalized(), "LangGraph/tools/notify").input["text"] == "rain; key <redacted:openai-key>"


# -- capture and restore -------------------------------------------------------------------


def test_nothing_is_recorded_after_the_block(trace_capture: Capture) -> None:
    graph = agent_graph(replies(list(BASELINE)) * 2)
    with trace_capture("langgraph") as cap:
        graph.invoke({"messages": [HumanMessage("first")]})
    assert adapter._RECORDER.get() is None
    graph.invoke({"messages": [HumanMessage("second")]})
    assert len(cap.raw) == 1
    # The configure hook is registered once per process, whatever the number of captures.
    assert sum(var is adapter._RECORDER for var, *_ in _configure_hooks) == 1


def test_restored_when_the_block_raises(trace_capture: Capture) -> None:
    graph = agent_graph(replies(list(BASELINE)), Tools(forecast_fails=1), handle_errors=False)
    with pytest.raises(ForecastDown), trace_capture("langgraph") as cap:
        graph.invoke({"messages": [HumanMessage("Weather in Oslo tomorrow?")]})
    assert adapter._RECORDER.get() is None
    trace = cap.trace
    assert trace.status == "failed"
    failed = [(s.path, s.failure_class, s.error) for s in trace.steps if s.failed]
    assert failed == [
        ("LangGraph", "ForecastDown", "no forecast for Oslo"),
        ("LangGraph/tools", "ForecastDown", "no forecast for Oslo"),
        ("LangGraph/tools/forecast", "ForecastDown", "no forecast for Oslo"),
    ]


def test_a_run_still_open_at_exit_is_not_collected(trace_capture: Capture) -> None:
    graph = agent_graph(replies(list(BASELINE)))
    stream = graph.stream({"messages": [HumanMessage("Weather in Oslo tomorrow?")]})
    with trace_capture("langgraph") as cap:
        next(stream)
    list(stream)
    assert cap.raw == []


def test_each_graph_run_is_one_trace_and_from_any_reads_it(trace_capture: Capture) -> None:
    with trace_capture("langgraph") as cap:
        agent_graph(replies(list(BASELINE))).invoke({"messages": [HumanMessage("a")]})
        FakeListChatModel(responses=["not in a graph"]).invoke("hi")  # no graph: not recorded
        agent_graph(replies(list(BASELINE))).invoke({"messages": [HumanMessage("b")]})
    assert [t.steps[0].input["messages"][0]["content"] for t in cap.traces] == ["a", "b"]
    assert Trace.from_any(cap.raw[0]) == cap.traces[0]
    assert not adapter.ADAPTER.detect({"steps": []})


def test_async_run(trace_capture: Capture) -> None:
    graph = agent_graph(replies(list(BASELINE)))
    with trace_capture("langgraph") as cap:
        asyncio.run(graph.ainvoke({"messages": [HumanMessage("Weather in Oslo tomorrow?")]}))
    assert cap.trace == baseline(trace_capture)


# -- other graph shapes --------------------------------------------------------------------


class Counter(TypedDict):
    log: Annotated[list[str], operator.add]


def test_start_route_command_fan_out_and_subgraph(trace_capture: Capture) -> None:
    inner = StateGraph(Counter)
    inner.add_node("leaf", lambda s: {"log": ["leaf"]})
    inner.add_edge(START, "leaf")

    def pick(state: Counter) -> str:
        return "jump"

    graph = StateGraph(Counter)
    graph.add_node("jump", lambda s: Command(goto="left", update={"log": ["jump"]}))
    graph.add_node("left", lambda s: {"log": ["left"]})
    graph.add_node("right", lambda s: {"log": ["right"]})
    graph.add_node("nested", inner.compile())
    graph.add_conditional_edges(START, pick)
    graph.add_edge("jump", "right")  # left (by Command) and right run in one super-step
    graph.add_edge("right", "nested")
    graph.add_edge("nested", END)
    with trace_capture("langgraph") as cap:
        graph.compile(name="shapes").invoke({"log": []})
    trace = cap.trace.normalized()
    assert [s.path for s in trace.steps] == [
        "shapes",
        "shapes/jump",
        "shapes/left",
        "shapes/right",
        "shapes/nested",
        "shapes/nested/leaf",
    ]
    root, jump = trace.steps[:2]
    assert root.attributes == {"route": "jump"}
    assert jump.output == {"goto": "left", "update": {"log": ["jump"]}}
    assert jump.attributes == {"route": "left"}


def test_llm_and_chat_model_names(trace_capture: Capture) -> None:
    model = FakeListChatModel(responses=["fine"]).with_config(run_name="reviewer")
    graph = StateGraph(MessagesState)
    graph.add_node("review", lambda s: {"messages": [model.invoke(s["messages"])]})
    graph.add_edge(START, "review")
    with trace_capture("langgraph") as cap:
        graph.compile().invoke({"messages": [HumanMessage("ok?")]})
    review_model = cap.trace.steps[2]
    assert (review_model.path, review_model.output) == ("LangGraph/review/reviewer", {"role": "ai", "content": "fine"})


class Approval(TypedDict):
    answer: str


def test_interrupt_pauses_and_parent_command_jumps(trace_capture: Capture) -> None:
    def ask(state: Approval) -> dict[str, Any]:
        return {"answer": interrupt({"question": "approve?"})}

    inner = StateGraph(Approval)
    inner.add_node("escalate", lambda s: Command(graph=Command.PARENT, goto="done", update={"answer": "escalated"}))
    inner.add_edge(START, "escalate")
    graph = StateGraph(Approval)
    graph.add_node("ask", ask)
    graph.add_node("review", inner.compile())
    graph.add_node("done", lambda s: {"answer": s["answer"] + "!"})
    graph.add_edge(START, "ask")
    graph.add_edge("ask", "review")
    app = graph.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t1"}}
    with trace_capture("langgraph") as cap:
        app.invoke({"answer": ""}, config)
        app.invoke(Command(resume="yes"), config)
    paused, resumed = (t.normalized() for t in cap.traces)
    ask_step = paused.steps[1]
    assert (ask_step.status, ask_step.attributes) == (StepStatus.CANCELLED, {"interrupt": [{"question": "approve?"}]})
    assert paused.status == "completed"
    assert resumed.steps[0].input == {"resume": "yes"}
    assert [(s.path, s.status.value, s.attributes.get("route")) for s in resumed.steps[1:]] == [
        ("LangGraph/ask", "completed", None),
        ("LangGraph/review", "completed", "done"),  # the jump goes through the subgraph's node
        ("LangGraph/review/escalate", "completed", "done"),
        ("LangGraph/done", "completed", None),
    ]
    assert resumed.steps[-1].output == {"answer": "escalated!"}
