"""Shared fixtures: a persistent compilation cache and one tiny training run for many tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Set before JAX is imported anywhere, so every test (and every subprocess) reuses compilations.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".jax_cache"))
os.environ.setdefault("WANDB_MODE", "disabled")
# The suite's programs are tiny, so its time is XLA compilation, not execution: skipping LLVM's
# backend optimisations cuts the suite's CPU time by ~40% (measured on tests/test_coordinator.py
# and test_baselines.py: 129 s -> 78 s). Subprocesses and notebook kernels inherit it, so results
# compared across processes are computed alike.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()


def run_cli(*args: str, module: str = "leo_teacher.train", cwd: Path | None = None, timeout: int = 600,
            env: dict[str, str] | None = None):
    """Run ``python -m module args`` in a subprocess (``env``: extra variables); returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny gridworld run through the CLI, shared by the tests that only read its outputs."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    proc = run_cli("--preset", "tiny", "--seed", "0", "--run-dir", str(run_dir), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return run_dir, proc
