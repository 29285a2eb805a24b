"""The one end-of-run summary under ``trace snapshot summary`` in the terminal.

One count line whose parts add up (``checked`` = matched + changed + corrupt + missing
+ written), one line per golden that needs attention, one line saying what fixes them,
then where the report and artifacts went. It names only ``--trace-snapshot-update``,
never syrupy's ``--snapshot-update`` (which rewrites every syrupy snapshot too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UPDATE_FLAG
from ..golden.session import IMPROVEMENT_NOTE

if TYPE_CHECKING:
    from ..golden.session import TraceSnapshotSession

# Outcome values (golden.snapshot.Outcome) under the word the summary uses for them.
_LISTED = (("failed", "changed"), ("corrupt", "corrupt"), ("created", "created"), ("updated", "updated"))
_FIXES = (("changed", "rewrites"), ("corrupt", "replaces"), ("missing", "creates"), ("unused", "deletes"))


def summary_lines(
    session: TraceSnapshotSession,
    notes: Iterable[str] = (),
    *,
    report: Path | None = None,
    artifacts: Path | None = None,
    failing: int = 0,
) -> list[str]:
    """The golden counts and what to do, budget notes, then where the outputs went."""
    return [*_golden_lines(session), *_budget_lines(notes), *output_lines(report, artifacts, failing)]


def count_line(session: TraceSnapshotSession) -> str | None:
    """``trace goldens: 4 checked: 1 matched, 1 changed, 1 corrupt, 1 missing; 1 unused``."""
    c = session.counts()
    if not (c["checked"] or c["unused"]):
        return None
    by_outcome = Counter(session.outcomes.values())
    parts = [f"{c['matched']} matched"]
    parts += [f"{c[kind]} {kind}" for kind in ("changed", "corrupt", "missing") if c[kind]]
    if c["written"]:
        parts.append(f"{c['written']} written ({by_outcome['created']} created, {by_outcome['updated']} updated)")
    line = f"trace goldens: {c['checked']} checked: " + ", ".join(parts)
    if session.deleted:
        line += f"; {len(session.deleted)} unused deleted"
    elif session.unused:
        line += f"; {len(session.unused)} unused"
    return line


def _golden_lines(session: TraceSnapshotSession) -> list[str]:
    line = count_line(session)
    lines = [line] if line is not None else []
    listed: list[tuple[str, str]] = []
    for outcome, word in _LISTED:
        listed += [(word, p) for p, o in sorted(session.outcomes.items()) if o == outcome]
    listed += [("missing", p) for p in sorted(set(session.missing) - set(session.outcomes))]
    listed += [("unused", p) for p in sorted(session.unused)]
    listed += [("deleted", p) for p in sorted(session.deleted)]
    lines += [f"  {word:<8} {session.display(path)}" for word, path in listed]
    found = {word for word, _ in listed}
    todo = [f"{verb} the {word}" for word, verb in _FIXES if word in found]
    if todo and not session.update:
        lines.append(
            f"  if intended: `pytest {UPDATE_FLAG}` {_join(todo)} trace goldens (nothing else), then review `git diff`"
        )
    return lines + _collisions(session)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _collisions(session: TraceSnapshotSession) -> list[str]:
    """Goldens whose names differ only in case: one file on macOS and Windows."""
    groups: dict[str, list[str]] = {}
    for path in sorted(session.outcomes):
        groups.setdefault(path.casefold(), []).append(path)
    lines = []
    for group in (sorted(g) for g in groups.values() if len(g) > 1):
        names = " and ".join(session.display(p) for p in group)
        lines.append(f"trace goldens {names} differ only in case and collide on case-insensitive file systems")
    return lines


def _budget_lines(notes: Iterable[str]) -> list[str]:
    found = sorted(set(notes))
    if not found:
        return []
    return [f"trace budgets: {len(found)} total(s) improved (refresh the goldens to lock it in):"] + [
        f"  {note}" for note in found
    ]


def output_lines(report: Path | None, artifacts: Path | None, failing: int) -> list[str]:
    """Where ``--trace-report`` and ``--trace-artifacts`` wrote (asked for, so always said)."""
    lines = []
    if report is not None:
        lines.append(f"trace report: {report}")
    if artifacts is not None:
        if failing:
            lines.append(f"trace artifacts: {artifacts} ({failing} failing comparison(s), one folder each)")
        else:
            lines.append(f"trace artifacts: none written to {artifacts} (no failing comparison)")
    return lines


def budget_notes(user_properties: Iterable[Iterable[tuple[str, object]]]) -> list[str]:
    """The budget improvements tests noted in their ``user_properties`` (xdist workers' too)."""
    return [str(v) for props in user_properties for k, v in props if k == IMPROVEMENT_NOTE]
