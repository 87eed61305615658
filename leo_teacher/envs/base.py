"""The environment interface: batched, functional, jittable.

Every environment works on a whole batch of envs at once so that it can choose how to reset
(a cheap per-env reset for the gridworld, optimistic resets or a world bank for Craftax).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from leo_teacher.envs.goals import GoalSet


def start_steps(rng: jax.Array, num_envs: int, random_start_steps: int, evaluation: bool) -> jnp.ndarray:
    """Each env's initial step count: random in [0, random_start_steps) so that episodes
    desynchronise during training, 0 for evaluation (full-length first episodes)."""
    if evaluation:
        return jnp.zeros((num_envs,), dtype=jnp.int32)
    return jax.random.randint(rng, (num_envs,), 0, random_start_steps, dtype=jnp.int32)


@struct.dataclass
class StepResult:
    """What one batched step returns.

    ``obs`` is the observation to act on next (after an automatic reset where an episode
    ended); ``next_obs`` is the true successor observation s' before any reset, used to label
    goal achievement; ``episode_end`` marks envs whose episode ended on this step.
    """

    obs: jnp.ndarray  # [B, D]
    next_obs: jnp.ndarray  # [B, D]
    episode_end: jnp.ndarray  # [B] bool


@dataclass(frozen=True)
class ObsSpec:
    """Layout of the flat observation.

    ``map_shape`` (H, W, C) says that the first H*W*C entries are a spatial map stored
    row-major, so conv and token encoders can reshape them; the rest are flat features.
    ``binary`` says every entry is 0 or 1, so rollouts may store observations as uint8
    (4x smaller; what keeps Craftax's paper-sized rollout buffer under 1 GiB).
    ``one_hot`` says the whole observation is one one-hot vector (exactly one entry is 1), so a
    network's first layer may read it as a row lookup instead of a matmul.
    """

    size: int
    map_shape: tuple[int, int, int] | None = None
    binary: bool = False
    one_hot: bool = False

    @property
    def map_size(self) -> int:
        if self.map_shape is None:
            return 0
        h, w, c = self.map_shape
        return h * w * c


class Env(Protocol):
    """A batched goal-conditioned environment with a finite goal set."""

    name: str
    num_actions: int  # discrete: the number of actions A; continuous: the action dimension D
    continuous: bool  # actions are float vectors in [-1, 1]^D (else int32 indices in [0, A))
    obs_spec: ObsSpec
    goal_set: GoalSet
    max_episode_steps: int

    def reset(self, rng: jax.Array, num_envs: int, evaluation: bool = False) -> tuple[Any, jnp.ndarray]:
        """Start ``num_envs`` episodes; returns (state, obs [B, D]).

        With ``evaluation=True`` episodes start fresh (no randomised step counter), as the
        per-goal evaluation wants full-length first episodes.
        """
        ...

    def step(self, rng: jax.Array, state: Any, action: jnp.ndarray) -> tuple[Any, StepResult]:
        """Advance every env by one action [B]; resets ended episodes automatically."""
        ...

    def render(self, state: Any, index: int = 0):  # pragma: no cover - optional
        """An RGB frame (H, W, 3 uint8) of one env, for notebooks."""
        ...
