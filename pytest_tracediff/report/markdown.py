"""Markdown for CI pages: one cell escaper, the step-summary table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..golden.session import COUNT_KINDS


def cell(text: str) -> str:
    """Markdown table cell: no pipes, newlines or HTML."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return out.replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def step_summary_markdown(counts: Mapping[str, int], failures: Sequence[Mapping[str, str]]) -> str:
    """The ``$GITHUB_STEP_SUMMARY`` section: counts, then one row per failing trace."""
    lines = [
        "",
        "### Trace regression summary (pytest-tracediff)",
        "",
        "| " + " | ".join(COUNT_KINDS) + " |",
        "|" + "---:|" * len(COUNT_KINDS),
        "| " + " | ".join(str(counts.get(kind, 0)) for kind in COUNT_KINDS) + " |",
        "",
    ]
    if failures:
        lines += ["| failing test | golden | diff |", "|---|---|---|"]
        for failure in sorted(failures, key=lambda f: (f["nodeid"], f["golden"])):
            lines.append(f"| {cell(failure['nodeid'])} | {cell(failure['golden'])} | {cell(failure['summary'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"
