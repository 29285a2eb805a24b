"""Structured difference between two traces.

Steps are grouped into occurrences (all attempts of one step), occurrences are
aligned by key (``align.py``), so one inserted step is one entry. Paired steps are
compared with a key-order-insensitive equality (``values.same``); only those that
differ are normalized and walked (``values.changes``), which keeps a 100,000-step
diff well under a second. The whole computation runs with the cyclic GC paused
(``model.bulk``): it allocates millions of objects and frees no cycles.
"""

from __future__ import annotations

import functools
import json
import operator
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import GoldenFileError
from ..model import Step, Trace, group_attempts
from ..model.bulk import gc_paused
from ..model.canonical import canonical
from ..model.golden_text import GoldenText, UnusualLayout
from ..model.trace import recorded_step_dict
from ..normalize import normalize, normalize_step
from .align import Pairs, align
from .entries import ABSENT, DiffEntry, StepRef, numbered, occurrence_numbers
from .render import arrange, counts, render_lines, summary
from .values import NotJson, changes, same

if TYPE_CHECKING:
    from ..normalize import NormalizeOptions

__all__ = [
    "DiffEntry",
    "StepRef",
    "TraceDiff",
    "align_occurrences",
    "diff_golden",
    "diff_recorded",
    "diff_traces",
    "same_recorded",
]


class TraceDiff(Sequence[DiffEntry]):
    """Falsy when the traces are equivalent; iterate it for the entries."""

    def __init__(self, entries: list[DiffEntry]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[DiffEntry]:
        return iter(self.entries)

    def __getitem__(self, index: Any) -> Any:
        return self.entries[index]

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __repr__(self) -> str:
        return f"<TraceDiff {self.summary()}>"

    def counts(self) -> dict[str, int]:
        return counts(self.entries)

    def summary(self) -> str:
        """``2 changes: 1 step added, 1 output changed``."""
        return summary(self.entries)

    def render(self, *, verbose: bool = False) -> str:
        """Summary line, then one short block per change; ``verbose`` shows whole values."""
        return "\n".join(self.render_lines(verbose=verbose))

    def render_lines(self, *, verbose: bool = False) -> list[str]:
        return render_lines(self.entries, verbose=verbose)

    def to_list(self) -> list[dict[str, Any]]:
        """Every entry, in trace order, with its rank and echo group (``render.arrange``)."""
        return [entry.to_dict() for entry in arrange(self.entries)]


_Key = tuple[str, str, int | None]


def diff_traces(expected: Trace, actual: Trace) -> TraceDiff:
    """Diff two *normalized* traces."""
    with gc_paused():  # the work runs in a call of its own: its temporaries are gone before the GC is back
        return _diff_normalized(expected, actual)


def diff_recorded(expected: Trace, actual: Trace, options: NormalizeOptions | None = None) -> TraceDiff:
    """``expected.diff(actual)``: what changed between two traces as recorded.

    Normalizing is most of a diff's cost, and two runs of one pipeline are mostly
    equal: paired steps whose recorded fields are equal as JSON (``values.same``:
    which implies equal normalized forms, whatever each side's key order) are
    skipped without normalizing them. Traces whose order normalization may change
    (concurrent levels) or whose step keys repeat are normalized whole first.
    """
    with gc_paused():
        return _diff_recorded(expected, actual, options)


def _diff_normalized(expected: Trace, actual: Trace) -> TraceDiff:
    old, new = group_attempts(expected.steps), group_attempts(actual.steps)
    keys_old, keys_new = _keys(old), _keys(new)
    unique = len(set(keys_old)) == len(keys_old) and len(set(keys_new)) == len(keys_new)
    return _diff(expected, actual, old, new, keys_old, keys_new, None, unique=unique)


def _diff_recorded(expected: Trace, actual: Trace, options: NormalizeOptions | None) -> TraceDiff:
    if any(s.level is not None for s in expected.steps) or any(s.level is not None for s in actual.steps):
        return _diff_normalized(normalize(expected, options), normalize(actual, options))
    old, new = group_attempts(expected.steps), group_attempts(actual.steps)
    keys_old, keys_new = _keys(old), _keys(new)
    if len(set(keys_old)) != len(keys_old) or len(set(keys_new)) != len(keys_new):
        return _diff_normalized(normalize(expected, options), normalize(actual, options))
    heads = [normalize(t.model_copy(update={"steps": []}), options) for t in (expected, actual)]
    prepare = functools.partial(normalize_step, options=options)
    return _diff(heads[0], heads[1], old, new, keys_old, keys_new, prepare, unique=True)


def diff_golden(golden: GoldenText, actual: Trace, options: NormalizeOptions | None = None) -> TraceDiff:
    """``diff_recorded(Trace.load(golden), actual)`` from the golden's text, read one
    step at a time: each golden step is compared with the live step of its key as it is
    read, and only those that differ are kept and built. A failing comparison of a large
    trace holds the text, the keys and a few steps, and validates only those.

    A golden or trace with retries, concurrent levels or repeated keys, or a golden
    not laid out as written, is read whole (what ``diff_recorded`` then does needs every
    step). An invalid golden step that is read is a ``GoldenFileError`` naming the file.
    """
    with gc_paused():
        if golden.data is None and _one_attempt_each(actual):
            try:
                diff = _diff_streamed(golden, actual, options)
            except UnusualLayout:
                pass
            else:
                if diff is not None:
                    return diff
        return _diff_parsed(golden.parsed(), actual, options, golden.origin)


def _one_attempt_each(actual: Trace) -> bool:
    """No retries and no concurrent levels: steps pair one to one, in recorded order."""
    return not any(step.attempt != 1 or step.level is not None for step in actual.steps)


def _diff_streamed(golden: GoldenText, actual: Trace, options: NormalizeOptions | None) -> TraceDiff | None:
    """``diff_golden`` reading the golden step by step; None when it must be read whole."""
    live = actual.steps
    keys_new = list(map(_STEP_KEY, live))
    partner = dict(zip(keys_new, range(len(keys_new)), strict=True))
    if len(partner) != len(keys_new):
        return None
    keys_old: list[_Key] = []
    starts = array("q")
    differing: dict[int, Any] = {}  # golden steps not equal to their key's partner (or without one)
    parents: dict[str, str] = {}  # one string per parent, not one per step
    for i, (data, start) in enumerate(golden.steps()):
        if not _plain_golden_step(data):
            return None
        parent = data.get("parent", "")
        key = (parents.setdefault(parent, parent), data["step_id"], data.get("loop_index"))
        keys_old.append(key)
        starts.append(start)
        j = partner.get(key)
        if j is None or not same(data, recorded_step_dict(live[j])):
            differing[i] = data
    if len(set(keys_old)) != len(keys_old):
        return None
    origin = golden.origin
    head = Trace.from_data({**golden.head, "steps": []}, origin=origin)

    def read(i: int) -> Any:
        return differing[i] if i in differing else golden.at(starts[i])

    def paired_same(i: int, j: int) -> bool:
        # Pairs have equal keys (align.py): one pairing other than the key's would be read and compared whole.
        return i not in differing and partner[keys_old[i]] == j

    old = _GoldenSteps(read, origin, len(keys_old))
    return _diff_steps(head, actual, old, keys_old, keys_new, options, paired_same)


def _diff_parsed(golden: Mapping[str, Any], actual: Trace, options: NormalizeOptions | None, origin: str) -> TraceDiff:
    """``diff_golden`` from the whole parsed file."""
    data, live = golden.get("steps"), actual.steps
    if type(data) is not list or not all(_plain_golden_step(step) for step in data):
        return _diff_recorded(Trace.from_data(golden, origin=origin), actual, options)
    keys_old: list[_Key] = [(step.get("parent", ""), step["step_id"], step.get("loop_index")) for step in data]
    keys_new = list(map(_STEP_KEY, live))
    if not _one_attempt_each(actual) or len(set(keys_old)) != len(keys_old) or len(set(keys_new)) != len(keys_new):
        return _diff_recorded(Trace.from_data(golden, origin=origin), actual, options)
    head = Trace.from_data({**golden, "steps": []}, origin=origin)

    def paired_same(i: int, j: int) -> bool:
        return same(data[i], recorded_step_dict(live[j]))

    old = _GoldenSteps(data.__getitem__, origin, len(data))
    return _diff_steps(head, actual, old, keys_old, keys_new, options, paired_same)


def _diff_steps(
    head: Trace,
    actual: Trace,
    old: _GoldenSteps,
    keys_old: list[_Key],
    keys_new: list[_Key],
    options: NormalizeOptions | None,
    paired_same: Callable[[int, int], bool],
) -> TraceDiff:
    heads = [normalize(t.model_copy(update={"steps": []}), options) for t in (head, actual)]
    new = [[step] for step in actual.steps]
    prepare = functools.partial(normalize_step, options=options)
    return _diff(heads[0], heads[1], old, new, keys_old, keys_new, prepare, unique=True, paired_same=paired_same)


def _plain_golden_step(step: object) -> bool:
    """A golden step (as parsed) that can be keyed and compared without building it."""
    return (
        type(step) is dict
        and type(step.get("step_id")) is str
        and type(step.get("parent", "")) is str
        and type(step.get("loop_index")) in _INDEX_TYPES
        and step.get("attempt", 1) == 1
        and "level" not in step
    )


_INDEX_TYPES = (int, type(None))


class _GoldenSteps(Sequence[list[Step]]):
    """A golden's steps as one-attempt occurrences, each read (``read(i)``: its data)
    and validated when first used."""

    def __init__(self, read: Callable[[int], Any], origin: str, count: int) -> None:
        self._read = read
        self._origin = origin
        self._count = count
        self._built: dict[int, list[Step]] = {}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, int):
            raise TypeError("golden steps are read one at a time")
        built = self._built.get(index)
        if built is None:
            built = self._built[index] = [_golden_step(self._read(index), index, self._origin)]
        return built


def _golden_step(data: dict[str, Any], index: int, origin: str) -> Step:
    try:
        return Step.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("steps", index, *first["loc"]))
        raise GoldenFileError(origin, f"has an invalid field {where}: {first['msg']}") from None


def same_recorded(golden: GoldenText, actual: Trace) -> bool:
    """Whether ``actual`` matches the golden ``golden``, told without normalizing
    anything or building the golden's steps: each golden step's data, read one at a
    time, against the live step as recorded (``recorded_step_dict``), stopping at the
    first difference.

    True is exact: the golden, read, equals the trace as recorded, so both normalize
    alike. False only means "not equal as recorded" (masks, redaction, exclusions, an
    older layout may still make them equal), which ``diff_recorded`` then tells. A
    golden test that passes pays for this and the JSON parse alone, and holds one
    golden step at a time. A broken golden raises its ``GoldenFileError``.
    """
    if golden.data is None:
        try:
            return _same_streamed(golden, actual)
        except UnusualLayout:
            pass
    return _same_parsed(golden.parsed(), actual)


def _same_streamed(golden: GoldenText, actual: Trace) -> bool:
    live = actual.steps
    count = 0
    for data, _ in golden.steps():
        if count == len(live):
            return False
        count += 1
        if not _same_step(data, live[count - 1]):
            return False
    return count == len(live) and _same_head(golden.head, actual)


def _same_parsed(golden: Mapping[str, Any], actual: Trace) -> bool:
    steps = golden.get("steps")
    if type(steps) is not list or len(steps) != len(actual.steps):
        return False
    return all(map(_same_step, steps, actual.steps)) and _same_head(golden, actual)


def _same_step(data: Any, step: Step) -> bool:
    """A golden step's data equals ``step`` as recorded. Concurrent steps (a level) may
    be reordered by normalization: never equal here."""
    return step.__dict__["level"] is None and same(data, recorded_step_dict(step))


def _same_head(golden: Mapping[str, Any], actual: Trace) -> bool:
    return (
        golden.get("source") == actual.source
        and golden.get("status") == actual.status
        and same(golden.get("attributes", {}), actual.attributes)
    )


def _diff(
    expected: Trace,
    actual: Trace,
    old: Sequence[list[Step]],
    new: list[list[Step]],
    keys_old: list[_Key],
    keys_new: list[_Key],
    prepare: Callable[[Step], Step] | None,
    *,
    unique: bool,
    paired_same: Callable[[int, int], bool] | None = None,
) -> TraceDiff:
    """Run-level fields from ``expected``/``actual``; steps from the occurrences, each
    passed through ``prepare`` (normalization) only where it is needed. ``unique``: no
    key repeats on either side (nothing to number, nothing to align by content).
    ``paired_same(i, j)``, when given, tells equal pairs without reading ``old[i]``."""
    entries: list[DiffEntry] = []
    for name in ("source", "status"):
        a, b = getattr(expected, name), getattr(actual, name)
        if a != b:
            entries.append(DiffEntry("status_changed" if name == "status" else "attribute_changed", None, name, a, b))
    entries.extend(_value_entries("attribute_changed", None, "attributes", expected.attributes, actual.attributes))

    def ready(occurrence: list[Step]) -> list[Step]:
        return occurrence if prepare is None else [prepare(step) for step in occurrence]

    if unique:
        number_old = number_new = _NO_NUMBERS
        pairs = align(keys_old, keys_new)
    else:
        number_old, number_new = occurrence_numbers(old), occurrence_numbers(new)  # "chat #2" where keys repeat
        pairs = _align_occurrences(old, new, keys_old, keys_new)
    for i, j in pairs:
        if i is None and j is not None:
            ref = StepRef.of(new[j][0], number_new[j])
            entries.append(DiffEntry("step_added", ref, "", ABSENT, _summary(ready(new[j]))))
        elif j is None and i is not None:
            ref = StepRef.of(old[i][0], number_old[i])
            entries.append(DiffEntry("step_removed", ref, "", _summary(ready(old[i])), ABSENT))
        elif i is not None and j is not None:
            if paired_same is not None:
                if paired_same(i, j):
                    continue
                entries.extend(numbered(_occurrence_entries(ready(old[i]), ready(new[j])), number_new[j]))
                continue
            before, after = old[i], new[j]
            if len(before) == 1 == len(after):  # no retries: nearly every occurrence
                if before[0].attempt == after[0].attempt and not _changed(before[0], after[0]):
                    continue
            elif _occurrence_same(before, after):
                continue
            entries.extend(numbered(_occurrence_entries(ready(old[i]), ready(new[j])), number_new[j]))
    return TraceDiff(entries)


class _NoNumbers:
    """Every occurrence's number where no key repeats: None."""

    def __getitem__(self, index: int) -> None:
        return None


_NO_NUMBERS: Any = _NoNumbers()


def _occurrence_same(old: list[Step], new: list[Step]) -> bool:
    """Every attempt equal as recorded, so equal once normalized: no entries either way."""
    return len(old) == len(new) and all(
        a.attempt == b.attempt and not _changed(a, b) for a, b in zip(old, new, strict=True)
    )


_STEP_KEY = operator.attrgetter("parent", "step_id", "loop_index")


def _keys(occurrences: list[list[Step]]) -> list[_Key]:
    """Each occurrence's key, read in C (``attrgetter`` over ``map``)."""
    return list(map(_STEP_KEY, map(_FIRST, occurrences)))


_FIRST = operator.itemgetter(0)


def _content(occurrence: list[Step]) -> str:
    """Everything the diff compares in an occurrence; equal strings give no entries."""
    return repr(
        [
            (
                s.attempt,
                s.status.value,
                s.failure_class,
                s.error,
                s.model,
                s.cost,
                s.tokens,
                s.input,
                s.output,
                s.attributes,
            )
            for s in occurrence
        ]
    )


def align_occurrences(old: list[list[Step]], new: list[list[Step]]) -> Pairs:
    """Occurrences (``group_attempts``) of two traces, paired as the diff pairs them:
    ``(i, None)`` removed, ``(None, j)`` added. Reports lay out side-by-side views with it."""
    return _align_occurrences(old, new, _keys(old), _keys(new))


def _align_occurrences(
    old: Sequence[list[Step]], new: Sequence[list[Step]], keys_a: list[_Key], keys_b: list[_Key]
) -> Pairs:
    """Align by key where keys are unique, else by key and content; pair leftovers by key.

    A key that repeats (a loop without loop indexes) cannot tell its occurrences
    apart, so aligning on keys alone pairs every one after an inserted occurrence
    with its neighbour: a cascade of changes. Content settles those, and whatever
    content leaves unmatched is then paired by key, as a changed occurrence.
    """
    count_a, count_b = Counter(keys_a), Counter(keys_b)
    repeated = {k for k, n in count_a.items() if n > 1} | {k for k, n in count_b.items() if n > 1}
    if not repeated:
        return align(keys_a, keys_b)
    items_a = [(k, _content(o)) if k in repeated else k for k, o in zip(keys_a, old, strict=True)]
    items_b = [(k, _content(o)) if k in repeated else k for k, o in zip(keys_b, new, strict=True)]
    out: Pairs = []
    gap_a: list[int] = []
    gap_b: list[int] = []

    def flush() -> None:
        if gap_a and gap_b:
            sub = align([keys_a[i] for i in gap_a], [keys_b[j] for j in gap_b])
            out.extend((None if i is None else gap_a[i], None if j is None else gap_b[j]) for i, j in sub)
        else:
            out.extend((i, None) for i in gap_a)
            out.extend((None, j) for j in gap_b)
        gap_a.clear()
        gap_b.clear()

    for i, j in align(items_a, items_b):
        if i is not None and j is not None:
            flush()
            out.append((i, j))
        elif i is not None:
            gap_a.append(i)
        elif j is not None:
            gap_b.append(j)
    flush()
    return out


def _summary(occurrence: list[Step]) -> dict[str, Any]:
    last = occurrence[-1]
    out: dict[str, Any] = {"status": last.status.value, "attempts": len(occurrence)}
    if last.error is not None:
        out["error"] = last.error
    if last.output is not None:
        out["output"] = last.output
    return out


def _occurrence_entries(old: list[Step], new: list[Step]) -> list[DiffEntry]:
    entries: list[DiffEntry] = []
    if len(old) != len(new):
        entries.append(DiffEntry("attempts_changed", StepRef.of(new[-1]), "attempts", len(old), len(new)))
    elif old[-1].attempt != new[-1].attempt:  # same count, numbered differently
        entries.append(DiffEntry("attempts_changed", StepRef.of(new[-1]), "attempt", old[-1].attempt, new[-1].attempt))
    pairs = [(old[-1], new[-1]), *zip(old[: min(len(old), len(new)) - 1], new, strict=False)]
    for before, after in pairs:
        entries.extend(_step_entries(before, after))
    return entries


def _tokens(step: Step) -> dict[str, Any] | None:
    return step.tokens.model_dump(exclude_none=True) if step.tokens else None


def _changed(old: Step, new: Step) -> bool:
    """Whether ``_step_entries`` finds anything: its very checks, with no entry built.

    Nearly every paired step is unchanged; this keeps them from paying for a
    ``StepRef`` and the per-field bookkeeping.
    """
    a, b = old.__dict__, new.__dict__  # one lookup each, not one attribute access per field
    return (
        a["status"] != b["status"]
        or a["failure_class"] != b["failure_class"]
        or a["error"] != b["error"]
        or a["model"] != b["model"]
        or type(a["model"]) is not type(b["model"])
        or a["cost"] != b["cost"]
        or type(a["cost"]) is not type(b["cost"])
        or (a["tokens"] is not b["tokens"] and not same(_tokens(old), _tokens(new)))
        or not same(a["input"], b["input"])
        or not same(a["output"], b["output"])
        or (bool(a["attributes"] or b["attributes"]) and not same(a["attributes"], b["attributes"]))
    )


def _step_entries(old: Step, new: Step) -> list[DiffEntry]:
    if not _changed(old, new):
        return []
    ref = StepRef.of(new)
    entries: list[DiffEntry] = []
    if old.status != new.status:
        entries.append(DiffEntry("status_changed", ref, "status", old.status.value, new.status.value))
    for name in ("failure_class", "error"):
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            entries.append(DiffEntry("error_changed", ref, name, _or_absent(a), _or_absent(b)))
    for name, kind in (("input", "input_changed"), ("output", "output_changed")):
        entries.extend(_value_entries(kind, ref, name, getattr(old, name), getattr(new, name)))
    for name in ("model", "cost"):
        a, b = getattr(old, name), getattr(new, name)
        if a != b or type(a) is not type(b):
            entries.append(DiffEntry("attribute_changed", ref, name, _plain(a), _plain(b)))
    entries.extend(_value_entries("attribute_changed", ref, "tokens", _tokens(old), _tokens(new)))
    entries.extend(_value_entries("attribute_changed", ref, "attributes", old.attributes, new.attributes))
    return entries


def _or_absent(value: Any) -> Any:
    return ABSENT if value is None else value


def _plain(value: Any) -> Any:
    return ABSENT if value is None else canonical(value)


def _value_entries(kind: str, ref: StepRef | None, root: str, a: Any, b: Any) -> list[DiffEntry]:
    if same(a, b):
        return []
    try:
        found: Sequence[tuple[Sequence[Any], Any, Any]] = changes(a, b)
    except NotJson:  # not canonical data (a trace diffed without normalizing): DeepDiff's report
        found = _deepdiff_changes(a, b)
    entries = [DiffEntry(kind, ref, _format_path(root, path), x, y) for path, x, y in found]
    if not entries:  # no structural difference where the equality saw one: report the whole value
        entries.append(DiffEntry(kind, ref, root, a, b))
    entries.sort(key=lambda e: e.path)
    return entries


def _deepdiff_changes(a: Any, b: Any) -> list[tuple[Sequence[Any], Any, Any]]:
    from deepdiff import DeepDiff

    tree = DeepDiff(a, b, view="tree", verbose_level=2)
    return [
        (level.path(output_format="list"), _value(level.t1), _value(level.t2))
        for report in tree.values()
        for level in report
    ]


def _value(value: Any) -> Any:
    return ABSENT if type(value).__name__ == "NotPresent" else value


def _format_path(root: str, parts: Sequence[Any]) -> str:
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out
