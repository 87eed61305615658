"""A point mass in a walled 2-D arena with a grid of target cells (continuous forces; DESIGN §2).

The second continuous task beside the Brax reacher, so that a continuous-control result is not
one task's accident. Pure JAX, no physics engine: the mass has momentum, so reaching a target
takes accelerating, steering and, to stop on it, braking.

The arena is the square [-1, 1]^2. Each step the action (a force in [-1, 1]^2, clipped here)
updates the velocity, ``v' = DAMPING * v + ACCEL * a``, then the position, ``p' = p + v'``; a
wall stops the motion across it (the position is clamped and that velocity component zeroed).
Goals are the centres of a ``target_grid`` x ``target_grid`` grid of equal cells tiling the
arena ("cell/R-C": row R from the bottom, column C from the left). A goal is achieved when the
mass is within ``goal_radius`` of the cell's centre, a distance test in
:class:`leo_teacher.envs.goals.DistanceGoalSet` (as the reacher's fingertip on its target).
With ``stop_on_goal`` a goal counts only when the mass is *at rest on* the centre: the distance
in (position, velocity / MAX_SPEED) from (centre, 0) is under ``goal_radius``, so a policy must
brake, not only reach (a harder variant; docs/continuous.md has what it shows).

Observation (4 floats): x, y, and the velocity / MAX_SPEED, so every feature is of order one.
Episodes last ``episode_length`` steps and start at rest at a uniformly random position;
evaluation starts are drawn from their own random stream, so they are not training's starts.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from leo_teacher.envs.base import ObsSpec, StepResult, start_steps
from leo_teacher.envs.goals import DistanceGoalSet

DAMPING = 0.9  # velocity kept per step (friction)
ACCEL = 0.02  # velocity change per step at full force
MAX_SPEED = ACCEL / (1.0 - DAMPING)  # terminal speed per axis at full force
EVAL_STREAM = 7  # folded into evaluation reset keys: a random stream training never draws from


def cell_centres(grid: int) -> np.ndarray:
    """Centres [grid * grid, 2] of the grid's equal cells over [-1, 1]^2, row by row from the
    bottom-left cell."""
    c = -1.0 + (2.0 * np.arange(grid) + 1.0) / grid
    return np.asarray([(c[col], c[row]) for row in range(grid) for col in range(grid)], dtype=np.float32)


@struct.dataclass
class PointMassState:
    pos: jnp.ndarray  # [B, 2]
    vel: jnp.ndarray  # [B, 2]
    t: jnp.ndarray  # [B] int32 step counter within the episode


class PointMass:
    """Batched point mass implementing :class:`leo_teacher.envs.base.Env` (continuous actions)."""

    name = "point-mass"
    continuous = True

    def __init__(self, episode_length: int = 50, random_start_steps: int = 50, target_grid: int = 5,
                 goal_radius: float = 0.1, stop_on_goal: bool = False):
        if target_grid < 1:
            raise ValueError("env.target_grid must be at least 1")
        if not 0 < goal_radius <= 1.0 / target_grid:
            raise ValueError(f"env.goal_radius={goal_radius} must be positive and at most half a cell "
                             f"({1.0 / target_grid:g} for env.target_grid={target_grid})")
        self.num_actions = 2  # the action dimension: the force's x and y
        self.episode_length = episode_length
        self.max_episode_steps = episode_length
        self.random_start_steps = max(1, min(random_start_steps, episode_length))
        self.obs_spec = ObsSpec(size=4)
        self.targets = cell_centres(target_grid)
        names = tuple(f"cell/{k // target_grid}-{k % target_grid}" for k in range(len(self.targets)))
        at_rest = np.concatenate([self.targets, np.zeros_like(self.targets)], axis=1)  # (centre, velocity 0)
        self.goal_set = DistanceGoalSet(
            names=names,
            reps=self.targets,  # a student reads the target's coordinates, in observation units
            reachable=np.ones(len(names), dtype=bool),  # every cell lies inside the arena
            targets=at_rest if stop_on_goal else self.targets,
            position_slice=(0, 4) if stop_on_goal else (0, 2),
            radius=goal_radius,
        )

    @staticmethod
    def _obs(pos: jnp.ndarray, vel: jnp.ndarray) -> jnp.ndarray:
        return jnp.concatenate([pos, vel / MAX_SPEED], axis=-1).astype(jnp.float32)

    @staticmethod
    def _fresh(rng: jax.Array, num_envs: int):
        pos = jax.random.uniform(rng, (num_envs, 2), minval=-1.0, maxval=1.0)
        return pos, jnp.zeros_like(pos)

    # ------------------------------------------------------------------ Env protocol

    @partial(jax.jit, static_argnums=(0, 2, 3))
    def reset(self, rng: jax.Array, num_envs: int, evaluation: bool = False):
        k_pos, k_t = jax.random.split(jax.random.fold_in(rng, EVAL_STREAM) if evaluation else rng)
        pos, vel = self._fresh(k_pos, num_envs)
        t = start_steps(k_t, num_envs, self.random_start_steps, evaluation)
        return PointMassState(pos=pos, vel=vel, t=t), self._obs(pos, vel)

    def step(self, rng: jax.Array, state: PointMassState, action: jnp.ndarray):
        action = jnp.clip(action.astype(jnp.float32), -1.0, 1.0)
        vel = DAMPING * state.vel + ACCEL * action
        moved = state.pos + vel
        pos = jnp.clip(moved, -1.0, 1.0)
        vel = jnp.where(moved == pos, vel, 0.0)  # a wall stops the motion across it
        next_obs = self._obs(pos, vel)
        t = state.t + 1
        end = t >= self.episode_length
        # Auto-reset: ended envs start again at rest at a fresh random position.
        fresh_pos, fresh_vel = self._fresh(rng, action.shape[0])
        pos = jnp.where(end[:, None], fresh_pos, pos)
        vel = jnp.where(end[:, None], fresh_vel, vel)
        t = jnp.where(end, 0, t)
        obs = jnp.where(end[:, None], self._obs(pos, vel), next_obs)
        return PointMassState(pos=pos, vel=vel, t=t), StepResult(obs=obs, next_obs=next_obs, episode_end=end)

    def render(self, state: PointMassState, index: int = 0, goal: int | None = None, size: int = 160) -> np.ndarray:
        """The arena from above (H, W, 3 uint8): every target circle, the commanded one in green,
        the mass in red."""
        from PIL import Image, ImageDraw

        px = lambda p: ((p[0] + 1.0) / 2.0 * (size - 1), (1.0 - p[1]) / 2.0 * (size - 1))  # noqa: E731
        img = Image.new("RGB", (size, size), (245, 245, 245))
        d = ImageDraw.Draw(img)
        r = self.goal_set.radius * (size - 1) / 2.0
        for k, target in enumerate(self.targets):
            (x, y) = px(target)
            colour, width = ((60, 160, 75), 3) if k == goal else ((190, 190, 190), 1)
            d.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=width)
        (x, y) = px(np.asarray(state.pos)[index])
        d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(220, 40, 40))
        return np.asarray(img)
