"""The ``--trace-report`` page: one self-contained HTML file, from plain data.

``render_report(data)`` is a pure function (no pytest, no I/O). ``data`` holds
``counts`` (``golden.session.COUNT_KINDS``), ``records`` (one per trace comparison:
``nodeid``, ``golden``, ``outcome``, ``summary``, ``actual`` and ``expected`` as
``Trace.to_dict()`` data, ``diff`` as ``TraceDiff.to_list()``) and ``unused`` (golden
paths). CSS and JS are inline; nothing is fetched. Every value from a trace is user
data and is escaped.

Golden and actual are one table of aligned rows (the diff's own step alignment), so
a step added or removed is a gap on the other side and every later row stays level.
"""

from __future__ import annotations

import json
import re
from difflib import SequenceMatcher
from html import escape
from typing import Any

from ..compare.budget import step_totals
from ..compare.diff import align_occurrences
from ..golden.session import COUNT_KINDS
from ..model import Step, Trace, group_attempts

_OUTCOME_LABEL = {
    "matched": "matched",
    "created": "written",
    "updated": "written",
    "failed": "changed",
    "corrupt": "corrupt",
    "missing": "missing",
}
_FAILING = frozenset({"failed", "corrupt", "missing"})
_KIND_SYMBOL = {"step_added": "+", "step_removed": "\u2212"}
_PAYLOAD_FIELDS = ("input", "output", "error", "failure_class", "attributes")
_HIGHLIGHT_LIMIT = 20_000
"""Longest text (words, or lines of JSON) highlighted inside; longer is shown whole."""
_WORDS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)

_CSS = """
:root { color-scheme: light dark;
  --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#667085; --line:#e3e6ec; --soft:#f9fafb; --row:#f0f1f4;
  --hover:#f5f8ff; --pay:#fbfbfc; --head:#1d2330; --head-card:#2a3242; --head-line:#3b4558; --head-mute:#aab2c0;
  --ok:#1a7f37; --ok-bg:#e6f4ea; --bad:#c62828; --bad-bg:#fdecea; --warn:#9a6700; --warn-bg:#fff4d6;
  --info:#0b5cad; --info-bg:#e7f0fb; --add-bg:#e6f4ea; --del-bg:#fdecea; --chg-bg:#fff4d6;
  --ins:#aceebb; --del:#ffc1bd; --chip:#fff; --chip-line:#e9c46a; --chip-ink:#7a5200; --gray-bg:#eef0f3;
  --gray:#475467; --gap:#eceef2; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#0f1217; --card:#171b22; --ink:#e4e7ec; --mute:#98a2b3; --line:#2b313c; --soft:#1d222b;
    --row:#232833; --hover:#1e2531; --pay:#12161c; --head:#0b0d11; --head-card:#1d222b; --head-line:#2f3644;
    --ok:#5fd08a; --ok-bg:#12301e; --bad:#ff8a80; --bad-bg:#3a1718; --warn:#f2c35b; --warn-bg:#33290f;
    --info:#8cc4ff; --info-bg:#10253d; --add-bg:#12301e; --del-bg:#3a1718; --chg-bg:#2f2710;
    --ins:#1f6b3a; --del:#7d2a2a; --chip:#1d222b; --chip-line:#8a6d1f; --chip-ink:#f2c35b; --gray-bg:#262c36;
    --gray:#c0c7d2; --gap:#1b1f27; }
}
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color:var(--ink); background:var(--bg); }
header { background:var(--head); color:#fff; padding:18px 28px 14px; }
header h1 { margin:0 0 12px; font-size:20px; font-weight:600; }
header h1 small { color:var(--head-mute); font-weight:400; font-size:13px; margin-left:8px; }
.cards { display:flex; gap:10px; flex-wrap:wrap; }
.card { background:var(--head-card); border-radius:8px; padding:8px 16px; min-width:96px; }
.card b { display:block; font-size:22px; line-height:1.2; }
.card span { color:var(--head-mute); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card.matched b { color:#7ee2a0; } .card.changed b, .card.missing b, .card.corrupt b { color:#ff9d97; }
.card.written b { color:#8cc4ff; } .card.unused b { color:#ffd479; }
.card.zero b { color:#7d8596; }
.toolbar { margin-top:14px; display:flex; gap:12px; align-items:center; font-size:13px; flex-wrap:wrap; }
.toolbar button { background:var(--head-card); color:#fff; border:1px solid var(--head-line); border-radius:6px;
  padding:4px 10px; cursor:pointer; font:inherit; }
main { padding:18px 28px 40px; }
.empty { color:var(--mute); }
details.trace { background:var(--card); border:1px solid var(--line); border-radius:8px; margin:0 0 12px;
  box-shadow:0 1px 2px rgba(16,24,40,.04); }
details.trace.is-failing { border-left:4px solid var(--bad); }
details.trace > summary { cursor:pointer; padding:10px 14px; display:flex; gap:4px 10px; align-items:baseline;
  flex-wrap:wrap; list-style:none; }
details.trace > summary::-webkit-details-marker { display:none; }
details.trace > summary::before { content:"\\25B8"; color:var(--mute); width:10px; }
details.trace[open] > summary::before { content:"\\25BE"; }
.nodeid { font:600 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap:break-word;
  min-width:0; }
.golden { color:var(--mute); font-size:12px; font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap:break-word; min-width:0; }
.summary { color:var(--ink); font-size:13px; margin-left:auto; }
.badge { display:inline-block; border-radius:10px; padding:1px 8px; font-size:12px; font-weight:600;
  white-space:nowrap; }
.b-matched, .s-completed { background:var(--ok-bg); color:var(--ok); }
.b-changed, .b-missing, .b-corrupt, .s-failed, .s-timed_out { background:var(--bad-bg); color:var(--bad); }
.b-written { background:var(--info-bg); color:var(--info); }
.s-skipped, .s-cancelled, .s-running { background:var(--gray-bg); color:var(--gray); }
.body { padding:4px 14px 14px; }
.problem { background:var(--bad-bg); color:var(--ink); border-radius:6px; padding:8px 10px; }
h3 { font-size:13px; margin:12px 0 6px; color:var(--mute); text-transform:uppercase; letter-spacing:.04em; }
table { border-collapse:collapse; width:100%; font-size:13px; table-layout:fixed; }
th { text-align:left; font-weight:600; color:var(--mute); font-size:12px; border-bottom:1px solid var(--line);
  padding:4px 8px; }
td { border-bottom:1px solid var(--row); padding:4px 8px; vertical-align:top; overflow-wrap:break-word; }
.changes col.kind { width:130px; } .changes col.step { width:22%; } .changes col.path { width:16%; }
.changes td.kind { font-weight:600; color:var(--warn); }
.changes tr.k-step_added td.kind { color:var(--ok); } .changes tr.k-step_removed td.kind { color:var(--bad); }
pre, code.v { font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin:0;
  white-space:pre-wrap; overflow-wrap:break-word; }
pre.v { max-height:260px; overflow:auto; }
.exp { background:var(--del-bg); border-radius:4px; padding:2px 6px; }
.act { background:var(--add-bg); border-radius:4px; padding:2px 6px; }
del, ins { text-decoration:none; border-radius:2px; }
del { background:var(--del); } ins { background:var(--ins); }
table.sbs { border:1px solid var(--line); margin-top:14px; }
table.sbs > thead th { background:var(--soft); color:var(--ink); font-size:13px; text-transform:uppercase;
  letter-spacing:.04em; padding:6px 8px; }
table.sbs > thead h3 { margin:0; color:inherit; }
table.sbs td.side { border-left:1px solid var(--line); }
table.sbs td.side:first-child { border-left:none; }
.st { display:flex; gap:2px 8px; align-items:baseline; flex-wrap:wrap; min-width:0; }
.st .name { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px;
  overflow-wrap:break-word; min-width:0; }
.st .meta { color:var(--mute); font-size:12px; white-space:nowrap; }
.st .right { margin-left:auto; display:flex; gap:8px; align-items:baseline; }
tr.step.has-payload { cursor:pointer; }
.more { color:var(--mute); margin-left:3px; }
tr.step:hover td { background:var(--hover); }
td.add { background:var(--add-bg); } td.del { background:var(--del-bg); } td.chg { background:var(--chg-bg); }
td.gap { background:repeating-linear-gradient(135deg, var(--gap) 0 6px, transparent 6px 12px);
  color:var(--mute); font-size:12px; font-style:italic; }
tr.payload td { background:var(--pay); }
.paths { display:block; margin-top:2px; }
.path { display:inline-block; font-size:11px; background:var(--chip); border:1px solid var(--chip-line);
  color:var(--chip-ink); border-radius:4px; padding:0 4px; margin:1px 3px 1px 0; max-width:100%;
  overflow:hidden; text-overflow:ellipsis; white-space:nowrap; vertical-align:bottom; }
.tw { color:var(--mute); }
.attempts .dot { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:2px;
  vertical-align:middle; background:var(--ok); }
.attempts .dot.bad { background:var(--bad); } .attempts .dot.other { background:#98a2b3; }
.unused-list { background:var(--warn-bg); border:1px solid var(--chip-line); border-radius:8px; padding:8px 14px;
  margin-bottom:12px; overflow-wrap:break-word; }
.legend { color:var(--mute); font-size:12px; margin:6px 0 0; }
.legend span { padding:0 6px; border-radius:3px; margin-right:6px; color:var(--ink); }
@media (max-width: 700px) { main { padding:12px; } .changes col.kind { width:90px; } }
"""

_JS = """
(function () {
  "use strict";
  var traces = Array.prototype.slice.call(document.querySelectorAll("details.trace"));
  var only = document.getElementById("only-failing");
  function filter() {
    traces.forEach(function (d) { d.hidden = only.checked && !d.classList.contains("is-failing"); });
  }
  only.addEventListener("change", filter);
  document.getElementById("expand-all").addEventListener("click", function () {
    traces.forEach(function (d) { d.open = true; });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    traces.forEach(function (d) { d.open = false; });
  });
  document.querySelectorAll("tr.step.has-payload").forEach(function (row) {
    row.addEventListener("click", function () {
      var next = row.nextElementSibling;
      if (next && next.classList.contains("payload")) { next.hidden = !next.hidden; }
    });
  });
  filter();
})();
"""


def render_report(data: dict[str, Any]) -> str:
    """The whole page as one string."""
    counts: dict[str, int] = data.get("counts", {})
    records: list[dict[str, Any]] = data.get("records", [])
    unused: list[str] = data.get("unused", [])
    failing = sum(1 for r in records if r.get("outcome") in _FAILING)
    cards = "".join(
        f'<div class="card {name}{" zero" if not counts.get(name) else ""}">'
        f"<b>{int(counts.get(name, 0))}</b><span>{name}</span></div>"
        for name in COUNT_KINDS
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        "<title>Trace report (pytest-tracediff)</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>Trace regression report<small>pytest-tracediff &middot; {len(records)} trace(s), "
        f"{failing} failing</small></h1>",
        f'<div class="cards">{cards}</div>',
        '<div class="toolbar"><label><input type="checkbox" id="only-failing"> only failing traces</label>'
        '<button type="button" id="expand-all">expand all</button>'
        '<button type="button" id="collapse-all">collapse all</button></div></header><main>',
    ]
    if unused:
        items = "".join(f"<li><code>{_breakable(p)}</code></li>" for p in unused)
        parts.append(f'<div class="unused-list"><b>{len(unused)} unused golden(s)</b><ul>{items}</ul></div>')
    if not records:
        parts.append('<p class="empty">No trace was compared with a golden in this run.</p>')
    ordered = sorted(records, key=lambda r: (r.get("outcome") not in _FAILING, str(r.get("nodeid"))))
    parts.extend(_record(r) for r in ordered)
    parts.append(f"</main><script>{_JS}</script></body></html>\n")
    return "\n".join(parts)


def _record(record: dict[str, Any]) -> str:
    outcome = str(record.get("outcome", ""))
    label = _OUTCOME_LABEL.get(outcome, outcome)
    is_failing = outcome in _FAILING
    diff: list[dict[str, Any]] = record.get("diff") or []
    head = (
        f'<summary><span class="badge b-{escape(label)}">{escape(label)}</span>'
        f'<span class="nodeid">{escape(str(record.get("nodeid", "")))}</span>'
        f'<span class="golden">{escape(str(record.get("golden", "")))}</span>'
        f'<span class="summary">{escape(str(record.get("summary", "")))}</span></summary>'
    )
    body: list[str] = []
    if diff:
        body.append(_changes(diff))
    actual, expected = record.get("actual"), record.get("expected")
    if expected is not None and actual is not None:
        body.append(_side_by_side(expected, actual, diff))
        body.append(
            '<p class="legend"><span class="act">added</span><span class="exp">removed</span>'
            '<span style="background:var(--chg-bg)">changed</span>rows are aligned step by step; '
            "click a step for its payloads</p>"
        )
    elif actual is not None:
        if outcome == "missing":
            body.append("<h3>actual (no golden yet)</h3>")
        elif outcome == "corrupt":
            body.append(f'<p class="problem">{escape(str(record.get("summary", "")))}</p><h3>actual</h3>')
        body.append(_tree(actual))
    classes = "trace is-failing" if is_failing else "trace"
    opened = " open" if is_failing else ""
    return f'<details class="{classes}"{opened}>{head}<div class="body">{"".join(body)}</div></details>'


def _breakable(text: str) -> str:
    """Escaped, with break opportunities after path separators, so long ids wrap between
    their parts (``output.<wbr>answer``), never inside a word."""
    return "<wbr>".join(escape(part) for part in re.split(r"(?<=[/.:_\[\]-])", text))


def _where(step: dict[str, Any] | None) -> str:
    if not step:
        return "run"
    path = f"{step['parent']}/{step['id']}" if step.get("parent") else str(step.get("id"))
    loop = f"[{step['loop_index']}]" if step.get("loop_index") is not None else ""
    return f"{path}{loop} (attempt {step.get('attempt')})"


def _changes(diff: list[dict[str, Any]]) -> str:
    rows = []
    for entry in diff:
        kind = str(entry.get("kind", ""))
        symbol = _KIND_SYMBOL.get(kind, "~")
        expected, actual = _values(entry.get("expected"), entry.get("actual"))
        rows.append(
            f'<tr class="k-{escape(kind)}"><td class="kind">{escape(symbol)} {escape(kind.replace("_", " "))}</td>'
            f'<td><code class="v">{_breakable(_where(entry.get("step")))}</code></td>'
            f'<td><code class="v">{_breakable(str(entry.get("path") or ""))}</code></td>'
            f"<td>{expected}</td><td>{actual}</td></tr>"
        )
    return (
        f"<h3>{len(diff)} change(s)</h3>"
        '<table class="changes"><colgroup><col class="kind"><col class="step"><col class="path"><col><col>'
        "</colgroup><thead><tr><th>change</th><th>step</th><th>path</th><th>golden</th>"
        f"<th>actual</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _values(expected: Any, actual: Any) -> tuple[str, str]:
    """Both cells of a change; where both sides exist, the parts that differ are marked:
    words of two strings, lines of anything else (as indented JSON)."""
    if expected is None or actual is None:
        return _value(expected, "exp", None), _value(actual, "act", None)
    if isinstance(expected, str) and isinstance(actual, str):
        a, b = _WORDS.findall(expected), _WORDS.findall(actual)
    else:
        a = json.dumps(expected, indent=2, ensure_ascii=False, default=str).splitlines(keepends=True)
        b = json.dumps(actual, indent=2, ensure_ascii=False, default=str).splitlines(keepends=True)
    if len(a) > _HIGHLIGHT_LIMIT or len(b) > _HIGHLIGHT_LIMIT:
        return _value(expected, "exp", None), _value(actual, "act", None)
    old: list[str] = []
    new: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left, right = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if tag == "equal":
            old.append(left)
            new.append(right)
            continue
        if left:
            old.append(f"<del>{left}</del>")
        if right:
            new.append(f"<ins>{right}</ins>")
    return _value(expected, "exp", "".join(old)), _value(actual, "act", "".join(new))


def _value(value: Any, cls: str, marked: str | None) -> str:
    if value is None:
        return '<span class="tw">&mdash;</span>'
    if marked is None:
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
        marked = escape(text)
    return f'<pre class="v {cls}">{marked}</pre>'


_Key = tuple[str, str, Any]


def _marks(diff: list[dict[str, Any]], *, side: str) -> dict[_Key, tuple[str, list[str]]]:
    """Occurrence key -> (cell class, changed paths) for one side of the view."""
    out: dict[_Key, tuple[str, list[str]]] = {}
    for entry in diff:
        step, kind = entry.get("step"), entry.get("kind")
        if not step:
            continue
        if (kind == "step_added" and side == "expected") or (kind == "step_removed" and side == "actual"):
            continue
        key = (str(step.get("parent", "")), str(step.get("id")), step.get("loop_index"))
        cls = {"step_added": "add", "step_removed": "del"}.get(str(kind), "chg")
        _, paths = out.get(key, (cls, []))
        if entry.get("path"):
            paths.append(str(entry["path"]))
        out[key] = (cls, paths)
    return out


def _key(occurrence: list[Step]) -> _Key:
    last = occurrence[-1]
    return (last.parent, last.step_id, last.loop_index)


def _side_by_side(expected: dict[str, Any], actual: dict[str, Any], diff: list[dict[str, Any]]) -> str:
    """Golden and actual as one table of aligned rows; a gap where a step was added or removed."""
    old = group_attempts(Trace.from_dict(expected).steps)
    new = group_attempts(Trace.from_dict(actual).steps)
    marks = (_marks(diff, side="expected"), _marks(diff, side="actual"))
    rows = []
    for i, j in align_occurrences(old, new):
        pair = (old[i] if i is not None else None, new[j] if j is not None else None)
        cells = []
        payloads = []
        for side, occurrence in enumerate(pair):
            if occurrence is None:
                missing = "not in the golden" if side == 0 else "not in this run"
                cells.append(f'<td class="side gap">{missing}</td>')
                payloads.append("")
                continue
            cls, paths = marks[side].get(_key(occurrence), ("", []))
            payloads.append(_payload(occurrence))
            cells.append(f'<td class="side {cls}">{_step(occurrence, paths, bool(payloads[-1]))}</td>')
        has_payload = any(payloads)
        rows.append(f'<tr class="step{" has-payload" if has_payload else ""}">{"".join(cells)}</tr>')
        if has_payload:
            rows.append(f'<tr class="payload" hidden>{"".join(f"<td class=side>{p}</td>" for p in payloads)}</tr>')
    if not rows:
        return '<p class="empty">no steps</p>'
    return (
        '<table class="sbs"><thead><tr><th><h3>golden</h3></th><th><h3>actual</h3></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _tree(data: dict[str, Any]) -> str:
    """One trace's steps (no golden to compare with)."""
    occurrences = group_attempts(Trace.from_dict(data).steps)
    if not occurrences:
        return '<p class="empty">no steps</p>'
    rows = []
    for occurrence in occurrences:
        payload = _payload(occurrence)
        rows.append(
            f'<tr class="step{" has-payload" if payload else ""}"><td>{_step(occurrence, [], bool(payload))}</td></tr>'
        )
        if payload:
            rows.append(f'<tr class="payload" hidden><td>{payload}</td></tr>')
    return f'<table class="tree"><tbody>{"".join(rows)}</tbody></table>'


def _step(occurrence: list[Step], paths: list[str], has_payload: bool) -> str:
    """One step occurrence in a cell: name by depth, status, attempts, tokens, cost, model."""
    last = occurrence[-1]
    depth = last.parent.count("/") + 1 if last.parent else 0
    loop = f"[{last.loop_index}]" if last.loop_index is not None else ""
    status = last.status.value
    dots = "".join(
        f'<span class="dot {_dot(s.status.value)}" title="attempt {s.attempt}: {escape(s.status.value)}"></span>'
        for s in occurrence
    )
    sums = step_totals(occurrence)
    meta = []
    if any(s.tokens is not None for s in occurrence):
        meta.append(f"{sums['tokens']} tok")
    if any(s.cost is not None for s in occurrence):
        meta.append(f"${sums['cost']}")
    if last.model:
        meta.append(escape(last.model))
    more = '<span class="more" title="click for payloads">\u2026</span>' if has_payload else ""
    twig = '<span class="tw">\u2514 </span>' if depth else ""
    chips = ""
    if paths:
        chips = '<span class="paths">' + "".join(f'<span class="path">{escape(p)}</span>' for p in paths) + "</span>"
    n = len(occurrence)
    return (
        f'<div class="st" style="padding-left:{depth * 16}px"><span class="name">{twig}'
        f"{_breakable(last.step_id + loop)}{more}</span>"
        f'<span class="right"><span class="meta">{" &middot; ".join(meta)}</span>'
        f'<span class="attempts meta" title="{n} attempt{"s" if n != 1 else ""}">{dots}{n}</span>'
        f'<span class="badge s-{escape(status)}">{escape(status.replace("_", " "))}</span></span></div>{chips}'
    )


def _dot(status: str) -> str:
    if status in ("failed", "timed_out"):
        return "bad"
    return "" if status == "completed" else "other"


def _payload(occurrence: list[Step]) -> str:
    blocks = []
    for step in occurrence:
        fields = {name: getattr(step, name) for name in _PAYLOAD_FIELDS if getattr(step, name) not in (None, {}, "")}
        if fields:
            head = f"attempt {step.attempt}" if len(occurrence) > 1 else ""
            text = json.dumps(fields, indent=2, ensure_ascii=False, default=str)
            blocks.append((f"<h3>{escape(head)}</h3>" if head else "") + f'<pre class="v">{escape(text)}</pre>')
    return "".join(blocks)
