"""PPO students (the paper's Dual LEO student): clipped policy and value losses, plus distillation.

Per minibatch: advantages normalised; loss = policy + value_coef * value - entropy_coef *
entropy + distill_coef * distillation(teacher advice) + value_distill_coef * (V - V_T)^2 / 2.
GAE's "done" is the episode's end or the commanded goal's achievement (DESIGN §1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from leo_teacher.config import Config
from leo_teacher.core import losses
from leo_teacher.core.sgd import sgd_update
from leo_teacher.core.state import Advice, PackedAdvice
from leo_teacher.learners.base import StudentHParams, student_optimiser


@struct.dataclass
class PPOBatch:
    """Flat PPO training data of one student."""

    obs: jnp.ndarray  # [N, D]
    goal: jnp.ndarray  # [N] goal index
    action: jnp.ndarray  # [N] or [N, D]
    logp: jnp.ndarray  # [N] behaviour log-probability
    value: jnp.ndarray  # [N] value when acting
    advantage: jnp.ndarray  # [N]
    target_return: jnp.ndarray  # [N] GAE return
    advice: Advice | PackedAdvice  # the teacher's record for the commanded goal (continuous: packed)


def ppo_loss(out, value, b: PPOBatch, logp, entropy, distill, hp: StudentHParams):
    """PPO's total loss and metrics from the student's outputs on a minibatch."""
    adv = losses.normalize_advantages(b.advantage)
    pg = losses.ppo_policy_loss(logp, b.logp, adv, hp.clip_eps)
    vf = losses.ppo_value_loss(value, b.value, b.target_return, hp.clip_eps)
    vdistill = losses.value_distill_loss(value, b.advice.value)
    total = (
        pg
        + hp.value_coef * vf
        - hp.entropy_coef * entropy
        + hp.distill_coef * distill
        + hp.value_distill_coef * vdistill
    )
    metrics = {
        "student_loss": total,
        "policy_loss": pg,
        "value_loss": vf,
        "entropy": entropy,
        "distill_loss": distill,
        "value_distill_loss": vdistill,
        "approx_kl": jnp.mean(b.logp - logp),
    }
    return total, metrics


class PPOLearner:
    """Students that sample from their policy and learn by PPO."""

    explores = False

    def __init__(self, config: Config, dist, goal_reps: jnp.ndarray, num_students: int):
        s = config.student
        self.dist, self.goal_reps = dist, goal_reps
        self.gamma, self.gae_lambda = s.gamma, s.gae_lambda
        self.minibatch_size, self.epochs = s.minibatch_size, s.epochs
        self.tx = student_optimiser(config, num_students)

    def act(self, k_act, k_eps, out, value, advice, eps):
        action, logp = self.dist.sample(k_act, out)
        return action, logp, value

    def update(self, key, apply_fn, learner, part, last_out, last_value, hp: StudentHParams):
        adv, ret = losses.gae(part.reward, part.value, part.goal_done, last_value, self.gamma, self.gae_lambda)
        T, n = part.goal.shape
        flat = lambda x: x.reshape((T * n,) + x.shape[2:])  # noqa: E731
        advice = part.advice if part.advice.action is None else PackedAdvice.pack(part.advice)
        batch = PPOBatch(obs=flat(part.obs), goal=flat(part.goal), action=flat(part.action), logp=flat(part.logp),
                         value=flat(part.value), advantage=flat(adv), target_return=flat(ret),
                         advice=jax.tree_util.tree_map(flat, advice))
        dist = self.dist

        def loss_fn(params, b: PPOBatch):
            out, value = apply_fn(params, b.obs.astype(jnp.float32), self.goal_reps[b.goal])
            logp = dist.log_prob(out, b.action)
            distill = dist.distill(hp.distill_target, out, b.advice, hp.distill_tau)
            return ppo_loss(out, value, b, logp, dist.entropy(out), distill, hp)

        return sgd_update(key, learner, self.tx, loss_fn, batch, self.minibatch_size, self.epochs)
