"""Goldens that can be trusted: crashes mid-update, odd test ids, xdist, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_tracediff import Trace
from pytest_tracediff.model.files import STALE_TEMP_SECONDS

pytest_plugins = ["pytester"]

UPDATE = "--trace-snapshot-update"


def goldens(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.trace.json"))}


MANY = """
import os
import pytest
from pytest_tracediff import Trace, Step

@pytest.mark.parametrize("n", range({count}))
def test_many(n, trace_snapshot):
    version = os.environ.get("VERSION", "old")
    steps = [Step(step_id=f"s{{i}}", output={{"n": n, "i": i, "v": version, "pad": "x" * 200}}) for i in range(20)]
    assert Trace(steps=steps) == trace_snapshot
"""


@pytest.mark.slow
def test_sigkill_during_update_leaves_only_old_or_new_goldens(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 400
    pytester.makepyfile(test_many=MANY.format(count=count))
    pytester.runpytest_subprocess(UPDATE, "-p", "no:cacheprovider").assert_outcomes(passed=count)
    folder = pytester.path / "__trace_snapshots__" / "test_many"
    old = {p.name: p.read_text() for p in folder.iterdir()}
    env = {**os.environ, "VERSION": "new"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", UPDATE],
        cwd=pytester.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        changed = sum(1 for p in folder.iterdir() if p.name in old and '"v": "new"' in p.read_text())
        if changed >= count // 4:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"

    versions = {"old": 0, "new": 0}
    for path in folder.glob("*.trace.json"):
        trace = Trace.load(path)  # parses: never truncated or empty
        version = trace.steps[0].output["v"]
        versions[version] += 1
        if version == "old":
            assert path.read_text() == old[path.name]
    assert versions["old"] + versions["new"] == count
    assert 0 < versions["new"] < count

    # A stray temp file (as a kill between write and rename leaves) is never read as a
    # golden and is cleaned up by the next update once it is old enough to be provably
    # abandoned (unlocked, and past STALE_TEMP_SECONDS).
    stray = folder / ".test_many[0].trace.json.abc123.tracediff-tmp"
    stray.write_text("{half a golden")
    past = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stray, (past, past))
    monkeypatch.setenv("VERSION", "new")
    result = pytester.runpytest_subprocess(UPDATE, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=count)
    assert not stray.exists()
    assert all('"v": "new"' in p.read_text() for p in folder.glob("*.trace.json"))


ODD_IDS = """
import pytest
from pytest_tracediff import Trace, Step

IDS = {ids!r}

@pytest.mark.parametrize("value", IDS, ids=IDS)
def test_odd(value, trace_snapshot):
    assert Trace(steps=[Step(step_id="s", output=value)]) == trace_snapshot
"""


def test_odd_test_ids_get_unique_safe_names_inside_the_folder(pytester: pytest.Pytester) -> None:
    ids = [
        "a/b",
        "../../escape",
        "..",
        "back\\slash",
        "nul\x00byte",
        "tab\there",
        "caf\u00e9",
        "\u65e5\u672c",
        "x" * 300,
        "x" * 299 + "y",
        "Case",
        "case",
        "pipe|star*colon:",
        "  spaces  ",
    ]
    pytester.makepyfile(test_odd=ODD_IDS.format(ids=ids))
    result = pytester.runpytest(UPDATE)
    result.assert_outcomes(passed=len(ids))
    folder = (pytester.path / "__trace_snapshots__" / "test_odd").resolve()
    files = sorted(folder.iterdir())
    assert len(files) == len(ids)  # unique: nothing overwrote anything
    for path in files:
        assert path.resolve().parent == folder
        assert len(path.name.encode()) <= 255
        assert path.name.endswith(".trace.json")
        assert not path.name.startswith(".")
    assert not list(pytester.path.rglob("escape*"))
    result.stdout.fnmatch_lines(["*differ only in case and collide on case-insensitive file systems*"])
    pytester.runpytest().assert_outcomes(passed=len(ids))
    # Unused detection understands hashed names: nothing is deleted on a no-change update.
    before = goldens(pytester.path)
    rerun = pytester.runpytest(UPDATE)
    rerun.stdout.fnmatch_lines([f"trace goldens: {len(ids)} checked: {len(ids)} matched"])
    assert goldens(pytester.path) == before


XDIST_SUITE = """
import os
import pytest
from pytest_tracediff import Trace, Step

@pytest.mark.parametrize("n", range(12))
def test_param(n, trace_snapshot):
    if n == 3 and os.environ.get("BREAK"):
        raise RuntimeError("broken before asserting")
    out = n * 10 + (1 if os.environ.get("CHANGE") and n % 4 == 0 else 0)
    assert Trace(steps=[Step(step_id="a", output=out)]) == trace_snapshot

def test_named(trace_snapshot):
    assert Trace(steps=[Step(step_id="x")]) == trace_snapshot(name="one")
    if not os.environ.get("DROP_NAMED"):
        assert Trace(steps=[Step(step_id="y")]) == trace_snapshot(name="two")
"""


def _run(pytester: pytest.Pytester, workers: int, *args: str) -> tuple[dict[str, int], dict[str, bytes], str]:
    extra = ("-n", str(workers)) if workers else ("-p", "no:xdist")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *extra, *args)
    summary = [
        line
        for line in result.outlines
        if line.startswith(("trace goldens", "  deleted", "  unused", "  changed", "  created", "  updated"))
    ]
    return result.parseoutcomes(), goldens(pytester.path), "\n".join(sorted(summary))


@pytest.mark.slow
def test_xdist_matches_a_serial_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_suite=XDIST_SUITE)
    results: dict[int, list[tuple[dict[str, int], dict[str, bytes], str]]] = {}
    for workers in (0, 2):
        for path in pytester.path.rglob("*.trace.json"):
            path.unlink()
        monkeypatch.delenv("CHANGE", raising=False)
        monkeypatch.delenv("DROP_NAMED", raising=False)
        monkeypatch.delenv("BREAK", raising=False)
        steps = [_run(pytester, workers, UPDATE), _run(pytester, workers)]
        monkeypatch.setenv("CHANGE", "1")
        steps.append(_run(pytester, workers))  # failures
        steps.append(_run(pytester, workers, UPDATE))  # rewrites
        monkeypatch.setenv("DROP_NAMED", "1")
        monkeypatch.setenv("BREAK", "1")
        steps.append(_run(pytester, workers))  # unused reported, a failing test keeps its golden
        steps.append(_run(pytester, workers, UPDATE))  # unused deleted
        results[workers] = steps
    for serial, parallel in zip(results[0], results[2], strict=True):
        assert parallel[0] == serial[0]
        assert parallel[1] == serial[1]
        assert parallel[2] == serial[2]
    assert "; 1 unused deleted" in results[0][-1][2]
    assert "  unused   __trace_snapshots__/test_suite/test_named[two].trace.json" in results[0][-2][2]
    assert "test_named[two]" not in "".join(results[0][-1][1])
    assert any("test_param[3]" in name for name in results[0][-1][1])


DETERMINISM_SUITE = """
import random, threading, time
from concurrent.futures import ThreadPoolExecutor

def test_determinism(trace_recorder, trace_snapshot):
    rng = random.Random()
    keys = ["k%d" % i for i in range(30)]
    rng.shuffle(keys)  # dict insertion order differs every run
    payload = {k: {"tags": {"x", "y", "z", k}, "n": int(k[1:])} for k in keys}
    with trace_recorder.step("load", input=payload) as s:
        s.output = frozenset(keys)

    def work(name):
        with trace_recorder.step("work_" + name) as s:
            time.sleep(rng.random() / 100)
            s.output = {name: sorted({name, "shared"})}

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, "abcd"))
    assert trace_recorder.trace == trace_snapshot
"""


@pytest.mark.slow
def test_goldens_do_not_depend_on_hash_seed_order_or_timing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_det=DETERMINISM_SUITE)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    pytester.runpytest_subprocess(UPDATE, "-p", "no:cacheprovider").assert_outcomes(passed=1)
    reference = goldens(pytester.path)
    assert json.loads(next(iter(reference.values())))["steps"][0]["step_id"] == "load"
    for seed in ("1", "2", "random"):
        for workers in ("0", "2"):
            monkeypatch.setenv("PYTHONHASHSEED", seed)
            args = ["-p", "no:cacheprovider", *(["-n", workers] if workers != "0" else [])]
            pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)  # a byte change fails here
    assert goldens(pytester.path) == reference
