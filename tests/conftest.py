"""Shared fixtures: a persistent compilation cache and one tiny training run for many tests."""

from __future__ import annotations

import json
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
# backend optimisations cuts the suite's CPU time substantially (docs/benchmarks.md, "The test
# suite"). Subprocesses and notebook kernels inherit it, so results compared across processes are
# computed alike.
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


def untrained_artifact(cfg, tmp_path: Path) -> Path:
    """A policy artifact of ``cfg``'s initial parameters: a checkpoint written before any update,
    exported (a real artifact without training, for tests that only need one to act)."""
    from leo_teacher.artifact.export import export_policy
    from leo_teacher.core.coordinator import Coordinator
    from leo_teacher.envs import make_env
    from leo_teacher.run import checkpoint

    run_dir = tmp_path / "run"
    checkpoint.save(run_dir, Coordinator(cfg, make_env(cfg.env)).init(0), chunks_done=0, iteration=0, env_steps=0,
                    metrics_rows=0, train_seconds=0.0, config=cfg)
    return export_policy(run_dir, tmp_path / "policy")


def finished_run_dir(run_dir: Path, mode: str, success: float, teacher: float | None = None,
                     live: float = 0.3, student: str = "mlp") -> Path:
    """A finished run directory with the files ``leo_teacher.api.load_run`` reads and the summary
    fields the comparison tables read: two Craftax goals, two metrics rows, no training."""
    run_dir.mkdir(parents=True)
    policy = {"success_rate": success, "success_rate_reachable": success}
    policies = {"mlp": policy} | ({"teacher": {"success_rate": teacher, "success_rate_reachable": teacher}}
                                  if teacher is not None else {})
    (run_dir / "summary.json").write_text(json.dumps({
        "env_steps": 4096, "success_rate": success, "paper_live_success": live, "mode": mode, "student": student,
        "evaluated_policy": "mlp", "policies": policies, "goals_seen": 2, "wall_seconds": 2.0}))
    rows = [{"env_steps": s, "eval/mlp": success * s / 4096, "paper_live_success": live * s / 4096,
             "live_success": live, "wall_seconds": s / 2048} for s in (2048, 4096)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run_dir / "per_goal_success.csv").write_text(
        f"goal,name,reachable,success_mlp\n0,inventory/wood,1,{2 * success}\n1,tools/wood_pickaxe,1,0.0\n")
    return run_dir
