"""Canonical order of steps that ran concurrently, so finish order never reaches a golden."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Step
from ..model.canonical import canonical_json


def canonical_order(steps: list[Step]) -> list[Step]:
    """Pre-order of the step tree with each concurrent group sorted by content.

    Only steps marked with a ``level`` are reordered, so a trace without
    concurrency keeps its recorded order exactly.
    """
    if all(step.level is None for step in steps):
        return steps
    children = _children_by_parent(steps)
    subtree_keys: dict[int, str] = {}

    def sort_key(index: int) -> tuple[str, int, int, str]:
        step = steps[index]
        if index not in subtree_keys:
            subtree_keys[index] = canonical_json([_order_dict(steps[i]) for i in _subtree(index, children)])
        loop = -1 if step.loop_index is None else step.loop_index
        return (step.step_id, loop, step.attempt, subtree_keys[index])

    ordered_children: dict[int, list[int]] = {}
    for parent, kids in children.items():
        groups: dict[tuple[str, int] | int, list[int]] = {}
        for index in kids:
            step = steps[index]
            key: tuple[str, int] | int = index if step.level is None else (step.parent, step.level)
            groups.setdefault(key, []).append(index)
        ordered: list[int] = []
        for group in groups.values():
            ordered.extend(sorted(group, key=sort_key) if len(group) > 1 else group)
        ordered_children[parent] = ordered
    return [steps[i] for i in _preorder(-1, ordered_children)]


def _children_by_parent(steps: list[Step]) -> dict[int, list[int]]:
    """Index tree: a step's parent is its parent span, else the latest step at its parent path."""
    by_span = {step.span_id: i for i, step in enumerate(steps) if step.span_id is not None}
    latest_at_path: dict[str, int] = {}
    children: dict[int, list[int]] = {-1: []}
    for i, step in enumerate(steps):
        parent = by_span.get(step.parent_span_id, -1) if step.parent_span_id is not None else -1
        if parent == -1 and step.parent:
            parent = latest_at_path.get(step.parent, -1)
        children.setdefault(parent, []).append(i)
        latest_at_path[step.path] = i
    return children


def _preorder(root: int, children: Mapping[int, list[int]]) -> list[int]:
    out: list[int] = []
    stack = list(reversed(children.get(root, [])))
    while stack:
        index = stack.pop()
        out.append(index)
        stack.extend(reversed(children.get(index, [])))
    return out


def _subtree(index: int, children: Mapping[int, list[int]]) -> list[int]:
    return [index, *_preorder(index, children)]


def _order_dict(step: Step) -> dict[str, Any]:
    return step.model_dump(mode="json", exclude={"span_id", "parent_span_id", "level", "start", "duration"})
