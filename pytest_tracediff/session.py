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
from typing import TYPE_CHECKING

from .errors import UPDATE_FLAG

if TYPE_CHECKING:
    import pytest

SUFFIX = ".trace.json"


@dataclass
class TraceSnapshotSession:
    rootpath: Path
    update: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    collected: list[pytest.Item] = field(default_factory=list)
    item_outcomes: dict[str, str] = field(default_factory=dict)
    narrowed: set[Path] = field(default_factory=set)

    def record(self, location: str, outcome: str) -> None:
        self.outcomes[location] = outcome

    def record_missing(self, location: str) -> None:
        self.missing.append(location)

    def record_item(self, nodeid: str, when: str, outcome: str) -> None:
        if when == "call" or outcome != "passed":
            self.item_outcomes[nodeid] = outcome

    def display(self, location: str) -> str:
        path = Path(location)
        try:
            return str(path.relative_to(self.rootpath))
        except ValueError:
            return str(path)

    # -- unused goldens ------------------------------------------------------

    def find_unused(self) -> list[Path]:
        from syrupy.location import PyTestLocation

        from .snapshot import TraceSnapshotExtension

        owners: dict[Path, list[tuple[str, str]]] = {}
        for item in self.collected:
            module_dir = item.path.parent / TraceSnapshotExtension.snapshot_dirname / item.path.stem
            if not module_dir.is_dir():
                continue
            location = PyTestLocation(item)
            base = TraceSnapshotExtension.get_snapshot_name(test_location=location, index=0)
            owners.setdefault(module_dir, []).append((base, item.nodeid))
        unused: list[Path] = []
        for module_dir, claims in owners.items():
            narrowed = module_dir.parent.parent / f"{module_dir.name}.py" in self.narrowed
            for golden in sorted(module_dir.glob(f"*{SUFFIX}")):
                if str(golden) in self.outcomes:
                    continue
                stem = golden.name[: -len(SUFFIX)]
                claimers = [n for base, n in claims if stem == base or stem.startswith((base + ".", base + "["))]
                if claimers:
                    if all(self.item_outcomes.get(n) == "passed" for n in claimers):
                        unused.append(golden)
                elif not narrowed:
                    unused.append(golden)
        for snapshot_root in {d.parent for d in owners}:
            for module_dir in sorted(p for p in snapshot_root.iterdir() if p.is_dir()):
                if not (snapshot_root.parent / f"{module_dir.name}.py").exists():
                    unused.extend(sorted(module_dir.glob(f"*{SUFFIX}")))
        return unused

    def finish(self) -> None:
        """Find unused goldens; under the update flag delete them."""
        if not self.collected:
            return
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

    def summary_lines(self) -> list[str]:
        counts = Counter(self.outcomes.values())
        lines: list[str] = []
        if self.update:
            lines.append(
                f"trace goldens: {counts['created']} created, {counts['updated']} updated, "
                f"{len(self.deleted)} deleted, {counts['matched']} unchanged"
            )
            lines += [f"  deleted {self.display(p)}" for p in self.deleted]
            return lines
        if counts["matched"] or counts["failed"]:
            lines.append(f"trace goldens: {counts['matched']} matched, {counts['failed']} failed")
        if self.missing:
            lines.append(f"{len(self.missing)} trace golden(s) missing; create with `pytest {UPDATE_FLAG}`:")
            lines += [f"  {self.display(p)}" for p in self.missing]
        if self.unused:
            lines.append(f"{len(self.unused)} unused trace golden(s); delete with `pytest {UPDATE_FLAG}`:")
            lines += [f"  {self.display(p)}" for p in self.unused]
        return lines
