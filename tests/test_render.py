"""Ranked, deduplicated rendering of diffs (compare/render.py): presentation only."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tracediff import Step, Trace
from pytest_tracediff.compare.entries import ABSENT, KINDS, DiffEntry, StepRef
from pytest_tracediff.compare.render import LIMIT, arrange, group, render_lines

ROOT = StepRef("agent", 1)
CHAT = StepRef("chat", 1, "agent")
TOOL = StepRef("get_weather", 1, "agent/tools")


def entry(kind: str, step: StepRef | None, path: str, old: object, new: object) -> DiffEntry:
    return DiffEntry(kind, step, path, old, new)


def test_deepest_step_first_then_inputs_then_attributes_then_cost() -> None:
    entries = [
        entry("attribute_changed", ROOT, "cost", "0.1", "0.2"),
        entry("attribute_changed", ROOT, "attributes.mode", "fast", "slow"),
        entry("output_changed", ROOT, "output", "done!", "failed"),
        entry("status_changed", ROOT, "status", "completed", "failed"),
        entry("output_changed", TOOL, "output.temp", 21, 19),
        entry("status_changed", TOOL, "status", "completed", "failed"),
    ]
    order = [(g.entry.step, g.entry.path) for g in group(entries)]
    assert order == [
        (TOOL, "status"),
        (TOOL, "output.temp"),
        (ROOT, "output"),
        (ROOT, "attributes.mode"),
        (ROOT, "cost"),
    ]
    assert [e for g in group(entries) for e in g.echoes] == [entries[3]]  # the root's status echoes the tool's


def test_echoes_in_parents_are_folded_into_the_deepest_change() -> None:
    entries = [
        entry("attribute_changed", ROOT, 'attributes["history"][1].args.city', "Paris", "Lyon"),
        entry("input_changed", TOOL, "input.city", "Paris", "Lyon"),
    ]
    lines = render_lines(entries)
    assert lines == [
        "2 changes: 1 input changed, 1 attribute changed",
        '  ~ input changed: agent/tools/get_weather (attempt 1) input.city: "Paris" -> "Lyon" (+1 echo in parents)',
    ]


def test_trivial_values_are_echoes_only_in_parents() -> None:
    # A sibling's 21 -> 19 is a different change that happens to share the numbers.
    sibling = StepRef("get_time", 1, "agent/tools")
    entries = [
        entry("output_changed", TOOL, "output.temp", 21, 19),
        entry("output_changed", sibling, "output.minute", 21, 19),
        entry("attribute_changed", None, "attributes.last", 21, 19),
    ]
    groups = group(entries)
    assert [(g.entry.step, len(g.echoes)) for g in groups] == [(TOOL, 1), (sibling, 0)]


def test_repeated_values_in_later_steps_are_echoes() -> None:
    later = StepRef("chat", 1, "agent", occurrence=2)
    entries = [
        entry("input_changed", later, "input[2].content", "sunny in Oslo", "rainy in Oslo"),
        entry("output_changed", TOOL, "output", "sunny in Oslo", "rainy in Oslo"),
    ]
    (only,) = group(entries)
    assert only.entry.step == TOOL
    assert only.echoes == [entries[0]]
    assert render_lines(entries)[1].endswith("(+1 echo elsewhere)")


def test_default_shows_at_most_limit_changes_and_says_how_to_see_the_rest() -> None:
    entries = [entry("output_changed", StepRef(f"s{i}", 1), "output", i, i + 100) for i in range(LIMIT + 3)]
    lines = render_lines(entries)
    assert len(lines) == 1 + LIMIT + 1
    assert lines[-1] == "  ... 3 more: pytest -vv shows all, --trace-artifacts DIR saves them"


def test_verbose_keeps_every_entry() -> None:
    entries = [
        entry("attribute_changed", ROOT, 'attributes["history"][1].args.city', "Paris", "Lyon"),
        entry("input_changed", TOOL, "input.city", "Paris", "Lyon"),
        *(entry("output_changed", StepRef(f"s{i}", 1), "output", i, -i) for i in range(1, 9)),
    ]
    lines = render_lines(entries, verbose=True)
    assert len(lines) == 1 + len(entries)
    assert '      = echo: agent (attempt 1) attributes["history"][1].args.city' in lines
    assert not any("more" in line for line in lines)


def test_budget_shrinks_values_and_paths_before_leaving_changes_out() -> None:
    deep = StepRef("execute_tool get_weather", 1, "invoke_agent weather_agent/running tools")
    entries = [entry("output_changed", deep, f"output.k{i}", str(i) * 70, "y" * 70) for i in range(4)]
    full = render_lines(entries)
    fitted = render_lines(entries, budget=420)
    assert sum(map(len, fitted)) <= 420
    assert len(fitted) == len(full)  # all four still shown, shorter
    assert "…/running tools/execute_tool get_weather output.k0" in fitted[1]
    tight = render_lines(entries, budget=200)
    assert tight[-1].startswith("  ... ")
    assert len(tight) < len(full)


def test_failure_class_goes_under_the_error() -> None:
    entries = [
        entry("status_changed", TOOL, "status", "completed", "failed"),
        entry("error_changed", TOOL, "failure_class", ABSENT, "ValueError"),
        entry("error_changed", TOOL, "error", ABSENT, "ValueError: no city"),
    ]
    lines = render_lines(entries)
    assert len(lines) == 3
    assert lines[2].startswith('  ~ error changed: agent/tools/get_weather (attempt 1) error: <absent> -> "ValueError')


def test_to_list_is_complete_and_ranked() -> None:
    a, b = (
        Trace(steps=[Step(step_id="agent", attributes={"city": city}), Step(step_id="t", parent="agent", input=city)])
        for city in ("Paris", "Lyon")
    )
    diff = a.diff(b)
    data = diff.to_list()
    assert len(data) == len(diff) == 2
    by_path = {d["path"]: d for d in data}
    assert by_path["input"]["rank"] == by_path["input"]["echo_group"] == 1
    assert by_path["attributes.city"]["rank"] == 2
    assert by_path["attributes.city"]["echo_group"] == 1


def test_occurrences_label_repeated_steps() -> None:
    chat = [Step(step_id="chat planner-v1", parent="agent", output=text) for text in ("plan", "act", "done")]
    a = Trace(steps=[Step(step_id="agent"), *chat])
    b = Trace(steps=[Step(step_id="agent"), *chat[:1], chat[1].model_copy(update={"output": "wait"}), *chat[2:]])
    (change,) = a.diff(b)
    assert change.step is not None
    assert change.step.occurrence == 2
    assert 'agent/chat planner-v1 #2 (attempt 1) output: "act" -> "wait"' in a.diff(b).render()
    assert change.to_dict()["step"] == {"id": "chat planner-v1", "attempt": 1, "parent": "agent", "occurrence": 2}
    added = a.diff(Trace(steps=[*a.steps, Step(step_id="chat planner-v1", parent="agent", output="again")]))
    assert "+ step added: agent/chat planner-v1 #4 (attempt 1)" in added.render()


# -- invariants over any list of entries --------------------------------------

_STEPS = [None, ROOT, CHAT, TOOL, StepRef("get_time", 1, "agent/tools"), StepRef("chat", 1, "agent", occurrence=2)]
_VALUES = [ABSENT, 1, 2, True, "Paris", "Lyon", "sunny in Oslo", {"a": 1}, [1, 2]]
_ENTRIES = st.lists(
    st.builds(
        DiffEntry,
        st.sampled_from(KINDS),
        st.sampled_from(_STEPS),
        st.sampled_from(["output", "input.city", "attributes.x", "cost", "status", "error", "failure_class"]),
        st.sampled_from(_VALUES),
        st.sampled_from(_VALUES),
    ),
    max_size=25,
)


@given(_ENTRIES)
def test_arrange_ranks_every_entry_once(entries: list[DiffEntry]) -> None:
    arranged = arrange(entries)
    assert arranged == entries  # same entries, same order: only rank and echo group added
    assert sorted(e.rank for e in arranged if e.rank is not None) == list(range(1, len(entries) + 1))
    heads = {e.rank for e in arranged if e.rank == e.echo_group}
    assert all(e.echo_group in heads for e in arranged)


@given(_ENTRIES, st.integers(min_value=1, max_value=LIMIT), st.one_of(st.none(), st.integers(0, 900)))
def test_default_rendering_accounts_for_every_entry(entries: list[DiffEntry], limit: int, budget: int | None) -> None:
    lines = render_lines(entries, limit=limit, budget=budget)
    if not entries:
        assert lines == ["no changes"]
        return
    changes = [line for line in lines[1:] if not line.startswith("  ... ")]
    assert 1 <= len(changes) <= limit
    if budget is not None and len(changes) > 1:
        assert sum(map(len, lines)) <= budget
    counted = len(changes) + sum(int(n) for line in changes for n in re.findall(r" \(\+(\d+) echoe?s? ", line))
    more = re.fullmatch(r"  \.\.\. (\d+) more(?: \(\+(\d+) echoe?s?\))?: .*", lines[-1])
    if more:
        counted += int(more[1]) + int(more[2] or 0)
    assert counted == len(entries)


def _group_by_scan(entries: list[DiffEntry]) -> list[tuple[int, list[int]]]:
    """The grouping rule read literally (each entry scans every earlier group of its
    values, in rank order): the reference ``group`` must agree with."""
    from pytest_tracediff.compare import render

    order = sorted(
        range(len(entries)),
        key=lambda i: (
            render._tier(entries[i]),
            -render._depth(entries[i]),
            render._payload_depth(entries[i].path),
            i,
        ),
    )
    heads: list[tuple[int, list[int]]] = []
    for i in order:
        entry = entries[i]
        values = (render._value_key(entry.expected), render._value_key(entry.actual))
        anywhere = entry.kind in render._PAYLOAD_KINDS and not (
            render._trivial(entry.expected) and render._trivial(entry.actual)
        )
        home = next(
            (
                head
                for head in heads
                if (render._value_key(entries[head[0]].expected), render._value_key(entries[head[0]].actual)) == values
                and (
                    (anywhere and not render._same_step(entries[head[0]].step, entry.step))
                    or render._is_ancestor(entry.step, entries[head[0]].step)
                )
            ),
            None,
        )
        if home is None:
            heads.append((i, []))
        else:
            home[1].append(i)
    return heads


_DEEP_STEPS = [
    *_STEPS,
    StepRef("tools", 1, "agent"),
    StepRef("x", 1, "agent/tools/get_time"),
    StepRef("y", 1, ""),
    StepRef("z", 1, "agent/tools"),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            DiffEntry,
            st.sampled_from(KINDS),
            st.sampled_from(_DEEP_STEPS),
            st.sampled_from(["output", "input.city", "status", "error"]),
            st.sampled_from([ABSENT, 1, "Paris", "sunny in Oslo"]),
            st.sampled_from([2, "Lyon", "rain in Oslo"]),
        ),
        max_size=40,
    )
)
def test_grouping_is_the_literal_rule(entries: list[DiffEntry]) -> None:
    # group() indexes the groups of each value pair (linear in the entries); the
    # literal rule scans them all (quadratic): both fold every entry the same way.
    literal = _group_by_scan(entries)
    ids = {id(entry): n for n, entry in enumerate(entries)}
    folded = [(ids[id(g.entry)], sorted(ids[id(e)] for e in g.echoes)) for g in group(entries)]
    assert sorted(folded) == sorted((head, sorted(echoes)) for head, echoes in literal)
