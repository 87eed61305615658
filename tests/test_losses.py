"""Every loss against values worked out by hand (the arithmetic is in the comments)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.core import losses

LOG = np.log


def test_leo_td_targets_by_hand():
    achieved = jnp.array([[True, False, False]])
    q_next = jnp.array([[0.5, 0.8, 0.2]])
    # goal 0 achieved -> 1; others: 0.9 * q'
    y = losses.leo_td_targets(achieved, jnp.array([False]), q_next, 0.9)
    np.testing.assert_allclose(y, [[1.0, 0.72, 0.18]], rtol=1e-6)
    # episode ended: no bootstrap for any goal
    y = losses.leo_td_targets(achieved, jnp.array([True]), q_next, 0.9)
    np.testing.assert_allclose(y, [[1.0, 0.0, 0.0]], rtol=1e-6)


def test_leo_lambda_targets_by_hand():
    achieved = jnp.zeros((2, 1, 1), bool)
    end = jnp.zeros((2, 1), bool)
    q_next = jnp.array([[[0.5]], [[0.8]]])  # max Q at s1 and at s2
    # y1 = 0.9 * (0.5*0.8 + 0.5*0.8) = 0.72 ; y0 = 0.9 * (0.5*0.5 + 0.5*0.72) = 0.549
    y = losses.leo_lambda_targets(achieved, end, q_next, 0.9, 0.5)
    np.testing.assert_allclose(y[:, 0, 0], [0.549, 0.72], rtol=1e-6)
    # lambda = 0 is the one-step target
    y0 = losses.leo_lambda_targets(achieved, end, q_next, 0.9, 0.0)
    np.testing.assert_allclose(y0, losses.leo_td_targets(achieved, end, q_next, 0.9), rtol=1e-6)
    # an achieved goal at t=1 gives y1 = 1 and y0 = 0.9 * (0.5*0.5 + 0.5*1) = 0.675
    achieved = achieved.at[1, 0, 0].set(True)
    y = losses.leo_lambda_targets(achieved, end, q_next, 0.9, 0.5)
    np.testing.assert_allclose(y[:, 0, 0], [0.675, 1.0], rtol=1e-6)


def test_leo_td_loss_by_hand():
    # 0.5 * mean((0.5-1)^2, (0.2-0)^2) = 0.5 * (0.25 + 0.04) / 2 = 0.0725
    loss = losses.leo_td_loss(jnp.array([[0.5, 0.2]]), jnp.array([[1.0, 0.0]]))
    np.testing.assert_allclose(loss, 0.0725, rtol=1e-6)


def test_all_goals_loss_is_mean_of_single_goal_losses():
    rng = np.random.default_rng(0)
    B, G = 7, 5
    q = jnp.asarray(rng.random((B, G)), jnp.float32)
    achieved = jnp.asarray(rng.random((B, G)) < 0.3)
    end = jnp.asarray(rng.random(B) < 0.2)
    q_next = jnp.asarray(rng.random((B, G)), jnp.float32)
    y = losses.leo_td_targets(achieved, end, q_next, 0.99)
    all_goals = losses.leo_td_loss(q, y)
    single = []
    for g in range(G):  # one goal at a time, as goal-conditioned relabelling would
        y_g = losses.leo_td_targets(achieved[:, g : g + 1], end, q_next[:, g : g + 1], 0.99)
        np.testing.assert_allclose(y_g[:, 0], y[:, g], rtol=1e-6)
        single.append(losses.leo_td_loss(q[:, g : g + 1], y_g))
    np.testing.assert_allclose(all_goals, np.mean(single), rtol=1e-6)
    # and so are the gradients
    g_all = jax.grad(losses.leo_td_loss)(q, y)
    g_single = jnp.stack(
        [jax.grad(losses.leo_td_loss)(q[:, g : g + 1], y[:, g : g + 1])[:, 0] / G for g in range(G)], 1
    )
    np.testing.assert_allclose(g_all, g_single, rtol=1e-5)


def test_gae_by_hand():
    rewards = jnp.array([[0.0], [1.0]])
    values = jnp.array([[0.5], [0.6]])
    dones = jnp.array([[False], [True]])
    # d1 = 1 - 0.6 = 0.4 (done: no bootstrap); d0 = 0.9*0.6 - 0.5 = 0.04
    # A1 = 0.4 ; A0 = 0.04 + 0.9*0.8*0.4 = 0.328 ; R = A + V = [0.828, 1.0]
    adv, ret = losses.gae(rewards, values, dones, jnp.array([0.9]), 0.9, 0.8)
    np.testing.assert_allclose(adv[:, 0], [0.328, 0.4], rtol=1e-6)
    np.testing.assert_allclose(ret[:, 0], [0.828, 1.0], rtol=1e-6)
    # not done at the end: bootstraps from last_value: d1 = 1 + 0.9*0.9 - 0.6 = 1.21
    adv, _ = losses.gae(rewards, values, jnp.array([[False], [False]]), jnp.array([0.9]), 0.9, 0.8)
    np.testing.assert_allclose(adv[1, 0], 1.21, rtol=1e-6)


def test_normalize_advantages():
    out = losses.normalize_advantages(jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(out, [-1.0, 1.0], rtol=1e-6)


def test_ppo_policy_loss_by_hand():
    # sample 0: ratio 2, A=+1 -> min(2, 1.2) = 1.2 ; sample 1: ratio 0.5, A=-1 -> min(-0.5, -0.8) = -0.8
    # loss = -mean(1.2, -0.8) = -0.2
    logp_new = jnp.log(jnp.array([0.5, 0.25]))
    logp_old = jnp.log(jnp.array([0.25, 0.5]))
    loss = losses.ppo_policy_loss(logp_new, logp_old, jnp.array([1.0, -1.0]), 0.2)
    np.testing.assert_allclose(loss, -0.2, rtol=1e-6)


def test_ppo_value_loss_by_hand():
    # v=1.0, v_old=0.5, R=0.8: clipped v = 0.7 ; max((0.2)^2, (0.1)^2) = 0.04 ; loss 0.02
    loss = losses.ppo_value_loss(jnp.array([1.0]), jnp.array([0.5]), jnp.array([0.8]), 0.2)
    np.testing.assert_allclose(loss, 0.02, rtol=1e-6)
    # clipping binds: v=0.6, v_old=0.5 (inside the clip), R=0.8: 0.5 * 0.04 = 0.02
    loss = losses.ppo_value_loss(jnp.array([0.6]), jnp.array([0.5]), jnp.array([0.8]), 0.2)
    np.testing.assert_allclose(loss, 0.02, rtol=1e-6)


def test_categorical_entropy_by_hand():
    np.testing.assert_allclose(losses.categorical_entropy(jnp.zeros((1, 2))), LOG(2), rtol=1e-6)


def test_distill_argmax_by_hand():
    # student probs [0.25, 0.75]; teacher argmax = 1 -> -log 0.75
    logits = jnp.log(jnp.array([[0.25, 0.75]]))
    loss = losses.distill_argmax_loss(logits, jnp.array([[0.1, 0.9]]))
    np.testing.assert_allclose(loss, -LOG(0.75), rtol=1e-6)


def test_distill_softmax_by_hand():
    # target softmax([0, log 3]) = [0.25, 0.75]; student uniform -> CE = log 2
    q = jnp.array([[0.0, LOG(3.0)]], jnp.float32)
    loss = losses.distill_softmax_loss(jnp.zeros((1, 2)), q, 1.0)
    np.testing.assert_allclose(loss, LOG(2), rtol=1e-6)
    # tau = 0.5 sharpens: softmax([0, 2 log 3]) = [0.1, 0.9]; CE to uniform is still log 2,
    # CE to student [0.25, 0.75] = -(0.1 log 0.25 + 0.9 log 0.75)
    loss = losses.distill_softmax_loss(jnp.log(jnp.array([[0.25, 0.75]])), q, 0.5)
    np.testing.assert_allclose(loss, -(0.1 * LOG(0.25) + 0.9 * LOG(0.75)), rtol=1e-5)


def test_distill_kl_by_hand():
    # KL([0.25, 0.75] || [0.5, 0.5]) = 0.25 log 0.5 + 0.75 log 1.5 = 0.130812
    q = jnp.array([[0.0, LOG(3.0)]], jnp.float32)
    loss = losses.distill_kl_loss(jnp.zeros((1, 2)), q, 1.0)
    np.testing.assert_allclose(loss, 0.25 * LOG(0.5) + 0.75 * LOG(1.5), rtol=1e-5)
    # zero when the student already matches the teacher
    np.testing.assert_allclose(losses.distill_kl_loss(q, q, 1.0), 0.0, atol=1e-7)


def test_policy_distill_dispatch():
    logits, q = jnp.zeros((1, 2)), jnp.array([[0.0, 1.0]])
    assert losses.policy_distill_loss("argmax", logits, q, 1.0) == losses.distill_argmax_loss(logits, q)
    with pytest.raises(ValueError, match="valid: argmax, softmax, kl"):
        losses.policy_distill_loss("bogus", logits, q, 1.0)


def test_value_distill_by_hand():
    # teacher value max(0.2, 0.9) = 0.9: 0.5 * mean((0.5 - 0.9)^2, (0.3 - 0.1)^2) = 0.5 * 0.1 = 0.05
    loss = losses.value_distill_loss(jnp.array([0.5, 0.3]), jnp.array([0.9, 0.1]))
    np.testing.assert_allclose(loss, 0.05, rtol=1e-6)


def test_q_distill_by_hand():
    # 0.5 * mean((0.5-0.7)^2, (0.2-0.2)^2) = 0.5 * 0.02 = 0.01
    loss = losses.q_distill_loss(jnp.array([[0.5, 0.2]]), jnp.array([[0.7, 0.2]]))
    np.testing.assert_allclose(loss, 0.01, rtol=1e-6)


def test_policy_distill_dispatch_covers_every_target():
    logits, q = jnp.log(jnp.array([[0.25, 0.75]])), jnp.array([[0.0, LOG(3.0)]], jnp.float32)
    direct = {
        "argmax": losses.distill_argmax_loss(logits, q),
        "softmax": losses.distill_softmax_loss(logits, q, 0.5),
        "kl": losses.distill_kl_loss(logits, q, 0.5),
    }
    for kind, value in direct.items():
        np.testing.assert_allclose(losses.policy_distill_loss(kind, logits, q, 0.5), value, rtol=1e-6)


def test_distill_gradients_by_hand():
    # d CE / d logits = p_student - target: uniform student, target [0.25, 0.75] -> [0.25, -0.25]
    q = jnp.array([[0.0, LOG(3.0)]], jnp.float32)
    g_soft = jax.grad(losses.distill_softmax_loss)(jnp.zeros((1, 2)), q, 1.0)
    np.testing.assert_allclose(g_soft, [[0.25, -0.25]], atol=1e-6)
    # KL = CE - H(target): the same gradient
    g_kl = jax.grad(losses.distill_kl_loss)(jnp.zeros((1, 2)), q, 1.0)
    np.testing.assert_allclose(g_kl, g_soft, atol=1e-6)
    # argmax target one-hot [0, 1]: p - onehot = [0.5, -0.5]
    g_arg = jax.grad(losses.distill_argmax_loss)(jnp.zeros((1, 2)), q)
    np.testing.assert_allclose(g_arg, [[0.5, -0.5]], atol=1e-6)
    # value: d/dV 0.5 (V - max Q)^2 = V - max Q = 0.5 - 0.9
    g_v = jax.grad(losses.value_distill_loss)(jnp.array([0.5]), jnp.array([0.9]))
    np.testing.assert_allclose(g_v, [-0.4], rtol=1e-6)


def test_softmax_distill_tends_to_argmax_as_tau_shrinks():
    logits = jnp.log(jnp.array([[0.2, 0.3, 0.5]]))
    q = jnp.array([[0.6, 0.9, 0.1]])
    np.testing.assert_allclose(
        losses.distill_softmax_loss(logits, q, 1e-3), losses.distill_argmax_loss(logits, q), rtol=1e-5
    )


@pytest.mark.parametrize(
    "loss",
    [
        lambda s, q: losses.distill_softmax_loss(s, q, 0.7),
        lambda s, q: losses.distill_kl_loss(s, q, 0.7),
        lambda s, q: losses.value_distill_loss(s[:, 0], q.max(axis=-1)),
        lambda s, q: losses.q_distill_loss(s, q),
    ],
    ids=["softmax", "kl", "value", "q"],
)
def test_distillation_never_trains_the_teacher(loss):
    s, q = jnp.array([[0.1, 0.4, -0.2]]), jnp.array([[0.3, 0.8, 0.5]])
    assert np.all(np.asarray(jax.grad(loss, argnums=1)(s, q)) == 0)
    assert np.any(np.asarray(jax.grad(loss, argnums=0)(s, q)) != 0)


def test_watkins_lambda_targets_by_hand():
    # T = 2, one env, two goals; gamma 0.9, lambda 0.5; nothing achieved, no episode end.
    achieved = jnp.zeros((2, 1, 2), bool)
    end = jnp.zeros((2, 1), bool)
    q_next = jnp.array([[[0.4, 0.4]], [[0.8, 0.8]]])  # max_a Q(s1), max_a Q(s2) per goal
    # a1 was greedy for goal 0, not for goal 1; after the last step the trace is irrelevant.
    greedy = jnp.array([[[True, False]], [[True, True]]])
    y = losses.watkins_lambda_targets(achieved, end, q_next, greedy, 0.9, 0.5)
    # y1 = 0.9 * 0.8 = 0.72 for both goals
    # goal 0 (trace on): y0 = 0.9 * (0.5 * 0.4 + 0.5 * 0.72) = 0.504
    # goal 1 (trace cut): y0 = 0.9 * 0.4 = 0.36
    np.testing.assert_allclose(y[:, 0], [[0.504, 0.36], [0.72, 0.72]], rtol=1e-6)
    # with every action greedy it is Peng's Q(lambda); with lambda 0 both are one-step targets
    np.testing.assert_allclose(losses.watkins_lambda_targets(achieved, end, q_next, jnp.ones_like(greedy), 0.9, 0.5),
                               losses.leo_lambda_targets(achieved, end, q_next, 0.9, 0.5), rtol=1e-6)
    np.testing.assert_allclose(losses.watkins_lambda_targets(achieved, end, q_next, greedy, 0.9, 0.0),
                               losses.leo_td_targets(achieved, end, q_next, 0.9), rtol=1e-6)
