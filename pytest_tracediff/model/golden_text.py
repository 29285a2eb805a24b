"""A golden's JSON text read one step at a time, not parsed whole.

``json.loads`` of a golden holds about three times the text's size in objects, all at
once; a comparison reads each step, compares it and lets it go, so it holds the text
and one step. The layout pytest-tracediff writes (header first, the steps last) is
read this way; any other (keys after the steps, a key twice, the header after the
steps) is parsed whole (``UnusualLayout``), so every valid file reads as ``json.loads``
reads it and every broken one fails with its message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, final

from ..errors import GoldenFileError
from .trace import checked_header, parse_golden

__all__ = ["GoldenText", "UnusualLayout"]

_SPACE = re.compile(r"[ \t\n\r]*")
# What follows a step: the comma before the next one, or the bracket closing the list.
_AFTER_STEP = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*").match
# The C scanner json.loads runs: one value at an index, with where it ends.
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]


def _skip(text: str, index: int) -> int:
    """``index`` moved past JSON whitespace."""
    space = _SPACE.match(text, index)
    return space.end() if space is not None else index


class UnusualLayout(Exception):
    """The text is not laid out as pytest-tracediff writes goldens: parse it whole
    (``GoldenText.parsed``). Raised only after the last step was read."""


class _Whole(Exception):
    """The header cannot be read step by step: the file is parsed whole at once."""


@final
class GoldenText:
    """A golden's text with its header read (``head``; checked) and its steps read on
    demand (``steps``). A layout that cannot be read so is parsed whole: ``data``."""

    def __init__(self, text: str, origin: str) -> None:
        self.text = text
        self.origin = origin
        self.head: dict[str, Any] = {}
        """The top-level fields before the steps (all of them, once ``steps`` has run)."""
        self.data: dict[str, Any] | None = None
        """The whole parsed file, when it is not laid out to be read step by step."""
        self._first: int | None = None  # where the first step (or the closing bracket) starts
        try:
            self._first = self._read_head()
        except (_Whole, ValueError, StopIteration, IndexError, RecursionError):
            self.data = self.parsed()

    def steps(self) -> Iterator[tuple[Any, int]]:
        """Each step as parsed, with where its text starts (``at`` reads it again).

        A broken file raises its ``GoldenFileError`` where it breaks; text after the
        steps other than the closing brace raises ``UnusualLayout`` at the end.
        """
        if self.data is not None:
            raise UnusualLayout
        text, index = self.text, self._first
        if index is None:  # no "steps": none
            return
        if text.startswith("]", index):
            index += 1
        else:
            while True:
                try:
                    value, end = _SCAN(text, index)
                except (ValueError, StopIteration, RecursionError):
                    self._broken()
                yield value, index
                after = _AFTER_STEP(text, end)
                if after is None:
                    self._broken()
                index = after.end()
                if after.group(1) == "]":
                    break
        index = _skip(text, index)
        if not (text.startswith("}", index) and _skip(text, index + 1) == len(text)):
            self._broken()

    def at(self, start: int) -> Any:
        """The step whose text starts at ``start`` (from ``steps``), parsed again."""
        return _SCAN(self.text, start)[0]

    def parsed(self) -> dict[str, Any]:
        """The whole file parsed (``parse_golden``), for what needs every step at once."""
        return self.data if self.data is not None else parse_golden(self.text, self.origin)

    def _read_head(self) -> int | None:
        text, head = self.text, self.head
        index = _skip(text, 0)
        if not text.startswith("{", index):
            raise _Whole
        index = _skip(text, index + 1)
        while True:
            if not text.startswith('"', index):
                raise _Whole  # "{}" or not JSON: parsed whole, which says what is wrong
            key, index = _SCAN(text, index)
            index = _skip(text, index)
            if not text.startswith(":", index) or key in head:
                raise _Whole
            index = _skip(text, index + 1)
            if key == "steps":
                if not text.startswith("[", index):
                    raise _Whole
                self._check(head)
                return _skip(text, index + 1)
            head[key], index = _SCAN(text, index)
            index = _skip(text, index)
            if text.startswith(",", index):
                index = _skip(text, index + 1)
            elif text.startswith("}", index) and _skip(text, index + 1) == len(text):
                self._check(head)
                return None
            else:
                raise _Whole

    def _check(self, head: dict[str, Any]) -> None:
        # A header that fails (or comes after the steps) is left to the whole parse: its
        # error, or the JSON error before it, is the one json.loads would give.
        if "format" not in head or "version" not in head:
            raise _Whole
        try:
            checked_header(head, self.origin)
        except GoldenFileError:
            raise _Whole from None

    def _broken(self) -> NoReturn:
        """Past the header the text is not a golden as written: the whole parse says why
        (a ``GoldenFileError``), or it reads and the caller starts over from ``data``."""
        self.data = parse_golden(self.text, self.origin)
        raise UnusualLayout
