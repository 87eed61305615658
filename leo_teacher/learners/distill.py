"""Pure distillation students (mode ``distill``): the student acts, the frozen teacher labels.

DAgger-style: the rollout is the student's own (optionally the teacher's at first,
``coordinator.teacher_act_start``), and the loss is only the distillation terms towards the
teacher's advice on the states visited: distill_coef * policy distillation (argmax / softmax /
KL) + value_distill_coef * (V - V_T)^2 / 2. No reward is used; mode ``distill-ppo`` adds PPO.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from leo_teacher.core import losses
from leo_teacher.core.sgd import sgd_update
from leo_teacher.core.state import Advice
from leo_teacher.learners.base import StudentHParams
from leo_teacher.learners.ppo import PPOLearner


@struct.dataclass
class DistillBatch:
    """Flat distillation data of one student: states, goals, the teacher's advice."""

    obs: jnp.ndarray  # [N, D]
    goal: jnp.ndarray  # [N]
    advice: Advice


def distillation_loss(distill: jnp.ndarray, value: jnp.ndarray, teacher_value: jnp.ndarray,
                      hp: StudentHParams) -> tuple[jnp.ndarray, dict]:
    """distill_coef * distill + value_distill_coef * 0.5 * mean((V - V_T)^2), and its metrics.

    ``distill`` is the policy distillation term already computed on the student's outputs;
    the teacher's value is a fixed target (no gradient flows into the teacher).
    """
    vdistill = losses.value_distill_loss(value, teacher_value)
    total = hp.distill_coef * distill + hp.value_distill_coef * vdistill
    return total, {"student_loss": total, "distill_loss": distill, "value_distill_loss": vdistill}


class DistillLearner(PPOLearner):
    """Acts like a PPO student (samples its policy); learns from the teacher's advice only."""

    def update(self, key, apply_fn, learner, part, last_out, last_value, hp: StudentHParams):
        T, n = part.goal.shape
        flat = lambda x: x.reshape((T * n,) + x.shape[2:])  # noqa: E731
        batch = DistillBatch(obs=flat(part.obs), goal=flat(part.goal), advice=jax.tree_util.tree_map(flat, part.advice))
        loss_fn = lambda params, b: self.loss(apply_fn, params, b, hp)  # noqa: E731
        return sgd_update(key, learner, self.tx, loss_fn, batch, self.minibatch_size, self.epochs)

    def loss(self, apply_fn, params, b: DistillBatch, hp: StudentHParams) -> tuple[jnp.ndarray, dict]:
        """The student's distillation loss on a minibatch; the teacher's advice is a constant."""
        advice = jax.lax.stop_gradient(b.advice)  # the teacher is frozen: its advice is data
        out, value = apply_fn(params, b.obs.astype(jnp.float32), self.goal_reps[b.goal])
        distill = self.dist.distill(hp.distill_target, out, advice, hp.distill_tau)
        return distillation_loss(distill, value, advice.value, hp)
