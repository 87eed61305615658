"""The SGD loop every learner shares: epochs of shuffled minibatches under scan; optimisers."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from leo_teacher.core.state import Learner


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


STATS = "batch_stats"  # a Flax variable collection updated by the forward pass, not by gradients


def has_stats(params: Any) -> bool:
    """Whether ``params`` (Flax variables) carry running statistics (BatchRenorm)."""
    return isinstance(params, dict) and STATS in params


def trainable(params: Any) -> Any:
    """What the optimiser trains: everything but the running statistics."""
    return {k: v for k, v in params.items() if k != STATS} if has_stats(params) else params


def _sgd(learner: Learner, tx: optax.GradientTransformation, loss_fn: Callable, batches: Any):
    """Scan one gradient step per minibatch; returns the learner and the mean metrics.

    With running statistics in the parameters, ``loss_fn`` returns ``(loss, (metrics, new
    statistics))``: the gradient step trains the rest, the statistics are replaced.
    """

    def step(learner: Learner, batch):
        if not has_stats(learner.params):
            (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(learner.params, batch)
            updates, opt_state = tx.update(grads, learner.opt_state, learner.params)
            params = optax.apply_updates(learner.params, updates)
            return Learner(params=params, opt_state=opt_state), metrics
        train = trainable(learner.params)
        (_, (metrics, stats)), grads = jax.value_and_grad(
            lambda p: loss_fn({**p, STATS: learner.params[STATS]}, batch), has_aux=True)(train)
        updates, opt_state = tx.update(grads, learner.opt_state, train)
        params = {**optax.apply_updates(train, updates), STATS: stats}
        return Learner(params=params, opt_state=opt_state), metrics

    learner, metrics = jax.lax.scan(step, learner, batches)
    return learner, jax.tree_util.tree_map(jnp.mean, metrics)


def sgd_update(rng: jax.Array, learner: Learner, tx: optax.GradientTransformation, loss_fn: Callable,
               data: Any, minibatch_size: int, epochs: int) -> tuple[Learner, dict]:
    """``epochs`` passes of shuffled minibatches of ``data``, one gradient step of
    ``loss_fn(params, batch) -> (loss, metrics)`` each; returns the learner and mean metrics."""
    n = jax.tree_util.tree_leaves(data)[0].shape[0]
    return _sgd(learner, tx, loss_fn, _minibatches(rng, data, n // minibatch_size, epochs))


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
