"""Golden-trace tests for a LangGraph agent, the way a user writes them.

The graph below is ordinary LangGraph code: a triage node, a tool-calling agent, a
``ToolNode`` with two tools and two conditional edges. It passes no callbacks and knows
nothing about pytest-tracediff. ``trace_capture("langgraph")`` installs a langchain-core
callback handler for the block (no OpenInference, nothing exported), and ``assert
cap.trace == trace_snapshot`` compares the run with its committed golden (create or
refresh goldens with ``pytest --trace-snapshot-update`` and review them in git).

The golden holds one step per node execution (its input and the update it returned),
the branch each conditional edge took as the node's ``route``, every tool call (arguments
and result) and model call (messages in and out, token usage) under its node. Message
and run ids, timestamps and provider metadata never reach it. The model is LangChain's
offline ``GenericFakeChatModel`` replaying scripted replies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest

pytest.importorskip("langgraph")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from pytest_tracediff import assert_no_failures, assert_steps

ORDERS = {"A-1001": "shipped", "A-1002": "delayed"}


@tool
def order_status(order_id: str) -> str:
    """The shipping status of an order."""
    return ORDERS[order_id]


@tool
def refund(order_id: str, reason: str) -> str:
    """Open a refund for an order."""
    if ORDERS.get(order_id) == "shipped":
        raise PermissionError(f"{order_id} has shipped; refunds open after delivery")
    return f"refund opened for {order_id}"


class State(MessagesState):
    topic: str


def triage(state: State) -> dict[str, Any]:
    text = str(state["messages"][-1].content).lower()
    return {"topic": "orders" if "order" in text else "other"}


def route_topic(state: State) -> Literal["agent", "handoff"]:
    return "agent" if state["topic"] == "orders" else "handoff"


def build_support_graph(model: GenericFakeChatModel) -> Any:
    def agent(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def handoff(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage("A person will get back to you.")]}

    def reply(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage(f"[{state['topic']}] {state['messages'][-1].content}")]}

    graph = StateGraph(State)
    graph.add_node("triage", triage)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([order_status, refund], handle_tool_errors=True))
    graph.add_node("handoff", handoff)
    graph.add_node("reply", reply)
    graph.add_edge(START, "triage")
    graph.add_conditional_edges("triage", route_topic)
    graph.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: "reply"})
    graph.add_edge("tools", "agent")
    graph.add_edge("handoff", END)
    graph.add_edge("reply", END)
    return graph.compile(name="support")


def scripted_model(*tool_calls: dict[str, Any], answer: str) -> GenericFakeChatModel:
    """First reply: the tool calls; second: the answer (with token usage, as providers give)."""
    usage = {"input_tokens": 42, "output_tokens": 9, "total_tokens": 51}
    calls = [dict(call, id=f"call_{i}") for i, call in enumerate(tool_calls)]
    replies = [AIMessage("", tool_calls=calls, usage_metadata=usage), AIMessage(answer, usage_metadata=usage)]
    return GenericFakeChatModel(messages=iter(replies))


def test_order_question(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    model = scripted_model(
        {"name": "order_status", "args": {"order_id": "A-1002"}},
        answer="Order A-1002 is delayed.",
    )
    graph = build_support_graph(model)
    with trace_capture("langgraph") as cap:
        result = graph.invoke({"messages": [HumanMessage("Where is order A-1002?")]})
    assert result["messages"][-1].content == "[orders] Order A-1002 is delayed."
    assert_no_failures(cap.trace)
    assert_steps(cap.trace, ["support", "triage", "agent", "tools", "order_status", "agent", "reply"], mode="superset")
    assert cap.trace == trace_snapshot


def test_refund_refused_by_tool(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    # The tool raises; ToolNode(handle_tool_errors=True) hands the error to the model,
    # so the tool step is failed and the run goes on.
    model = scripted_model(
        {"name": "refund", "args": {"order_id": "A-1001", "reason": "late"}},
        answer="Refunds open once the order is delivered.",
    )
    graph = build_support_graph(model)
    with trace_capture("langgraph") as cap:
        graph.invoke({"messages": [HumanMessage("Refund order A-1001 please")]})
    failed = [step for step in cap.trace.steps if step.failed]
    assert [(s.step_id, s.failure_class) for s in failed] == [("refund", "PermissionError")]
    assert cap.trace == trace_snapshot
