"""Which goal columns a goal-conditioned teacher trains on each transition (hindsight relabelling)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from leo_teacher.config import Config
from leo_teacher.core.state import Transition

HER_POSITIVES = {"random": lambda k: 0, "seen": lambda k: 0, "positive": lambda k: k, "mixed": lambda k: k // 2}


class Relabelling(NamedTuple):
    """``relabel`` is the mode's ("commanded", "her" or "all"); ``count`` hindsight goals per env."""

    relabel: str
    count: int
    her_strategy: str

    @classmethod
    def from_config(cls, config: Config, relabel: str) -> "Relabelling":
        count = config.teacher.relabel_count if relabel == "her" else 0
        return cls(relabel, count, config.teacher.her_strategy)


def training_goals(rng: jax.Array, traj: Transition, num_goals: int, spec: Relabelling,
                   seen: jnp.ndarray | None = None) -> jnp.ndarray:
    """Goal columns [T, B, K] a goal-conditioned learner trains on each transition.

    Column 0 is the commanded goal (it changes only where an episode or goal ended, so
    lambda-returns along a column stay within one goal). ``her`` adds ``count`` hindsight
    goals per env, fixed over the rollout: "random" draws them uniformly from all goals, "seen"
    uniformly from the goals ``seen`` [G] so far in training (the paper's), "positive" from the
    goals this env achieved during the rollout, "mixed" half and half. ``all`` trains every goal.
    """
    G = num_goals
    T, B = traj.goal.shape
    if spec.relabel == "all":
        return jnp.broadcast_to(jnp.arange(G, dtype=jnp.int32), (T, B, G))
    commanded = traj.goal[..., None]
    k = spec.count
    if spec.relabel == "commanded" or k == 0:
        return commanded
    k_rand, k_pos = jax.random.split(rng)
    n_pos = HER_POSITIVES[spec.her_strategy](k)
    if spec.her_strategy == "seen" and seen is not None:
        pool = jnp.where(seen | ~seen.any(), 0.0, -jnp.inf)
        random_goals = jax.random.categorical(k_rand, pool, shape=(B, k - n_pos)).astype(jnp.int32)
    else:
        random_goals = jax.random.randint(k_rand, (B, k - n_pos), 0, G, dtype=jnp.int32)
    hit = traj.achieved.any(axis=0)  # [B, G] goals achieved by each env in this rollout
    logits = jnp.where(hit | ~hit.any(axis=1, keepdims=True), 0.0, -jnp.inf)
    positive = jax.random.categorical(k_pos, logits[:, None, :], shape=(B, n_pos)).astype(jnp.int32)
    extra = jnp.concatenate([random_goals, positive], axis=1)
    return jnp.concatenate([commanded, jnp.broadcast_to(extra, (T, B, k))], axis=-1)


def relabelled(traj: Transition, last_obs: jnp.ndarray, goals: jnp.ndarray):
    """(next observations [T, B, D] as float32, achievement of each goal column in s' [T, B, K])."""
    next_obs = jnp.concatenate([traj.obs[1:].astype(jnp.float32), last_obs[None]], axis=0)
    return next_obs, jnp.take_along_axis(traj.achieved, goals, axis=-1)
