"""Normalization options, compiled once: exclusions, maskers, redaction, truncation limits."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .paths import glob_regex
from .portable import portable_text
from .redact import key_matcher, text_redactor

Masker = tuple[str, str]
"""A ``(regex, placeholder)`` pair applied to every string of a trace."""


def _tmp_dirs() -> list[str]:
    found = {tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir())}
    return sorted(found, key=len, reverse=True)


_PATH_CHARS = r"""[^\s'"<>,;:()\[\]{}]*"""
DEFAULT_MASKERS: tuple[Masker, ...] = (
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<uuid>"),
    (
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d:])",
        "<datetime>",
    ),
    (r"\b0x[0-9a-fA-F]{8,16}\b", "<addr>"),
    *(((re.escape(d) + "/" + _PATH_CHARS), "<tmp-path>") for d in _tmp_dirs()),
)
# "0x" + 8 hex digits, or a temp dir and "/": shorter strings cannot hold a match.
_SHORTEST_DEFAULT_MATCH = min(10, *(len(d) + 1 for d in _tmp_dirs()))


@dataclass(frozen=True)
class NormalizeOptions:
    """How to normalize; the ini options and the ``trace_snapshot`` marker build one.

    ``exclude``: glob patterns over step field paths (``output.user.id``,
    ``*.request_id``, ``cost``, ``attributes.host``) whose values are dropped.
    ``maskers``: extra ``(regex, placeholder)`` pairs applied after the defaults.
    ``redact_keys``: extra regexes (case-insensitive) of dict keys whose whole value
    becomes ``"<redacted>"``; ``redact_patterns``: extra regexes whose matches in any
    string become ``"<redacted>"``. Both come on top of the defaults (``redact.py``)
    unless ``default_redaction`` is false. Redaction runs before the maskers.
    ``max_string`` / ``max_items``: cut longer strings and lists in payloads and
    errors, ending them in a marker with a hash of what was cut (``truncate.py``).
    ``keep_tracebacks``: keep traceback frames in error texts (by default only the
    exception lines stay); ``rootdir``: paths inside it become relative. Paths into
    site-packages, the Python installation, a virtualenv or the home folder are masked
    with the default maskers (``portable.py``).
    """

    exclude: tuple[str, ...] = ()
    maskers: tuple[Masker, ...] = ()
    default_maskers: bool = True
    redact_keys: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    default_redaction: bool = True
    max_string: int | None = None
    max_items: int | None = None
    keep_tracebacks: bool = False
    rootdir: str | None = None
    _text: Callable[[str], str] = field(init=False, repr=False, compare=False)
    _excluded: Callable[[str], bool] | None = field(init=False, repr=False, compare=False)
    _secret_key: Callable[[str], bool] | None = field(init=False, repr=False, compare=False)
    _redact: Callable[[str], str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        redact = text_redactor(tuple(self.redact_patterns), defaults=self.default_redaction)
        object.__setattr__(self, "_redact", redact)
        object.__setattr__(self, "_secret_key", key_matcher(tuple(self.redact_keys), defaults=self.default_redaction))
        portable = portable_text(self.rootdir, keep_tracebacks=self.keep_tracebacks, mask_paths=self.default_maskers)
        object.__setattr__(self, "_text", _text_hook(self.maskers, self.default_maskers, redact, portable))
        matcher = None
        if self.exclude:
            pattern = re.compile("|".join(glob_regex(p) for p in self.exclude))
            matcher = lambda path: pattern.match(path) is not None  # noqa: E731
        object.__setattr__(self, "_excluded", matcher)

    def merged(
        self,
        exclude: Iterable[str] = (),
        maskers: Iterable[Masker] = (),
        *,
        redact_keys: Iterable[str] = (),
        redact_patterns: Iterable[str] = (),
        max_string: int | None = None,
        max_items: int | None = None,
    ) -> NormalizeOptions:
        """Options with more exclusions, maskers and redaction (ini first, then the marker)."""
        return NormalizeOptions(
            exclude=(*self.exclude, *exclude),
            maskers=(*self.maskers, *maskers),
            default_maskers=self.default_maskers,
            redact_keys=(*self.redact_keys, *redact_keys),
            redact_patterns=(*self.redact_patterns, *redact_patterns),
            default_redaction=self.default_redaction,
            max_string=self.max_string if max_string is None else max_string,
            max_items=self.max_items if max_items is None else max_items,
            keep_tracebacks=self.keep_tracebacks,
            rootdir=self.rootdir,
        )

    def mask(self, text: str) -> str:
        return self._text(text)


def _text_hook(
    extra: tuple[Masker, ...],
    defaults: bool,
    redact: Callable[[str], str] | None = None,
    portable: Callable[[str], str] | None = None,
) -> Callable[[str], str]:
    compiled_extra = [(re.compile(rx), repl) for rx, repl in extra]
    if defaults:
        combined = re.compile("|".join(f"(?P<m{i}>{rx})" for i, (rx, _) in enumerate(DEFAULT_MASKERS)))
        placeholders = {f"m{i}": repl for i, (_, repl) in enumerate(DEFAULT_MASKERS)}

        # Each masker on its own: the regex engine scans these several times faster
        # than the alternation of named groups, and the alternation can only match
        # where one of them does; so most strings never reach ``combined.sub``.
        searches = [re.compile(rx).search for rx, _ in DEFAULT_MASKERS]

        def replace(match: re.Match[str]) -> str:
            return placeholders[match.lastgroup or ""]

    def hook(text: str) -> str:
        if redact is not None:  # first: a UUID inside a token must not split it
            text = redact(text)
        if portable is not None:  # before the maskers: a rootdir under /tmp becomes relative, not <tmp-path>
            text = portable(text)
        if defaults and len(text) >= _SHORTEST_DEFAULT_MATCH:
            for search in searches:
                if search(text) is not None:
                    text = combined.sub(replace, text)
                    break
        for rx, repl in compiled_extra:
            text = rx.sub(repl, text)
        return text

    return hook


DEFAULT_OPTIONS = NormalizeOptions()
