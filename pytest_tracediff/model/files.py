"""Reading and writing trace files: one place for the rules every caller shares.

Reads take regular files only (never a FIFO or a device a golden may point to), up to
``MAX_TRACE_BYTES``, with or without a UTF-8 BOM, and fail with one ``GoldenFileError``
naming the file. Writes are atomic, give the file the mode the umask gives any new file
(as an editor or ``git checkout`` does), and never leave a half-written file behind.
A writer locks its temp file, so another run removes it only when it is provably
abandoned (``remove_abandoned_temp_files``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import time
from pathlib import Path

from ..errors import GoldenFileError

try:
    import fcntl
except ImportError:  # Windows: a file open in another process cannot be deleted there
    fcntl = None  # type: ignore[assignment]

TRACE_SUFFIX = ".trace.json"
"""Suffix of every trace file the plugin writes (goldens, artifacts)."""
TEMP_SUFFIX = ".tracediff-tmp"
"""Suffix of the temp file an atomic write renames into place; never read as a trace."""
MAX_TRACE_BYTES = 256 * 1024 * 1024
"""The largest trace file read: a 200,000-step golden of benchmarks/bench_large.py is
64 MiB; a file past this is a mistake (a log, a link to a disk image), and parsing it
would take ten times its size in memory."""
STALE_TEMP_SECONDS = 600
"""A temp file younger than this is never removed: its writer may have just created it
and not yet locked it, or run on a file system without locks."""

_BOM = "\ufeff"
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# Opening a FIFO for reading blocks until a writer appears; O_NONBLOCK makes it return.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def read_trace_text(path: Path) -> str:
    """The text of a trace file, or a ``GoldenFileError`` saying why it cannot be read."""
    where = str(path)
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise GoldenFileError(where, "does not exist") from None
    except IsADirectoryError:
        raise GoldenFileError(where, "is a directory, not a trace file") from None
    except OSError as exc:
        raise GoldenFileError(where, f"cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
            if kind == "a directory":
                raise GoldenFileError(where, "is a directory, not a trace file")
            raise GoldenFileError(where, f"is not a regular file ({kind}); a trace file must be one")
        if info.st_size > MAX_TRACE_BYTES:
            raise _too_big(where)
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_TRACE_BYTES + 1)  # never more, even if the file grows meanwhile
    finally:
        os.close(fd)
    if len(data) > MAX_TRACE_BYTES:
        raise _too_big(where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GoldenFileError(where, "is not UTF-8 text") from None
    if text.startswith(_BOM):  # as some Windows editors save UTF-8
        text = text[1:]
    if not text or text.isspace():  # not strip(): that copies a large file's text
        raise GoldenFileError(where, "is empty")
    return text


def _too_big(where: str) -> GoldenFileError:
    limit = f"{MAX_TRACE_BYTES // 2**20} MiB" if MAX_TRACE_BYTES >= 2**20 else f"{MAX_TRACE_BYTES} bytes"
    return GoldenFileError(where, f"is over the {limit} limit for trace files")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a locked temp file in the same folder, then rename it over ``path``.

    A crash of the run leaves the old file or the new one: the rename is atomic and
    the temp file's suffix is never read as a trace. Replacing an existing file also
    fsyncs the new text before the rename, so not even a power loss can leave a
    half-written version of it. A new file is not synced: it has no old version to
    lose, and one sync per new golden was most of the time of writing a suite's
    goldens (1,000 syncs: 2-6 s, the writes themselves 0.2 s); a power loss right
    after creating one can leave it missing or empty, which a read reports and the
    next update rewrites. The file gets the mode the umask gives (0644 typically).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    replacing = path.exists()
    fd, temp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            _lock(handle.fileno())
            handle.write(text.encode("utf-8"))
            if replacing:
                handle.flush()
                os.fsync(handle.fileno())
            if fcntl is not None:  # rename while still locked: never a moment unlocked
                os.replace(temp, path)
        if fcntl is None:  # Windows renames only closed files
            os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside ``path``, created (unlike ``mkstemp``'s 0600) with mode 0666
    less the umask: the kernel applies the umask, and default ACLs, as for any new file."""
    for _ in range(100):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            return os.open(temp, _CREATE_FLAGS, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name beside {path}")


def _lock(fd: int) -> None:
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: the age rule protects
            fcntl.flock(fd, fcntl.LOCK_EX)


def remove_abandoned_temp_files(folder: Path) -> None:
    """Remove the temp files of writers that are gone: older than ``STALE_TEMP_SECONDS``
    and not locked (a killed process's locks are released by the kernel).

    Best effort: a file that cannot be removed (a read-only checkout) stays; it is never read.
    """
    oldest = time.time() - STALE_TEMP_SECONDS
    for temp in folder.glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if temp.lstat().st_mtime < oldest:
                _remove_if_unlocked(temp)


def _remove_if_unlocked(temp: Path) -> None:
    if fcntl is None:
        temp.unlink()  # fails while the writer still has it open
        return
    fd = os.open(temp, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        # Fails while the writer holds its lock, and where locks are unsupported: kept.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        if os.path.samestat(os.fstat(fd), temp.lstat()):  # still the file that was checked
            temp.unlink()
    finally:
        os.close(fd)
