"""Globs over field paths (``output.user.id``, ``*.request_id``): one syntax everywhere.

Exclusions (normalization) and numeric tolerances (comparison) both select values by
these globs, so they share this helper.
"""

from __future__ import annotations

import re


def glob_regex(pattern: str) -> str:
    """Regex for a field-path glob: ``*`` matches anything, ``?`` one character, ``[0]`` is literal."""
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z"
