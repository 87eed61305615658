"""The student-learner protocol: how students act and learn (PPO, PQN), whatever the student network.

A learner is the algorithm; the student (:mod:`students`) is the network. The coordinator calls
``act`` on the students' concatenated outputs while rolling out, and ``update`` once per student
on its slice of the rollout, with hyperparameters that already carry the schedule's scale.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import optax

from leo_teacher.config import Config
from leo_teacher.core.sgd import linear_lr, make_student_tx
from leo_teacher.core.state import Advice, Learner, Transition

# apply(params, obs [B, D], goal representation [B, Dg]) -> (policy output [B, P], value [B])
StudentApply = Callable[[Any, jnp.ndarray, jnp.ndarray], tuple[jnp.ndarray, jnp.ndarray]]


class StudentHParams(NamedTuple):
    """One student's loss coefficients for this iteration (distillation already scaled)."""

    clip_eps: float
    value_coef: float
    entropy_coef: float
    distill_target: str  # static: "argmax", "softmax" or "kl"
    distill_tau: float
    distill_coef: jnp.ndarray
    value_distill_coef: jnp.ndarray


class StudentLearner(Protocol):
    """A student algorithm."""

    explores: bool  # acts epsilon-greedily (the epsilon metric is logged)
    tx: optax.GradientTransformation

    def act(self, k_act: jax.Array, k_eps: jax.Array, out: jnp.ndarray, value: jnp.ndarray, advice: Advice,
            eps: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        """(action, its behaviour log-probability, the value the rollout records), each [B]."""
        ...

    def update(self, key: jax.Array, apply_fn: StudentApply, learner: Learner, part: Transition,
               last_out: jnp.ndarray, last_value: jnp.ndarray, hp: StudentHParams) -> tuple[Learner, dict]:
        """One update of one student on its slice ``part`` [T, n] of the rollout."""
        ...


def student_optimiser(config: Config, num_students: int) -> optax.GradientTransformation:
    """Adam (eps 1e-5) with global-norm clipping, annealed over every minibatch step of the run."""
    s = config.student
    share = config.env.num_envs // num_students * config.env.rollout_steps
    steps = max(1, config.num_iterations) * (share // s.minibatch_size) * s.epochs
    return make_student_tx(linear_lr(s.lr, s.anneal_lr, steps), s.max_grad_norm, s.adam_eps)
