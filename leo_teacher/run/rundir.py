"""The run directory: config snapshot, metrics, per-goal success, summary and plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from leo_teacher.config import ConfigError

# Files a run writes; a directory holding any of them holds a run.
RUN_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "per_goal_success.csv")
# Every top-level entry a run may write (the manifest lists those it did; run/manifest.py).
RUN_ENTRIES = RUN_FILES + (
    "metrics.jsonl.tmp", "summary.json.tmp", "learning_curve.png", "per_goal_success.png",
    "students_per_goal.png", "checkpoints", ".lock", "wandb", "wandb_run_id",
    "eval_history.jsonl", "eval_history.jsonl.tmp", "report.html", "report.html.tmp",
)
TIMING_FIELDS = ("wall_seconds", "steps_per_second")


def existing_files(run_dir: Path, files, what: str, overwrite: bool) -> list[str]:
    """Which of ``files`` already stand in ``run_dir``; ConfigError unless ``overwrite``."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir {run_dir} is a file; pass a directory path")
    existing = [f for f in files if (run_dir / f).exists()]
    if existing and not overwrite:
        raise ConfigError(
            f"--run-dir {run_dir} already holds {what} ({existing[0]}); pass --overwrite to "
            "replace it or choose another --run-dir"
        )
    return existing


def claim(run_dir: Path, files, kind: str, what: str, overwrite: bool, option: str = "--run-dir",
          ignore=()) -> None:
    """Make ``run_dir`` ready for a new ``kind`` output that writes ``files``; refuse what is not ours.

    Without a manifest, a directory whose entries clash with ``files`` is refused (a user's
    config.yaml is not a run); with ``overwrite``, any entry not in the manifest is refused and
    only listed entries are deleted. ConfigError (nothing changed) on refusal.
    """
    from leo_teacher.run import manifest

    ours, foreign, has_manifest = manifest.survey(run_dir, kind, ignore)
    if not has_manifest and set(foreign) & set(files):
        clash = sorted(set(foreign) & set(files))
        raise ConfigError(
            f"{option} {run_dir} holds {', '.join(clash)} but no {manifest.MANIFEST}, so leo-teacher "
            f"did not write it; nothing was changed; choose another {option}"
        )
    if overwrite and foreign:
        raise manifest.refuse_foreign(run_dir, foreign, option, has_manifest)
    if ours and not overwrite:
        raise ConfigError(f"{option} {run_dir} already holds {what} ({ours[0]}); {_resume_or_overwrite(run_dir, kind, option)}")
    if overwrite:
        manifest.remove_ours(run_dir, ours)


def _resume_or_overwrite(run_dir: Path, kind: str, option: str) -> str:
    """The fix for an existing output: a killed run (checkpoints, no summary) is resumable."""
    from leo_teacher.run import checkpoint

    found = checkpoint.list_checkpoints(run_dir) if kind == "run" else []
    if found and not (run_dir / "summary.json").exists():
        return (f"it did not finish: resume it with --resume, or --overwrite to start again "
                f"(deletes {len(found)} checkpoint{'s' if len(found) != 1 else ''})")
    return f"pass --overwrite to replace it or choose another {option}"


def prepare(run_dir: Path, overwrite: bool) -> None:
    """Create ``run_dir`` for a new run; refuse (ConfigError) an existing run unless ``overwrite``,
    and anything leo-teacher did not write (see :func:`claim`). Called holding the run lock."""
    from leo_teacher.run.faults import LOCK_NAME

    claim(run_dir, RUN_ENTRIES, "run", "a run", overwrite, ignore=(LOCK_NAME,))
    run_dir.mkdir(parents=True, exist_ok=True)
    record(run_dir, LOCK_NAME, "config.yaml", "metrics.jsonl", "metrics.jsonl.tmp", "checkpoints")


def record(run_dir: Path, *names: str) -> None:
    """List ``names`` in the run directory's manifest (call before writing them)."""
    from leo_teacher.run import manifest

    manifest.record(run_dir, names, "run")


def append_metrics(run_dir: Path, row: dict) -> None:
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def rewrite_last_metrics(run_dir: Path, row: dict) -> None:
    """Replace metrics.jsonl's last line by ``row``, atomically (a kill here must not cut the file)."""
    path = run_dir / "metrics.jsonl"
    lines = path.read_text().splitlines()
    lines[-1] = json.dumps(row, sort_keys=True)
    tmp = run_dir / "metrics.jsonl.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def read_metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


EVAL_HISTORY = "eval_history.jsonl"


def append_eval_history(run_dir: Path, iteration: int, env_steps: int, success: dict[str, np.ndarray],
                        start_values: np.ndarray | None) -> None:
    """One line of eval_history.jsonl: every policy's per-goal success at ``iteration`` (mean over
    seeds) and, with a learned teacher, its V(s0, g) per goal."""
    record(run_dir, EVAL_HISTORY)
    row = {"iteration": iteration, "env_steps": env_steps,
           "success": {k: [round(float(x), 6) for x in v] for k, v in success.items()}}
    if start_values is not None:
        row["teacher_start_value"] = [round(float(x), 6) for x in start_values]
    with open(run_dir / EVAL_HISTORY, "a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def read_eval_history(run_dir: Path) -> list[dict]:
    """eval_history.jsonl's rows (none for a run that has not evaluated yet)."""
    path = Path(run_dir) / EVAL_HISTORY
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cut_eval_history(run_dir: Path, iteration: int) -> None:
    """Drop the evaluations after ``iteration`` (a resume continues from that checkpoint)."""
    rows = [r for r in read_eval_history(run_dir) if r["iteration"] <= iteration]
    path = Path(run_dir) / EVAL_HISTORY
    if path.exists():
        record(run_dir, EVAL_HISTORY + ".tmp")
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        tmp.replace(path)


def write_per_goal(
    path: Path, names: Sequence[str], reachable: np.ndarray, success: dict[str, np.ndarray]
) -> None:
    """CSV with goal index, name, reachable, then one success column per evaluated policy.

    With a single policy the column is called ``success``; with several, ``success_<name>``.
    """
    cols = list(success)
    header = ["goal", "name", "reachable"] + (
        ["success"] if len(cols) == 1 else [f"success_{c}" for c in cols]
    )
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for g, name in enumerate(names):
            w.writerow([g, name, int(reachable[g])] + [f"{float(success[c][g]):.6f}" for c in cols])


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def plot_learning_curve(run_dir: Path, rows: list[dict], title: str) -> None:
    """learning_curve.png: live and evaluated success, and goals seen, against env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    steps = [r["env_steps"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(steps, [r.get("live_success", np.nan) for r in rows], label="live success")
    ax1.plot(steps, [r.get("paper_live_success", np.nan) for r in rows], label="paper live success (per goal)")
    if "live_success_per_seed" in rows[0]:  # several seeds: mean line, min-max band
        per_seed = np.array([r["live_success_per_seed"] for r in rows])
        ax1.fill_between(steps, per_seed.min(1), per_seed.max(1), alpha=0.25,
                         label=f"min-max over {per_seed.shape[1]} seeds")
    eval_keys = sorted({k for r in rows for k in r if k.startswith("eval/")})
    for key in eval_keys:
        pts = [(r["env_steps"], r[key]) for r in rows if key in r]
        ax1.plot(*zip(*pts), marker="o", label=key.replace("eval/", "eval "))
    ax1.set_xlabel("env steps")
    ax1.set_ylabel("success rate")
    ax1.set_ylim(0, 1.02)
    ax1.legend(fontsize=8)
    ax2.plot(steps, [r.get("goals_seen", np.nan) for r in rows])
    ax2.set_xlabel("env steps")
    ax2.set_ylabel("goals seen")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(run_dir / "learning_curve.png", dpi=100)
    plt.close(fig)


def plot_per_goal(run_dir: Path, success: dict[str, np.ndarray], env) -> None:
    """per_goal_success.png: a heat map over the map for the gridworld, bars otherwise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(success)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        s = np.asarray(success[name])
        cells = getattr(env, "goal_cells", None)
        if cells is not None:
            grid = np.full(env.walls.shape, np.nan)
            grid[cells[:, 0], cells[:, 1]] = s
            im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046)
        else:
            ax.bar(np.arange(s.size), s, width=1.0)
            ax.set_xlabel("goal index")
            ax.set_ylim(0, 1)
        ax.set_title(f"{name}: mean {s.mean():.2f}")
    fig.tight_layout()
    fig.savefig(run_dir / "per_goal_success.png", dpi=100)
    plt.close(fig)


def success_map(env, success: np.ndarray) -> str | None:
    """An ASCII map of per-goal success for grid envs ('#' wall, 0-9 success tenths, '*' = 1)."""
    cells = getattr(env, "goal_cells", None)
    if cells is None:
        return None
    chars = np.full(env.walls.shape, "#", dtype="<U1")
    for (r, c), s in zip(cells, np.asarray(success)):
        chars[r, c] = "*" if s >= 0.999 else str(int(s * 10))
    return "\n".join(" ".join(row) for row in chars)


SOLVED = 0.5  # a goal counts as solved by a policy whose success on it is at least this


def students_table(success: dict[str, np.ndarray], reachable: np.ndarray, students: Sequence[str]) -> str:
    """Several students side by side: success over all and over reachable goals, reachable goals
    solved (success >= SOLVED), and goals only this student solves; other policies (the
    teacher) as reference rows."""
    reachable = np.asarray(reachable, dtype=bool)
    names = [n for n in students if n in success] + [n for n in success if n not in students]
    solved = {n: (np.asarray(success[n]) >= SOLVED) & reachable for n in names}
    width = max(len("policy"), *(len(n) for n in names))
    lines = [f"{'policy':<{width}}  {'all':>6}  {'reachable':>9}  {'solved':>9}  {'only':>5}"]
    for n in names:
        s = np.asarray(success[n], dtype=np.float64)
        reach = s[reachable].mean() if reachable.any() else 0.0
        others = [solved[m] for m in students if m != n and m in solved]
        only = str(int((solved[n] & ~np.any(others, axis=0)).sum())) if n in students and others else "-"
        lines.append(
            f"{n:<{width}}  {s.mean():>6.3f}  {reach:>9.3f}  "
            f"{f'{solved[n].sum()}/{reachable.sum()}':>9}  {only:>5}"
        )
    return "\n".join(lines)


def plot_students(run_dir: Path, success: dict[str, np.ndarray], reachable: np.ndarray,
                  students: Sequence[str]) -> None:
    """students_per_goal.png: each policy's per-goal success sorted (reachable goals), and every
    other student's per-goal success against the first student's (jittered: success is often 0/1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reachable = np.asarray(reachable, dtype=bool)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, s in success.items():
        s = np.sort(np.asarray(s)[reachable])[::-1]
        style = "--" if name not in students else "-"
        ax1.plot(np.arange(1, s.size + 1) / max(s.size, 1), s, style, label=f"{name} ({s.mean():.2f})")
    ax1.set_xlabel("fraction of reachable goals (sorted by success)")
    ax1.set_ylabel("success rate")
    ax1.set_ylim(-0.02, 1.02)
    ax1.legend(fontsize=8)
    first = students[0]
    jitter = np.random.default_rng(0).uniform(-0.03, 0.03, size=(2, int(reachable.sum())))
    for other in students[1:]:
        x, y = np.asarray(success[first])[reachable], np.asarray(success[other])[reachable]
        ax2.scatter(x + jitter[0], y + jitter[1], s=10, alpha=0.6, label=other)
        pairs, counts = np.unique(np.stack([x, y], 1).round(1), axis=0, return_counts=True)
        if len(students) == 2 and len(pairs) <= 9:  # few clusters (0/1 success): count each
            for (px, py), n in zip(pairs, counts):
                ax2.annotate(str(n), (px, py), xytext=(8, 8), textcoords="offset points", fontsize=9)
    ax2.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax2.set_xlabel(f"{first}: per-goal success")
    ax2.set_ylabel("other student: per-goal success")
    ax2.set_xlim(-0.06, 1.06)
    ax2.set_ylim(-0.06, 1.06)
    ax2.legend(fontsize=8)
    fig.suptitle("students per goal (reachable goals)")
    fig.tight_layout()
    fig.savefig(run_dir / "students_per_goal.png", dpi=100)
    plt.close(fig)
