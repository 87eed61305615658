"""Sweeps: every combination of ``--grid`` values trained with K seeds vmapped in one program,
then per combination the IQM over seeds and its 95% stratified bootstrap CI (:mod:`.stats`).

The sweep directory holds one run directory per combination plus ``sweep.csv``, ``sweep.md``
and ``sweep.png``; its manifest (kind "sweep") lists them, so ``--overwrite`` replaces only those.
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from leo_teacher.config import ConfigError
from leo_teacher.run import manifest, rundir
from leo_teacher.run.stats import iqm_with_ci

TABLES = ("sweep.csv", "sweep.md", "sweep.png")
METRICS = ("success_rate_reachable", "success_rate")


def parse_grid(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["teacher.lr=1e-4,5e-4", ...]`` -> [(key, [values])]; ConfigError naming the fix."""
    out = []
    for item in items:
        key, sep, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not re.fullmatch(r"\w+\.\w+", key.strip()) or not vals:
            raise ConfigError(f"--grid {item!r}: write SECTION.FIELD=V1,V2,... (e.g. --grid teacher.lr=1e-4,5e-4)")
        if key.strip() in [k for k, _ in out]:
            raise ConfigError(f"--grid {key.strip()} is given twice; list all its values in one --grid")
        out.append((key.strip(), vals))
    if not out:
        raise ConfigError("a sweep needs at least one --grid SECTION.FIELD=V1,V2,...")
    return out


def combinations(grid: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, in order ({key: value})."""
    keys = [k for k, _ in grid]
    return [dict(zip(keys, vals)) for vals in itertools.product(*(v for _, v in grid))]


def combo_name(combo: dict[str, str]) -> str:
    """A directory name for a combination: ``teacher.lr=1e-4_coordinator.distill_coef=0.1``."""
    return "_".join(f"{k}={re.sub(r'[^A-Za-z0-9.+-]', '-', v)}" for k, v in combo.items())


def seed_scores(summary: dict, metric: str) -> list[float]:
    """The per-seed final scores of the headline policy in a run's summary."""
    per_seed = summary.get(f"{metric}_per_seed")
    return [float(x) for x in per_seed] if per_seed is not None else [float(summary[metric])]


def claim(out: Path, names: Sequence[str], overwrite: bool) -> None:
    """Make ``out`` ready for the sweep (refusing what leo-teacher did not write); list its entries."""
    rundir.claim(out, tuple(names) + TABLES, "sweep", "a sweep", overwrite, option="--out")
    out.mkdir(parents=True, exist_ok=True)
    manifest.record(out, tuple(names) + TABLES, "sweep")


def summarise(results: list[tuple[dict[str, str], list[float]]], seed: int = 0) -> list[dict]:
    """Per combination: the per-seed scores, mean, IQM and its 95% CI."""
    rows = []
    for combo, scores in results:
        point, low, high = iqm_with_ci(scores, seed=seed)
        rows.append({**combo, "seeds": len(scores), "scores": scores, "mean": float(np.mean(scores)),
                     "iqm": point, "ci_low": low, "ci_high": high})
    return rows


def markdown(rows: list[dict], keys: Sequence[str], metric: str) -> str:
    """The sweep's table in Markdown (also what the command prints)."""
    head = [*keys, "seeds", f"{metric} per seed", "mean", "IQM", "95% CI"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r[k]) for k in keys] + [str(r["seeds"]), " ".join(f"{s:.3f}" for s in r["scores"]),
                                             f"{r['mean']:.3f}", f"{r['iqm']:.3f}", f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_tables(out: Path, rows: list[dict], keys: Sequence[str], metric: str) -> str:
    """sweep.csv, sweep.md and sweep.png (IQM with CI per combination); returns the Markdown."""
    with open(out / "sweep.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*keys, "seeds", "scores", "mean", "iqm", "ci_low", "ci_high"])
        for r in rows:
            w.writerow([r[k] for k in keys] + [r["seeds"], " ".join(f"{s:.6f}" for s in r["scores"]),
                                               f"{r['mean']:.6f}", f"{r['iqm']:.6f}", f"{r['ci_low']:.6f}", f"{r['ci_high']:.6f}"])
    table = markdown(rows, keys, metric)
    (out / "sweep.md").write_text(table + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    y = np.arange(len(rows))
    iqms = np.array([r["iqm"] for r in rows])
    err = np.array([[r["iqm"] - r["ci_low"] for r in rows], [r["ci_high"] - r["iqm"] for r in rows]])
    ax.errorbar(iqms, y, xerr=err, fmt="o", capsize=4)
    ax.set_yticks(y)
    ax.set_yticklabels([", ".join(f"{k}={r[k]}" for k in keys) for r in rows], fontsize=8)
    ax.set(xlabel=f"{metric}: IQM over seeds, 95% bootstrap CI", title="sweep")
    fig.tight_layout()
    fig.savefig(out / "sweep.png", dpi=100)
    plt.close(fig)
    return table


def run_sweep(grid: list[tuple[str, list[str]]], train_one: Callable[[dict[str, str], Path], dict], out: Path,
              metric: str, overwrite: bool) -> tuple[list[dict], str]:
    """Train every combination with ``train_one(combo, run_dir) -> summary``; write the tables."""
    if metric not in METRICS:
        raise ConfigError(f"unknown --metric {metric!r}; valid metrics: {', '.join(METRICS)}")
    combos = combinations(grid)
    claim(out, [combo_name(c) for c in combos], overwrite)
    results = [(c, seed_scores(train_one(c, out / combo_name(c)), metric)) for c in combos]
    rows = summarise(results)
    return rows, write_tables(out, rows, [k for k, _ in grid], metric)
