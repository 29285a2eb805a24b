"""What each trace comparison tells CI: the JUnit property, artifacts, the report's data.

Fed one ``Comparison`` at a time by the plugin; holds only plain JSON data, so
pytest-xdist workers ship it to the controller, which writes the end-of-run outputs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..normalize.redact import redact_text
from .artifacts import artifact_dirname, write_artifacts
from .markdown import step_summary_markdown

if TYPE_CHECKING:
    import pytest

    from ..golden.snapshot import Comparison

PROPERTY = "tracediff"
"""Name of the JUnit XML property holding a failing trace's diff summary."""


def _plain(value: Any) -> Any:
    """JSON data only (xdist's channel and json.dumps both need it)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


@dataclass
class ReportCollector:
    """``--trace-artifacts``, ``--trace-report`` and the failing traces of one run."""

    artifacts_dir: Path | None = None
    report_path: Path | None = None
    failures: list[dict[str, str]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    artifact_names: set[str] = field(default_factory=set)
    written: list[Path] = field(default_factory=list)

    def wants(self, comparison: Comparison) -> bool:
        """Only failures are reported, unless an HTML report is asked for."""
        return comparison.outcome.failing or self.report_path is not None

    def record(self, comparison: Comparison, item: pytest.Item | None) -> None:
        """Report one ``assert trace == trace_snapshot`` of the test ``item``."""
        if not self.wants(comparison):
            return
        # A secret used as a parametrize value is in the test id: never in a report.
        nodeid = redact_text(item.nodeid) if item is not None else "?"
        where, summary, diff = comparison.display, comparison.summary, comparison.diff
        if comparison.outcome.failing:
            if item is not None:
                item.user_properties.append((PROPERTY, f"{summary} (golden: {where})"))
            self.failures.append({"nodeid": nodeid, "golden": where, "summary": summary})
            if self.artifacts_dir is not None:
                write_artifacts(
                    self._artifact_folder(nodeid),
                    nodeid=nodeid,
                    golden=where,
                    summary=summary,
                    raw=comparison.raw,
                    actual=comparison.actual,
                    diff=diff,
                    mask=comparison.mask or redact_text,
                )
        if self.report_path is not None:
            golden = comparison.golden
            self.records.append(
                {
                    "nodeid": nodeid,
                    "golden": where,
                    "outcome": comparison.outcome.value,
                    "summary": summary,
                    "actual": _plain(comparison.actual.to_dict()),
                    "expected": _plain(golden.to_dict()) if golden is not None else None,
                    "diff": _plain(diff.to_list()) if diff is not None else [],
                }
            )

    def _artifact_folder(self, nodeid: str) -> Path:
        assert self.artifacts_dir is not None
        name = base = artifact_dirname(nodeid)
        n = 1
        while name in self.artifact_names:  # a second failing comparison in one test
            n += 1
            name = f"{base}.{n}"
        self.artifact_names.add(name)
        return self.artifacts_dir / name

    # -- xdist -------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        return {"failures": self.failures, "records": self.records}

    def merge(self, data: dict[str, Any]) -> None:
        self.failures.extend(data.get("failures", ()))
        self.records.extend(data.get("records", ()))

    # -- end of run (controller only) ----------------------------------------------

    def write(self, counts: dict[str, int], unused: list[str]) -> None:
        """Append to ``$GITHUB_STEP_SUMMARY`` and write ``--trace-report``."""
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary and (counts["checked"] or counts["unused"]):
            with open(step_summary, "a", encoding="utf-8") as out:
                out.write(step_summary_markdown(counts, self.failures))
        if self.report_path is not None:
            from .html import render_report

            page = render_report(
                {
                    "counts": counts,
                    "records": sorted(self.records, key=lambda r: (r["nodeid"], r["golden"])),
                    "unused": unused,
                }
            )
            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            self.report_path.write_text(page, encoding="utf-8")
