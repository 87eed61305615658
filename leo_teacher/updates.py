"""Teacher and student updates over one rollout: epochs of shuffled minibatches under scan."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from leo_teacher import losses
from leo_teacher.distributions import Categorical
from leo_teacher.state import Learner


def _minibatches(rng: jax.Array, data: Any, num_minibatches: int, epochs: int) -> Any:
    """Shuffle a flat batch once per epoch and split it: leaves [epochs*num_mb, mb, ...]."""
    n = jax.tree_util.tree_leaves(data)[0].shape[0]

    def one_epoch(key):
        perm = jax.random.permutation(key, n)
        return jax.tree_util.tree_map(
            lambda x: x[perm].reshape((num_minibatches, n // num_minibatches) + x.shape[1:]), data
        )

    batches = jax.vmap(one_epoch)(jax.random.split(rng, epochs))
    return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), batches)


def _sgd(learner: Learner, tx: optax.GradientTransformation, loss_fn: Callable, batches: Any):
    """Scan one gradient step per minibatch; returns the learner and the mean metrics."""

    def step(learner: Learner, batch):
        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.params, batch)
        updates, opt_state = tx.update(grads, learner.opt_state, learner.params)
        params = optax.apply_updates(learner.params, updates)
        return Learner(params=params, opt_state=opt_state), metrics

    learner, metrics = jax.lax.scan(step, learner, batches)
    return learner, jax.tree_util.tree_map(jnp.mean, metrics)


def sgd_update(rng: jax.Array, learner: Learner, tx: optax.GradientTransformation, loss_fn: Callable,
               data: Any, minibatch_size: int, epochs: int) -> tuple[Learner, dict]:
    """``epochs`` passes of shuffled minibatches of ``data``, one gradient step of
    ``loss_fn(params, batch) -> (loss, metrics)`` each; returns the learner and mean metrics."""
    n = jax.tree_util.tree_leaves(data)[0].shape[0]
    return _sgd(learner, tx, loss_fn, _minibatches(rng, data, n // minibatch_size, epochs))


def teacher_update(
    rng: jax.Array,
    learner: Learner,
    tx: optax.GradientTransformation,
    q_taken_fn: Callable,
    data: dict,
    minibatch_size: int,
    epochs: int,
) -> tuple[Learner, dict]:
    """TD update of the teacher slot on a flat batch.

    ``data`` holds obs [N, D], action [N], target [N, K] (and, for goal-conditioned learners,
    goal [N, K]); ``q_taken_fn(params, batch) -> [mb, K]`` gives the values of the taken action
    for the K goals each transition trains (all G goals for LEO, from one pass).
    """

    def loss_fn(params, batch):
        q_taken = q_taken_fn(params, batch)
        loss = losses.leo_td_loss(q_taken, batch["target"])
        return loss, {"teacher_loss": loss, "teacher_q_mean": q_taken.mean()}

    batches = _minibatches(rng, data, data["obs"].shape[0] // minibatch_size, epochs)
    return _sgd(learner, tx, loss_fn, batches)


def student_update(
    rng: jax.Array,
    learner: Learner,
    tx: optax.GradientTransformation,
    apply_fn: Callable,
    goal_reps: jnp.ndarray,
    data: dict,
    hp: dict,
    minibatch_size: int,
    epochs: int,
    dist: Any = None,
) -> tuple[Learner, dict]:
    """PPO with value clipping and per-minibatch advantage normalisation, plus distillation.

    ``data`` holds flat arrays: obs, goal, action, logp, value, advantage, return_, teacher_q
    (the teacher's record for the commanded goal: values [N, A], or for continuous actions its
    action and value [N, D + 1]). ``hp`` holds the coefficients; distillation coefficients
    already carry the schedule's scale (0 turns them off). ``dist`` is the action distribution
    (:mod:`leo_teacher.distributions`; categorical when None).
    """
    dist = dist or Categorical()

    def loss_fn(params, b):
        out, value = apply_fn(params, b["obs"].astype(jnp.float32), goal_reps[b["goal"]])
        logp = dist.log_prob(out, b["action"])
        adv = losses.normalize_advantages(b["advantage"])
        pg = losses.ppo_policy_loss(logp, b["logp"], adv, hp["clip_eps"])
        vf = losses.ppo_value_loss(value, b["value"], b["return_"], hp["clip_eps"])
        ent = dist.entropy(out)
        distill = dist.distill(hp["distill_target"], out, b["teacher_q"], hp["tau"])
        vdistill = losses.value_distill_loss(value, dist.teacher_values(b["teacher_q"]))
        total = (
            pg
            + hp["value_coef"] * vf
            - hp["entropy_coef"] * ent
            + hp["distill_coef"] * distill
            + hp["value_distill_coef"] * vdistill
        )
        metrics = {
            "student_loss": total,
            "policy_loss": pg,
            "value_loss": vf,
            "entropy": ent,
            "distill_loss": distill,
            "value_distill_loss": vdistill,
            "approx_kl": jnp.mean(b["logp"] - logp),
        }
        return total, metrics

    batches = _minibatches(rng, data, data["obs"].shape[0] // minibatch_size, epochs)
    return _sgd(learner, tx, loss_fn, batches)


def student_q_update(
    rng: jax.Array,
    learner: Learner,
    tx: optax.GradientTransformation,
    apply_fn: Callable,
    goal_reps: jnp.ndarray,
    data: dict,
    distill_coef: jnp.ndarray,
    minibatch_size: int,
    epochs: int,
) -> tuple[Learner, dict]:
    """A PQN student: TD on its commanded goal plus regression to the teacher's values.

    The student's policy head is read as Q-logits, Q_S = sigmoid(logits). ``data`` holds flat
    obs, goal, action, target [N] (fixed TD targets) and teacher_q [N, A].
    """

    def loss_fn(params, b):
        logits, _ = apply_fn(params, b["obs"].astype(jnp.float32), goal_reps[b["goal"]])
        q = jax.nn.sigmoid(logits)
        q_taken = jnp.take_along_axis(q, b["action"][:, None], axis=-1)
        td = losses.leo_td_loss(q_taken, b["target"][:, None])
        distill = losses.q_distill_loss(q, b["teacher_q"])
        total = td + distill_coef * distill
        return total, {"student_loss": total, "student_td_loss": td, "distill_loss": distill}

    batches = _minibatches(rng, data, data["obs"].shape[0] // minibatch_size, epochs)
    return _sgd(learner, tx, loss_fn, batches)


def linear_lr(lr: float, anneal: bool, total_updates: int) -> optax.Schedule | float:
    """Learning rate annealed linearly to 0 over ``total_updates`` gradient steps."""
    if not anneal:
        return lr
    return optax.linear_schedule(lr, 0.0, max(1, total_updates))


def make_teacher_tx(lr, max_grad_norm: float) -> optax.GradientTransformation:
    """RAdam with global-norm clipping (DESIGN §1)."""
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.radam(lr))


def make_student_tx(lr, max_grad_norm: float, eps: float) -> optax.GradientTransformation:
    """Adam (eps 1e-5) with global-norm clipping, as in the PPO reference."""
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(lr, eps=eps))
