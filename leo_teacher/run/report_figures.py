"""The run report's figures, each a matplotlib figure drawn from a run directory's files.

Inputs are what :mod:`leo_teacher.run.report` reads: metrics rows, the evaluation history,
the per-goal table. Every function returns a figure or None when the run lacks the data.
"""

from __future__ import annotations

import numpy as np

from leo_teacher.run.rundir import SOLVED


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curves(rows: list[dict], history: list[dict]):
    """Greedy evaluation over time, the live metrics, losses, entropy and goals seen."""
    if not rows:
        return None
    plt = _plt()
    steps = np.array([r["env_steps"] for r in rows])
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    ax = axes[0, 0]
    for name in (history[0]["success"] if history else []):
        ax.plot([h["env_steps"] for h in history], [np.mean(h["success"][name]) for h in history],
                marker="o", label=f"greedy eval: {name}")
    ax.plot(steps, [r.get("live_success", np.nan) for r in rows], label="live success")
    ax.plot(steps, [r.get("paper_live_success", np.nan) for r in rows], label="paper live success")
    ax.set(title="success", xlabel="env steps", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for key in sorted({k for r in rows for k in r if k.endswith("_loss")}):
        ax.plot(steps, [r.get(key, np.nan) for r in rows], label=key)
    ax.set(title="losses", xlabel="env steps", yscale="symlog")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for key in sorted({k for r in rows for k in r if k.startswith("entropy")}):
        ax.plot(steps, [r.get(key, np.nan) for r in rows], label=key)
    ax.set(title="policy entropy", xlabel="env steps")
    ax = axes[1, 1]
    ax.plot(steps, [r.get("goals_seen", np.nan) for r in rows])
    ax.set(title="goals seen", xlabel="env steps")
    fig.tight_layout()
    return fig


def family_order(names: list[str]) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Goal order grouped by family (the name's part before '/'), and (family, start, end) spans."""
    families = [n.split("/")[0] if "/" in n else "" for n in names]
    first = {f: i for i, f in reversed(list(enumerate(families)))}
    order = np.array(sorted(range(len(names)), key=lambda i: (first[families[i]], i)), dtype=int)
    spans, start = [], 0
    for k in range(1, len(order) + 1):
        if k == len(order) or families[order[k]] != families[order[start]]:
            spans.append((families[order[start]], start, k))
            start = k
    return order, spans


def goal_heatmap(history: list[dict], names: list[str], policy: str):
    """Per-goal success over time (goals x evaluation points), grouped by goal family."""
    if not history or policy not in history[0]["success"]:
        return None
    plt = _plt()
    order, spans = family_order(names)
    grid = np.array([h["success"][policy] for h in history]).T[order]
    fig, ax = plt.subplots(figsize=(7, max(3.0, min(12.0, 0.03 * len(names) + 2))))
    im = ax.imshow(grid, aspect="auto", interpolation="nearest", vmin=0, vmax=1, cmap="viridis")
    ticks = np.arange(len(history))
    ax.set_xticks(ticks[:: max(1, len(ticks) // 8)])
    ax.set_xticklabels([f"{history[t]['env_steps'] / 1e6:.2g}M" for t in ticks[:: max(1, len(ticks) // 8)]])
    ax.set(xlabel="env steps", ylabel="goal", title=f"{policy}: per-goal success over time")
    if len(spans) > 1:
        for fam, a, b in spans:
            ax.axhline(a - 0.5, color="white", lw=0.6)
        ax.set_yticks([(a + b - 1) / 2 for _, a, b in spans])
        ax.set_yticklabels([fam for fam, _, _ in spans], fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def teacher_vs_students(success: dict[str, np.ndarray], reachable: np.ndarray):
    """Each student's per-goal success against the teacher's, with the goals only one solves."""
    students = [n for n in success if n != "teacher"]
    if "teacher" not in success or not students:
        return None
    plt = _plt()
    t = np.asarray(success["teacher"])
    fig, axes = plt.subplots(1, len(students), figsize=(4.2 * len(students), 4), squeeze=False)
    jitter = np.random.default_rng(0).uniform(-0.03, 0.03, size=(2, t.size))
    for ax, name in zip(axes[0], students):
        s = np.asarray(success[name])
        only_t = int(((t >= SOLVED) & (s < SOLVED) & reachable).sum())
        only_s = int(((s >= SOLVED) & (t < SOLVED) & reachable).sum())
        ax.scatter(t[reachable] + jitter[0][reachable], s[reachable] + jitter[1][reachable], s=10, alpha=0.6)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax.set(xlabel="teacher: per-goal success", ylabel=f"{name}: per-goal success",
               xlim=(-0.06, 1.06), ylim=(-0.06, 1.06),
               title=f"only teacher solves {only_t}, only {name} {only_s}")
    fig.tight_layout()
    return fig


def calibration(values: np.ndarray, success: np.ndarray, reachable: np.ndarray):
    """The teacher's V(s0, g) against its measured success on g, with a binned mean."""
    plt = _plt()
    v, s = np.asarray(values)[reachable], np.asarray(success)[reachable]
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.scatter(v, s + np.random.default_rng(0).uniform(-0.02, 0.02, s.size), s=10, alpha=0.5, label="goals")
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(v, edges) - 1, 0, 9)
    centres = [(edges[b] + edges[b + 1]) / 2 for b in range(10) if (idx == b).any()]
    means = [s[idx == b].mean() for b in range(10) if (idx == b).any()]
    ax.plot(centres, means, "o-", color="C3", label="mean success per V bin")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set(xlabel="teacher V(s0, g)", ylabel="measured success of g", xlim=(-0.02, 1.02), ylim=(-0.06, 1.06),
           title="teacher calibration (reachable goals)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
