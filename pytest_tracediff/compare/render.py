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
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .entries import ABSENT, KINDS, LABELS, DiffEntry, StepRef

SYMBOL = {k: "~" for k in KINDS} | {"step_added": "+", "step_removed": "-"}
LIMIT = 5
"""Changes shown at default verbosity: with the summary, the line saying how many more
there are and the golden's path, they fit pytest's 8-line budget."""
MORE_HINT = "pytest -vv shows all, --trace-artifacts DIR saves them"
_ESCAPED_NEWLINE = re.compile(r"(?<!\\)((?:\\\\)*)\\n")


@dataclass(frozen=True)
class _Fit:
    """How compact the change lines are: longest value shown, step path cut to its last
    parent, ``(attempt 1)`` left out."""

    values: int | None
    short_path: bool = False
    first_attempt: bool = True


_FULL = _Fit(None)
# Tried in order until the lines fit a budget; then changes are left out from the end.
_SHRINK = (_Fit(80), _Fit(48, first_attempt=False), _Fit(48, True, False), _Fit(28, True, False), _Fit(16, True, False))

_STEP_KINDS = frozenset({"step_added", "step_removed", "status_changed", "error_changed", "attempts_changed"})
_PAYLOAD_KINDS = frozenset({"input_changed", "output_changed", "error_changed", "attribute_changed"})


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
        return all(
            e.step is None or (step is not None and (step.within(e.step) or step.same(e.step))) for e in self.echoes
        )


def group(entries: Sequence[DiffEntry]) -> list[Group]:
    """The entries ranked, each echo folded into the change it repeats.

    An entry echoes a higher-ranked one with the same old and new values when it is on
    an ancestor step (or the run), or, for payload values that are not trivially
    shared, on any other step: a later step's message history carries the value on.
    """
    order = sorted(
        range(len(entries)),
        key=lambda i: (_tier(entries[i]), -_depth(entries[i]), _payload_depth(entries[i].path), i),
    )
    groups: list[Group] = []
    by_values: dict[tuple[str, str], _Bucket] = {}
    for i in order:
        entry = entries[i]
        bucket = by_values.setdefault((_value_key(entry.expected), _value_key(entry.actual)), _Bucket())
        anywhere = entry.kind in _PAYLOAD_KINDS and not (_trivial(entry.expected) and _trivial(entry.actual))
        home = bucket.home(entry.step, anywhere=anywhere)
        if home is None:
            home = Group(entry)
            bucket.add(home)
            groups.append(home)
        else:
            home.echoes.append(entry)
    return _fold_failure_classes(groups)


class _Bucket:
    """The groups of one (old value, new value) pair, indexed so that finding where an
    entry folds takes constant time: 20,000 equal status changes are not 2 * 10^8 checks.

    ``home`` is the first group (in rank order) on another step, for a payload value
    that may travel anywhere; else the first group on a step below the entry's step
    (any step, for a run-level entry), of which the entry is an echo.
    """

    __slots__ = ("first", "first_elsewhere", "under")

    def __init__(self) -> None:
        self.first: Group | None = None
        self.first_elsewhere: Group | None = None  # the first on a step other than ``first``'s
        self.under: dict[str | None, Group] = {}  # a step path (None: the run) -> first group below it

    def add(self, group: Group) -> None:
        step = group.entry.step
        if self.first is None:
            self.first = group
        elif self.first_elsewhere is None and not _same_step(self.first.entry.step, step):
            self.first_elsewhere = group
        if step is None:
            return
        self.under.setdefault(None, group)
        parts = step.parent.split("/")
        for end in range(1, len(parts) + 1):
            self.under.setdefault("/".join(parts[:end]), group)

    def home(self, step: StepRef | None, *, anywhere: bool) -> Group | None:
        if anywhere and self.first is not None:
            # A group on the entry's own step is never below it: the first elsewhere it is.
            return self.first if not _same_step(self.first.entry.step, step) else self.first_elsewhere
        if step is None:
            return self.under.get(None)
        return self.under.get(f"{step.parent}/{step.step_id}" if step.parent else step.step_id)


def _fold_failure_classes(groups: list[Group]) -> list[Group]:
    """A step's changed ``failure_class`` goes under its changed ``error``, which names
    the class again (``ConnectionError: ...``): one line for one failure."""

    def key(step: StepRef | None) -> tuple[StepRef | None, int | None]:
        return (step, None if step is None else step.occurrence)

    errors = {key(g.entry.step): g for g in groups if g.entry.kind == "error_changed" and g.entry.path == "error"}
    out: list[Group] = []
    for g in groups:
        home = errors.get(key(g.entry.step)) if g.entry.path == "failure_class" else None
        if home is None:
            out.append(g)
        else:
            home.echoes += [g.entry, *g.echoes]
    return out


def _same_step(a: StepRef | None, b: StepRef | None) -> bool:
    return (a is None and b is None) or (a is not None and a.same(b))


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
            lines.append(_line(g.entry, _FULL))
            lines.extend(f"      = echo: {_where(e.step, _FULL)} {e.path or e.kind}" for e in g.echoes)
        return lines
    # The most readable lines that show as many changes as any fit does (3 are enough).
    tries = [_fitting(lines, groups[:limit], fit, groups, budget, hint) for fit in _SHRINK]
    wanted = min(3, max(len(shown) for shown, _ in tries))
    shown, body = next((shown, body) for shown, body in tries if len(shown) >= wanted)
    lines += body
    more = _more_line(groups, len(shown), hint)
    return [*lines, more] if more else lines


def _fitting(
    head: list[str], candidates: list[Group], fit: _Fit, groups: list[Group], budget: int | None, hint: str
) -> tuple[list[Group], list[str]]:
    """The leading ``candidates`` whose lines (at least one) fit ``budget``, and those lines."""
    body = [_line(g.entry, fit) + _echo_note(g) for g in candidates]
    shown = candidates
    while budget is not None and len(shown) > 1 and _size(head, body, groups, shown, hint) > budget:
        shown, body = shown[:-1], body[:-1]
    return shown, body


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
    return f"  ... {n} more{also}: {hint}"


def _echo_note(g: Group) -> str:
    n = len(g.echoes)
    if not n:
        return ""
    where = "in parents" if g.echoes_in_parents else "elsewhere"
    return f" (+{n} echo{'es' if n != 1 else ''} {where})"


def _where(step: StepRef | None, fit: _Fit) -> str:
    if step is None:
        return "run"
    if fit.short_path and step.parent.count("/") >= 1:
        step = replace(step, parent="…/" + step.parent.rsplit("/", 1)[1])
    return str(step) if fit.first_attempt or step.attempt > 1 else step.name


def _line(entry: DiffEntry, fit: _Fit) -> str:
    head = f"  {SYMBOL[entry.kind]} {LABELS[entry.kind][0]}: {_where(entry.step, fit)}"
    if entry.kind in ("step_added", "step_removed"):
        value = entry.actual if entry.kind == "step_added" else entry.expected
        return f"{head} {_show(value, None if fit.values is None else fit.values + 20)}"
    return f"{head} {entry.path}: {_show(entry.expected, fit.values)} -> {_show(entry.actual, fit.values)}"


def _show(value: Any, limit: int | None) -> str:
    if value is ABSENT:
        return "<absent>"
    if limit is None:
        # Newlines inside strings are shown as line breaks (a prompt reads as a prompt);
        # an escaped backslash before an ``n`` is left alone.
        text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
        return _ESCAPED_NEWLINE.sub(lambda m: m.group(1) + "\n", text).replace("\n", "\n      ")
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
