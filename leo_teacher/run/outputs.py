"""What a training run writes besides checkpoints: metrics rows, the summary, plots, the report.

The file formats are in :mod:`leo_teacher.run.rundir`; this module decides what goes in them.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from leo_teacher.config import Config
from leo_teacher.core.evaluation import summarize
from leo_teacher.run import provenance, rundir


def metrics_row(metrics: dict[str, np.ndarray], reduction: Callable[[str], str], iteration: int,
                rollout_size: int, num_seeds: int) -> dict:
    """One metrics.jsonl line for a chunk: each metric reduced over its iterations (and seeds)
    the way it declares (``reduction(key)``: "last" for counters, "mean" for losses)."""
    row = {"iteration": iteration, "env_steps": iteration * rollout_size}
    for key, values in metrics.items():
        last = reduction(key) == "last"
        row[key] = float(np.mean(values[-1]) if last else np.mean(values))
    if num_seeds > 1:
        row["live_success_per_seed"] = [float(v) for v in metrics["live_success"][-1]]
    return row


def add_timing(row: dict, elapsed: float) -> None:
    """The row's wall-clock fields (rundir.TIMING_FIELDS)."""
    row["wall_seconds"] = round(elapsed, 3)
    row["steps_per_second"] = round(row["env_steps"] / max(elapsed, 1e-9), 1)


def summarize_run(trainer, state, success, per_seed, rows, train_seconds: float, start: float) -> dict:
    """summary.json's contents for a finished run."""
    cfg, coord = trainer.cfg, trainer.coord
    reachable = trainer.env.goal_set.reachable_mask()
    head = coord.headline_policy()
    env_steps = cfg.num_iterations * cfg.rollout_size
    summary = {
        **summarize(success[head], reachable),
        "evaluated_policy": head,
        "policies": {k: summarize(v, reachable) for k, v in success.items()},
        "env_steps": env_steps,
        "wall_seconds": round(time.perf_counter() - start, 3),
        "train_seconds": round(train_seconds, 3),
        "steps_per_second": round(env_steps / max(train_seconds, 1e-9), 1),
        "mode": cfg.coordinator.mode,
        "student": cfg.student.name,
        "students": list(coord.student_names),
        "env": cfg.env.name,
        "seed": cfg.run.seed,
        "eval_seed": cfg.run.eval_seed,
        "eval_repeats": cfg.run.eval_repeats,
        "goals_seen": int(np.asarray(trainer.seed_state(state).actors.seen).sum()),
        "live_success": rows[-1]["live_success"] if rows else None,
        "paper_live_success": rows[-1]["paper_live_success"] if rows else None,
        "machine": provenance.machine_record(trainer.code),  # what bit-identical results need to match
        # the code of each stretch of training: more than one entry when --resume continued the run
        "code_history": trainer.code_history,
    }
    if coord.mode.frozen_teacher:  # a distill run: what each student costs to deploy, beside its teacher
        from leo_teacher.run.costs import policy_costs

        summary["costs"] = policy_costs(coord, trainer.seed_state(state), trainer.env, cfg.run.seed)
        summary["teacher_run"] = cfg.coordinator.teacher_run
    if len(trainer.seeds) > 1:
        per = [summarize(s[head], reachable) for s in per_seed]
        summary.update({
            "seeds": trainer.seeds,
            "success_rate_per_seed": [p["success_rate"] for p in per],
            "success_rate_mean": float(np.mean([p["success_rate"] for p in per])),
            "success_rate_std": float(np.std([p["success_rate"] for p in per])),
            "success_rate_reachable_per_seed": [p["success_rate_reachable"] for p in per],
            "num_devices": int(trainer.mesh.devices.size),
        })
    return summary


def write_final(trainer, success: dict, summary: dict, rows: list) -> None:
    """per_goal_success.csv, summary.json, the plots and report.html of a finished run."""
    cfg, env, run_dir = trainer.cfg, trainer.env, trainer.run_dir
    reachable = env.goal_set.reachable_mask()
    rundir.record(run_dir, "per_goal_success.csv", "summary.json", "summary.json.tmp",
                  "learning_curve.png", "per_goal_success.png", "students_per_goal.png")
    rundir.write_per_goal(run_dir / "per_goal_success.csv", env.goal_set.names, reachable, success)
    rundir.write_json(run_dir / "summary.json", summary)
    seeds = trainer.seeds
    seeds = f"seeds {seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else f"seed {cfg.run.seed}"
    rundir.plot_learning_curve(run_dir, rows, f"{cfg.env.name} / {cfg.coordinator.mode} / {cfg.student.name} / {seeds}")
    rundir.plot_per_goal(run_dir, success, env)
    names = trainer.coord.student_names
    if len(names) > 1:
        rundir.plot_students(run_dir, success, reachable, names)
    from leo_teacher.run.report import write_report

    write_report([run_dir])  # report.html, from the files just written


def make_wandb(cfg: Config, run_dir: Path):
    """A wandb run when enabled; offline unless an API key is configured."""
    if not cfg.run.wandb:
        return None
    import wandb

    mode = "online" if os.environ.get("WANDB_API_KEY") else "offline"
    # The wandb run id is kept in the run directory, so a resumed run continues the same wandb run.
    rundir.record(run_dir, "wandb", "wandb_run_id")
    id_file = run_dir / "wandb_run_id"
    run_id = id_file.read_text().strip() if id_file.exists() else ""
    if not run_id:
        run_id = wandb.util.generate_id()
        id_file.write_text(run_id + "\n")
    return wandb.init(project=cfg.run.wandb_project, config=cfg.to_dict(), dir=str(run_dir),
                      mode=mode, name=run_dir.name, id=run_id, resume="allow")


def report(summary: dict, run_dir: Path, env) -> str:
    """The human-readable end-of-run report printed by the CLI."""
    success_csv = run_dir / "per_goal_success.csv"
    lines = [
        f"run: {run_dir}",
        f"env {summary['env']} | mode {summary['mode']} | students {','.join(summary['students'])} | "
        f"seed {summary['seed']}",
        f"env steps {summary['env_steps']:,} in {summary['wall_seconds']:.1f}s "
        f"({summary['steps_per_second']:,.0f} steps/s incl. compile)",
    ]
    for name, s in summary["policies"].items():
        lines.append(
            f"per-goal success [{name}]: all goals {s['success_rate']:.3f} | reachable "
            f"{s['success_rate_reachable']:.3f} ({s['num_reachable']}/{s['num_goals']} goals reachable)"
        )
    if "costs" in summary:
        from leo_teacher.run.costs import costs_table

        lines.append(f"deployment cost (CPU, greedy action; teacher from {summary['teacher_run']}):")
        lines.append(costs_table(summary["costs"], summary["policies"]))
    with open(success_csv) as f:
        col = list(csv.DictReader(f))
    key = next(k for k in col[0] if k.startswith("success"))
    if len(summary["students"]) > 1:  # side by side, from the per-goal table
        reachable = np.array([r["reachable"] == "1" for r in col])
        per_goal = {k[len("success_"):]: np.array([float(r[k]) for r in col])
                    for k in col[0] if k.startswith("success_")}
        lines.append("students side by side (solved: success >= 0.5; only: solved by no other student):")
        lines.append(rundir.students_table(per_goal, reachable, summary["students"]))
        lines.append(f"students' per-goal plot: {run_dir / 'students_per_goal.png'}")
    grid = rundir.success_map(env, [float(r[key]) for r in col])
    if grid:
        lines.append(f"per-goal success map ({key}; # wall, 0-9 tenths, * = 1.0):")
        lines.append(grid)
    lines.append(f"per-goal table: {success_csv}")
    return "\n".join(lines)
