"""Trace files as the file system really is: modes, FIFOs, devices, huge files, BOMs,
two runs at once, and read-only checkouts (issue 12, "Files and processes")."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_tracediff import Step, Trace
from pytest_tracediff.cli import main
from pytest_tracediff.errors import GoldenFileError
from pytest_tracediff.model import files
from pytest_tracediff.model.files import STALE_TEMP_SECONDS, TEMP_SUFFIX, atomic_write_text, read_trace_text

pytest_plugins = ["pytester"]

UPDATE = "--trace-snapshot-update"
TEST_ONE = """
from pytest_tracediff import Trace, Step

def test_one(trace_snapshot):
    assert Trace(steps=[Step(step_id="s", output=1)]) == trace_snapshot
"""


def small_trace() -> Trace:
    return Trace(source="x", steps=[Step(step_id="a", output={"n": 1})])


@pytest.fixture
def umask() -> Iterator[None]:
    """Run the test under umask 022 (the common default), and restore the caller's."""
    old = os.umask(0o022)
    yield
    os.umask(old)


# -- modes (issue 11, item 3) --------------------------------------------------------


@pytest.mark.usefixtures("umask")
def test_atomic_write_creates_files_with_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "new" / "a.trace.json"
    atomic_write_text(target, "{}\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    os.umask(0o027)
    atomic_write_text(target, "{ }\n")  # replacing a file: the new one has the umask's mode too
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text() == "{ }\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.trace.json"]  # no temp file left


@pytest.mark.usefixtures("umask")
def test_goldens_and_convert_output_are_0644(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=TEST_ONE)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    golden = pytester.path / "__trace_snapshots__" / "test_one" / "test_one.trace.json"
    assert stat.S_IMODE(golden.stat().st_mode) == 0o644
    out = pytester.path / "out.trace.json"
    assert main(["convert", str(golden), "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


# -- what a trace file may be ------------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_golden_that_is_a_symlink_to_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    golden = tmp_path / "test_x.trace.json"
    golden.symlink_to(fifo)
    with pytest.raises(GoldenFileError, match=r"test_x\.trace\.json is not a regular file \(a FIFO\)"):
        read_trace_text(golden)


@pytest.mark.timeout(20)
def test_a_golden_that_is_a_symlink_to_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    golden = tmp_path / "test_x.trace.json"
    golden.symlink_to("/dev/zero")
    with pytest.raises(GoldenFileError, match=r"is not a regular file \(a character device\)"):
        read_trace_text(golden)


@pytest.mark.timeout(60)
def test_a_fifo_golden_fails_its_test_with_the_file_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=TEST_ONE)
    folder = pytester.path / "__trace_snapshots__" / "test_one"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "test_one.trace.json")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_one.trace.json is not a regular file (a FIFO)*"])


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.trace.json"
    with huge.open("wb") as handle:  # sparse: costs no disk, and is never read
        handle.truncate(files.MAX_TRACE_BYTES + 1)
    with pytest.raises(GoldenFileError) as info:
        read_trace_text(huge)
    assert str(huge) in str(info.value)
    assert "over the 256 MiB limit for trace files" in info.value.problem


def test_the_size_limit_also_holds_for_a_file_that_grows_while_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file can grow between the size check and the read: the read itself stops at the limit.
    monkeypatch.setattr(files, "MAX_TRACE_BYTES", 10)
    target = tmp_path / "t.trace.json"
    target.write_text("{}")
    real_fstat = os.fstat

    def grow(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        target.write_text("x" * 100)
        return result

    monkeypatch.setattr(os, "fstat", grow)
    with pytest.raises(GoldenFileError, match="over the"):
        read_trace_text(target)


def test_a_utf8_bom_is_accepted_everywhere(
    tmp_path: Path, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.trace.json"
    small_trace().save(plain)
    bom = tmp_path / "bom.trace.json"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())  # as Windows editors save
    assert read_trace_text(bom) == plain.read_text()
    assert Trace.load(bom) == small_trace()
    assert main(["show", str(bom)]) == 0
    assert main(["compare", str(plain), str(bom)]) == 0
    assert main(["convert", str(bom)]) == 0
    capsys.readouterr()
    # And as a golden: it matches, and a plain run leaves it as it is.
    pytester.makepyfile(test_one=TEST_ONE)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    golden = pytester.path / "__trace_snapshots__" / "test_one" / "test_one.trace.json"
    golden.write_bytes(b"\xef\xbb\xbf" + golden.read_bytes())
    pytester.runpytest().assert_outcomes(passed=1)
    assert golden.read_bytes().startswith(b"\xef\xbb\xbf")


# -- temp files: only provably abandoned ones are removed --------------------------------


def _temp(folder: Path, age: float, name: str = "abc123") -> Path:
    temp = folder / f".test_one.trace.json.{name}{TEMP_SUFFIX}"
    temp.write_text("{half a golden")
    past = time.time() - age
    os.utime(temp, (past, past))
    return temp


def test_an_update_removes_old_unlocked_temp_files_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=TEST_ONE)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    folder = pytester.path / "__trace_snapshots__" / "test_one"
    stale = _temp(folder, STALE_TEMP_SECONDS + 60)
    young = folder / f".test_one.trace.json.young{TEMP_SUFFIX}"
    young.write_text("{")
    held = _temp(folder, STALE_TEMP_SECONDS + 60, "held")
    pytester.runpytest().assert_outcomes(passed=1)
    assert stale.exists()  # a plain run writes nothing, and deletes nothing
    with held.open("a") as writer:
        fcntl = pytest.importorskip("fcntl")
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # as a live writer holds it, however old
        pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    assert not stale.exists()
    assert young.exists()  # it may belong to a run that has just created it
    assert held.exists()


WRITER_CONFTEST = """
import os, pathlib, time

_real_fsync = os.fsync

def _paused_fsync(fd):
    # The update run under test pauses mid-write (its temp file written, not yet
    # renamed) until the other run has finished.
    if os.environ.get("PAUSE_WRITES"):
        here = pathlib.Path(__file__).parent
        (here / "writing").touch()
        deadline = time.monotonic() + 120
        while not (here / "other-done").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    _real_fsync(fd)

os.fsync = _paused_fsync
"""


def _pytest(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("other", ["plain", "update"])
def test_a_run_never_deletes_the_temp_file_another_run_is_writing(pytester: pytest.Pytester, other: str) -> None:
    pytester.makeconftest(WRITER_CONFTEST)
    changing = TEST_ONE.replace("output=1", "output=int(os.environ.get('VALUE', '1'))")
    pytester.makepyfile(test_one="import os\n" + changing, test_two=TEST_ONE.replace("test_one", "test_two"))
    pytester.runpytest_subprocess(UPDATE, "-p", "no:cacheprovider").assert_outcomes(passed=2)
    golden = pytester.path / "__trace_snapshots__" / "test_one" / "test_one.trace.json"
    writer = _pytest(pytester.path, UPDATE, "test_one.py", PAUSE_WRITES="1", VALUE="2")
    deadline = time.monotonic() + 120
    while not (pytester.path / "writing").exists():
        assert writer.poll() is None, writer.communicate()[0]
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.05)
    assert list(golden.parent.glob(f"*{TEMP_SUFFIX}"))  # in flight
    args = [UPDATE] if other == "update" else []
    beside = _pytest(pytester.path, *args)
    out, _ = beside.communicate(timeout=120)
    assert beside.returncode == 0, out
    (pytester.path / "other-done").touch()
    out, _ = writer.communicate(timeout=120)
    assert writer.returncode == 0, out
    assert Trace.load(golden).steps[0].output == 2
    assert not list(golden.parent.glob(f"*{TEMP_SUFFIX}"))


# -- read-only checkouts (real ones: a read-only bind mount in a private mount namespace) --


@functools.cache
def _read_only_mounts() -> str | None:
    """Why read-only bind mounts cannot be made here, or None when they can."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "needs Linux and unshare(1)"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind / / && mount -o remount,bind,ro / /"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -m cannot bind-mount here: {probe.stderr.strip()}"
    return None


def run_read_only(folder: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``cwd`` with ``folder`` mounted read-only (even for root), for this process only."""
    reason = _read_only_mounts()
    if reason is not None:
        pytest.skip(reason)
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *command],
        cwd=cwd,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_a_plain_run_in_a_read_only_checkout_with_a_stale_temp_file_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=TEST_ONE)
    pytester.runpytest(UPDATE).assert_outcomes(passed=1)
    folder = pytester.path / "__trace_snapshots__" / "test_one"
    stale = _temp(folder, STALE_TEMP_SECONDS + 60)
    result = run_read_only(folder, pytester.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert stale.exists()
    # An update cannot remove it either, and says nothing about a file it never needed.
    result = run_read_only(folder, pytester.path, UPDATE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_an_update_that_cannot_delete_an_unused_golden_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one=TEST_ONE + TEST_ONE.replace("test_one", "test_gone"))
    pytester.runpytest(UPDATE).assert_outcomes(passed=2)
    pytester.makepyfile(test_one=TEST_ONE)
    folder = pytester.path / "__trace_snapshots__" / "test_one"
    result = run_read_only(folder, pytester.path, UPDATE)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert "could not delete unused trace golden __trace_snapshots__/test_one/test_gone.trace.json" in output
    assert "Read-only file system" in output
    assert result.returncode == 1  # the update did not finish what it was asked to do
    assert (folder / "test_gone.trace.json").exists()
