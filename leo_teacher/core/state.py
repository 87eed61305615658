"""Typed training state: what one jitted iteration reads and writes."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Learner:
    """A network's parameters with its optimiser state (the optimiser itself is static)."""

    params: Any
    opt_state: Any


@struct.dataclass
class ActorState:
    """The environment side: env state, current observations, commanded goals."""

    env_state: Any
    obs: jnp.ndarray  # [B, D]
    goal: jnp.ndarray  # [B] int32, the commanded goal
    first_goal: jnp.ndarray  # [B] bool, the current goal is the episode's first
    seen: jnp.ndarray  # [G] bool, goals achieved at least once during training
    live_successes: jnp.ndarray  # decayed count of first-goal successes
    live_attempts: jnp.ndarray  # decayed count of first goals that finished
    # The paper's live metric (core/rollout.py): per goal, decayed counts of the episodes' first
    # commanded goals achieved, and of episodes that ended while on their first goal.
    paper_successes: jnp.ndarray  # [G] float32
    paper_failures: jnp.ndarray  # [G] float32
    # The progress sampler's faster-decayed copies of those counts (core/rollout.py FAST_DECAY).
    fast_successes: jnp.ndarray  # [G] float32
    fast_failures: jnp.ndarray  # [G] float32
    # This chunk's goal draws: how many times each goal was commanded, and the summed
    # distributions they were drawn from (for the logged entropy).
    commanded: jnp.ndarray  # [G] float32
    command_mass: jnp.ndarray  # [G] float32


@struct.dataclass
class TrainState:
    """Everything that changes during training; a pytree, so it scans and checkpoints."""

    actors: ActorState
    teacher: Learner
    students: tuple  # one Learner per student, in the order of the run's student list
    rng: jax.Array
    iteration: jnp.ndarray  # int32


@struct.dataclass
class Advice:
    """What the teacher says, while acting, about each env's commanded goal; students distil it.

    A discrete teacher fills ``q`` (its values of every action) and leaves ``action`` None; a
    continuous one fills ``action`` (its action for the goal) and leaves ``q`` None.
    """

    q: jnp.ndarray | None  # [B, A] the teacher's action values for the commanded goal (discrete)
    action: jnp.ndarray | None  # [B, D] the teacher's action for the commanded goal (continuous)
    value: jnp.ndarray  # [B] the teacher's value of the state for the commanded goal

    @classmethod
    def blank(cls, batch: int, num_actions: int = 0, action_dim: int = 0) -> "Advice":
        """Zeros of the right shapes, for rollouts that do not run the teacher."""
        return cls(q=jnp.zeros((batch, num_actions)) if num_actions else None,
                   action=jnp.zeros((batch, action_dim)) if action_dim else None, value=jnp.zeros((batch,)))


@struct.dataclass
class PackedAdvice:
    """A continuous teacher's :class:`Advice` as one array, action | value [..., D + 1].

    The PPO student's minibatches carry it so: XLA compiles the distillation loss's reduction
    over a slice of this record differently (a vector loop with a scalar tail) from one over a
    separate [mb, D] array, which moved the logged distillation loss by a float32 ulp.
    """

    record: jnp.ndarray  # [..., D + 1]
    q = None  # no action values (continuous actions)

    @classmethod
    def pack(cls, advice: Advice) -> "PackedAdvice":
        return cls(jnp.concatenate([advice.action, advice.value[..., None]], axis=-1))

    @property
    def action(self) -> jnp.ndarray:
        """[..., D] the teacher's action for the commanded goal."""
        return self.record[..., :-1]

    @property
    def value(self) -> jnp.ndarray:
        """[...] the teacher's value of the state for the commanded goal."""
        return self.record[..., -1]


@struct.dataclass
class Transition:
    """One rollout step for a batch: only what the updates need (DESIGN §3).

    Per goal only the teacher's bootstrap value is kept ([B, G]: the max over actions of its
    values; continuous: min_i Q_i(s, g, smoothed pi(s)_g)); the teacher's full record is kept
    for the commanded goal only (:class:`Advice`). Goal-conditioned teachers compute their
    bootstrap values after the rollout, for the goals they train, and keep none here ([B, 0]).
    """

    obs: jnp.ndarray  # [B, D]
    action: jnp.ndarray  # [B] int32 (continuous: [B, D] float32, as sampled, before clipping)
    goal: jnp.ndarray  # [B] int32
    reward: jnp.ndarray  # [B] float, commanded goal achieved in s'
    goal_done: jnp.ndarray  # [B] bool, episode ended or commanded goal achieved
    episode_end: jnp.ndarray  # [B] bool
    achieved: jnp.ndarray  # [B, G] bool, every goal's achievement in s'
    logp: jnp.ndarray  # [B] behaviour log-probability (student actors)
    value: jnp.ndarray  # [B] the acting student's value estimate
    advice: Advice  # the teacher's record for the commanded goal
    teacher_bootstrap: jnp.ndarray  # [B, G] each goal's bootstrap value at s (all-goals teachers)
    teacher_greedy: jnp.ndarray | None = None  # [B, G] int8 greedy action per goal at s (Watkins traces)
