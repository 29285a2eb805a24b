"""The layering contract: dependencies run one way, and the library below golden/ is free of pytest.

Every ``import`` in the package is read from the source (also the ones inside functions,
which are run-time dependencies all the same); only ``if TYPE_CHECKING:`` imports are
left out, since they never run. An import that climbs back up fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_tracediff"

# Lower rank = lower layer. A module may import its own layer and layers of lower rank;
# sources and normalize share a rank but may not import each other.
LAYERS: dict[str, int] = {
    "errors": 0,
    "_seams": 0,
    "_lazy": 0,
    "model": 1,
    "sources": 2,
    "normalize": 2,
    "compare": 3,
    "golden": 4,
    "report": 5,
    "plugin": 6,
    "cli": 7,
    "__main__": 7,
    "__init__": 8,  # the package root: the composition root, above everything
}
SIBLINGS_APART = {frozenset({"sources", "normalize"})}
PYTEST_FREE_BELOW = LAYERS["golden"]
TEST_FRAMEWORKS = ("pytest", "_pytest", "syrupy")


def _layer(module: str) -> str:
    """``pytest_tracediff.compare.diff`` -> ``compare``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else [*parts[:-1], "__init__"]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _parse(source: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SystemError:  # CPython 3.11.7's "AST constructor recursion depth mismatch" (gh-106905): once more
        return ast.parse(source)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every run-time import in ``path``."""
    package = (
        _module_name(path).rsplit(".", 1)[0]
        if path.name != "__init__.py"
        else str(path.parent.relative_to(PACKAGE.parent)).replace("/", ".")
    )
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    module = ".".join([*base, child.module] if child.module else base)
                    if child.module is None:  # from . import x, y: each name may be a module
                        found.extend((child.lineno, f"{module}.{alias.name}") for alias in child.names)
                        continue
                else:
                    module = child.module or ""
                found.append((child.lineno, module))
            visit(child)

    visit(_parse(path.read_text(encoding="utf-8")))
    return found


def _violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        here = _layer(source)
        for line, target in _imports(path):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if target.split(".")[0] in TEST_FRAMEWORKS and LAYERS[here] < PYTEST_FREE_BELOW:
                problems.append(f"{where}: {here} imports {target} (nothing below golden/ may import pytest or syrupy)")
            if not target.startswith("pytest_tracediff."):
                continue
            there = _layer(target)
            if there not in LAYERS:  # ``from pytest_tracediff import _seams`` seen as the root's attribute
                continue
            if LAYERS[there] > LAYERS[here]:
                problems.append(f"{where}: {here} imports {target}, a higher layer")
            elif frozenset({here, there}) in SIBLINGS_APART:
                problems.append(f"{where}: {here} imports {target}; sources and normalize stay independent")
    return problems


def test_every_module_belongs_to_a_layer() -> None:
    unknown = sorted({_layer(_module_name(p)) for p in PACKAGE.rglob("*.py")} - set(LAYERS))
    assert unknown == [], f"add these to LAYERS (and ARCHITECTURE.md): {unknown}"


def test_imports_run_one_way() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("module", "statement", "expected"),
    [
        ("model/trace.py", "from ..compare.diff import diff_recorded", "a higher layer"),
        ("normalize/apply.py", "from ..sources.registry import from_any", "stay independent"),
        ("compare/diff.py", "import pytest", "may import pytest or syrupy"),
        ("model/step.py", "def f():\n    from ..golden import snapshot", "a higher layer"),
    ],
)
def test_an_upward_import_is_caught(
    module: str, statement: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract can fail: plant an upward import and see it reported."""
    target = PACKAGE / module
    planted = target.read_text(encoding="utf-8") + "\n\n" + statement + "\n"
    original = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        return planted if self == target else original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    assert any(expected in problem for problem in _violations())


def test_type_checking_imports_are_not_dependencies() -> None:
    path = PACKAGE / "model" / "trace.py"
    assert "from ..compare.diff import TraceDiff" in path.read_text(encoding="utf-8")  # type-only, present
    assert not any(module.endswith("compare.diff") for _, module in _imports(path))
