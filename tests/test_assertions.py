"""Behaviour assertions: they pass when they should and explain themselves when not."""

from __future__ import annotations

import pytest

from pytest_tracediff import (
    Step,
    StepStatus,
    Trace,
    TraceAssertionError,
    assert_no_failures,
    assert_retries,
    assert_steps,
    executed_steps,
)

FAILED = StepStatus.FAILED


def make(*steps: Step) -> Trace:
    return Trace(source="checkout", steps=list(steps))


def clean() -> Trace:
    return make(
        Step(step_id="pipeline"),
        Step(step_id="load", parent="pipeline"),
        Step(step_id="charge", parent="pipeline"),
        Step(step_id="email", parent="pipeline"),
    )


def recovered() -> Trace:
    """``charge`` fails twice, then succeeds."""

    def failure(attempt: int) -> Step:
        return Step(
            step_id="charge",
            parent="pipeline",
            attempt=attempt,
            status=FAILED,
            failure_class="ConnectionError",
            error="reset",
        )

    return make(
        Step(step_id="pipeline"),
        failure(1),
        failure(2),
        Step(step_id="charge", parent="pipeline", attempt=3),
        Step(step_id="email", parent="pipeline"),
    )


def test_errors_are_assertion_errors() -> None:
    assert issubclass(TraceAssertionError, AssertionError)
    error = TraceAssertionError("headline:", ["one", "two"])
    assert str(error) == "headline:\n  - one\n  - two"
    assert error.problems == ["one", "two"]


# -- assert_no_failures ----------------------------------------------------------


def test_no_failures_passes_on_a_clean_trace() -> None:
    assert_no_failures(clean())


def test_no_failures_passes_when_a_retry_recovered() -> None:
    assert_no_failures(recovered())


def test_no_failures_lists_every_failing_step() -> None:
    trace = make(
        Step(step_id="load", status=FAILED, failure_class="KeyError", error="'sku'"),
        Step(step_id="ok"),
        Step(step_id="call", parent="api", status=StepStatus.TIMED_OUT, failure_class="TimeoutError", error="5s"),
        Step(step_id="skipped", status=StepStatus.SKIPPED),
    )
    with pytest.raises(TraceAssertionError) as info:
        assert_no_failures(trace)
    error = info.value
    assert error.headline == "2 failed steps in trace from checkout:"
    assert error.problems == [
        "load (attempt 1 of 1): failed [KeyError] 'sku'",
        "api/call (attempt 1 of 1): timed_out [TimeoutError] 5s",
    ]
    assert "ok" not in str(error)
    assert "skipped" not in str(error)


def test_no_failures_reports_the_final_attempt_of_an_exhausted_retry() -> None:
    trace = make(
        Step(step_id="charge", attempt=1, status=FAILED, error="declined"),
        Step(step_id="charge", attempt=2, status=FAILED, error="declined again"),
    )
    with pytest.raises(AssertionError, match=r"1 failed step in trace from checkout:") as info:
        assert_no_failures(trace)
    assert info.value.problems == ["charge (attempt 2 of 2): failed declined again"]  # type: ignore[attr-defined]


def test_strict_no_failures_catches_recovered_attempts() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_no_failures(recovered(), strict=True)
    assert info.value.headline == "2 failed attempts in trace from checkout:"
    assert info.value.problems == [
        "pipeline/charge (attempt 1 of 3): failed [ConnectionError] reset",
        "pipeline/charge (attempt 2 of 3): failed [ConnectionError] reset",
    ]


def test_strict_no_failures_passes_on_a_clean_trace() -> None:
    assert_no_failures(clean(), strict=True)


def test_assertions_accept_a_dict_or_json() -> None:
    trace = make(Step(step_id="x", status=FAILED, error="bad"))
    for form in (trace.to_dict(), trace.to_json()):
        with pytest.raises(TraceAssertionError, match="x \\(attempt 1 of 1\\): failed bad"):
            assert_no_failures(form)


# -- assert_retries ----------------------------------------------------------------


def test_retries_exact() -> None:
    assert_retries(recovered(), "charge", 2)
    assert_retries(recovered(), "pipeline/charge", expected=2)
    assert_retries(recovered(), "email", 0)


def test_retries_exact_mismatch_explains() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_retries(recovered(), "charge", 1)
    error = info.value
    assert error.headline == "step 'charge' was retried 2 times, expected 1:"
    assert error.problems == [
        "pipeline/charge (attempt 1 of 3): failed [ConnectionError] reset",
        "pipeline/charge (attempt 2 of 3): failed [ConnectionError] reset",
        "pipeline/charge (attempt 3 of 3): completed",
    ]


def test_retries_at_most() -> None:
    assert_retries(recovered(), "charge", at_most=2)
    assert_retries(recovered(), "charge", at_most=5)
    with pytest.raises(TraceAssertionError, match="step 'charge' was retried 2 times, at most 1 allowed:"):
        assert_retries(recovered(), "charge", at_most=1)


def test_retries_exact_and_at_most_together() -> None:
    assert_retries(recovered(), "charge", 2, at_most=3)
    with pytest.raises(TraceAssertionError, match="at most 1 allowed"):
        assert_retries(recovered(), "charge", 2, at_most=1)


def test_retries_are_summed_over_occurrences() -> None:
    trace = make(
        Step(step_id="item", loop_index=0, attempt=1, status=FAILED),
        Step(step_id="item", loop_index=0, attempt=2),
        Step(step_id="item", loop_index=1, attempt=1, status=FAILED),
        Step(step_id="item", loop_index=1, attempt=2, status=FAILED),
        Step(step_id="item", loop_index=1, attempt=3),
    )
    assert_retries(trace, "item", 3)


def test_retries_of_an_unknown_step_names_the_known_steps() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_retries(clean(), "refund", 0)
    assert info.value.headline == "step 'refund' is not in the trace; its steps are:"
    assert info.value.problems == ["pipeline", "pipeline/charge", "pipeline/email", "pipeline/load"]


def test_retries_needs_expected_or_at_most() -> None:
    with pytest.raises(TypeError, match=r"assert_retries\(\) needs expected or at_most"):
        assert_retries(clean(), "charge")


# -- assert_steps --------------------------------------------------------------------


def looped() -> Trace:
    return make(
        Step(step_id="fetch"),
        Step(step_id="parse"),
        Step(step_id="parse"),
        Step(step_id="store", parent="db"),
    )


def test_executed_steps_folds_retries() -> None:
    assert executed_steps(recovered()) == ["pipeline", "charge", "email"]
    assert executed_steps(recovered(), paths=True) == ["pipeline", "pipeline/charge", "pipeline/email"]


def test_steps_strict_passes() -> None:
    assert_steps(looped(), ["fetch", "parse", "parse", "store"])
    assert_steps(recovered(), ["pipeline", "charge", "email"], mode="strict")


def test_steps_strict_fails_on_order() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_steps(looped(), ["parse", "fetch", "parse", "store"])
    error = info.value
    assert error.headline == (
        "steps do not match (strict): expected ['parse', 'fetch', 'parse', 'store'], "
        "ran ['fetch', 'parse', 'parse', 'store']"
    )
    # The longest common run (fetch, parse) is kept; the parse around it moved.
    assert error.problems == ["missing at position 0: parse", "unexpected at position 2: parse"]


def test_steps_strict_fails_on_missing_and_extra() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_steps(looped(), ["fetch", "parse", "store", "notify"])
    assert info.value.problems == ["unexpected at position 2: parse", "missing at position 3: notify"]


def test_steps_unordered_passes_in_any_order() -> None:
    assert_steps(looped(), ["store", "parse", "fetch", "parse"], mode="unordered")


def test_steps_unordered_respects_counts() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_steps(looped(), ["store", "parse", "fetch", "fetch"], mode="unordered")
    assert info.value.problems == ["missing: fetch", "unexpected: parse"]
    with pytest.raises(TraceAssertionError, match="unexpected: parse \\(x2\\)"):
        assert_steps(looped(), ["store", "fetch"], mode="unordered")


def test_steps_subset_passes_when_everything_that_ran_was_expected() -> None:
    assert_steps(looped(), ["fetch", "parse", "parse", "store", "notify", "audit"], mode="subset")


def test_steps_subset_fails_on_an_unexpected_step() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_steps(looped(), ["fetch", "parse", "notify"], mode="subset")
    assert info.value.headline.startswith("steps do not match (subset)")
    assert info.value.problems == ["unexpected: parse", "unexpected: store"]


def test_steps_superset_passes_when_every_expected_step_ran() -> None:
    assert_steps(looped(), ["store", "fetch"], mode="superset")
    assert_steps(looped(), [], mode="superset")


def test_steps_superset_fails_on_a_missing_step() -> None:
    with pytest.raises(TraceAssertionError) as info:
        assert_steps(looped(), ["fetch", "notify", "notify"], mode="superset")
    assert info.value.problems == ["missing: notify (x2)"]


def test_steps_with_a_slash_compare_full_paths() -> None:
    assert_steps(looped(), ["fetch", "parse", "parse", "db/store"])
    with pytest.raises(TraceAssertionError, match="missing: other/store"):
        assert_steps(looped(), ["other/store"], mode="superset")


def test_steps_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be strict, unordered, subset or superset"):
        assert_steps(looped(), ["fetch"], mode="exact")  # type: ignore[arg-type]
