"""Truncation of long strings and lists in goldens, with an explicit, checkable marker.

A cut value keeps its head and ends in a marker that names how much was cut and a
hash of the cut part, so a change anywhere (also past the cut) still changes the
golden, and the golden stays small. Idempotent: a marked value is left alone.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..model.canonical import canonical_json

_STRING_MARK = re.compile(r"…<truncated \d+ chars, sha256 [0-9a-f]{12}>")
_ITEMS_MARK = re.compile(r"<truncated \d+ items, sha256 [0-9a-f]{12}>")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def truncate(data: Any, max_string: int | None, max_items: int | None) -> Any:
    """``data`` (canonical JSON data) with strings over ``max_string`` characters and
    lists over ``max_items`` items cut; ``None`` means no limit."""
    if max_string is None and max_items is None:
        return data
    return _walk(data, max_string, max_items)


def _walk(data: Any, max_string: int | None, max_items: int | None) -> Any:
    if isinstance(data, str):
        if max_string is None or len(data) <= max_string or _STRING_MARK.fullmatch(data[max_string:]):
            return data
        cut = data[max_string:]
        return f"{data[:max_string]}…<truncated {len(cut)} chars, sha256 {_digest(cut)}>"
    if isinstance(data, dict):
        return {key: _walk(value, max_string, max_items) for key, value in data.items()}
    if isinstance(data, list):
        items: list[Any] = data
        mark: list[str] = []
        if max_items is not None and len(items) > max_items:
            last = items[-1]
            if len(items) == max_items + 1 and isinstance(last, str) and _ITEMS_MARK.fullmatch(last):
                items, mark = items[:-1], [last]
            else:
                rest = items[max_items:]
                items = items[:max_items]
                mark = [f"<truncated {len(rest)} items, sha256 {_digest(canonical_json(rest))}>"]
        # The marker itself is never cut again.
        return [*(_walk(item, max_string, max_items) for item in items), *mark]
    return data
