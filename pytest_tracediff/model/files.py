"""Reading and writing trace files: one place for the rules every caller shares.

Reads fail with one ``GoldenFileError`` naming the file; writes never leave a
half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import GoldenFileError

TRACE_SUFFIX = ".trace.json"
"""Suffix of every trace file the plugin writes (goldens, artifacts)."""
TEMP_SUFFIX = ".tracediff-tmp"
"""Suffix of the temp file an atomic write renames into place; never read as a trace."""


def read_trace_text(path: Path) -> str:
    """The text of a trace file, or a ``GoldenFileError`` saying why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GoldenFileError(str(path), "does not exist") from None
    except IsADirectoryError:
        raise GoldenFileError(str(path), "is a directory, not a trace file") from None
    except UnicodeDecodeError:
        raise GoldenFileError(str(path), "is not UTF-8 text") from None
    if not text.strip():
        raise GoldenFileError(str(path), "is empty")
    return text


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder, then rename it over ``path``.

    A crash of the run leaves the old file or the new one: the rename is atomic and
    the temp file's suffix is never read as a trace. Replacing an existing file also
    fsyncs the new text before the rename, so not even a power loss can leave a
    half-written version of it. A new file is not synced: it has no old version to
    lose, and one sync per new golden was most of the time of writing a suite's
    goldens (1,000 syncs: 2-6 s here, the writes themselves 0.2 s); a power loss
    right after creating one can leave it missing or empty, which a read reports and
    the next update rewrites.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    replacing = path.exists()
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            if replacing:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
