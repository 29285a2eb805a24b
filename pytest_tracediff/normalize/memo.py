"""A bounded memo of ``text -> f(text)``: keys, labels and repeated values are judged once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class Memo(dict[str, _T], Generic[_T]):
    """``text -> f(text)`` for the short texts seen so far, at most ``LIMIT`` of them;
    looked up with the dict's own ``__getitem__`` (``Memo(f).__getitem__`` is the fast
    ``f``). ``f`` must be pure: its result may be served for the rest of the process."""

    __slots__ = ("_compute",)
    LIMIT = 20_000
    LONGEST = 256

    def __init__(self, compute: Callable[[str], _T]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, text: str) -> _T:
        result = self._compute(text)
        if len(text) <= self.LONGEST and len(self) < self.LIMIT:
            self[text] = result
        return result
