"""The ``--trace-report`` page: one self-contained HTML file, from plain data.

``render_report(data)`` is a pure function (no pytest, no I/O). ``data`` holds
``counts`` (checked, passed, changed, missing, written, unused), ``records`` (one
per trace comparison: ``nodeid``, ``golden``, ``outcome``, ``summary``, ``actual``
and ``expected`` as ``Trace.to_dict()`` data, ``diff`` as ``TraceDiff.to_list()``)
and ``unused`` (golden paths). CSS and JS are inline; nothing is fetched. Every
value from a trace is user data and is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..compare.budget import step_totals
from ..model import Step, Trace, group_attempts

_OUTCOME_LABEL = {
    "matched": "passed",
    "created": "written",
    "updated": "written",
    "failed": "changed",
    "missing": "missing",
}
_FAILING = frozenset({"failed", "missing"})
_COUNT_ORDER = ("checked", "passed", "changed", "missing", "written", "unused")
_KIND_SYMBOL = {"step_added": "+", "step_removed": "\u2212"}
_PAYLOAD_FIELDS = ("input", "output", "error", "failure_class", "attributes")

_CSS = """
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --mute:#667085; --line:#e3e6ec;
  --ok:#1a7f37; --ok-bg:#e6f4ea; --bad:#c62828; --bad-bg:#fdecea; --warn:#9a6700; --warn-bg:#fff4d6;
  --info:#0b5cad; --info-bg:#e7f0fb; --add-bg:#e6f4ea; --del-bg:#fdecea; --chg-bg:#fff4d6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color:var(--ink); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:18px 28px 14px; }
header h1 { margin:0 0 12px; font-size:20px; font-weight:600; }
header h1 small { color:#aab2c0; font-weight:400; font-size:13px; margin-left:8px; }
.cards { display:flex; gap:10px; flex-wrap:wrap; }
.card { background:#2a3242; border-radius:8px; padding:8px 16px; min-width:96px; }
.card b { display:block; font-size:22px; line-height:1.2; }
.card span { color:#aab2c0; font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card.passed b { color:#7ee2a0; } .card.changed b, .card.missing b { color:#ff9d97; }
.card.written b { color:#8cc4ff; } .card.unused b { color:#ffd479; }
.card.zero b { color:#7d8596; }
.toolbar { margin-top:14px; display:flex; gap:12px; align-items:center; font-size:13px; }
.toolbar button { background:#2a3242; color:#fff; border:1px solid #3b4558; border-radius:6px;
  padding:4px 10px; cursor:pointer; font:inherit; }
.toolbar button:hover { background:#343e52; }
main { padding:18px 28px 40px; }
.empty { color:var(--mute); }
details.trace { background:var(--card); border:1px solid var(--line); border-radius:8px; margin:0 0 12px;
  box-shadow:0 1px 2px rgba(16,24,40,.04); }
details.trace.is-failing { border-left:4px solid var(--bad); }
details.trace > summary { cursor:pointer; padding:10px 14px; display:flex; gap:10px; align-items:baseline;
  flex-wrap:wrap; list-style:none; }
details.trace > summary::-webkit-details-marker { display:none; }
details.trace > summary::before { content:"\\25B8"; color:var(--mute); width:10px; }
details.trace[open] > summary::before { content:"\\25BE"; }
.nodeid { font:600 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.golden { color:var(--mute); font-size:12px; font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.summary { color:var(--ink); font-size:13px; margin-left:auto; }
.badge { display:inline-block; border-radius:10px; padding:1px 8px; font-size:12px; font-weight:600;
  white-space:nowrap; }
.b-passed, .s-completed { background:var(--ok-bg); color:var(--ok); }
.b-changed, .b-missing, .s-failed, .s-timed_out { background:var(--bad-bg); color:var(--bad); }
.b-written { background:var(--info-bg); color:var(--info); }
.s-skipped, .s-cancelled, .s-running { background:#eef0f3; color:#475467; }
.body { padding:4px 14px 14px; }
h3 { font-size:13px; margin:12px 0 6px; color:#344054; text-transform:uppercase; letter-spacing:.04em; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { text-align:left; font-weight:600; color:var(--mute); font-size:12px; border-bottom:1px solid var(--line);
  padding:4px 8px; }
td { border-bottom:1px solid #f0f1f4; padding:4px 8px; vertical-align:top; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.changes td.kind { white-space:nowrap; font-weight:600; }
.changes tr.k-step_added td.kind { color:var(--ok); } .changes tr.k-step_removed td.kind { color:var(--bad); }
.changes tr td.kind { color:var(--warn); }
pre, code.v { font:12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin:0;
  white-space:pre-wrap; word-break:break-word; }
pre.v { max-height:220px; overflow:auto; }
.exp { background:var(--del-bg); border-radius:4px; padding:2px 6px; }
.act { background:var(--add-bg); border-radius:4px; padding:2px 6px; }
.sbs { display:grid; grid-template-columns:1fr 1fr; gap:14px; }
.sbs > section { min-width:0; border:1px solid var(--line); border-radius:6px; padding:0 0 4px; }
.sbs > section h3 { margin:0; padding:6px 8px; background:#f9fafb; border-bottom:1px solid var(--line);
  border-radius:6px 6px 0 0; }
.tree td.name { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
.tree tr.step.has-payload { cursor:pointer; }
.more { color:var(--mute); margin-left:3px; }
.tree tr.step:hover { background:#f5f8ff; }
.tree tr.add { background:var(--add-bg); } .tree tr.del { background:var(--del-bg); }
.tree tr.chg { background:var(--chg-bg); }
.tree tr.payload td { background:#fbfbfc; }
.paths { display:block; margin-top:2px; }
.path { display:inline-block; font-size:11px; background:#fff; border:1px solid #e9c46a; color:#7a5200;
  border-radius:4px; padding:0 4px; margin:1px 3px 1px 0; }
.tw { color:#b0b7c3; }
.attempts .dot { display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:2px;
  vertical-align:middle; background:var(--ok); }
.attempts .dot.bad { background:var(--bad); } .attempts .dot.other { background:#98a2b3; }
.unused-list { background:var(--warn-bg); border:1px solid #f1d48a; border-radius:8px; padding:8px 14px;
  margin-bottom:12px; }
.legend { color:var(--mute); font-size:12px; margin:6px 0 0; }
.legend span { padding:0 6px; border-radius:3px; margin-right:6px; }
@media (max-width: 900px) { .sbs { grid-template-columns:1fr; } }
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
        for name in _COUNT_ORDER
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
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
        items = "".join(f"<li><code>{escape(p)}</code></li>" for p in unused)
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
        marks_golden = _marks(diff, side="expected")
        marks_actual = _marks(diff, side="actual")
        body.append(
            '<div class="sbs">'
            f"<section><h3>golden</h3>{_tree(expected, marks_golden)}</section>"
            f"<section><h3>actual</h3>{_tree(actual, marks_actual)}</section></div>"
            '<p class="legend"><span class="act">added</span><span class="exp">removed</span>'
            '<span style="background:var(--chg-bg)">changed</span>click a step for its payloads</p>'
        )
    elif actual is not None:
        if outcome == "missing":
            body.append("<h3>actual (no golden yet)</h3>")
        body.append(_tree(actual, {}))
    classes = "trace is-failing" if is_failing else "trace"
    opened = " open" if is_failing else ""
    return f'<details class="{classes}"{opened}>{head}<div class="body">{"".join(body)}</div></details>'


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
        rows.append(
            f'<tr class="k-{escape(kind)}"><td class="kind">{escape(symbol)} {escape(kind.replace("_", " "))}</td>'
            f'<td><code class="v">{escape(_where(entry.get("step")))}</code></td>'
            f'<td><code class="v">{escape(str(entry.get("path") or ""))}</code></td>'
            f"<td>{_value(entry.get('expected'), 'exp')}</td><td>{_value(entry.get('actual'), 'act')}</td></tr>"
        )
    return (
        f"<h3>{len(diff)} change(s)</h3>"
        '<table class="changes"><thead><tr><th>change</th><th>step</th><th>path</th><th>golden</th>'
        f"<th>actual</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _value(value: Any, cls: str) -> str:
    if value is None:
        return '<span class="tw">&mdash;</span>'
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return f'<pre class="v {cls}">{escape(text)}</pre>'


_Key = tuple[str, str, Any]


def _marks(diff: list[dict[str, Any]], *, side: str) -> dict[_Key, tuple[str, list[str]]]:
    """Occurrence key -> (row class, changed paths) for one side of the view."""
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


def _tree(data: dict[str, Any], marks: dict[_Key, tuple[str, list[str]]]) -> str:
    trace = Trace.from_dict(data)
    if not trace.steps:
        return '<p class="empty">no steps</p>'
    rows = []
    for occurrence in group_attempts(trace.steps):
        last = occurrence[-1]
        parent = last.parent
        key = (parent, last.step_id, last.loop_index)
        depth = parent.count("/") + 1 if parent else 0
        cls, paths = marks.get(key, ("", []))
        status = last.status.value
        loop = f"[{last.loop_index}]" if last.loop_index is not None else ""
        chips = ""
        if paths:
            chips = (
                '<span class="paths">' + "".join(f'<span class="path">{escape(p)}</span>' for p in paths) + "</span>"
            )
        dots = "".join(
            f'<span class="dot {_dot(s.status.value)}" title="attempt {s.attempt}: {escape(s.status.value)}"></span>'
            for s in occurrence
        )
        sums = step_totals(occurrence)
        tokens = str(sums["tokens"]) if any(s.tokens is not None for s in occurrence) else ""
        cost = str(sums["cost"]) if any(s.cost is not None for s in occurrence) else ""
        payload = _payload(occurrence)
        more = '<span class="more" title="click for payloads">\u2026</span>' if payload else ""
        row_cls = " ".join(c for c in ("step", cls, "has-payload" if payload else "") if c)
        indent = 8 + depth * 18
        twig = '<span class="tw">\u2514 </span>' if depth else ""
        rows.append(
            f'<tr class="{row_cls}"><td class="name" style="padding-left:{indent}px">{twig}'
            f"{escape(last.step_id)}{escape(loop)}{more}{chips}</td>"
            f'<td><span class="badge s-{escape(status)}">{escape(status.replace("_", " "))}</span></td>'
            f'<td class="attempts num">{dots} {len(occurrence)}</td>'
            f'<td class="num">{escape(tokens)}</td><td class="num">{escape(cost)}</td>'
            f"<td>{escape(last.model or '')}</td></tr>"
        )
        if payload:
            rows.append(f'<tr class="payload" hidden><td colspan="6">{payload}</td></tr>')
    return (
        '<table class="tree"><thead><tr><th>step</th><th>status</th><th class="num">attempts</th>'
        '<th class="num">tokens</th><th class="num">cost</th><th>model</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
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
