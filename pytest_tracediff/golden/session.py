"""Per-run bookkeeping of trace goldens: outcomes, counts, unused goldens.

syrupy's own report only deletes under its own ``--snapshot-update``; this is what
lets ``--trace-snapshot-update`` delete unused *trace* goldens and nothing else.
A golden is unused only when no collected test can own it, or every test that
could own it ran, passed, and did not use it. Anything less certain is kept.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.files import TEMP_SUFFIX, TRACE_SUFFIX
from .naming import claims, golden_folder

if TYPE_CHECKING:
    import pytest

IMPROVEMENT_NOTE = "tracediff_budget_improvement"
"""``user_properties`` key of a budget improvement a test noted (it reaches the summary, also from xdist)."""

COUNT_KINDS = ("checked", "matched", "changed", "corrupt", "missing", "written", "unused")
"""The keys of ``counts()``, in the order every summary (terminal, HTML, job summary) shows them."""

Owner = tuple[str, str, str]
"""``(golden folder, name prefix its goldens start with, test node id)``."""


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

    def record(self, location: str, outcome: str) -> None:
        self.outcomes[location] = outcome

    def record_missing(self, location: str) -> None:
        if location not in self.missing:
            self.missing.append(location)

    def record_item(self, nodeid: str, when: str, outcome: str) -> None:
        if when == "call" or outcome != "passed":
            self.item_outcomes[nodeid] = outcome

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
        path = Path(location)
        try:
            return str(path.relative_to(self.rootpath))
        except ValueError:
            return str(path)

    # -- xdist -------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """What a worker sends to the controller (plain data)."""
        return {
            "outcomes": self.outcomes,
            "missing": self.missing,
            "owners": sorted(self.owners),
            "collected_any": self.collected_any,
        }

    def merge(self, data: dict[str, Any]) -> None:
        self.outcomes.update(data["outcomes"])
        for location in data["missing"]:
            self.record_missing(location)
        self.owners.update((str(a), str(b), str(c)) for a, b, c in data["owners"])
        self.collected_any = self.collected_any or bool(data["collected_any"])

    # -- unused goldens ------------------------------------------------------

    def find_unused(self) -> list[Path]:
        by_folder: dict[str, list[tuple[str, str]]] = {}
        for folder, prefix, nodeid in self.owners:
            by_folder.setdefault(folder, []).append((prefix, nodeid))
        unused: list[Path] = []
        for folder, owners in by_folder.items():
            module = Path(folder).parent.parent / f"{Path(folder).name}.py"
            narrowed = str(module) in self.narrowed
            for golden in sorted(Path(folder).glob(f"*{TRACE_SUFFIX}")):
                if str(golden) in self.outcomes:
                    continue
                stem = golden.name[: -len(TRACE_SUFFIX)]
                claimers = [n for prefix, n in owners if claims(prefix, stem)]
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

    def _remove_stale_temp_files(self) -> None:
        """A killed run can leave temp files; they are never read, and removed here."""
        for folder in {owner[0] for owner in self.owners}:
            for temp in Path(folder).glob(f".*{TEMP_SUFFIX}"):
                temp.unlink(missing_ok=True)

    def finish(self) -> None:
        """Find unused goldens; under the update flag delete them. Controller only."""
        if not self.collected_any:
            return
        self._remove_stale_temp_files()
        found = self.find_unused()
        self.unused = [str(p) for p in found]
        if not self.update:
            return
        for path in found:
            path.unlink(missing_ok=True)
            self.deleted.append(str(path))
            with contextlib.suppress(OSError):  # the folder still holds other goldens
                path.parent.rmdir()
        self.unused = []

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
