"""A diff as text: the summary line and one line per change."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .entries import ABSENT, KINDS, LABELS, DiffEntry

SYMBOL = {k: "~" for k in KINDS} | {"step_added": "+", "step_removed": "-"}
_ESCAPED_NEWLINE = re.compile(r"(?<!\\)((?:\\\\)*)\\n")


def _describe(entry: DiffEntry, verbose: bool) -> str:
    if entry.kind in ("step_added", "step_removed"):
        value = entry.actual if entry.kind == "step_added" else entry.expected
        return _show(value, verbose, limit=100)
    return f"{entry.path}: {_show(entry.expected, verbose)} -> {_show(entry.actual, verbose)}"


def _show(value: Any, verbose: bool, limit: int = 80) -> str:
    if value is ABSENT:
        return "<absent>"
    if verbose:
        # Newlines inside strings are shown as line breaks (a prompt reads as a prompt);
        # an escaped backslash before an ``n`` is left alone.
        text = json.dumps(value, ensure_ascii=False, indent=2)
        return _ESCAPED_NEWLINE.sub(lambda m: m.group(1) + "\n", text).replace("\n", "\n      ")
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def render_lines(entries: Sequence[DiffEntry], *, verbose: bool = False) -> list[str]:
    """Summary line, then one short line per change; ``verbose`` shows whole values."""
    lines = [summary(entries)]
    for entry in entries:
        where = str(entry.step) if entry.step is not None else "run"
        head = f"  {SYMBOL[entry.kind]} {LABELS[entry.kind][0]}: {where}"
        lines.append(f"{head} {_describe(entry, verbose)}")
    return lines
