"""The step modules' shape, read from their syntax trees: what happens next is decided in one place
(``rollout.transition``), so no step assigns ``state.next`` or ``state.phase``; and steps do not import each other -
what two steps share lives in the room of its idea (guards, people, baking, conclusion, records, leftovers,
notifications), so a step's cold start pulls in only what it uses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

STEPS = sorted((ROOT / "layers" / "rollout" / "rollout" / "steps").glob("*.py"))
DECIDED = {"next", "phase"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found: list[ast.expr] = []
        for target in node.targets:
            found += list(target.elts) if isinstance(target, ast.Tuple | ast.List) else [target]
        return found
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def decided_here(path: Path) -> list[str]:
    """Every ``<x>.next = ...`` / ``<x>.phase = ...`` (also in a tuple assignment) and every ``setattr(x, "next",
    ...)`` or ``model_copy(update={"phase": ...})`` in the module."""
    found = []
    for node in ast.walk(_tree(path)):
        for target in _targets(node):
            if isinstance(target, ast.Attribute) and target.attr in DECIDED:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(target)} = ...")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            literal = len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
            if name == "setattr" and literal and node.args[1].value in DECIDED:  # type: ignore[attr-defined]
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
            for keyword in node.keywords:
                if keyword.arg == "update" and isinstance(keyword.value, ast.Dict):
                    keys = {k.value for k in keyword.value.keys if isinstance(k, ast.Constant)}
                    if keys & DECIDED:
                        found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def step_imports(path: Path) -> list[str]:
    """The ``rollout.steps`` modules a module imports (at its top or inside a function)."""
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("rollout.steps"):
                found.append(f"{path.name}:{node.lineno}: from {node.module} import ...")
            if node.module == "rollout" and any(alias.name == "steps" for alias in node.names):
                found.append(f"{path.name}:{node.lineno}: from rollout import steps")
        if isinstance(node, ast.Import):
            found += [
                f"{path.name}:{node.lineno}: import {a.name}" for a in node.names if a.name.startswith("rollout.steps")
            ]
    return found


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_no_step_decides_what_happens_next_itself(path):
    assert decided_here(path) == [], "ask rollout.transition (transition + apply) instead"


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_steps_do_not_import_each_other(path):
    assert step_imports(path) == [], "move what steps share to the room of its idea"


def test_the_checks_see_what_they_look_for(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text(
        "from rollout.steps.health import x\nimport rollout.steps.deploy\n"
        "def f(state):\n    state.phase, state.next = 1, 'done'\n    state.next += ''\n"
        "    setattr(state, 'phase', 1)\n    state.model_copy(update={'next': 'done'})\n"
    )
    assert len(step_imports(module)) == 2
    assert len(decided_here(module)) == 5
