"""The notebooks in notebooks/: executed headless at the tiny budget, and their stored outputs checked.

Each notebook is executed from a temporary copy (the stored notebooks and their outputs are never
touched) with ``LEO_NOTEBOOK_BUDGET=tiny``, in a kernel that runs this interpreter, and must
finish without errors and draw its figures (image/png outputs).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import finished_run_dir

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Figures each notebook draws at least (Craftax off): PNG outputs.
MIN_FIGURES = {
    "teacher_as_actor_vs_teacher.ipynb": 2,  # learning curves, per-goal maps
    "students.ipynb": 2,  # curves, per-goal maps (and a difference map with two students)
    "exported_student.ipynb": 4,  # per-goal map, goal-by-goal paths, frames, tour
}
KERNEL = "leo-notebook-test"
# Its Craftax section only reads stored runs (cheap): on in the test, over made-up run directories.
STORED_CRAFTAX = "teacher_as_actor_vs_teacher.ipynb"


def figures(nb) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def errors(nb) -> list[str]:
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]


def test_notebooks_exist():
    assert {p.name for p in NOTEBOOKS} >= set(MIN_FIGURES), "a notebook is missing from notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_has_outputs_of_a_default_run(path):
    """The committed notebooks carry the outputs of a full (default budget) execution."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name}: not executed top to bottom"
    assert not errors(nb), f"{path.name} stored with errors: {errors(nb)}"
    assert figures(nb) >= MIN_FIGURES.get(path.name, 1), f"{path.name}: figures missing from the stored outputs"
    text = "".join(o.get("text", "") for c in code for o in c.get("outputs", []))
    assert "budget: default" in text, f"{path.name}: stored outputs are not from the default budget"


def _kernelspec(tmp_path: Path) -> Path:
    """A kernelspec that runs this interpreter, whatever other python3 kernels are installed."""
    kdir = tmp_path / "jupyter" / "kernels" / KERNEL
    kdir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "leo-teacher tests",
        "language": "python",
    }
    (kdir / "kernel.json").write_text(json.dumps(spec))
    return tmp_path / "jupyter"


# The students notebook shares its tiny run's config with test_several_students_side_by_side.
GROUPS = {"students.ipynb": "mlp+transformer-tiny"}


@pytest.mark.slow
@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.stem, marks=[pytest.mark.xdist_group(GROUPS[p.name])] if p.name in GROUPS else [])
    for p in NOTEBOOKS
])
def test_notebook_executes_tiny(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    work = tmp_path / "notebooks"
    work.mkdir()
    copy = work / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    for cell in nb.cells:  # start from a clean notebook
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None

    monkeypatch.setenv("LEO_NOTEBOOK_BUDGET", "tiny")
    monkeypatch.setenv("LEO_NOTEBOOK_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("LEO_NOTEBOOK_CRAFTAX", raising=False)
    extra_figures = 0
    if path.name == STORED_CRAFTAX:
        stored = tmp_path / "stored"
        finished_run_dir(stored / "teacher-as-teacher-s0", "teacher-as-teacher", 0.2, teacher=0.25)
        finished_run_dir(stored / "teacher-as-teacher-s1", "teacher-as-teacher", 0.3, teacher=0.35)
        finished_run_dir(stored / "random-s0", "random", 0.1)
        monkeypatch.setenv("LEO_NOTEBOOK_CRAFTAX", "1")
        monkeypatch.setenv("LEO_NOTEBOOK_CRAFTAX_RUNS", str(stored))
        extra_figures = 1
    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", os.environ.get("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".jax_cache")))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=600,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()

    assert not errors(nb), errors(nb)
    assert figures(nb) >= MIN_FIGURES.get(path.name, 1) + extra_figures, f"{path.name}: expected figures"
    if extra_figures:
        text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/markdown", ""))
                       for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert "| random | mlp (acts) | 0.100 |" in text and "0.250 ± 0.050" in text, "stored Craftax runs not shown"
    nbformat.write(nb, copy)  # kept in tmp_path for inspection; the stored notebook is untouched
