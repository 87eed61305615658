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


@struct.dataclass
class TrainState:
    """Everything that changes during training; a pytree, so it scans and checkpoints."""

    actors: ActorState
    teacher: Learner
    students: tuple  # one Learner per student, in the order of the run's student list
    rng: jax.Array
    iteration: jnp.ndarray  # int32


@struct.dataclass
class Transition:
    """One rollout step for a batch: only what the updates need (DESIGN §3).

    Per goal only the max over actions of the teacher's values is kept ([B, G]); the full
    action values are kept for the commanded goal only ([B, A]). With continuous actions
    (leo_teacher/continuous.py) an action is a float vector [B, D], ``teacher_q_goal`` holds the
    teacher's action for the commanded goal and its value ([B, D + 1]), and ``teacher_q_max``
    each goal's bootstrap value min_i Q_i(s, g, smoothed pi(s)_g).
    """

    obs: jnp.ndarray  # [B, D]
    action: jnp.ndarray  # [B] int32 (continuous: [B, D] float32, as sampled, before clipping)
    goal: jnp.ndarray  # [B] int32
    reward: jnp.ndarray  # [B] float, commanded goal achieved in s'
    goal_done: jnp.ndarray  # [B] bool, episode ended or commanded goal achieved
    episode_end: jnp.ndarray  # [B] bool
    achieved: jnp.ndarray  # [B, G] bool, every goal's achievement in s'
    logp: jnp.ndarray  # [B] behaviour log-probability (student actors)
    value: jnp.ndarray  # [B] student value estimate
    teacher_q_goal: jnp.ndarray  # [B, A] teacher values for the commanded goal
    teacher_q_max: jnp.ndarray  # [B, G] max over actions of the teacher's values at s
