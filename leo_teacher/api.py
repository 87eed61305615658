"""A small Python API over the training CLI, for notebooks and scripts.

    from leo_teacher.api import train, load_run
    run = train(mode="teacher-as-actor", total_steps=500_000, seed=0, run_dir="runs/x")
    run.summary["success_rate"], run.per_goal, run.metrics
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leo_teacher.config import build_config


@dataclass
class RunResult:
    """What a finished run directory holds, loaded: summary, metrics rows, per-goal table."""

    run_dir: Path
    summary: dict
    metrics: list[dict]
    per_goal: list[dict]
    trainer: Any = field(default=None, repr=False)  # set when the run was trained in-process

    def success(self, policy: str | None = None) -> np.ndarray:
        """Per-goal success [G] of ``policy`` (default: the run's evaluated policy)."""
        keys = [k for k in self.per_goal[0] if k.startswith("success")]
        key = "success" if keys == ["success"] else f"success_{policy or self.summary['evaluated_policy']}"
        return np.array([float(r[key]) for r in self.per_goal])

    def curve(self, key: str = "live_success") -> tuple[np.ndarray, np.ndarray]:
        """(env steps, values) of one metric over training."""
        pts = [(r["env_steps"], r[key]) for r in self.metrics if key in r]
        steps, values = zip(*pts) if pts else ((), ())
        return np.array(steps), np.array(values)


def load_run(run_dir: str | Path) -> RunResult:
    """Read a run directory written by ``leo_teacher.train``."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    metrics_path = run_dir / "metrics.jsonl"
    metrics = [json.loads(x) for x in metrics_path.read_text().splitlines() if x.strip()] if metrics_path.exists() else []
    with open(run_dir / "per_goal_success.csv") as f:
        per_goal = list(csv.DictReader(f))
    return RunResult(run_dir, summary, metrics, per_goal)


def train(
    env: str | None = None,
    mode: str | None = None,
    student: str | None = None,
    total_steps: int | None = None,
    seed: int | None = None,
    run_dir: str | Path | None = None,
    preset: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> RunResult:
    """Train as ``python -m leo_teacher.train`` would, and return the loaded run.

    ``overrides`` is a nested mapping, e.g. ``{"teacher": {"lr": 1e-3}}``. Like the CLI, an
    existing run in ``run_dir`` is refused (ConfigError) unless ``overwrite=True``, and only what
    a leo-teacher run wrote is ever deleted.
    """
    from leo_teacher.cli.common import enable_compilation_cache
    from leo_teacher.run.trainer import Trainer

    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (overrides or {}).items()}
    for (section, key), value in {
        ("coordinator", "mode"): mode,
        ("student", "name"): student,
        ("run", "total_steps"): total_steps,
        ("run", "seed"): seed,
    }.items():
        if value is not None:
            merged.setdefault(section, {})[key] = value
    cfg = build_config(env=env, preset=preset, overrides=merged)
    enable_compilation_cache()
    trainer = Trainer(cfg, run_dir=run_dir, overwrite=overwrite, progress=progress)
    trainer.run()
    result = load_run(trainer.run_dir)
    result.trainer = trainer
    return result
