"""Imports run one way: each module may import only its own layer or the layers below it.

Layers, bottom to top (docs/architecture.md): config; envs; the device-side building blocks
(losses, networks, distributions, state, SGD, schedule, evaluation); students; teachers and
learners; the rollout and the coordinator; the host side (run: trainer, outputs, checkpoints);
artifacts; command lines; the user-facing API and entry points. A cycle anywhere fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("leo_teacher", "students")

# module-name prefix -> layer (the longest matching prefix wins)
LAYERS = {
    "leo_teacher.config": 0,
    "leo_teacher.envs": 1,
    "leo_teacher.core": 2,
    "students": 3,
    "leo_teacher.teachers": 4,
    "leo_teacher.learners": 4,
    "leo_teacher.core.rollout": 5,
    "leo_teacher.core.coordinator": 5,
    "leo_teacher.run": 6,
    "leo_teacher.artifact": 7,
    "leo_teacher.artifact.policy": 2,  # the artifact loader needs only numpy and jax
    "leo_teacher.cli": 8,
    "leo_teacher": 0,  # the package root: its version, and a lazy re-export of the loader
    "leo_teacher.api": 9,
    "leo_teacher.plots": 9,
    "leo_teacher.train": 9,  # the python -m entry points
    "leo_teacher.export": 9,
    "leo_teacher.evaluate": 9,
    "leo_teacher.distill": 9,
}


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (function-local imports included)."""
    found = set()
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            candidates = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for c in candidates:
            while c and c not in known:
                c = c.rpartition(".")[0]
            if c and c != name:
                found.add(c)
    return found


def layer(name: str) -> int:
    best = max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len)
    return LAYERS[best]


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imported(name, path, set(mods)) for name, path in mods.items()}


def test_no_upward_import():
    upward = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
              for a, deps in graph().items() for b in deps
              if layer(b) > layer(a) and not b.startswith(a + ".")]  # a package may re-export its own
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    g = graph()
    # A package's __init__ re-exporting its submodules is not a cycle of the code.
    g = {a: {b for b in deps if not a.startswith(b + ".")} for a, deps in g.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_layering_test_sees_imports():
    """The checker itself: it finds the coordinator's imports of teachers and students."""
    deps = graph()["leo_teacher.core.coordinator"]
    assert "leo_teacher.teachers" in deps and "students" in deps
    assert layer("leo_teacher.core.losses") < layer("leo_teacher.teachers.leo") < layer("leo_teacher.run.trainer")
