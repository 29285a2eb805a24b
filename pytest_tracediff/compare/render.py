"""A diff as text a person reads: the summary line, then the changes that matter first.

pytest shows only 8 lines (about 640 characters) of an assertion explanation at default
verbosity, and agent frameworks repeat one change in many places (the whole message
history on every span). So the default rendering ranks the changes (added/removed steps,
status and errors on the deepest steps first; then inputs and outputs; then attributes;
then model, tokens and cost), folds every echo of a change into the change itself
(``(+2 echoes in parents)``), shows at most ``LIMIT`` of them and says how to see the
rest. ``verbose`` keeps everything, echoes listed under the change they repeat.
Ranking and folding are presentation only: a ``TraceDiff`` keeps every entry.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .entries import ABSENT, KINDS, LABELS, DiffEntry, StepRef

SYMBOL = {k: "~" for k in KINDS} | {"step_added": "+", "step_removed": "-"}
LIMIT = 5
"""Changes shown at default verbosity: with the summary, the line saying how many more
there are and the golden's path, they fit pytest's 8-line budget."""
MORE_HINT = "pytest -vv or --trace-artifacts DIR shows all"

_STEP_KINDS = frozenset({"step_added", "step_removed", "status_changed", "error_changed", "attempts_changed"})
_PAYLOAD_KINDS = frozenset({"input_changed", "output_changed", "error_changed", "attribute_changed"})
# Shrinking steps when the lines do not fit a budget: (longest value shown, short step paths).
_SHRINK = ((80, False), (48, False), (48, True), (28, True), (16, True))


def _tier(entry: DiffEntry) -> int:
    """What a person needs first: 0 what ran and how it ended, 1 inputs and outputs,
    2 attributes, 3 model, tokens, cost and the source name."""
    if entry.kind in _STEP_KINDS:
        return 0
    if entry.kind in ("input_changed", "output_changed"):
        return 1
    return 2 if entry.path.startswith("attributes") else 3


def _depth(entry: DiffEntry) -> int:
    return 0 if entry.step is None else entry.step.depth


def _value_key(value: Any) -> str:
    if value is ABSENT:
        return "\x00absent"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _trivial(value: Any) -> bool:
    """Values that two unrelated changes easily share (numbers, flags, short words)."""
    if isinstance(value, (dict, list)):
        return False
    return not isinstance(value, str) or len(value) < 4


@dataclass
class Group:
    """One change as shown: the entry on the deepest step and the entries echoing it."""

    entry: DiffEntry
    echoes: list[DiffEntry] = field(default_factory=list)

    @property
    def echoes_in_parents(self) -> bool:
        step = self.entry.step
        return all(e.step is None or (step is not None and step.within(e.step)) for e in self.echoes)


def group(entries: Sequence[DiffEntry]) -> list[Group]:
    """The entries ranked, each echo folded into the change it repeats.

    An entry echoes a higher-ranked one with the same old and new values when it is on
    an ancestor step (or the run), or, for payload values that are not trivially
    shared, on any step: a later step's message history carries the value on.
    """
    order = sorted(
        range(len(entries)),
        key=lambda i: (_tier(entries[i]), -_depth(entries[i]), _payload_depth(entries[i].path), i),
    )
    groups: list[Group] = []
    by_values: dict[tuple[str, str], list[Group]] = {}
    for i in order:
        entry = entries[i]
        key = (_value_key(entry.expected), _value_key(entry.actual))
        candidates = by_values.setdefault(key, [])
        anywhere = entry.kind in _PAYLOAD_KINDS and not (_trivial(entry.expected) and _trivial(entry.actual))
        home = next((g for g in candidates if anywhere or _is_ancestor(entry.step, g.entry.step)), None)
        if home is None:
            home = Group(entry)
            candidates.append(home)
            groups.append(home)
        else:
            home.echoes.append(entry)
    return groups


def _is_ancestor(candidate: StepRef | None, of: StepRef | None) -> bool:
    """Whether ``candidate`` (None: the run) holds ``of`` in its subtree."""
    if candidate is None:
        return of is not None
    return of is not None and of.within(candidate)


def _payload_depth(path: str) -> int:
    return path.count(".") + path.count("[")


def arrange(entries: Sequence[DiffEntry]) -> list[DiffEntry]:
    """``entries`` in their original order, each with its ``rank`` (place in the
    verbose listing: each change followed by its echoes) and ``echo_group``."""
    ranks: dict[int, tuple[int, int]] = {}
    rank = 0
    for g in group(entries):
        rank += 1
        head = rank
        ranks[id(g.entry)] = (head, head)
        for echo in g.echoes:
            rank += 1
            ranks[id(echo)] = (rank, head)
    return [replace(e, rank=ranks[id(e)][0], echo_group=ranks[id(e)][1]) for e in entries]


def summary(entries: Sequence[DiffEntry]) -> str:
    """``2 changes: 1 step added, 1 output changed``."""
    if not entries:
        return "no changes"
    n = len(entries)
    parts = [f"{c} {LABELS[k][c != 1]}" for k, c in counts(entries).items()]
    return f"{n} change{'s' if n != 1 else ''}: " + ", ".join(parts)


def counts(entries: Sequence[DiffEntry]) -> dict[str, int]:
    """Entries per kind, in the order of ``KINDS``."""
    found = Counter(entry.kind for entry in entries)
    return {kind: found[kind] for kind in KINDS if found[kind]}


def render_lines(
    entries: Sequence[DiffEntry],
    *,
    verbose: bool = False,
    limit: int = LIMIT,
    budget: int | None = None,
    hint: str = MORE_HINT,
) -> list[str]:
    """Summary line, then the changes, most important first.

    ``verbose``: every entry with whole values, each echo listed under its change.
    Otherwise at most ``limit`` changes, echoes folded into a count, values shortened,
    and a last line with how many more there are and ``hint``; ``budget`` caps the
    characters of all lines together (values and step paths shrink, then changes go).
    """
    lines = [summary(entries)]
    groups = group(entries)
    if verbose:
        for g in groups:
            lines.append(_line(g.entry, value_limit=None, short_path=False))
            lines.extend(f"      = echo: {_where(e.step, False)} {e.path or e.kind}" for e in g.echoes)
        return lines
    shown = groups[:limit]
    for value_limit, short_path in _SHRINK:
        body = [_line(g.entry, value_limit, short_path) + _echo_note(g) for g in shown]
        if budget is None or _size(lines, body, groups, shown, hint) <= budget:
            break
    while budget is not None and len(shown) > 1 and _size(lines, body, groups, shown, hint) > budget:
        shown, body = shown[:-1], body[:-1]
    lines += body
    more = _more_line(groups, len(shown), hint)
    return [*lines, more] if more else lines


def _size(head: list[str], body: list[str], groups: list[Group], shown: list[Group], hint: str) -> int:
    more = _more_line(groups, len(shown), hint)
    return sum(map(len, head)) + sum(map(len, body)) + len(more)


def _more_line(groups: list[Group], shown: int, hint: str) -> str:
    hidden = groups[shown:]
    if not hidden:
        return ""
    echoes = sum(len(g.echoes) for g in hidden)
    n = len(hidden)
    also = f" (+{echoes} echo{'es' if echoes != 1 else ''})" if echoes else ""
    return f"  ... {n} more change{'s' if n != 1 else ''}{also}: {hint}"


def _echo_note(g: Group) -> str:
    n = len(g.echoes)
    if not n:
        return ""
    where = "in parents" if g.echoes_in_parents else "elsewhere"
    return f" (+{n} echo{'es' if n != 1 else ''} {where})"


def _where(step: StepRef | None, short_path: bool) -> str:
    if step is None:
        return "run"
    if short_path and step.parent.count("/") >= 1:
        step = replace(step, parent="…/" + step.parent.rsplit("/", 1)[1])
    return str(step)


def _line(entry: DiffEntry, value_limit: int | None, short_path: bool) -> str:
    head = f"  {SYMBOL[entry.kind]} {LABELS[entry.kind][0]}: {_where(entry.step, short_path)}"
    if entry.kind in ("step_added", "step_removed"):
        value = entry.actual if entry.kind == "step_added" else entry.expected
        limit = None if value_limit is None else value_limit + 20
        return f"{head} {_show(value, limit)}"
    return f"{head} {entry.path}: {_show(entry.expected, value_limit)} -> {_show(entry.actual, value_limit)}"


def _show(value: Any, limit: int | None) -> str:
    if value is ABSENT:
        return "<absent>"
    if limit is None:
        return json.dumps(value, ensure_ascii=False, indent=2, default=str).replace("\n", "\n      ")
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
