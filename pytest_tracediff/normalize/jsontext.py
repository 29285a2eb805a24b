"""JSON inside strings is data: ``"{\\"city\\": \\"Paris\\"}"`` becomes ``{"city": "Paris"}``.

Agent frameworks pass tool arguments, tool results and chat messages around as JSON
text. Kept as strings, a golden's ``git diff`` and a trace diff show one whole escaped
string changing; parsed, they show ``input.city: "Paris" -> "Lyon"``. Parsed values are
made canonical with the same masks and redaction as every payload, so a secret inside
JSON text is redacted by its key like any other.

Caps keep this cheap and safe: only strings that start with ``{`` or ``[`` and end with
``}`` or ``]``, at most ``MAX_CHARS`` long, are tried; a parse that gives anything but
an object or array (or fails) leaves the string as it was. Parsed data is walked again,
so JSON text nested in JSON text is parsed too; the result holds no parsable JSON text,
which makes a second pass a no-op (normalization stays idempotent).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..model.canonical import canonical
from .redact import hide

MAX_CHARS = 200_000
"""Longer strings stay text: parsing them is not worth the time a golden would save."""

TextHook = Callable[[str], str]
SecretKey = Callable[[str], bool] | None


_MAY_START_JSON = frozenset("{[ \t\r\n")


def _looks_like_json(text: str) -> bool:
    if not text or len(text) > MAX_CHARS:
        return False
    first = text[0]
    if first in " \t\r\n":
        text = text.strip()
        if not text:
            return False
        first = text[0]
    return (first == "{" and text[-1] == "}") or (first == "[" and text[-1] == "]")


def canonical_data(value: Any, mask: TextHook, secret_key: SecretKey) -> Any:
    """``canonical(value, mask, secret_key)``, with JSON text in strings parsed into data.

    JSON-looking strings skip ``mask`` on the first walk (text rules must not see, and
    could break, JSON syntax); each is then parsed and made canonical as data, or, if it
    is not JSON after all, masked as text. Nesting ends by itself: each level's text is
    shorter than the one it came from.
    """
    if value is None:  # no output, no attributes: most steps have one or the other
        return None
    if (type(value) is dict or type(value) is list) and not value:
        return type(value)()
    found = False

    def hook(text: str) -> str:
        nonlocal found
        if text[:1] in _MAY_START_JSON and _looks_like_json(text):  # the test in C first: most text is not JSON
            found = True
            return text
        return mask(text)

    data = canonical(value, hook, secret_key, hide)
    return _parse_strings(data, mask, secret_key) if found else data


def _parse_strings(data: Any, mask: TextHook, secret_key: SecretKey) -> Any:
    if isinstance(data, str):
        return _parse(data, mask, secret_key) if _looks_like_json(data) else data
    if isinstance(data, dict):
        out = {key: _parse_strings(value, mask, secret_key) for key, value in data.items()}
        if any(_looks_like_json(key) for key in out):  # keys stay text, masked like any key
            pairs = [(mask(key) if _looks_like_json(key) else key, value) for key, value in out.items()]
            out = dict(sorted(pairs, key=lambda pair: pair[0]))
        return out
    if isinstance(data, list):
        return [_parse_strings(item, mask, secret_key) for item in data]
    return data


def _parse(text: str, mask: TextHook, secret_key: SecretKey) -> Any:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, an int past Python's digit limit, too deep
        return mask(text)
    if not isinstance(parsed, (dict, list)):
        return mask(text)
    return canonical_data(parsed, mask, secret_key)
