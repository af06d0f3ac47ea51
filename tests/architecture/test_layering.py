"""Imports point down the layers of DESIGN.md; ``scratch`` stands apart.

Every ``import deepdojo.X`` / ``from deepdojo.X import`` in src/ is checked,
module-level and inside functions alike (a lazy import is still a dependency).
Then every module is imported in layer order, so a package that only imports
because something above it was imported first fails here.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "deepdojo"

# rank of each top-level part of the package: a module may import its own rank or lower
LAYERS = {
    "errors": 0, "config": 0, "io": 0, "figures": 0,
    "data": 1, "models": 1, "metrics": 1,
    "tasks": 2,
    "train": 3,
    "evaluate": 4,
    "report": 5,
    "run": 6, "vision": 6, "predict": 6, "export": 6,
    "cli": 7, "search": 7, "__main__": 7,
    "lessons": 7,  # the curriculum uses everything, the NumPy-only scratch engine included; the CLI lists it
    # names deepdojo/__init__ resolves lazily: `from deepdojo import Learner` is an import of their module
    "Learner": 3, "Task": 2, "learner": 6, "finish": 6,
}
APART = {"scratch"}  # imports nothing of the rest


def part_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts)
        out.append((name[: -len(".__init__")] if name.endswith(".__init__") else name, path))
    return out


def imported(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("deepdojo.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("deepdojo"):
            if node.module == "deepdojo":  # from deepdojo import vision
                found += [(node.lineno, f"deepdojo.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_every_part_has_a_layer():
    parts = {part_of(m) for m, _ in modules()} - {"__init__"}
    assert parts <= set(LAYERS) | APART, f"give these a layer in LAYERS: {sorted(parts - set(LAYERS) - APART)}"


def test_imports_point_down():
    bad = []
    for module, path in modules():
        part = part_of(module)
        if part == "__init__":
            continue
        for line, target in imported(path, module):
            tpart = part_of(target)
            if tpart == "__init__":
                continue
            if part in APART or tpart in APART:
                if part != tpart and part != "lessons":  # scratch imports nothing; lessons teach with it
                    bad.append(f"{path.relative_to(SRC)}:{line}: {module} -> {target} (scratch stands apart)")
                continue
            if LAYERS[tpart] > LAYERS[part]:
                bad.append(f"{path.relative_to(SRC)}:{line}: {part} (layer {LAYERS[part]}) imports {target} "
                           f"(layer {LAYERS[tpart]})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


@pytest.mark.parametrize("rank", sorted(set(LAYERS.values())))
def test_layers_import_in_order(rank):
    """Importing every module of layers 0..rank works in a fresh interpreter (no reliance on upper layers)."""
    import subprocess
    import sys

    # lesson scripts (lessons/NN_topic.py) run their whole lesson when imported: their imports are checked
    # statically above, and tests/smoke runs each one
    names = [m for m, _ in modules() if part_of(m) in LAYERS and LAYERS[part_of(m)] <= rank
             and not m.endswith("__main__") and not re.match(r"deepdojo\.lessons\.\d", m)]
    code = "import importlib\nfor n in %r:\n    importlib.import_module(n)\n" % names
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_scratch_never_imports_torch():
    for module, path in modules():
        if part_of(module) == "scratch":
            for _, target in imported(path, module):
                assert target.startswith("deepdojo.scratch"), (module, target)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
            assert not [n for n in names if n.split(".")[0] == "torch"], module


def test_no_task_string_checks_outside_tasks():
    """'What kind of problem is this' lives in the Task, not in string comparisons spread through the code."""
    hits = []
    for module, path in modules():
        if part_of(module) == "tasks":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "task ==" in line or "task !=" in line:
                hits.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)
