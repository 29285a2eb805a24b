"""Sequence alignment for diffs: one inserted step is one entry, not a cascade.

Patience-style: keys unique on both sides anchor a longest increasing chain, the gaps
between anchors are aligned the same way, and small anchorless gaps fall back to an
LCS (big ones to a greedy pairing of equal keys). Gaps wait on a work list rather than
the call stack, and an empty gap (two anchors side by side, nearly all of them) is
never visited. Only equal keys are ever paired.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Sequence
from difflib import SequenceMatcher

Pairs = list[tuple[int | None, int | None]]
"""Aligned index pairs; ``None`` on the side where an item has no partner."""

_GAP_LIMIT = 2_000_000  # cells of a quadratic alignment we are willing to pay for


def align(a: Sequence[Hashable], b: Sequence[Hashable]) -> Pairs:
    """Patience-style alignment: unique keys anchor an LCS, gaps are aligned in turn."""
    if a == b:
        return [(i, i) for i in range(len(a))]
    out: Pairs = []
    # Each entry is a range still to align, or pairs ready to emit; last in, first out.
    todo: list[tuple[int, int, int, int] | Pairs] = [(0, len(a), 0, len(b))]
    while todo:
        task = todo.pop()
        if isinstance(task, list):
            out.extend(task)
        else:
            todo.extend(reversed(_split(a, b, *task, out)))
    return out


def _split(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int, out: Pairs
) -> list[tuple[int, int, int, int] | Pairs]:
    """Emit the range's common head; return, in order, what remains of it to align or emit."""
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        out.append((alo, blo))
        alo, blo = alo + 1, blo + 1
    tail: Pairs = []
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        tail.append((ahi, bhi))
    tail.reverse()
    if alo == ahi or blo == bhi:
        out.extend((i, None) for i in range(alo, ahi))
        out.extend((None, j) for j in range(blo, bhi))
        return [tail]
    anchors = _unique_anchors(a, b, alo, ahi, blo, bhi)
    if not anchors:
        _align_small(a, b, alo, ahi, blo, bhi, out)
        return [tail]
    parts: list[tuple[int, int, int, int] | Pairs] = []
    ready: Pairs = []  # pairs to emit before the next gap
    prev_a, prev_b = alo, blo
    for i, j in [*anchors, (ahi, bhi)]:
        if prev_a < i and prev_b < j:  # a gap with items on both sides: align it later
            parts.append(ready)
            parts.append((prev_a, i, prev_b, j))
            ready = []
        else:  # one side (or both) empty: only removals and additions
            ready.extend((k, None) for k in range(prev_a, i))
            ready.extend((None, k) for k in range(prev_b, j))
        if i < ahi:
            ready.append((i, j))
        prev_a, prev_b = i + 1, j + 1
    parts.append(ready + tail)
    return parts


def _unique_anchors(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    # Each key is hashed as few times as can be, and the lookups run in C (map): at
    # 100,000 steps this is the whole cost of aligning.
    part_a, part_b = a[alo:ahi], b[blo:bhi]
    where_b = dict(zip(part_b, range(blo, bhi), strict=True))
    if len(where_b) != len(part_b):  # a key repeats in b: only the unique ones anchor
        count_b = Counter(part_b)
        where_b = {key: j for key, j in where_b.items() if count_b[key] == 1}
    partners = list(map(where_b.get, part_a))
    if len(set(part_a)) != len(part_a):  # a key repeats in a: only the unique ones anchor
        count_a = Counter(part_a)
        partners = [j if count_a[key] == 1 else None for key, j in zip(part_a, partners, strict=True)]
    pairs = [(i, j) for i, j in enumerate(partners, alo) if j is not None]
    found = [j for j in partners if j is not None]
    if found == sorted(found):  # nothing moved: the chain is every pair
        return pairs
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest chain of pairs increasing in both coordinates (patience sorting)."""
    tops: list[int] = []
    top_index: list[int] = []
    back: list[int] = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        k = bisect_left(tops, j)
        if k == len(tops):
            tops.append(j)
            top_index.append(n)
        else:
            tops[k] = j
            top_index[k] = n
        back[n] = top_index[k - 1] if k else -1
    chain: list[tuple[int, int]] = []
    n = top_index[-1] if top_index else -1
    while n != -1:
        chain.append(pairs[n])
        n = back[n]
    return chain[::-1]


def _align_small(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int, out: Pairs
) -> None:
    if (ahi - alo) * (bhi - blo) > _GAP_LIMIT:
        _align_greedy(a, b, alo, ahi, blo, bhi, out)
        return
    matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend((alo + i1 + k, blo + j1 + k) for k in range(i2 - i1))
        else:
            out.extend((alo + i, None) for i in range(i1, i2))
            out.extend((None, blo + j) for j in range(j1, j2))


def _align_greedy(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int, out: Pairs
) -> None:
    """Too big for an LCS and nothing unique to anchor on: each item of ``a`` pairs with
    the next item of ``b`` with its key, if any. Linear, and never pairs unequal keys
    (two different steps paired would compare by content alone: a rename unseen)."""
    where: dict[Hashable, list[int]] = {}
    for j in range(blo, bhi):
        where.setdefault(b[j], []).append(j)
    j = blo
    for i in range(alo, ahi):
        found = where.get(a[i])
        k = bisect_left(found, j) if found else 0
        if found and k < len(found):
            out.extend((None, skipped) for skipped in range(j, found[k]))
            out.append((i, found[k]))
            j = found[k] + 1
        else:
            out.append((i, None))
    out.extend((None, rest) for rest in range(j, bhi))
