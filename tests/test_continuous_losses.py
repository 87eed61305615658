"""Continuous-action losses against hand-computed values, and the all-goals actor-critic update
against one-goal-at-a-time updates. No environment is stepped here: fast."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from leo_teacher.core import losses
from leo_teacher.teachers.actor_critic_nets import AllGoalsActorCritic, actor_only
from leo_teacher.core.distributions import DiagGaussian
from leo_teacher.core.state import Advice
from leo_teacher.envs.base import ObsSpec
from leo_teacher.envs.goals import DistanceGoalSet

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)  # 0.918939


def test_gaussian_log_prob_by_hand():
    mean, log_std = jnp.array([[0.0, 1.0]]), jnp.array([[0.0, math.log(2.0)]])
    action = jnp.array([[1.0, 1.0]])
    # dim 1: z = 1 -> -0.5 - 0.918939; dim 2: z = 0 -> -log 2 - 0.918939
    expected = (-0.5 - HALF_LOG_2PI) + (-math.log(2.0) - HALF_LOG_2PI)  # -3.031025
    np.testing.assert_allclose(losses.gaussian_log_prob(mean, log_std, action), [expected], rtol=1e-6)


def test_gaussian_entropy_by_hand():
    log_std = jnp.array([[0.0, math.log(2.0)], [0.0, math.log(2.0)]])
    # per dim: log_std + 0.5 * log(2 pi e) = log_std + 1.418939
    expected = 1.418939 + (0.693147 + 1.418939)
    np.testing.assert_allclose(losses.gaussian_entropy(log_std), expected, rtol=1e-5)


def test_gaussian_kl_by_hand():
    zero, one = jnp.zeros((1, 1)), jnp.ones((1, 1))
    # KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2 = 0.443147
    np.testing.assert_allclose(losses.gaussian_kl(zero, zero, one, jnp.log(2.0) * one), 0.443147, rtol=1e-5)
    np.testing.assert_allclose(losses.gaussian_kl(one, zero, one, zero), 0.0, atol=1e-7)


def test_distillation_losses_by_hand():
    mean, log_std, a_t = jnp.zeros((1, 1)), jnp.zeros((1, 1)), jnp.ones((1, 1))
    # -log N(1; 0, 1) = 0.5 + 0.918939, and d/dmean = -(a - mean) / std^2 = -1
    np.testing.assert_allclose(losses.distill_gaussian_nll_loss(mean, log_std, a_t), 0.5 + HALF_LOG_2PI, rtol=1e-6)
    g = jax.grad(lambda m: losses.distill_gaussian_nll_loss(m, log_std, a_t))(mean)
    np.testing.assert_allclose(g, [[-1.0]], rtol=1e-6)
    # KL(N(0, 1) || N(1, 2^2)) as above; at the minimum (mean = a_T, std = teacher std) it is 0
    np.testing.assert_allclose(losses.distill_gaussian_kl_loss(mean, log_std, a_t, 2.0), 0.443147, rtol=1e-5)
    np.testing.assert_allclose(losses.distill_gaussian_kl_loss(a_t, jnp.log(0.5) * a_t, a_t, 0.5), 0.0, atol=1e-6)
    g_std = jax.grad(lambda s: losses.distill_gaussian_kl_loss(a_t, s, a_t, 0.5))(jnp.log(0.5) * a_t)
    np.testing.assert_allclose(g_std, [[0.0]], atol=1e-6)  # the KL keeps the student's spread


def test_dpg_actor_loss_by_hand():
    np.testing.assert_allclose(losses.dpg_actor_loss(jnp.array([[0.2, 0.4], [0.6, 0.8]])), -0.5, rtol=1e-6)


def test_diag_gaussian_policy_output():
    dist = DiagGaussian(2)
    out = jnp.array([[0.5, -2.0, math.log(0.1), 9.0]])  # mean (0.5, -2), log_std (log 0.1, 9 -> clipped)
    np.testing.assert_allclose(dist.mode(out), [[0.5, -1.0]])  # the mean, clipped to [-1, 1]
    np.testing.assert_allclose(dist.split(out)[1], [[math.log(0.1), 2.0]], rtol=1e-6)
    action, logp = dist.sample(jax.random.PRNGKey(0), out)
    np.testing.assert_allclose(logp, dist.log_prob(out, action), rtol=1e-6)
    teacher = Advice(q=None, action=jnp.array([[0.5, -1.0]]), value=jnp.array([0.7]))
    np.testing.assert_allclose(dist.distill("argmax", out, teacher, 1.0),
                               -losses.gaussian_log_prob(*dist.split(out), teacher.action)[0], rtol=1e-6)
    with pytest.raises(ValueError, match="kl or argmax"):
        dist.distill("softmax", out, teacher, 1.0)


def test_distance_goal_set_by_hand():
    gs = DistanceGoalSet(names=("a", "b", "c"), reps=np.zeros((3, 2), np.float32),
                         targets=np.array([[0, 0], [1, 0], [0, 1]], np.float32), position_slice=(1, 3), radius=0.5)
    obs = jnp.array([[9.0, 0.1, 0.1], [9.0, 0.8, 0.0], [9.0, 0.5, 0.5]])
    # distances: row 0 (0.14, 0.91, 0.91); row 1 (0.8, 0.2, 1.28); row 2 (0.71, 0.71, 0.71)
    np.testing.assert_array_equal(gs.achieved(obs), [[True, False, False], [False, True, False], [False] * 3])
    with pytest.raises(ValueError, match="entries"):
        DistanceGoalSet(names=("a",), reps=np.zeros((1, 2)), targets=np.zeros((1, 2)), position_slice=(0, 3))


# ---------------------------------------------------------------- the all-goals update


@pytest.fixture(scope="module")
def net_and_batch():
    G, D, B = 5, 2, 7
    net = AllGoalsActorCritic(ObsSpec(size=6), G, D, width=16, depth=1, head_width=8)
    k = jax.random.split(jax.random.PRNGKey(0), 4)
    obs = jax.random.normal(k[0], (B, 6))
    params = jax.jit(net.init)(k[1], obs[:1])
    action = jax.random.uniform(k[2], (B, D), minval=-1, maxval=1)
    target = jax.random.uniform(k[3], (B, G))
    return net, params, obs, action, target


def test_all_goals_critic_update_is_the_mean_of_per_goal_updates(net_and_batch):
    net, params, obs, action, target = net_and_batch
    B, G = target.shape

    def all_goals(p):  # one pass: every goal's head at the taken action
        q = net.apply(p, obs, jnp.broadcast_to(action[:, None], (B, G, action.shape[-1])), method="q")
        return losses.leo_td_loss(q, target)

    def one_goal(p, g):  # only goal g's head, as a single-goal learner would train it
        q = net.apply(p, obs, action[:, None], jnp.reshape(g, (1,)), method="q")
        return losses.leo_td_loss(q, jnp.take(target, jnp.reshape(g, (1,)), axis=1))

    goal_loss, goal_grad = jax.jit(one_goal), jax.jit(jax.grad(one_goal))  # g traced: one compile
    goals = [jnp.int32(g) for g in range(G)]
    np.testing.assert_allclose(jax.jit(all_goals)(params), np.mean([goal_loss(params, g) for g in goals]),
                               rtol=1e-5)
    grad_all = jax.jit(jax.grad(all_goals))(params)
    per_goal = [goal_grad(params, g) for g in goals]
    grad_mean = jax.tree_util.tree_map(lambda *gs: sum(gs) / G, *per_goal)
    tx = optax.sgd(0.1)
    update_all, _ = tx.update(grad_all, tx.init(params))
    updates = [tx.update(g, tx.init(params))[0] for g in per_goal]
    update_mean = jax.tree_util.tree_map(lambda *us: sum(us) / G, *updates)
    for a, b, c in zip(*(jax.tree_util.tree_leaves(t) for t in (grad_all, grad_mean, update_all))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    for a, b in zip(jax.tree_util.tree_leaves(update_all), jax.tree_util.tree_leaves(update_mean)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    assert any(float(jnp.abs(x).max()) > 0 for x in jax.tree_util.tree_leaves(grad_all["params"]["critics_0"]))


def test_all_goals_actor_gradient_is_the_mean_of_per_goal_gradients(net_and_batch):
    net, params, obs, _, _ = net_and_batch
    G = net.num_goals

    def all_goals(p):
        pi = net.apply(p, obs, method="act")
        return losses.dpg_actor_loss(net.apply(actor_only(p), obs, pi, method="q")[0])

    def one_goal(p, g):
        g = jnp.reshape(g, (1,))
        pi = net.apply(p, obs, method="act")[:, g]
        return losses.dpg_actor_loss(net.apply(actor_only(p), obs, pi, g, method="q")[0])

    grad_all = jax.jit(jax.grad(all_goals))(params)
    goal_grad = jax.jit(jax.grad(one_goal))
    per_goal = [goal_grad(params, jnp.int32(g)) for g in range(G)]
    grad_mean = jax.tree_util.tree_map(lambda *gs: sum(gs) / G, *per_goal)
    for a, b in zip(jax.tree_util.tree_leaves(grad_all), jax.tree_util.tree_leaves(grad_mean)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    # the actor loss moves the actor only: the critics are held fixed
    for leaf in jax.tree_util.tree_leaves(grad_all["params"]["critics_0"]):
        assert float(jnp.abs(leaf).max()) == 0.0
