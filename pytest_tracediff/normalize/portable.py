"""Portable errors and paths: what differs between machines or library releases stays out.

An error text can hold a whole Python traceback (``File ".../httpx/_client.py", line
1099``): accepted into a golden, it breaks on every library upgrade or edit above that
line. By default tracebacks keep their exception lines (type and message, of each
chained exception) and lose their frames. Absolute paths into site-packages, the
standard library, a virtualenv, the Python installation or the home folder become
``<site-packages>/...``, ``<stdlib>/...``, ``<venv>/...``, ``<python>/...`` and
``~/...``; paths inside the test's rootdir become relative. (Temp folders are masked by
the default maskers, as ``<tmp-path>``.) Both rewrites are idempotent.
"""

from __future__ import annotations

import contextlib
import os
import re
import site
import sys
import sysconfig
from collections.abc import Callable, Iterable

TRACEBACK_HEAD = "Traceback (most recent call last):"
_CHAIN_LINES = frozenset(
    {
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    }
)


def drop_tracebacks(text: str) -> str:
    """``text`` with each traceback's header, frames, chaining sentences and blank lines
    removed; its exception lines (type and message) kept."""
    if TRACEBACK_HEAD not in text:
        return text
    kept: list[str] = []
    in_frames = False
    for line in text.splitlines():
        at = line.find(TRACEBACK_HEAD)
        if at >= 0:
            if line[:at].strip():
                kept.append(line[:at].rstrip())
            in_frames = True
            continue
        if in_frames and (not line.strip() or line[:1].isspace()):
            continue
        in_frames = False
        if line.strip() and line.strip() not in _CHAIN_LINES:  # blank lines only spaced out the frames
            kept.append(line)
    return "\n".join(kept)


def _components(path: str) -> int:
    return len([part for part in re.split(r"[\\/]", path) if part])


def machine_prefixes(rootdir: str | None = None) -> list[tuple[str, str]]:
    """``(absolute folder, placeholder)`` pairs, longest folder first; the rootdir's
    placeholder is empty (its paths become relative)."""
    found: list[tuple[str, str]] = []
    paths = sysconfig.get_paths()
    site_dirs = [paths.get("purelib"), paths.get("platlib"), *_site_packages()]
    found += [(d, "<site-packages>") for d in site_dirs if d]
    found += [(d, "<stdlib>") for d in (paths.get("stdlib"), paths.get("platstdlib")) if d]
    if sys.prefix != sys.base_prefix:
        found.append((sys.prefix, "<venv>"))
    # A system prefix such as /usr is too broad to mask; /opt/python3.12 or a pyenv version is not.
    found += [(d, "<python>") for d in (sys.base_prefix, sys.exec_prefix) if _components(d) >= 2]
    home = os.path.expanduser("~")
    if home not in ("~", "/") and _components(home) >= 1:
        found.append((home, "~"))
    if rootdir:
        found.append((rootdir, ""))
    out: dict[str, str] = {}
    for folder, placeholder in found:
        for variant in (folder, os.path.realpath(folder)):
            trimmed = variant.rstrip("\\/")
            if _components(trimmed) >= 1:
                out[trimmed] = placeholder  # later entries (the rootdir) win over earlier ones
    return sorted(out.items(), key=lambda item: len(item[0]), reverse=True)


def _site_packages() -> Iterable[str]:
    with contextlib.suppress(AttributeError):  # some embedded or old virtualenv site modules lack it
        yield from site.getsitepackages()
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user, str):
        yield user


def path_masker(prefixes: list[tuple[str, str]]) -> Callable[[str], str] | None:
    """A function replacing each folder of ``prefixes`` (and its separator) in a text."""
    if not prefixes:
        return None
    # Not inside a longer path or word: "/data/root/x" keeps its "/root/".
    pattern = re.compile(
        r"(?<![\w.~/\\-])(?:" + "|".join(f"(?P<p{i}>{re.escape(p)})" for i, (p, _) in enumerate(prefixes)) + r")[\\/]"
    )
    placeholders = {f"p{i}": (f"{ph}/" if ph else "") for i, (_, ph) in enumerate(prefixes)}
    # Most texts hold none of the prefixes' first characters: one scan in C tells.
    may_hold = re.compile("[" + re.escape("".join(sorted({p[0] for p, _ in prefixes}))) + "]").search

    def replace(match: re.Match[str]) -> str:
        return placeholders[match.lastgroup or ""]

    def mask(text: str) -> str:
        if may_hold(text) is None:
            return text
        return pattern.sub(replace, text)

    return mask


def portable_text(rootdir: str | None, *, keep_tracebacks: bool, mask_paths: bool) -> Callable[[str], str] | None:
    """The text rewrite normalization applies before its maskers, or None for none."""
    paths = path_masker(machine_prefixes(rootdir)) if mask_paths else None
    if paths is None and keep_tracebacks:
        return None

    def rewrite(text: str) -> str:
        if not keep_tracebacks:
            text = drop_tracebacks(text)
        return text if paths is None else paths(text)

    return rewrite
