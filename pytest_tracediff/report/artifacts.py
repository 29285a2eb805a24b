"""``--trace-artifacts``: what a failing comparison leaves for CI to upload."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..golden.naming import golden_stem
from ..normalize.redact import redact_text
from .chrome import chrome_trace

if TYPE_CHECKING:
    from ..compare.diff import TraceDiff
    from ..model import Trace


def artifact_dirname(nodeid: str) -> str:
    """A safe, unique folder name for a test id (``tests/test_x.py::t[a]`` -> ``tests.test_x.py.t[a]``)."""
    return golden_stem(nodeid.replace("::", ".").replace("/", ".").replace("\\", "."))


def write_artifacts(
    folder: Path,
    *,
    nodeid: str,
    golden: str,
    summary: str,
    raw: Trace,
    actual: Trace,
    diff: TraceDiff | None,
    mask: Callable[[str], str] = redact_text,
) -> None:
    """``actual.trace.json``, ``diff.txt``, ``diff.json`` and ``trace.chrome.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "actual.trace.json").write_text(actual.to_json(), encoding="utf-8")
    body = diff.render(verbose=True) if diff is not None else summary
    text = f"test: {nodeid}\ngolden: {golden}\n\n{body}\n"
    (folder / "diff.txt").write_text(text, encoding="utf-8")
    entries = diff.to_list() if diff is not None else []
    (folder / "diff.json").write_text(
        json.dumps(entries, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    chrome = chrome_trace(raw, name=nodeid, mask=mask)
    (folder / "trace.chrome.json").write_text(json.dumps(chrome, indent=1, default=str) + "\n", encoding="utf-8")
