"""Data flows one way: a stage never imports from a stage later in the flow (STYLE.md).

The one sanctioned exception is a result value's convenience renderer (``EvaluationResult.to_html``,
``StressTestResult.plot``): it imports the report stage lazily, inside the method, so importing a
result never pulls in the renderer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lookalike

PACKAGE = Path(lookalike.__file__).parent

#: Stages in the order data flows through them; a stage may import from itself and earlier ones.
FLOW = (
    ("errors", "_randomness", "_progress", "_threads"),
    ("io",),
    ("schema", "datasets"),
    ("pii",),
    ("encode",),
    ("privacy", "persist"),
    ("models",),
    ("control",),
    ("sample",),
    ("evaluate",),
    ("scenarios",),
    ("report",),
    ("cli", "__main__", "__init__"),
)
RANK = {stage: rank for rank, stages in enumerate(FLOW) for stage in stages}
#: (importing stage, imported stage) pairs allowed only inside a function body.
LAZY_RENDERERS = {("evaluate", "report"), ("scenarios", "report")}


def _stage(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """Every ``lookalike.<stage>`` import as (stage, inside a function), TYPE_CHECKING blocks aside."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                parts = child.module.split(".")
                if parts[0] == "lookalike" and len(parts) > 1:
                    found.append((parts[1], in_function))
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, nested)

    visit(tree, False)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_stage_is_placed_in_the_flow() -> None:
    stages = {_stage(path) for path in MODULES}
    assert stages <= set(RANK), f"stages missing from FLOW: {sorted(stages - set(RANK))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_later_stage(path: Path) -> None:
    stage = _stage(path)
    later = [
        (imported, lazy)
        for imported, lazy in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if RANK[imported] > RANK[stage] and not (lazy and (stage, imported) in LAZY_RENDERERS)
    ]
    assert later == [], f"{stage} imports from later stages: {later}"
