"""Per-run bookkeeping of trace goldens: outcomes, counts, unused goldens.

syrupy's own report only deletes under its own ``--snapshot-update``; this is what
lets ``--trace-snapshot-update`` delete unused *trace* goldens and nothing else.
A golden is unused only when no collected test can own it, or every test that
could own it ran, passed, and did not use it. Anything less certain is kept.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.files import TRACE_SUFFIX, remove_abandoned_temp_files
from .naming import MAX_STEM, claims, golden_folder

if TYPE_CHECKING:
    import pytest

IMPROVEMENT_NOTE = "tracediff_budget_improvement"
"""``user_properties`` key of a budget improvement a test noted (it reaches the summary, also from xdist)."""

COUNT_KINDS = ("checked", "matched", "changed", "corrupt", "missing", "written", "unused")
"""The keys of ``counts()``, in the order every summary (terminal, HTML, job summary) shows them."""

Owner = tuple[str, str, str]
"""``(golden folder, name prefix its goldens start with, test node id)``."""

# When one golden is compared more than once in a run (--keep-duplicates, pytest-repeat,
# xdist workers), the run reports the outcome that matters most: a failure is never
# hidden by a later pass, and a golden created in this run stays "created".
_WEIGHT = {"matched": 0, "updated": 1, "created": 2, "failed": 3}


@dataclass
class TraceSnapshotSession:
    """Everything one run learns about trace goldens.

    Under pytest-xdist each worker fills one and ships ``export()`` to the
    controller, which ``merge()``s them and alone decides what is unused.
    """

    rootpath: Path
    update: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    owners: set[Owner] = field(default_factory=set)
    item_outcomes: dict[str, str] = field(default_factory=dict)
    narrowed: set[str] = field(default_factory=set)
    collected_any: bool = False
    rewritten: list[str] = field(default_factory=list)
    """Goldens written again, with other content, by a second comparison in this run."""
    undeletable: dict[str, str] = field(default_factory=dict)
    """Unused goldens an update could not delete, with the reason."""
    attempt: dict[str, str | None] = field(default_factory=dict)
    """The goldens the running test compared, with their outcome before it."""

    def record(self, location: str, outcome: str) -> None:
        before = self.outcomes.get(location)
        self.attempt.setdefault(location, before)
        if before is not None and outcome == "updated" and location not in self.rewritten:
            self.rewritten.append(location)  # it differed from what this run wrote first
        self._keep(location, outcome)

    def _keep(self, location: str, outcome: str) -> None:
        before = self.outcomes.get(location)
        if before is None or _WEIGHT.get(outcome, 0) >= _WEIGHT.get(before, 0):
            self.outcomes[location] = outcome

    def record_missing(self, location: str) -> None:
        if location not in self.missing:
            self.missing.append(location)

    def record_item(self, nodeid: str, when: str, outcome: str) -> None:
        if outcome == "rerun":  # pytest-rerunfailures runs it again: this attempt's failures do not count
            for location, before in self.attempt.items():
                if self.outcomes.get(location) == "failed":
                    self._forget(location, before)
        if outcome == "rerun" or when == "teardown":
            self.attempt.clear()
        if when == "call" or outcome != "passed":
            self.item_outcomes[nodeid] = outcome

    def _forget(self, location: str, before: str | None) -> None:
        if before is None:
            del self.outcomes[location]
        else:
            self.outcomes[location] = before

    def record_collection(self, items: list[pytest.Item]) -> None:
        """Remember which tests could own goldens (cheap: only modules that have goldens).

        syrupy and the snapshot module are imported only when some module has
        goldens, so a suite without trace goldens pays nothing for them here.
        """
        self.collected_any = self.collected_any or bool(items)
        has_goldens: dict[Path, bool] = {}
        for item in items:
            folder = golden_folder(item.path)
            if folder not in has_goldens:
                has_goldens[folder] = folder.is_dir()
            if has_goldens[folder]:
                from syrupy.location import PyTestLocation

                from .extension import claim_prefix

                self.owners.add((str(folder), claim_prefix(PyTestLocation(item)), item.nodeid))

    def display(self, location: str) -> str:
        """``location`` relative to the rootdir, when it is inside it (string work: once per assertion)."""
        root = str(self.rootpath).rstrip("/" + os.sep)
        if location.startswith(root) and location[len(root) : len(root) + 1] in ("/", os.sep):
            return location[len(root) + 1 :]
        return location

    # -- xdist -------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """What a worker sends to the controller (plain data)."""
        return {
            "outcomes": self.outcomes,
            "missing": self.missing,
            "owners": sorted(self.owners),
            "collected_any": self.collected_any,
            "rewritten": self.rewritten,
        }

    def merge(self, data: dict[str, Any]) -> None:
        for location, outcome in data["outcomes"].items():
            self._keep(location, outcome)  # two workers may both have written it, alike
        self.rewritten += [p for p in data["rewritten"] if p not in self.rewritten]
        for location in data["missing"]:
            self.record_missing(location)
        self.owners.update((str(a), str(b), str(c)) for a, b, c in data["owners"])
        self.collected_any = self.collected_any or bool(data["collected_any"])

    # -- unused goldens ------------------------------------------------------

    def find_unused(self) -> list[Path]:
        # Owners indexed by folder and name prefix once: each golden then looks up only
        # the few prefixes that could claim it, so the check is linear in goldens + tests.
        by_folder: dict[str, dict[str, list[str]]] = {}
        for folder, prefix, nodeid in self.owners:
            by_folder.setdefault(folder, {}).setdefault(prefix, []).append(nodeid)
        unused: list[Path] = []
        for folder, owners in by_folder.items():
            module = Path(folder).parent.parent / f"{Path(folder).name}.py"
            narrowed = str(module) in self.narrowed
            for golden in sorted(Path(folder).glob(f"*{TRACE_SUFFIX}")):
                if str(golden) in self.outcomes:
                    continue
                stem = golden.name[: -len(TRACE_SUFFIX)]
                claimers = [n for p in _claiming_prefixes(stem) if claims(p, stem) for n in owners.get(p, ())]
                if claimers:
                    if all(self.item_outcomes.get(n) == "passed" for n in claimers):
                        unused.append(golden)
                elif not narrowed:
                    unused.append(golden)
        for snapshot_root in {Path(folder).parent for folder in by_folder}:
            for module_folder in sorted(p for p in snapshot_root.iterdir() if p.is_dir()):
                if not (snapshot_root.parent / f"{module_folder.name}.py").exists():
                    unused.extend(sorted(module_folder.glob(f"*{TRACE_SUFFIX}")))
        return unused

    def finish(self) -> None:
        """Find unused goldens; under the update flag delete them. Controller only.

        An update also removes temp files a killed writer left (never those of a run
        still writing); a plain run writes nothing, and deletes nothing.
        """
        if not self.collected_any:
            return
        found = self.find_unused()
        self.unused = [str(p) for p in found]
        if not self.update:
            return
        for folder in sorted({owner[0] for owner in self.owners}):
            remove_abandoned_temp_files(Path(folder))
        for path in found:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # a read-only checkout: reported, never a traceback
                self.undeletable[str(path)] = exc.strerror or str(exc)
                continue
            self.deleted.append(str(path))
            with contextlib.suppress(OSError):  # the folder still holds other goldens
                path.parent.rmdir()
        self.unused = list(self.undeletable)

    def problems(self) -> list[str]:
        """What went wrong with the goldens themselves, one line each (for the summary)."""
        lines = [
            f"could not delete unused trace golden {self.display(path)} ({reason}); "
            "delete it by hand, or run the update where the folder is writable"
            for path, reason in self.undeletable.items()
        ]
        lines += [
            f"trace golden {self.display(path)} was written more than once in this run with different "
            "content: the trace is not deterministic (normalize the part that varies)"
            for path in self.rewritten
        ]
        return lines

    # -- report ----------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Comparisons per kind (``COUNT_KINDS``) and ``checked``, their sum; ``unused``
        counts golden files no test used (deleted ones too, under the update flag)."""
        counts = Counter(self.outcomes.values())
        out = {
            "matched": counts["matched"],
            "changed": counts["failed"],
            "corrupt": counts["corrupt"],
            "missing": len(set(self.missing) - set(self.outcomes)),
            "written": counts["created"] + counts["updated"],
        }
        return {"checked": sum(out.values()), **out, "unused": len(self.unused) + len(self.deleted)}


def _claiming_prefixes(stem: str) -> set[str]:
    """Every name prefix that ``naming.claims`` could accept for ``stem``: the stem itself,
    the stem cut before each ``.``, ``[`` or ``~``, and its first ``MAX_STEM`` characters."""
    found = {stem, stem[:MAX_STEM]}
    found.update(stem[:k] for k, char in enumerate(stem) if char in ".[~")
    return found
