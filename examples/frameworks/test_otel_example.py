"""Golden-trace tests for OpenTelemetry-instrumented code, the way a user writes them.

The code below is ordinary instrumented code: it takes its tracer from the global
``trace.get_tracer()`` at import time, installs no provider and knows nothing about
pytest-tracediff. ``trace_capture("opentelemetry.sdk")`` installs a test-scoped tracer
provider for the block, collects every span that finished in it as one trace, and puts
the previous global provider back afterwards. ``assert cap.trace == trace_snapshot``
compares the run with its committed golden (create or refresh goldens with
``pytest --trace-snapshot-update`` and review them in git).

The golden holds one step per span (parent paths from the span tree), the span status,
the ``gen_ai.*`` model and token usage, ``input.value``/``output.value`` and the other span
attributes. Span and trace ids, timestamps and made-up ids such as ``gen_ai.response.id``
never reach it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from pytest_tracediff import assert_no_failures, assert_retries, assert_steps

tracer = trace.get_tracer("helpdesk")
_response_ids = itertools.count(1000)


class RateLimited(Exception):
    pass


class FakeLLM:
    """Stands in for the model client; ``rate_limited`` calls fail first."""

    def __init__(self, rate_limited: int = 0) -> None:
        self.rate_limited = rate_limited

    def complete(self, prompt: str) -> str:
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            if self.rate_limited:
                self.rate_limited -= 1
                raise RateLimited("429 Too Many Requests")
            span.set_attribute("gen_ai.response.id", f"chatcmpl-{next(_response_ids)}")  # differs per call
            span.set_attribute("gen_ai.usage.input_tokens", len(prompt.split()))
            span.set_attribute("gen_ai.usage.output_tokens", 9)
            return "You can reset your password from the login page."


def answer_ticket(question: str, llm: FakeLLM, *, retries: int = 2) -> str:
    """search the knowledge base, then ask the model (retrying when rate limited)."""
    with tracer.start_as_current_span("answer_ticket", attributes={"input.value": question}) as root:
        with tracer.start_as_current_span("kb_search") as span:
            articles = ["reset-password", "two-factor"]
            span.set_attribute("kb.articles", articles)
        prompt = f"Answer {question!r} using {', '.join(articles)}"
        for attempt in range(retries + 1):
            try:
                reply = llm.complete(prompt)
                break
            except RateLimited:
                if attempt == retries:
                    raise
        root.set_attribute("output.value", reply)
        return reply


def test_answer_ticket(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("opentelemetry.sdk") as cap:
        answer_ticket("How do I reset my password?", FakeLLM())
    assert_no_failures(cap.trace)
    assert_steps(cap.trace, ["answer_ticket", "kb_search", "chat gpt-4o-mini"])
    assert cap.trace == trace_snapshot


def test_answer_ticket_retries_when_rate_limited(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    with trace_capture("opentelemetry.sdk") as cap:
        answer_ticket("How do I reset my password?", FakeLLM(rate_limited=1))
    # A failed span followed by a span of the same name is read as a retry.
    assert_retries(cap.trace, "chat gpt-4o-mini", 1)
    assert cap.trace == trace_snapshot


def test_answer_ticket_gives_up(trace_capture: Callable[..., Any], trace_snapshot: Any) -> None:
    # The spans are collected even though the block raises.
    with pytest.raises(RateLimited), trace_capture("opentelemetry.sdk") as cap:
        answer_ticket("How do I reset my password?", FakeLLM(rate_limited=5))
    assert cap.trace.status == "failed"
    assert cap.trace == trace_snapshot
