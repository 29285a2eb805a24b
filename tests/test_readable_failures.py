"""The failure a person reads: plain ``pytest`` (default verbosity, not on CI) must name the
changed step and its values within the 8 lines pytest shows of an assertion explanation,
and keep the golden's path and the update hint on screen (pytester runs)."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

UPDATE = "--trace-snapshot-update"
TOOL = "invoke_agent weather_agent/running tools/execute_tool get_weather"

# An agent run shaped like pydantic-ai's spans: the root carries the whole message
# history (as JSON text, like an OpenTelemetry attribute), two calls of the same chat
# model, and a tool under "running tools" whose arguments and result are JSON text.
# variant.json switches the behaviour between runs.
CONFTEST = """
import json, pathlib
import pytest
from pytest_tracediff import Step, StepStatus, Trace

ROOT = "invoke_agent weather_agent"

def variant():
    path = pathlib.Path(__file__).with_name("variant.json")
    return json.loads(path.read_text()) if path.exists() else {}

def tool_step(name, args, result, **extra):
    return Step(
        step_id=f"execute_tool {name}",
        parent=f"{ROOT}/running tools",
        input=json.dumps(args),
        output=None if result is None else json.dumps(result),
        attributes={"gen_ai.tool.name": name},
        **extra,
    )

def agent_run():
    v = variant()
    args = {"city": v.get("city", "Paris"), "units": "metric"}
    result = {"forecast": v.get("forecast", "sunny"), "temp": 21}
    calls = [{"name": "get_weather", "arguments": json.dumps(args)}]
    tools = []
    if v.get("raises"):
        error = (
            "Traceback (most recent call last):\\n"
            '  File "/srv/app/.venv/lib/python3.11/site-packages/httpx/_client.py", line 1099, in send\\n'
            "    raise exc\\n"
            "ConnectionError: weather service unreachable"
        )
        tools.append(tool_step("get_weather", args, None, status=StepStatus.FAILED,
                               failure_class="ConnectionError", error=error))
        result = {"error": "weather service unreachable"}
    else:
        tools.append(tool_step("get_weather", args, result))
    if v.get("insert"):
        calls.append({"name": "get_time", "arguments": json.dumps({"city": args["city"]})})
        tools.append(tool_step("get_time", {"city": args["city"]}, {"time": "14:05"}))
    question = {"role": "user", "content": "What is the weather in Paris?"}
    asked = {"role": "assistant", "tool_calls": calls}
    answered = [{"role": "tool", "name": c["name"], "content": json.dumps(result)} for c in calls]
    reply = {"role": "assistant", "content": "It is sunny in Paris, 21 degrees."}
    history = [question, asked, *answered, reply]
    chat = {"step_id": "chat gpt-4o", "parent": ROOT, "model": "gpt-4o"}
    return Trace(
        source="agent",
        steps=[
            Step(step_id=ROOT, input=question["content"], output=reply["content"],
                 attributes={"pydantic_ai.all_messages": json.dumps(history)}),
            Step(**chat, input=json.dumps([question]), output=json.dumps(asked)),
            Step(step_id="running tools", parent=ROOT),
            *tools,
            Step(**chat, input=json.dumps(history[:-1]), output=json.dumps(reply)),
        ],
    )
"""

TEST_AGENT = """
from conftest import agent_run

def test_agent(trace_snapshot):
    assert agent_run() == trace_snapshot
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # pytest never cuts explanations on CI; these tests are about the cut.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TEST_AGENT)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    return pytester


def set_variant(pytester: pytest.Pytester, **variant: object) -> None:
    (pytester.path / "variant.json").write_text(json.dumps(variant))


def explanation(result: pytest.RunResult) -> list[str]:
    """The assertion explanation as pytest printed it: the ``E`` lines, prefix removed."""
    return [line[1:].strip() for line in result.outlines if line.startswith("E ")]


def on_screen(lines: list[str], step: str, change: str) -> bool:
    """Whether one of the first 8 lines names ``step`` (its parent path may be cut
    short) and ``change``."""
    return any(step in line and change in line for line in lines[:8])


def failing_explanation(pytester: pytest.Pytester, **variant: object) -> list[str]:
    set_variant(pytester, **variant)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    lines = explanation(result)
    assert not any("Full output truncated" in line for line in lines), "\n".join(lines)
    assert len(lines) <= 10, "\n".join(lines)
    assert lines[-1].startswith("golden: __trace_snapshots__/test_agent/test_agent.trace.json (if the change is")
    assert UPDATE in lines[-1]
    return lines


def test_changed_tool_argument_is_on_screen(project: pytest.Pytester) -> None:
    lines = failing_explanation(project, city="Lyon")
    assert on_screen(lines, TOOL, 'input.city: "Paris" -> "Lyon"'), "\n".join(lines)
    assert lines[2] == f'~ input changed: {TOOL} (attempt 1) input.city: "Paris" -> "Lyon" (+3 echoes elsewhere)'
    # One change: the chat calls and the root's history only echo it.
    assert lines[1].startswith("4 changes:")
    assert len(lines) == 4  # the assert line, the summary, the change, the golden


def test_inserted_tool_call_is_on_screen(project: pytest.Pytester) -> None:
    lines = failing_explanation(project, insert=True)
    assert lines[2].startswith("+ step added: ")
    assert "/running tools/execute_tool get_time" in lines[2]
    assert '"status": "completed"' in lines[2]


def test_changed_leaf_output_is_on_screen(project: pytest.Pytester) -> None:
    lines = failing_explanation(project, forecast="rainy")
    assert on_screen(lines, "/execute_tool get_weather", 'output.forecast: "sunny" -> "rainy"'), "\n".join(lines)
    assert lines[2].startswith("~ output changed:")
    assert lines[2].endswith("echoes elsewhere)")


def test_raising_tool_is_on_screen_without_its_traceback(project: pytest.Pytester) -> None:
    lines = failing_explanation(project, raises=True)
    assert on_screen(lines, "/execute_tool get_weather", 'status: "completed" -> "failed"'), "\n".join(lines)
    assert on_screen(lines, "/execute_tool get_weather", 'error: <absent> -> "ConnectionError: weather'), "\n".join(
        lines
    )
    actual = project.runpytest(UPDATE)
    actual.assert_outcomes(passed=1)
    golden = (project.path / "__trace_snapshots__" / "test_agent" / "test_agent.trace.json").read_text()
    assert "weather service unreachable" in golden
    assert "Traceback" not in golden
    assert "line 1099" not in golden


def test_repeated_steps_are_told_apart(project: pytest.Pytester) -> None:
    set_variant(project, city="Lyon")
    result = project.runpytest("-vv")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "= echo: invoke_agent weather_agent/chat gpt-4o #1 (attempt 1) output.tool_calls[0].arguments.city" in text
    assert "= echo: invoke_agent weather_agent/chat gpt-4o #2 (attempt 1) input[1].tool_calls[0].arguments.city" in text


def test_golden_holds_json_text_as_data(project: pytest.Pytester) -> None:
    golden = json.loads((project.path / "__trace_snapshots__" / "test_agent" / "test_agent.trace.json").read_text())
    tool = next(s for s in golden["steps"] if s["step_id"] == "execute_tool get_weather")
    assert tool["input"] == {"city": "Paris", "units": "metric"}
    assert tool["output"] == {"forecast": "sunny", "temp": 21}


# A LangGraph-like run: every node and chat span carries the whole message history, so
# one changed tool result shows up in the state of every later span.
LANGGRAPH_TEST = """
import json, pathlib
from pytest_tracediff import Step, Trace

def run():
    path = pathlib.Path(__file__).with_name("variant.json")
    weather = json.loads(path.read_text()).get("weather", "sunny") if path.exists() else "sunny"
    question = {"role": "human", "content": "Weather in Oslo?"}
    call = {"role": "ai", "content": "", "tool_calls": [{"name": "forecast", "args": {"city": "Oslo"}}]}
    answer = {"role": "tool", "name": "forecast", "content": f"{weather} in Oslo"}
    reply = {"role": "ai", "content": "Enjoy your day."}
    msgs = [question, call, answer, reply]
    state = lambda n: {"messages": msgs[:n]}
    return Trace(source="langgraph", steps=[
        Step(step_id="LangGraph", input=state(1), output=state(4)),
        Step(step_id="agent", parent="LangGraph", input=state(1), output={"messages": [call]}),
        Step(step_id="chat", parent="LangGraph/agent", input=msgs[:1], output=call),
        Step(step_id="tools", parent="LangGraph", input=state(2), output={"messages": [answer]}),
        Step(step_id="forecast", parent="LangGraph/tools", input={"city": "Oslo"}, output=answer["content"]),
        Step(step_id="agent", parent="LangGraph", loop_index=2, input=state(3), output={"messages": [reply]}),
        Step(step_id="chat", parent="LangGraph/agent", loop_index=2, input=msgs[:3], output=reply),
    ])

def test_graph(trace_snapshot):
    assert run() == trace_snapshot
"""


def test_history_repeated_in_every_span_reports_one_change_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    pytester.makepyfile(test_graph=LANGGRAPH_TEST)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    set_variant(pytester, weather="rainy")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    lines = explanation(result)
    changes = [line for line in lines if line.startswith(("~", "+", "-"))]
    assert changes == [
        '~ output changed: LangGraph/tools/forecast (attempt 1) output: "sunny in Oslo" -> "rainy in Oslo" '
        "(+4 echoes elsewhere)"
    ], "\n".join(lines)
    # The tools node's output, the next agent and chat inputs, the graph's output.
    assert lines[1] == "5 changes: 2 inputs changed, 3 outputs changed"
    assert not any("more change" in line for line in lines)


def test_ini_option_keeps_tracebacks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TEST_AGENT)
    pytester.makeini("[pytest]\ntrace_snapshot_keep_tracebacks = true\n")
    set_variant(pytester, raises=True)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    golden = (pytester.path / "__trace_snapshots__" / "test_agent" / "test_agent.trace.json").read_text()
    assert "Traceback (most recent call last):" in golden
    assert "line 1099" in golden
