"""Figures and small helpers shared by the notebooks in ``notebooks/``.

Everything here reads finished runs (:class:`leo_teacher.api.RunResult`), environments built by
:func:`leo_teacher.envs.make_env` and policies loaded by :func:`leo_teacher.load_policy`; nothing
trains. Matplotlib is imported lazily, inside the functions that draw.
"""

from __future__ import annotations

import io
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from leo_teacher.envs.goals import goal_families  # noqa: F401  (re-exported for the notebooks)

# ---------------------------------------------------------------------------- numbers


def count_parameters(params: Any) -> int:
    """Number of scalars in a parameter pytree (Flax, Equinox or plain dicts alike)."""
    import jax

    return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(params)))


def eval_key(run, policy: str | None = None) -> str:
    """The metrics key of the periodic greedy evaluation of ``policy`` (default: the headline one)."""
    return f"eval/{policy or run.summary['evaluated_policy']}"


def stack_curves(runs: Sequence, key: str | Callable[[Any], str]) -> tuple[np.ndarray, np.ndarray]:
    """(steps [T], values [R, T]) of one metric over several runs, on the steps all of them logged.

    ``key`` is a metrics key or a function ``run -> key`` (e.g. :func:`eval_key`).
    """
    curves = [r.curve(key(r) if callable(key) else key) for r in runs]
    common = set(curves[0][0].tolist())
    for steps, _ in curves[1:]:
        common &= set(steps.tolist())
    steps = np.array(sorted(common))
    values = np.stack([np.interp(steps, s, v) if len(s) else np.full(len(steps), np.nan) for s, v in curves])
    return steps, values


def steady_steps_per_second(run) -> float:
    """Training throughput without the first chunk (which includes compilation)."""
    m = [r for r in run.metrics if "wall_seconds" in r]
    if len(m) < 2:
        return float(run.summary.get("steps_per_second", np.nan))
    dt = m[-1]["wall_seconds"] - m[0]["wall_seconds"]
    return float((m[-1]["env_steps"] - m[0]["env_steps"]) / max(dt, 1e-9))


def family_success(names: Sequence[str], success: np.ndarray) -> dict[str, float]:
    """Mean success per goal family, families in order of first appearance."""
    fam = goal_families(names)
    success = np.asarray(success, dtype=float)
    order = list(dict.fromkeys(fam))
    return {f: float(success[[i for i, x in enumerate(fam) if x == f]].mean()) for f in order}


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], floatfmt: str = ".3f") -> str:
    """A GitHub-flavoured markdown table (show it with ``IPython.display.Markdown``)."""

    def fmt(x):
        if isinstance(x, (float, np.floating)):
            return "n/a" if np.isnan(x) else format(float(x), floatfmt)
        return str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_std(values: Sequence[float], fmt: str = ".3f") -> str:
    """'0.812 ± 0.021' over seeds ('0.812' for one value)."""
    v = np.asarray(values, dtype=float)
    return format(v.mean(), fmt) if v.size == 1 else f"{v.mean():{fmt}} ± {v.std():{fmt}}"


# ---------------------------------------------------------------------------- figures


def plot_curves(ax, groups: Mapping[str, Sequence], key: str | Callable[[Any], str] = eval_key,
                spread: str = "minmax", ylabel: str = "success rate", colors: Mapping[str, str] | None = None,
                **line_kwargs):
    """One line per group (the mean over its runs) with a shaded band of the spread over runs.

    ``spread`` is "minmax" (the band spans the runs) or "std" (mean ± one standard deviation);
    ``line_kwargs`` go to ``ax.plot`` (e.g. ``linestyle="--"``).
    """
    for label, runs in groups.items():
        steps, values = stack_curves(runs, key)
        if steps.size == 0:
            continue
        mean = values.mean(axis=0)
        if spread == "std":
            lo, hi = mean - values.std(axis=0), mean + values.std(axis=0)
        else:
            lo, hi = values.min(axis=0), values.max(axis=0)
        color = (colors or {}).get(label)
        (line,) = ax.plot(steps, mean, marker="o", ms=3, label=f"{label} (n={len(runs)})", color=color,
                         **line_kwargs)
        if len(runs) > 1:
            ax.fill_between(steps, lo, hi, alpha=0.2, color=line.get_color(), linewidth=0)
    ax.set_xlabel("env steps")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def success_grid(env, success: np.ndarray) -> np.ndarray:
    """Per-goal success laid out on a grid env's map [H, W]; NaN on walls."""
    grid = np.full(env.walls.shape, np.nan)
    cells = np.asarray(env.goal_cells)
    grid[cells[:, 0], cells[:, 1]] = np.asarray(success, dtype=float)
    return grid


def plot_goal_map(ax, env, success: np.ndarray, title: str = "", colorbar: bool = True):
    """Heat map of per-goal success over the gridworld (walls dark, start cell marked 'S')."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad((0.16, 0.16, 0.24))
    grid = np.ma.masked_invalid(success_grid(env, success))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap=cmap)
    start = getattr(env, "start", None)
    if start is not None:
        ax.text(start[1], start[0], "S", ha="center", va="center", color="white", fontsize=8,
                fontweight="bold")
    ax.set_xticks([])
    ax.set_yticks([])
    s = np.asarray(success, dtype=float)
    ax.set_title(f"{title}\nmean {s.mean():.2f}" if title else f"mean {s.mean():.2f}", fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def plot_goal_maps(env, successes: Mapping[str, np.ndarray], ncols: int | None = None, size: float = 3.2):
    """A row (or grid) of success heat maps, one per entry; returns the figure."""
    import matplotlib.pyplot as plt

    n = len(successes)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.6, size * nrows), squeeze=False)
    for ax, (label, s) in zip(axes.flat, successes.items()):
        plot_goal_map(ax, env, s, label)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_families(ax, names: Sequence[str], successes: Mapping[str, np.ndarray],
                  colors: Mapping[str, str] | None = None):
    """Grouped bars: mean success per goal family (name prefix before '/'), one bar per entry.

    An entry is one per-goal success array [G], or one per run [R, G]: then the bar is the mean
    over runs of the family's mean and a whisker spans the runs (min to max).
    """
    per_run = {label: np.atleast_2d(np.asarray(s, dtype=float)) for label, s in successes.items()}
    per = {label: [family_success(names, row) for row in rows] for label, rows in per_run.items()}
    families = list(per[next(iter(per))][0])
    x = np.arange(len(families))
    width = 0.8 / max(1, len(per))
    top = 0.0
    for i, (label, fams) in enumerate(per.items()):
        values = np.array([[fam[f] for f in families] for fam in fams])  # [R, F]
        mean = values.mean(axis=0)
        whiskers = None
        if len(values) > 1:
            whiskers = np.stack([mean - values.min(axis=0), values.max(axis=0) - mean])
        ax.bar(x + (i - (len(per) - 1) / 2) * width, mean, width, yerr=whiskers, capsize=2,
               error_kw={"elinewidth": 0.8}, label=label, color=(colors or {}).get(label))
        top = max(top, float(values.max()))
    counts = dict(zip(*np.unique(goal_families(names), return_counts=True)))
    ax.set_xticks(x, [f"{f}\n({counts[f]})" for f in families], fontsize=8)
    ax.set_ylabel("mean success (goals in family)")
    ax.set_ylim(0, min(1.02, max(0.1, 1.15 * top)))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_comparison(groups: Mapping[str, Sequence], names: Sequence[str], title: str = "",
                    colors: Mapping[str, str] | None = None, teachers: Sequence[str] = ()):
    """Methods side by side (``{method: [RunResult per seed]}``); returns the figure.

    Top: the greedy per-goal evaluation over training and the paper's live metric over training
    (both the mean over seeds with the min-max band); for each method named in ``teachers`` the
    greedy evaluation of the teacher it trained (``eval/teacher``) is drawn dashed in the
    method's colour. Bottom: per-goal success at the end by goal family (``names``: the goal
    names), mean over seeds with min-max whiskers.
    """
    import matplotlib.pyplot as plt

    colors = {m: f"C{i}" for i, m in enumerate(groups)} | dict(colors or {})
    fig = plt.figure(figsize=(15, 9.5))
    grid = fig.add_gridspec(2, 2)
    greedy, live, families = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
    plot_curves(greedy, groups, colors=colors)
    for m in teachers:
        if m in groups and all(any("eval/teacher" in row for row in r.metrics) for r in groups[m]):
            plot_curves(greedy, {f"{m}: its teacher": groups[m]}, key="eval/teacher",
                        colors={f"{m}: its teacher": colors[m]}, linestyle="--")
    greedy.set_title("greedy per-goal evaluation (mean over goals)")
    plot_curves(live, groups, key="paper_live_success", ylabel="paper_live_success", colors=colors)
    live.set_title("the paper's metric: live success of training rollouts")
    plot_families(families, names, {m: np.stack([r.success() for r in rs]) for m, rs in groups.items()}, colors)
    families.set_title("success by goal family at the end (mean over seeds, whiskers: min-max)")
    for ax in (greedy, live):
        ax.set_ylim(bottom=0)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- rollouts


def render(env, state, goal: int | None = None) -> np.ndarray:
    """An RGB frame of env 0; the commanded goal is drawn where the env can (gridworld)."""
    try:
        return np.asarray(env.render(state, 0, goal=goal))
    except TypeError:  # envs whose render takes no goal (Craftax)
        return np.asarray(env.render(state, 0))


def command_goals(env, policy, goals: Sequence[int | str], max_steps: int | None = None, seed: int = 0,
                  frames: bool = True) -> dict:
    """Run one episode of ``policy`` (e.g. from :func:`leo_teacher.load_policy`), commanding ``goals``
    one after another: when the commanded goal is achieved the next one is commanded.

    Returns a dict: ``frames`` (RGB frames, one per step, plus the last), ``goal`` (the goal
    commanded at each frame), ``achieved`` (step at which each goal was achieved, or None),
    ``positions`` (the agent's cell per frame, for grid envs) and ``steps``.
    """
    import jax
    import jax.numpy as jnp

    goals = [policy.goal_index(g) if hasattr(policy, "goal_index") else int(g) for g in goals]
    max_steps = int(max_steps or env.max_episode_steps)
    step = jax.jit(env.step)
    achieved_fn = jax.jit(env.goal_set.achieved)
    rng = jax.random.PRNGKey(seed)
    rng, k = jax.random.split(rng)
    state, obs = env.reset(k, 1, evaluation=True)
    out = {"frames": [], "goal": [], "achieved": [None] * len(goals), "positions": [], "steps": 0}
    current = 0

    def record(state):
        g = goals[current] if current < len(goals) else None
        if frames:
            out["frames"].append(render(env, state, g))
        out["goal"].append(g)
        if hasattr(state, "pos"):
            out["positions"].append(tuple(int(v) for v in np.asarray(state.pos[0])))

    record(state)
    for t in range(max_steps):
        if current >= len(goals):
            break
        action = policy.act(np.asarray(obs[0]), goals[current])
        rng, k = jax.random.split(rng)
        state, res = step(k, state, jnp.asarray([action], dtype=jnp.int32))
        out["steps"] = t + 1
        if bool(np.asarray(achieved_fn(res.next_obs))[0, goals[current]]):
            out["achieved"][current] = t + 1
            current += 1
        obs = res.obs
        if bool(np.asarray(res.episode_end)[0]):
            break
        record(state)
    return out


def show_frames(frames: Sequence[np.ndarray], titles: Sequence[str] | None = None, ncols: int = 8,
                size: float = 1.6, title: str | None = None):
    """A grid of frames (with an optional overall ``title``); returns the figure."""
    import matplotlib.pyplot as plt

    n = len(frames)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.5 if title else 0.2)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(frames[i])
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_path(ax, env, positions: Sequence[tuple[int, int]], goals: Sequence[int], title: str = ""):
    """The gridworld map with the agent's path and the commanded goal cells (numbered in order)."""
    img = np.full(env.walls.shape + (3,), 0.92)
    img[env.walls] = (0.16, 0.16, 0.24)
    ax.imshow(img)
    if positions:
        p = np.asarray(positions)
        ax.plot(p[:, 1], p[:, 0], "-", color="tab:red", lw=2, alpha=0.8)
        ax.plot(p[0, 1], p[0, 0], "o", color="tab:red", ms=7)
    for i, g in enumerate(goals):
        r, c = env.goal_cells[g]
        ax.plot(c, r, "s", color="tab:green", ms=11, alpha=0.9)
        ax.text(c, r, str(i + 1), ha="center", va="center", color="white", fontsize=8, fontweight="bold")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return ax


def to_gif(frames: Sequence[np.ndarray], fps: int = 8) -> bytes:
    """An animated GIF of the frames (show it with ``IPython.display.Image(data, format="gif")``)."""
    from PIL import Image

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    return buf.getvalue()
