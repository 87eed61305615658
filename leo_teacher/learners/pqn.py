"""PQN students (mode dual-leo-pqn): the policy head read as Q-logits, Q_S = sigmoid(logits).

Acting: epsilon-greedy on (1 - w) * Q_S + w * Q_T for the commanded goal (w =
``coordinator.teacher_value_weight``). Learning: one-step (or lambda) TD on the commanded goal,
bootstrapping from the values computed while acting, plus regression to the teacher's values
(coefficient ``distill_coef``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from leo_teacher.config import Config
from leo_teacher.core import losses
from leo_teacher.core.distributions import epsilon_greedy
from leo_teacher.core.sgd import sgd_update
from leo_teacher.learners.base import StudentHParams, student_optimiser


@struct.dataclass
class PQNBatch:
    """Flat TD training data of one PQN student."""

    obs: jnp.ndarray  # [N, D]
    goal: jnp.ndarray  # [N]
    action: jnp.ndarray  # [N]
    target: jnp.ndarray  # [N] fixed TD targets
    teacher_q: jnp.ndarray  # [N, A] the teacher's values for the commanded goal


class PQNLearner:
    """Students that act epsilon-greedily on their own and the teacher's values and learn by TD."""

    explores = True

    def __init__(self, config: Config, dist, goal_reps: jnp.ndarray, num_students: int):
        s = config.student
        self.dist, self.goal_reps = dist, goal_reps
        self.gamma, self.td_lambda = s.gamma, config.teacher.td_lambda
        self.teacher_weight = config.coordinator.teacher_value_weight
        self.minibatch_size, self.epochs = s.minibatch_size, s.epochs
        self.tx = student_optimiser(config, num_students)

    def act(self, k_act, k_eps, out, value, advice, eps):
        w = self.teacher_weight
        q_s = jax.nn.sigmoid(out)
        action = epsilon_greedy(k_act, k_eps, (1.0 - w) * q_s + w * advice.q, eps)
        # The student's own greedy value bootstraps its TD targets.
        return action, self.dist.log_prob(out, action), q_s.max(axis=-1)

    def update(self, key, apply_fn, learner, part, last_out, last_value, hp: StudentHParams):
        T, n = part.goal.shape
        last_q = jax.nn.sigmoid(last_out).max(axis=-1)
        next_q = jnp.concatenate([part.value[1:], last_q[None]], axis=0)[..., None]
        targets = losses.leo_lambda_targets(part.reward[..., None] > 0, part.episode_end, next_q, self.gamma,
                                            self.td_lambda)[..., 0]
        flat = lambda x: x.reshape((T * n,) + x.shape[2:])  # noqa: E731
        batch = PQNBatch(obs=flat(part.obs), goal=flat(part.goal), action=flat(part.action), target=flat(targets),
                         teacher_q=flat(part.advice.q))
        distill_coef = hp.distill_coef

        def loss_fn(params, b: PQNBatch):
            logits, _ = apply_fn(params, b.obs.astype(jnp.float32), self.goal_reps[b.goal])
            q = jax.nn.sigmoid(logits)
            q_taken = jnp.take_along_axis(q, b.action[:, None], axis=-1)
            td = losses.leo_td_loss(q_taken, b.target[:, None])
            distill = losses.q_distill_loss(q, b.teacher_q)
            total = td + distill_coef * distill
            return total, {"student_loss": total, "student_td_loss": td, "distill_loss": distill}

        return sgd_update(key, learner, self.tx, loss_fn, batch, self.minibatch_size, self.epochs)
