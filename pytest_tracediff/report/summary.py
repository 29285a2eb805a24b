"""The end-of-run summary under ``trace snapshot summary`` in the terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import UPDATE_FLAG
from ..golden.session import IMPROVEMENT_NOTE

if TYPE_CHECKING:
    from ..golden.session import TraceSnapshotSession


def summary_lines(session: TraceSnapshotSession, notes: Iterable[str] = ()) -> list[str]:
    """The golden counts and what to do about missing or unused goldens, then budget notes."""
    return [*_golden_lines(session), *_budget_lines(notes)]


def count_line(session: TraceSnapshotSession) -> list[str]:
    c = session.counts()
    if not (c["checked"] or c["unused"]):
        return []
    missing = f", {c['missing']} missing" if c["missing"] else ""
    return [
        f"traces: {c['checked']} checked, {c['passed']} passed, {c['changed']} changed{missing}, "
        f"{c['written']} written, {c['unused']} unused"
    ]


def _golden_lines(session: TraceSnapshotSession) -> list[str]:
    counts = Counter(session.outcomes.values())
    lines = count_line(session)
    collisions = _collisions(session)
    if session.update:
        lines.append(
            f"trace goldens: {counts['created']} created, {counts['updated']} updated, "
            f"{len(session.deleted)} deleted, {counts['matched']} unchanged"
        )
        lines += [f"  deleted {session.display(p)}" for p in session.deleted]
        return lines + collisions
    lines += collisions
    if counts["matched"] or counts["failed"]:
        lines.append(f"trace goldens: {counts['matched']} matched, {counts['failed']} failed")
    if session.missing:
        lines.append(f"{len(session.missing)} trace golden(s) missing; create with `pytest {UPDATE_FLAG}`:")
        lines += [f"  {session.display(p)}" for p in session.missing]
    if session.unused:
        lines.append(f"{len(session.unused)} unused trace golden(s); delete with `pytest {UPDATE_FLAG}`:")
        lines += [f"  {session.display(p)}" for p in session.unused]
    return lines


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


def budget_notes(user_properties: Iterable[Iterable[tuple[str, object]]]) -> list[str]:
    """The budget improvements tests noted in their ``user_properties`` (xdist workers' too)."""
    return [str(v) for props in user_properties for k, v in props if k == IMPROVEMENT_NOTE]
