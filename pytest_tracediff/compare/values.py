"""Equality and differences of canonical JSON payloads, on the diff's hot path.

``same`` is the equality a diff needs: key order aside, equal values of the same JSON
types all the way down (so 1, 1.0 and True differ, as they do in a golden), at the cost
of one walk, with no ``repr`` and no normalization. ``changes`` finds what differs
between two canonical JSON values and reports exactly what ``DeepDiff(a, b,
view="tree")`` does for them (the same paths, values and list pairing), without
DeepDiff's per-level bookkeeping; anything else raises ``NotJson`` so the caller can
hand that value to DeepDiff.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Any

from .entries import ABSENT

Path = tuple[Any, ...]
Change = tuple[Path, Any, Any]
"""Where (keys and list indexes from the value's root), the expected and the actual value."""

_MISSING = object()
_SCALARS = frozenset({str, int, float, bool, type(None)})
# DeepDiff reports a dict as one changed value when fewer than this share of its keys
# are common to both sides (its ``threshold_to_diff_deeper``).
_DEEPER = 0.33


class NotJson(Exception):
    """A value holds something other than canonical JSON data."""


def same(a: Any, b: Any) -> bool:
    """Equal as canonical JSON: dict key order aside, same values of the same types.

    Equal values this accepts have equal normalized forms. Other objects (a recorded
    trace may hold any) count as equal only when they compare equal and print alike.
    Scalars inside containers are checked inline: this runs for every paired step.
    """
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        if len(a) != len(b):
            return False
        get = b.get
        for key, x in a.items():
            if type(key) is not str:
                return _alike(a, b)
            y = get(key, _MISSING)
            inner = type(x)
            if inner is not type(y):
                return False
            if inner is str or inner is int or inner is bool:
                if x != y:
                    return False
            elif inner is float:
                if x is not y and (x != y or (x == 0.0 and repr(x) != repr(y))):  # -0.0 prints apart
                    return False
            elif not same(x, y):
                return False
        return True
    if kind is list or kind is tuple:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            inner = type(x)
            if inner is not type(y):
                return False
            if inner is str or inner is int or inner is bool:
                if x != y:
                    return False
            elif inner is float:
                if x is not y and (x != y or (x == 0.0 and repr(x) != repr(y))):
                    return False
            elif not same(x, y):
                return False
        return True
    if kind is str or kind is int or kind is bool:
        return bool(a == b)
    if kind is float:  # -0.0 and 0.0 print differently
        return bool(a == b) and (a != 0.0 or repr(a) == repr(b))
    return _alike(a, b)


def _alike(a: Any, b: Any) -> bool:
    """Other objects: equal and printed alike. One whose ``==`` has no truth value (a
    numpy array) or raises is never the same here: the diff then compares canonical forms."""
    try:
        return bool(a == b) and repr(a) == repr(b)
    except Exception:  # any error of the object's own == or repr: "cannot tell", so not the same
        return False


def changes(a: Any, b: Any) -> list[Change]:
    """What differs from ``a`` to ``b``: DeepDiff's report, in no particular order."""
    found: list[tuple[str, Path, Any, Any]] = []
    _walk(a, b, (), found)
    return _merge_moves(found)


def _walk(a: Any, b: Any, path: Path, out: list[tuple[str, Path, Any, Any]]) -> None:
    if a is b:
        return
    kind = type(a)
    if kind not in _SCALARS and kind is not dict and kind is not list:
        raise NotJson
    if kind is not type(b):
        if type(b) not in _SCALARS and type(b) is not dict and type(b) is not list:
            raise NotJson
        out.append(("type_changes", path, a, b))
    elif kind is dict:
        _dict(a, b, path, out)
    elif kind is list:
        _list(a, b, path, out)
    elif a != b:
        out.append(("values_changed", path, a, b))


def _dict(a: dict[Any, Any], b: dict[Any, Any], path: Path, out: list[tuple[str, Path, Any, Any]]) -> None:
    if any(type(key) is not str for key in (*a, *b)):
        raise NotJson
    common = [key for key in b if key in a]
    union = len(a) + len(b) - len(common)
    if union > 1 and len(common) / union < _DEEPER:
        out.append(("values_changed", path, a, b))
        return
    out.extend(("dictionary_item_added", (*path, key), ABSENT, b[key]) for key in b if key not in a)
    out.extend(("dictionary_item_removed", (*path, key), a[key], ABSENT) for key in a if key not in b)
    for key in common:
        _walk(a[key], b[key], (*path, key), out)


def _list(a: list[Any], b: list[Any], path: Path, out: list[tuple[str, Path, Any, Any]]) -> None:
    if not all(type(item) in _SCALARS for item in (*a, *b)):
        _pairs(a, b, path, out, 0, len(a), 0, len(b))
        return
    # Lists of scalars: DeepDiff aligns them with difflib (where 1, 1.0 and True are
    # equal), and keeps the index-by-index reading when that reports no more.
    aligned: list[tuple[str, Path, Any, Any]] = []
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            _pairs(a, b, path, aligned, i1, i2, j1, j2)
        elif tag == "delete":
            aligned.extend(("iterable_item_removed", (*path, i), a[i], ABSENT) for i in range(i1, i2))
        elif tag == "insert":
            aligned.extend(("iterable_item_added", (*path, j), ABSENT, b[j]) for j in range(j1, j2))
    if len(aligned) > 1:
        by_index: list[tuple[str, Path, Any, Any]] = []
        _pairs(a, b, path, by_index, 0, len(a), 0, len(b))
        if len(aligned) >= len(by_index):
            aligned = by_index
    out.extend(aligned)


def _pairs(
    a: list[Any], b: list[Any], path: Path, out: list[tuple[str, Path, Any, Any]], i1: int, i2: int, j1: int, j2: int
) -> None:
    """Items paired by position within ``a[i1:i2]`` and ``b[j1:j2]``."""
    for k, (x, y) in enumerate(zip_longest(a[i1:i2], b[j1:j2], fillvalue=_MISSING)):
        i, j = i1 + k, j1 + k
        if y is _MISSING:
            out.append(("iterable_item_removed", (*path, i), x, ABSENT))
        elif x is _MISSING:
            out.append(("iterable_item_added", (*path, j), ABSENT, y))
        elif i != j and x == y:
            out.append(("iterable_item_moved", (*path, i), x, y))
        else:
            _walk(x, y, (*path, i), out)


def _merge_moves(found: list[tuple[str, Path, Any, Any]]) -> list[Change]:
    """An item removed and one added at the same path are one changed value (as in DeepDiff)."""
    added = {path: n for n, (kind, path, _, _) in enumerate(found) if kind == "iterable_item_added"}
    removed = {path: n for n, (kind, path, _, _) in enumerate(found) if kind == "iterable_item_removed"}
    both = added.keys() & removed.keys()
    if not both:
        return [(path, x, y) for _, path, x, y in found]
    dropped = {added[path] for path in both}
    merged = {removed[path]: found[added[path]][3] for path in both}
    return [(path, x, merged.get(n, y)) for n, (_, path, x, y) in enumerate(found) if n not in dropped]
