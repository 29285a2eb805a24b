"""Golden-trace tests for a noukai flow, the way a user writes them.

noukai runs flows on its server; ``grade_essay`` below is ordinary SDK code that knows
nothing about pytest-tracediff. ``trace_capture("noukai_sdk")`` makes every
``flow.execute(...)`` in the block run with ``trace=True`` (so the server keeps each
step's input and output) and fetches the run's full trace afterwards, every attempt of
every retried step included; ``assert cap.trace == trace_snapshot`` compares it with the
committed golden (create or refresh goldens with ``pytest --trace-snapshot-update`` and
review them in git). Execution ids, timestamps and durations never reach the golden.

These tests need a noukai server. In your project the ``noukai`` fixture yields a client
for your dev or staging server; here it points the client at the small stand-in server
of ``tests/frameworks/noukai_server.py``, so the example runs offline.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

noukai_sdk = pytest.importorskip("noukai_sdk")

from pytest_tracediff import assert_no_failures, assert_retries  # noqa: E402
from pytest_tracediff.sources.adapters.noukai import fetch_full_trace  # noqa: E402

ESSAY = "Teh cat sat on the mat. The dog barked"


# -- the code under test ---------------------------------------------------------------


def grade_essay(client: Any, essay: str) -> str:
    """Your application code: run the grading flow, return the grade."""
    result = client.flow("grade-3").execute(message=essay)
    return str(result.output["grade"])


# -- the server ------------------------------------------------------------------------


def _stand_in() -> Any:
    """The stand-in server module (in your project: not needed)."""
    if "noukai_server" not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "tests" / "frameworks" / "noukai_server.py"
        spec = importlib.util.spec_from_file_location("noukai_server", path)
        assert spec is not None
        assert spec.loader is not None
        sys.modules["noukai_server"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["noukai_server"]


@pytest.fixture
def noukai() -> Iterator[Any]:
    # In your project:
    #     with noukai_sdk.Noukai(env="dev", org="acme", project="spelling") as client:
    #         yield client
    stand_in = _stand_in()
    step = stand_in.StepSpec
    with stand_in.NoukaiServer() as server:
        # The flow as the server runs it: extract sentences (LLM), check each one (a loop),
        # grade (LLM; its first call is rate limited and retried by the server).
        server.add_flow(
            "acme/spelling/grade-3",
            [
                step(
                    "extract",
                    lambda s: s["message"].split(". "),
                    model="gpt-4o-mini",
                    prompt_tokens=42,
                    completion_tokens=17,
                    cost_usd="0.000150",
                ),
                step("check", lambda s: {"typos": s["item"].count("Teh")}, loop_over="extract", inputs=()),
                step(
                    "grade",
                    lambda s: {"grade": "B"},
                    model="gpt-4o",
                    prompt_tokens=120,
                    completion_tokens=8,
                    cost_usd="0.001234",
                    failures=1,
                ),
            ],
        )
        client = noukai_sdk.Noukai(api_key="nk_example", org="acme", project="spelling")
        with server.connect(client):
            yield client


# -- the tests -------------------------------------------------------------------------


def test_grade_essay(noukai: Any, trace_capture: Any, trace_snapshot: Any) -> None:
    with trace_capture("noukai_sdk") as cap:
        grade = grade_essay(noukai, ESSAY)
    assert grade == "B"
    trace = cap.trace
    assert_retries(trace, "grade", 1)  # the rate-limited call was retried once...
    assert_no_failures(trace)  # ...and the retry recovered
    assert trace == trace_snapshot  # every step, attempt, input, output, token and cost


def test_grade_essay_without_capture(noukai: Any, trace_snapshot: Any) -> None:
    # The same trace, fetched by hand: run.trace() holds only the latest attempt of each
    # step; fetch_full_trace also fetches the earlier attempts of the retried ones.
    flow = noukai.flow("grade-3")
    result = flow.execute(message=ESSAY, trace=True)
    trace = fetch_full_trace(flow.run(result.execution_id))
    assert [s.attempt for s in trace.steps if s.step_id == "grade"] == [1, 2]
    assert trace == trace_snapshot
