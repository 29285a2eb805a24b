"""Turn any Python payload into canonical JSON-safe data, without ever raising.

Canonical means: dict keys are strings in sorted order, sets are sorted, every leaf is
str/int/float/bool/None, equal values always give equal data (under every hash seed),
and the data can be written to a UTF-8 file and read back: lone surrogates are escaped,
huge ints become a marker, array-likes are stored whole, not as their summarising
repr. ``text`` (used by
normalization to mask volatile values) is applied to every string, keys included;
``secret_key`` (used by normalization to redact secrets) hides the value of every dict
key, and of every ``(key, value)`` tuple, it accepts.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import math
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import SimpleNamespace
from typing import Any
from uuid import UUID

TextHook = Callable[[str], str]

REDACTED = "<redacted>"
"""What a secret becomes in a golden."""

MAX_DEPTH = 200
MAX_INT_BITS = 14_000
"""Larger ints cannot be stored: ``str(int)`` and ``json.loads`` refuse numbers above
4300 digits (the CVE-2020-10735 guard); 14,000 bits are 4,215 digits."""
_first = operator.itemgetter(0)
_ARRAY_DATA = (list, str, int, float, bool, complex, bytes, Decimal, dt.date, dt.time, dt.timedelta, type(None))


def storable_text(value: str) -> str:
    """``value`` with each lone surrogate (from ``surrogateescape`` or a broken decoder,
    which no UTF-8 file can hold) written as the text ``\\udxxx``; other text unchanged."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


HideHook = Callable[[Any, str], Any]


def canonical(
    value: Any,
    text: TextHook | None = None,
    secret_key: Callable[[str], bool] | None = None,
    hide: HideHook | None = None,
) -> Any:
    """Canonical JSON-safe copy of ``value``; ``text`` rewrites every string, and the
    value of a key (after ``text``) that ``secret_key`` accepts becomes ``hide(value, key)``
    (by default ``"<redacted>"``; normalization passes redaction's, which judges the value)."""
    return _Walker(text, secret_key, hide or hide_value).walk(value, 0)


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON of already-canonical data: a sort and hash key."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class _Walker:
    __slots__ = ("_active", "_hide", "_secret", "_text")

    def __init__(self, text: TextHook | None, secret_key: Callable[[str], bool] | None, hide: HideHook) -> None:
        self._text = text
        self._secret = secret_key
        self._hide = hide
        self._active: set[int] = set()

    def _str(self, value: str) -> str:
        if self._text is not None:
            value = self._text(value)
        return value if value.isascii() else storable_text(value)

    def walk(self, value: Any, depth: int) -> Any:
        # Hot path: exact str, dict and list first; other types in the original order.
        kind = type(value)
        if kind is str:
            text = self._text
            if text is not None:
                value = text(value)
            return value if value.isascii() else storable_text(value)
        if kind is dict or kind is list:
            if not value:  # most steps' attributes
                return {} if kind is dict else []
            if depth >= MAX_DEPTH:
                return "<max depth>"
            return self._container(value, depth)
        if value is None or kind is bool:
            return value
        if kind is int:
            return value if value.bit_length() <= MAX_INT_BITS else f"<int of {value.bit_length()} bits>"
        if kind is float:
            return value + 0.0 if value - value == 0.0 else _float(value)  # finite: -0.0 folds into 0.0
        if depth >= MAX_DEPTH:
            return "<max depth>"
        if isinstance(value, Enum):
            return self.walk(value.value, depth + 1)
        try:
            if isinstance(value, (dict, Mapping, list, tuple, set, frozenset)):
                return self._container(value, depth)
            return self._scalar_or_object(value, depth)
        except Exception as exc:  # a payload's broken __iter__ or property must not break the run
            return self._str(f"<{type(value).__qualname__}: reading it raised {type(exc).__name__}>")

    def _container(self, value: Any, depth: int) -> Any:
        marker = id(value)
        active = self._active
        if marker in active:
            return "<cycle>"
        active.add(marker)
        try:
            if type(value) is dict or isinstance(value, Mapping):
                return self._mapping(value, depth)
            walk, child = self.walk, depth + 1
            if type(value) is list:  # hot path: the leaves of a plain list inline, as in _mapping
                text = self._text
                out: list[Any] = []
                append = out.append
                for item in value:
                    kind = type(item)
                    if kind is str:
                        if text is not None:
                            item = text(item)  # noqa: PLW2901
                        append(item if item.isascii() else storable_text(item))
                    elif item is None or kind is bool or (kind is int and item.bit_length() <= MAX_INT_BITS):
                        append(item)
                    else:
                        append(walk(item, child))
                return out
            items = [walk(item, child) for item in value]
            if isinstance(value, (set, frozenset)):
                items.sort(key=canonical_json)
            elif (  # a header-style ("Authorization", "...") pair
                type(value) is tuple
                and len(items) == 2
                and type(items[0]) is str
                and self._secret is not None
                and self._secret(items[0])
            ):
                items[1] = self._hide(items[1], items[0])
            return items
        finally:
            active.discard(marker)

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        # Hot path: plain str keys and str/int/bool/None values are handled inline, the
        # rest through ``walk``; the same results as ``walk`` gives for them.
        text, walk, child, secret, hide = self._text, self.walk, depth + 1, self._secret, self._hide
        pairs: list[tuple[str, Any]] = []
        append = pairs.append
        for raw, given in value.items():
            if type(raw) is str:
                key = raw if text is None else text(raw)
                if not key.isascii():
                    key = storable_text(key)
            else:
                key = self._key(raw, depth)
            item = hide(given, key) if secret is not None and secret(key) else given
            kind = type(item)
            if kind is str:
                if text is not None:
                    item = text(item)
                append((key, item if item.isascii() else storable_text(item)))
            elif item is None or kind is bool or (kind is int and item.bit_length() <= MAX_INT_BITS):
                append((key, item))
            else:
                append((key, walk(item, child)))
        pairs.sort(key=_first)
        out: dict[str, Any] = dict(pairs)
        if len(out) == len(pairs):
            return out
        # Distinct keys that print the same (1 and "1"): order them by value, not by
        # insertion order, so equal dicts give equal data.
        pairs.sort(key=lambda pair: (pair[0], canonical_json(pair[1])))
        out = {}
        for key, item in pairs:
            unique, n = key, 1
            while unique in out:  # distinct keys that print the same
                n += 1
                unique = f"{key} #{n}"
            out[unique] = item
        return out

    def _key(self, key: Any, depth: int) -> str:
        if type(key) is str:
            return self._str(key)
        converted = self.walk(key, depth + 1)
        return converted if isinstance(converted, str) else canonical_json(converted)

    def _scalar_or_object(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self._str(str.__str__(value))
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return self.walk(int(value), depth)
        if isinstance(value, float):
            return _float(float(value))
        if isinstance(value, Decimal):
            return self._str(_decimal(value))
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self._str(_bytes(bytes(value)))
        if isinstance(value, (UUID, PurePath)):
            return self._str(str(value))
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return self._str(value.isoformat())
        if isinstance(value, dt.timedelta):
            return value.total_seconds()
        if isinstance(value, complex):
            return self._str(repr(value))
        dumped = _structured(value)
        if dumped is _NOTHING:
            dumped = _array_data(value)
        if dumped is not _NOTHING:
            marker = id(value)
            if marker in self._active:
                return "<cycle>"
            self._active.add(marker)
            try:
                return self.walk(dumped, depth + 1)
            finally:
                self._active.discard(marker)
        return self._str(_safe_repr(value))


_NOTHING = object()


def _structured(value: Any) -> Any:
    """The fields of a pydantic model, dataclass, attrs or ``SimpleNamespace`` instance as a
    dict, else ``_NOTHING``: their reprs print sets in hash order, which varies per run."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    kind = type(value)
    fields = getattr(kind, "model_fields", None)
    if isinstance(fields, dict) and hasattr(value, "model_dump"):
        return {name: getattr(value, name, None) for name in fields}
    if isinstance(value, SimpleNamespace):
        return dict(vars(value))
    attrs = getattr(kind, "__attrs_attrs__", None)
    if isinstance(attrs, tuple):
        return {a.name: getattr(value, a.name, None) for a in attrs}
    return _NOTHING


def _array_data(value: Any) -> Any:
    """The data of an array-like (numpy, ``array.array``, tensors, pandas) as nested lists,
    else ``_NOTHING``: numpy's repr leaves out all but six elements of a large array."""
    kind = type(value)
    try:
        if callable(getattr(kind, "tolist", None)):  # looked up on the type: a Mock has everything
            data = value.tolist()
        elif callable(getattr(kind, "__array__", None)):
            array = value.__array__()
            data = array.tolist() if callable(getattr(type(array), "tolist", None)) else _NOTHING
        else:
            return _NOTHING
    except Exception:  # a method of that name that is not the array protocol: use the repr
        return _NOTHING
    return data if isinstance(data, _ARRAY_DATA) else _NOTHING


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value + 0.0  # folds -0.0 into 0.0


def _decimal(value: Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "Infinity" if value > 0 else "-Infinity"
    return str(value)


def _bytes(value: bytes) -> str:
    try:
        return "bytes:" + value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a payload's broken __repr__ must not break the run
        return f"<{type(value).__qualname__}: repr raised {type(exc).__name__}>"
    if not isinstance(text, str):
        return f"<{type(value).__qualname__}>"
    return text


def hide_value(value: Any, key: str = "") -> Any:
    """What the value of a secret's key becomes: ``REDACTED``, unless it holds nothing."""
    if value is None or value is True or value is False or (type(value) is str and not value):
        return value
    return REDACTED
