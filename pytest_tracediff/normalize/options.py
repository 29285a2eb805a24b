"""Normalization options, compiled once: exclusions, maskers, redaction, truncation limits."""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .memo import Memo
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
        # Every test builds its options; the compiled rules (and their memo of judged
        # texts) are shared by every options object with the same settings.
        compiled = _compile(
            self.exclude,
            self.maskers,
            self.default_maskers,
            self.redact_keys,
            self.redact_patterns,
            self.default_redaction,
            self.keep_tracebacks,
            self.rootdir,
        )
        for name, value in zip(("_text", "_excluded", "_secret_key", "_redact"), compiled, strict=True):
            object.__setattr__(self, name, value)

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


_Compiled = tuple[
    Callable[[str], str], Callable[[str], bool] | None, Callable[[str], bool] | None, Callable[[str], str] | None
]


@functools.lru_cache(maxsize=64)
def _compile(
    exclude: tuple[str, ...],
    maskers: tuple[Masker, ...],
    default_maskers: bool,
    redact_keys: tuple[str, ...],
    redact_patterns: tuple[str, ...],
    default_redaction: bool,
    keep_tracebacks: bool,
    rootdir: str | None,
) -> _Compiled:
    """The text rule, exclusion matcher, secret-key matcher and redactor of one set of options."""
    redact = text_redactor(tuple(redact_patterns), defaults=default_redaction)
    secret_key = key_matcher(tuple(redact_keys), defaults=default_redaction)
    portable = portable_text(rootdir, keep_tracebacks=keep_tracebacks, mask_paths=default_maskers)
    # Keys, labels and repeated values come back in every step and every test: each
    # text is judged once.
    text = Memo(_text_hook(maskers, default_maskers, redact, portable)).__getitem__
    excluded = None
    if exclude:
        pattern = re.compile("|".join(glob_regex(p) for p in exclude))
        excluded = lambda path: pattern.match(path) is not None  # noqa: E731
    return text, excluded, secret_key, redact


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
