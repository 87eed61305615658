"""The Teacher protocol, and what every teacher's update shares.

A teacher sits in the coordinator's teacher slot. It owns its network, what it records while
the rollout acts (:meth:`Teacher.observe`), its targets and update, its greedy action and its
export forward. One factory (:func:`leo_teacher.teachers.make_teacher`) picks the teacher for a
(mode, action space); nothing else asks which kind it holds.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import optax
from flax import struct

from leo_teacher.config import Config
from leo_teacher.core.sgd import linear_lr, make_teacher_tx
from leo_teacher.core.state import Advice, Learner, Transition


class TDHParams(NamedTuple):
    """What every teacher's TD update needs from the config and the schedule."""

    gamma: float
    td_lambda: float
    minibatch_size: int
    epochs: int
    trace: str = "peng"  # "peng": every goal's trace runs on; "watkins": cut where a_t was not greedy for g

    @classmethod
    def from_config(cls, config: Config, gamma: float) -> "TDHParams":
        t = config.teacher
        return cls(float(gamma), t.td_lambda, t.minibatch_size, t.epochs, t.trace)


@struct.dataclass
class TDBatch:
    """A teacher's flat training data: K goal columns per transition, targets fixed."""

    obs: jnp.ndarray  # [N, D]
    action: jnp.ndarray  # [N] int32, or [N, D] continuous (clipped to the env's range)
    target: jnp.ndarray  # [N, K] (all-goals teachers: K = G)
    goal: jnp.ndarray | None = None  # [N, K] goal indices (goal-conditioned teachers)
    weight: jnp.ndarray | None = None  # [N, K] loss weights of the goal columns (None: all equal)


class ExportForward(NamedTuple):
    """The teacher's forward pass for a policy artifact: ``fn(params, obs)`` and its outputs' names."""

    fn: Callable
    outputs: list[str]


class Teacher(Protocol):
    """One kind of teacher (discrete LEO, goal-conditioned Q, continuous actor-critic, TD3)."""

    tx: optax.GradientTransformation

    def init(self, key: jax.Array, obs: jnp.ndarray) -> Learner:
        """Parameters and optimiser state for observations [B, D]."""
        ...

    def observe(self, params: Any, obs: jnp.ndarray, goal: jnp.ndarray,
                key: jax.Array) -> tuple[Advice, jnp.ndarray, jnp.ndarray | None]:
        """While acting: (advice for each env's commanded goal, bootstrap values [B, G] or [B, 0],
        each goal's greedy action [B, G] where the targets need it (Watkins traces), else None)."""
        ...

    def blank(self, batch: int) -> tuple[Advice, jnp.ndarray, jnp.ndarray | None]:
        """What :meth:`observe` returns, as zeros, for rollouts that do not run the teacher."""
        ...

    def explore(self, k_act: jax.Array, k_eps: jax.Array, advice: Advice, eps: jnp.ndarray) -> jnp.ndarray:
        """The teacher's exploratory action [B] (or [B, D]) when it acts."""
        ...

    def update(self, rng: jax.Array, learner: Learner, traj: Transition, last_obs: jnp.ndarray,
               seen: jnp.ndarray | None = None) -> tuple[Learner, dict]:
        """One update on the rollout ``traj`` [T, B] whose next observation is ``last_obs``
        (``seen`` [G]: the goals seen so far, for hindsight goals drawn from them)."""
        ...

    def greedy(self, params: Any, obs: jnp.ndarray, goal: jnp.ndarray) -> jnp.ndarray:
        """The greedy action for each observation's goal index."""
        ...

    def export_forward(self) -> ExportForward:
        """The forward pass a teacher artifact serialises; ConfigError where there is none."""
        ...


def teacher_optimiser(config: Config) -> optax.GradientTransformation:
    """RAdam, its learning rate annealed over every minibatch step of the run."""
    t = config.teacher
    steps = max(1, config.num_iterations) * (config.rollout_size // t.minibatch_size) * t.epochs
    return make_teacher_tx(linear_lr(t.lr, t.anneal_lr, steps), t.max_grad_norm)


def flat(x: jnp.ndarray) -> jnp.ndarray:
    """[T, B, ...] -> [T * B, ...]."""
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


def next_step(per_step: jnp.ndarray, last: jnp.ndarray) -> jnp.ndarray:
    """The values at s_{t+1} for each step t: ``per_step`` [T, ...] shifted by one, ``last`` after it."""
    return jnp.concatenate([per_step[1:], last[None]], axis=0)


def td_loss_metrics(critic_loss: jnp.ndarray, q: jnp.ndarray, **extra) -> dict:
    """The metrics every teacher update reports."""
    return {"teacher_loss": critic_loss, **extra, "teacher_q_mean": q.mean()}
