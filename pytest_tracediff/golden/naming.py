"""Golden file names: readable, unique and safe for any test id.

The name is syrupy's (test name, ``[param id]``, ``.N`` or ``[name]`` for more than
one golden) whenever that is already a safe file name. Otherwise (path separators,
control or reserved characters, non-ASCII, or longer than ``MAX_STEM``) the safe
characters are kept, cut to ``MAX_STEM``, and a hash of the full id is appended, so
two ids never share a file and no name can leave the snapshot folder.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from pathlib import Path

SNAPSHOT_DIRNAME = "__trace_snapshots__"
MAX_STEM = 150
_RESERVED = frozenset('\\/?*:|"<>')


def _keep(char: str) -> bool:
    if char == " ":
        return True
    return char not in _RESERVED and not unicodedata.category(char).startswith(("C", "Z"))


def _shown(raw: str) -> str:
    """``raw`` with its secrets redacted: a secret used as a parametrize value must not
    become a file name (committed, and printed in every summary). Only the ``[...]``
    part of an id can hold one (the rest names code), so plain test names never load
    the redaction rules and short parameter ids never compile them."""
    name, bracket, params = raw.partition("[")
    if not bracket:
        return raw
    from ..normalize.redact import redact_text

    return name + bracket + redact_text(params)


@functools.lru_cache(maxsize=4096)
def golden_stem(raw: str) -> str:
    """The file stem (no extension) for the snapshot name ``raw`` (syrupy asks for it
    several times per assertion)."""
    shown = _shown(raw)
    cleaned = "".join(c for c in shown if _keep(c)).strip().lstrip(".")
    if cleaned == raw and raw.isascii() and len(raw) <= MAX_STEM:
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{cleaned[:MAX_STEM]}~{digest}"


def stem_prefix(raw: str) -> str:
    """The part of ``golden_stem(raw + anything)`` that is certain to start it."""
    cleaned = "".join(c for c in _shown(raw) if _keep(c)).strip().lstrip(".")
    return cleaned[:MAX_STEM]


def claims(prefix: str, stem: str) -> bool:
    """Whether a test whose golden stems start with ``prefix`` may own ``stem``."""
    if not stem.startswith(prefix):
        return False
    rest = stem[len(prefix) :]
    return rest == "" or rest[0] in ".[~" or len(prefix) >= MAX_STEM


def golden_folder(module: Path) -> Path:
    """Where the goldens of the tests in ``module`` live."""
    return module.parent / SNAPSHOT_DIRNAME / module.stem
