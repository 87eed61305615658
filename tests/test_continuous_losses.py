"""Continuous-action losses against hand-computed values, and the all-goals actor-critic update
against one-goal-at-a-time updates. No environment is stepped here: fast."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from leo_teacher.config import ConfigError, build_config
from leo_teacher.core import losses
from leo_teacher.teachers.actor_critic import continuous_optimiser
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


def test_weighted_goal_losses_by_hand():
    achieved = jnp.array([[[True, False, False], [False, False, False]],
                          [[False, False, True], [False, False, False]]])  # [T=2, B=2, G=3]
    w = losses.unreached_goal_weights(achieved, 0.25)
    np.testing.assert_allclose(w[0], [[1, 0.25, 1], [0.25, 0.25, 0.25]])
    np.testing.assert_allclose(w[1], w[0])  # per env over the whole rollout, the same at every step
    q, y = jnp.array([[0.5, 0.0], [1.0, 0.2]]), jnp.array([[1.0, 0.0], [0.0, 0.2]])
    weights = jnp.array([[1.0, 0.5], [0.0, 1.0]])
    # squared errors (0.25, 0; 1, 0): 0.5 * (1 * 0.25) / (1 + 0.5 + 0 + 1) = 0.05
    np.testing.assert_allclose(losses.weighted_td_loss(q, y, weights), 0.05, rtol=1e-6)
    np.testing.assert_allclose(losses.weighted_td_loss(jnp.stack([q, q]), y, weights), 0.05, rtol=1e-6)
    np.testing.assert_allclose(losses.weighted_td_loss(q, y, jnp.ones((2, 2))), losses.leo_td_loss(q, y), rtol=1e-6)
    q_pi = jnp.array([[0.2, 0.4], [0.6, 0.8]])
    # -(0.2 + 0.5 * 0.4 + 0 + 0.8) / 2.5 = -0.48
    np.testing.assert_allclose(losses.weighted_dpg_actor_loss(q_pi, weights), -0.48, rtol=1e-6)
    np.testing.assert_allclose(losses.weighted_dpg_actor_loss(q_pi, jnp.ones((2, 2))), -0.5, rtol=1e-6)


def test_separate_optimisers_clip_actor_and_critic_apart():
    params = {"params": {"actor": {"w": jnp.zeros(2)}, "critics_0": {"w": jnp.zeros(2)}}}
    grads = {"params": {"actor": {"w": jnp.full(2, 0.1)}, "critics_0": {"w": jnp.full(2, 100.0)}}}
    moves = {}
    for kind in ("joint", "separate"):
        cfg = build_config(overrides={"teacher": {"optimisers": kind, "lr": 0.01, "max_grad_norm": 1.0}})
        tx = continuous_optimiser(cfg)
        moves[kind] = tx.update(grads, tx.init(params), params)[0]["params"]["actor"]["w"]
    # RAdam's first step is lr times the (clipped) gradient. Separate: the actor's norm 0.141 is
    # under the clip, -0.01 * 0.1; joint: the global norm sqrt(2 * 0.01 + 2 * 10^4) = 141.42
    # scales it by 1 / 141.42
    np.testing.assert_allclose(moves["separate"], [-1e-3, -1e-3], rtol=1e-5)
    np.testing.assert_allclose(moves["joint"], [-1e-3 / 141.4214, -1e-3 / 141.4214], rtol=1e-4)
    with pytest.raises(ConfigError, match="valid: joint, separate"):
        build_config(overrides={"teacher": {"optimisers": "both"}})


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


GOAL_REPS = ((0.5, -0.5), (0.0, 1.0), (-1.0, 0.25), (0.75, 0.75), (-0.5, -1.0))  # one per goal of net_and_batch
HEADS = {  # the all-goals heads' variants: teacher.critic_features, teacher.head_goal_input
    "embedding": {}, "per-goal features": {"critic_features": "per-goal"}, "representation": {"goal_reps": GOAL_REPS},
}


@pytest.mark.parametrize("heads", list(HEADS))
def test_all_goals_critic_update_is_the_mean_of_per_goal_updates(net_and_batch, heads):
    net, params, obs, action, target = net_and_batch
    B, G = target.shape
    if HEADS[heads]:
        net = net.clone(**HEADS[heads])
        params = jax.jit(net.init)(jax.random.PRNGKey(1), obs[:1])

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


@pytest.mark.parametrize("variant", [{}, {"actor_head_width": 4}, {"goal_reps": GOAL_REPS}])
def test_all_goals_actor_gradient_is_the_mean_of_per_goal_gradients(net_and_batch, variant):
    net, params, obs, _, _ = net_and_batch
    G = net.num_goals
    if variant:  # the per-goal hidden layer of teacher.actor_head_width, or heads reading goal representations
        net = net.clone(**variant)
        params = jax.jit(net.init)(jax.random.PRNGKey(1), obs[:1])

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


def test_weighted_all_goals_critic_loss_is_the_weighted_mean_of_per_goal_losses(net_and_batch):
    net, params, obs, action, target = net_and_batch
    B, G = target.shape
    achieved = jax.random.bernoulli(jax.random.PRNGKey(2), 0.3, (2, B, G))
    w = losses.unreached_goal_weights(achieved, 0.25)[0]  # [B, G]

    def all_goals(p):
        q = net.apply(p, obs, jnp.broadcast_to(action[:, None], (B, G, action.shape[-1])), method="q")
        return losses.weighted_td_loss(q, target, w)

    def one_goal(p, g):
        g = jnp.reshape(g, (1,))
        q = net.apply(p, obs, action[:, None], g, method="q")
        return losses.weighted_td_loss(q, jnp.take(target, g, axis=1), jnp.take(w, g, axis=1))

    goal_w = w.sum(axis=0)  # each goal's share of the all-goals mean: its total weight
    goal_loss, goal_grad = jax.jit(one_goal), jax.jit(jax.grad(one_goal))  # g traced: one compile each
    per_goal = [goal_grad(params, jnp.int32(g)) for g in range(G)]
    weighted = jax.tree_util.tree_map(lambda *gs: sum(wg * x for wg, x in zip(goal_w, gs)) / goal_w.sum(), *per_goal)
    grad_all = jax.jit(jax.grad(all_goals))(params)
    for a, b in zip(jax.tree_util.tree_leaves(grad_all), jax.tree_util.tree_leaves(weighted)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    losses_g = jnp.array([goal_loss(params, jnp.int32(g)) for g in range(G)])
    np.testing.assert_allclose(jax.jit(all_goals)(params), (goal_w * losses_g).sum() / goal_w.sum(), rtol=1e-5)


def test_representation_heads_are_shared_by_the_goals(net_and_batch):
    """teacher.head_goal_input=representation: one head for every goal, told apart only by the
    goal's representation, so two goals with the same representation get the same action and value."""
    net, _, obs, action, _ = net_and_batch
    reps = (GOAL_REPS[0], GOAL_REPS[0]) + GOAL_REPS[2:]
    net = net.clone(goal_reps=reps)
    params = jax.jit(net.init)(jax.random.PRNGKey(1), obs[:1])
    pi = net.apply(params, obs, method="act")
    np.testing.assert_allclose(pi[:, 0], pi[:, 1], rtol=1e-6)
    assert not np.allclose(pi[:, 0], pi[:, 2])
    taken = jnp.broadcast_to(action[:, None], (obs.shape[0], net.num_goals, action.shape[-1]))
    q = net.apply(params, obs, taken, method="q")
    np.testing.assert_allclose(q[:, :, 0], q[:, :, 1], rtol=1e-6)
    assert "goal_embedding" not in params["params"]["critics_0"]


def test_packed_advice_reads_back_the_action_and_value():
    """The PPO student's minibatches carry a continuous teacher's advice packed (action | value)."""
    from leo_teacher.core.state import Advice, PackedAdvice

    advice = Advice(q=None, action=jnp.array([[0.5, -1.0], [0.25, 2.0]]), value=jnp.array([0.75, 0.125]))
    packed = PackedAdvice.pack(advice)
    assert packed.record.shape == (2, 3) and packed.q is None
    np.testing.assert_array_equal(packed.action, advice.action)
    np.testing.assert_array_equal(packed.value, advice.value)
