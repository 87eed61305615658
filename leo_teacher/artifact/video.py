"""Videos of a policy artifact's greedy episodes: one GIF per commanded goal, the goal named
in every frame (``python -m leo_teacher.evaluate PATH --video DIR [--goals ...]``).

An episode runs from an evaluation reset until the commanded goal is achieved, the episode
ends, or the step limit. Its frames are the states the policy acted in, plus the last state
when the episode did not end there (an ended episode's next state is already a new episode's).
Frames come from the env's own ``render`` (gridworld, point mass, craftax's pixel renderer) or, for the
Brax reacher, a drawing of the arm and target from the observation. ``videos.json`` lists
each goal's file, steps, frames and success.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from leo_teacher.config import ConfigError

INDEX = "videos.json"
LABEL_HEIGHT = 14  # pixels of the caption bar above each frame


def select_goals(names: Sequence[str], spec: str | None) -> list[int]:
    """Goal indices for ``--goals``: comma-separated names or families (a name's part before
    '/'); None: every goal. ConfigError naming valid families for an unknown one."""
    if not spec:
        return list(range(len(names)))
    from leo_teacher.envs.goals import goal_families

    fams = goal_families(names)
    families = sorted({f for f, n in zip(fams, names) if "/" in n})
    out = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        hits = [g for g, (n, f) in enumerate(zip(names, fams)) if item in (n, f)]
        if not hits:
            raise ConfigError(f"--goals {item!r} is neither a goal name nor a family; families: "
                              f"{', '.join(families) or 'none'} (goal names as in per_goal_success.csv)")
        out += [g for g in hits if g not in out]
    return out


def file_name(goal: int, name: str) -> str:
    return f"goal{goal:03d}_{re.sub(r'[^A-Za-z0-9.+-]', '-', name)}.gif"


def _reacher_frame(env, obs: np.ndarray, goal: int, size: int = 160) -> np.ndarray:
    """The arm seen from above: base, elbow and fingertip, the commanded target and its radius."""
    from PIL import Image, ImageDraw

    from leo_teacher.envs.brax_reacher import POS_SCALE, REACH

    scale = size / (2.3 * REACH)
    px = lambda p: (size / 2 + p[0] * scale, size / 2 - p[1] * scale)  # noqa: E731
    elbow = 0.1 * np.array([obs[0], obs[2]])  # first link (0.1 m) at angle q0
    tip = obs[6:8] / POS_SCALE
    target = env.targets[goal]
    img = Image.new("RGB", (size, size), (245, 245, 245))
    d = ImageDraw.Draw(img)
    r = env.goal_set.radius / POS_SCALE * scale  # the goal set measures in observation units
    (tx, ty) = px(target)
    d.ellipse([tx - r, ty - r, tx + r, ty + r], outline=(60, 160, 75), width=2)
    d.line([px((0, 0)), px(elbow), px(tip)], fill=(40, 60, 160), width=4)
    d.ellipse([px(tip)[0] - 3, px(tip)[1] - 3, px(tip)[0] + 3, px(tip)[1] + 3], fill=(220, 40, 40))
    return np.asarray(img)


def _frame(env, state, obs: np.ndarray, goal: int) -> np.ndarray:
    if env.name == "brax-reacher":
        return _reacher_frame(env, obs, goal)
    if env.name in ("gridworld", "point-mass"):
        return env.render(state, 0, goal=goal)
    return env.render(state, 0)


def _caption(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with a caption bar above it (at least 200 px wide, so the text fits)."""
    from PIL import Image, ImageDraw

    h, w = frame.shape[:2]
    canvas = Image.new("RGB", (max(w, 200), h + LABEL_HEIGHT), (255, 255, 255))
    canvas.paste(Image.fromarray(np.ascontiguousarray(frame[..., :3])), (0, LABEL_HEIGHT))
    ImageDraw.Draw(canvas).text((2, 1), text, fill=(0, 0, 0))
    return np.asarray(canvas)


def _rollout(env, policy, max_steps: int):
    """A jitted ``run(params, goal, rng)``: the greedy episode as arrays over ``max_steps`` steps
    (states before each step, the state after, and per step: achieved, episode ended)."""
    import jax
    import jax.numpy as jnp

    def run(params, goal, rng):
        k_reset, k_steps = jax.random.split(rng)
        state, obs = env.reset(k_reset, 1, evaluation=True)
        goals = jnp.full((1,), goal, jnp.int32)

        def step(carry, key):
            state, obs = carry
            new_state, res = env.step(key, state, policy.jax_act(params, obs, goals))
            hit = env.goal_set.achieved(res.next_obs)[0, goal]
            return (new_state, res.obs), ((state, obs), hit, res.episode_end[0])

        return jax.lax.scan(step, (state, obs), jax.random.split(k_steps, max_steps))

    return jax.jit(run)


def record_episode(env, policy, goal: int, max_steps: int, seed: int, run=None) -> tuple[list[np.ndarray], int, bool, bool]:
    """(frames, steps, success, ended) of the greedy episode for ``goal`` from an evaluation reset."""
    import jax

    run = run or _rollout(env, policy, max_steps)
    last, (before, hit, end) = run(policy.params, goal, jax.random.PRNGKey(seed))
    hit, end = np.asarray(hit), np.asarray(end)
    stop = np.flatnonzero(hit | end)
    t = int(stop[0]) + 1 if stop.size else max_steps
    success, ended = bool(hit[:t].any()), bool(end[t - 1])
    name = env.goal_set.names[goal]
    pick = lambda tree, i: jax.tree_util.tree_map(lambda x: x[i], tree)  # noqa: E731
    frames = []
    for i in range(t):
        state, obs = pick(before, i)
        frames.append(_caption(_frame(env, state, np.asarray(obs[0]), goal), f"goal: {name}  step {i}"))
    if not ended:
        state, obs = pick(before, t) if t < max_steps else last
        frames.append(_caption(_frame(env, state, np.asarray(obs[0]), goal),
                               f"goal: {name}  step {t}  {'achieved' if success else 'not achieved'}"))
    return frames, t, success, ended


def write_videos(policy, env, out: Path, goals: list[int], max_steps: int, seed: int, overwrite: bool) -> list[dict]:
    """One GIF per goal in ``out`` (claimed as a leo-teacher "videos" directory) and videos.json."""
    import imageio.v3 as iio

    from leo_teacher.run import manifest, rundir

    names = env.goal_set.names
    files = [file_name(g, names[g]) for g in goals]
    rundir.claim(out, files + [INDEX], "videos", "videos", overwrite, option="--video")
    out.mkdir(parents=True, exist_ok=True)
    manifest.record(out, files + [INDEX], "videos")
    steps = int(min(max_steps, env.max_episode_steps))
    run, index = _rollout(env, policy, steps), []
    for g, fname in zip(goals, files):
        frames, t, success, ended = record_episode(env, policy, g, steps, seed, run)
        iio.imwrite(out / fname, np.stack(frames), duration=80, loop=0)
        index.append({"goal": g, "name": names[g], "file": fname, "steps": t, "frames": len(frames),
                      "success": success, "episode_ended": ended})
    (out / INDEX).write_text(json.dumps(index, indent=1) + "\n")
    return index
