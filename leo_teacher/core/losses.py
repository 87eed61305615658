"""Pure loss functions: arrays in, arrays out, no modules, no closures.

Every function here has a unit test against values worked out by hand (tests/test_losses.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# ---------------------------------------------------------------- all-goals TD (the teacher)


def leo_td_targets(
    achieved_next: jnp.ndarray,
    episode_end: jnp.ndarray,
    next_q_max: jnp.ndarray,
    gamma: float,
) -> jnp.ndarray:
    """Per-goal TD targets y_g = r_g + gamma * max_a' Q(s', g, a') * (1 - done_g).

    ``achieved_next`` [..., G] (bool) is r_g; done_g = achieved_g OR episode ended;
    ``episode_end`` [...]; ``next_q_max`` [..., G] are the values from acting time.
    """
    r = achieved_next.astype(jnp.float32)
    done = jnp.logical_or(achieved_next, episode_end[..., None]).astype(jnp.float32)
    return r + gamma * next_q_max * (1.0 - done)


def leo_lambda_targets(
    achieved_next: jnp.ndarray,
    episode_end: jnp.ndarray,
    next_q_max: jnp.ndarray,
    gamma: float,
    lam: float,
) -> jnp.ndarray:
    """Per-goal Q(lambda) targets over a time-major rollout ([T, B, G]), as in PQN.

    y_t = r_t + gamma * (1 - done_t) * ((1 - lam) * max_a Q(s_{t+1}) + lam * y_{t+1}),
    bootstrapping from ``next_q_max[-1]`` after the last step. ``lam = 0`` gives exactly
    :func:`leo_td_targets`; larger ``lam`` carries a success back over many steps in one update.
    """
    r = achieved_next.astype(jnp.float32)
    not_done = 1.0 - jnp.logical_or(achieved_next, episode_end[..., None]).astype(jnp.float32)

    def backward(next_return, x):
        r_t, nd_t, q_next = x
        y = r_t + gamma * nd_t * ((1.0 - lam) * q_next + lam * next_return)
        return y, y

    _, ys = jax.lax.scan(backward, next_q_max[-1], (r, not_done, next_q_max), reverse=True)
    return ys


def watkins_lambda_targets(
    achieved_next: jnp.ndarray,
    episode_end: jnp.ndarray,
    next_q_max: jnp.ndarray,
    next_greedy: jnp.ndarray,
    gamma: float,
    lam: float,
) -> jnp.ndarray:
    """Per-goal Watkins Q(lambda) targets over a time-major rollout ([T, B, G]).

    As :func:`leo_lambda_targets`, but goal g's trace through step t+1 continues only where the
    action taken at t+1 was greedy for g (``next_greedy`` [T, B, G], bool); elsewhere the target
    bootstraps from max_a Q(s_{t+1}, g, a) alone, as an off-policy return must for a goal the
    behaviour did not pursue: y_t = r_t + gamma * (1 - done_t) * (c_{t+1} ? (1 - lam) * q_{t+1}
    + lam * y_{t+1} : q_{t+1}).
    """
    r = achieved_next.astype(jnp.float32)
    not_done = 1.0 - jnp.logical_or(achieved_next, episode_end[..., None]).astype(jnp.float32)

    def backward(next_return, x):
        r_t, nd_t, q_next, greedy_next = x
        boot = jnp.where(greedy_next, (1.0 - lam) * q_next + lam * next_return, q_next)
        y = r_t + gamma * nd_t * boot
        return y, y

    _, ys = jax.lax.scan(backward, next_q_max[-1], (r, not_done, next_q_max, next_greedy), reverse=True)
    return ys


def leo_td_loss(q_taken: jnp.ndarray, targets: jnp.ndarray) -> jnp.ndarray:
    """All-goals TD loss: 0.5 * mean over batch and goals of (Q(s, g, a) - y_g)^2.

    ``q_taken`` [B, G] are the values of the action taken, for every goal.
    """
    return 0.5 * jnp.mean(jnp.square(q_taken - jax.lax.stop_gradient(targets)))


# ---------------------------------------------------------------- PPO (the student)


def gae(
    rewards: jnp.ndarray,
    values: jnp.ndarray,
    dones: jnp.ndarray,
    last_value: jnp.ndarray,
    gamma: float,
    lam: float,
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Generalised advantage estimation over time-major [T, B] arrays.

    ``dones[t]`` marks that the commanded-goal episode ended at step t (episode end OR
    commanded goal achieved), so step t does not bootstrap from t+1.
    Returns (advantages, returns), both [T, B].
    """
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
    not_done = 1.0 - dones.astype(jnp.float32)
    deltas = rewards + gamma * next_values * not_done - values

    def backward(carry, x):
        delta, nd = x
        adv = delta + gamma * lam * nd * carry
        return adv, adv

    _, adv = jax.lax.scan(backward, jnp.zeros_like(last_value), (deltas, not_done), reverse=True)
    return adv, adv + values


def normalize_advantages(adv: jnp.ndarray, eps: float = 1e-8) -> jnp.ndarray:
    """Zero-mean, unit-std advantages (per minibatch)."""
    return (adv - adv.mean()) / (adv.std() + eps)


def ppo_policy_loss(
    logp_new: jnp.ndarray, logp_old: jnp.ndarray, advantages: jnp.ndarray, clip_eps: float
) -> jnp.ndarray:
    """Clipped surrogate: -mean(min(ratio * A, clip(ratio, 1 +- eps) * A))."""
    ratio = jnp.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    return -jnp.mean(jnp.minimum(unclipped, clipped))


def ppo_value_loss(
    v_new: jnp.ndarray, v_old: jnp.ndarray, returns: jnp.ndarray, clip_eps: float
) -> jnp.ndarray:
    """Clipped value loss: 0.5 * mean(max((v - R)^2, (v_old + clip(v - v_old) - R)^2))."""
    v_clipped = v_old + jnp.clip(v_new - v_old, -clip_eps, clip_eps)
    return 0.5 * jnp.mean(jnp.maximum(jnp.square(v_new - returns), jnp.square(v_clipped - returns)))


def categorical_entropy(logits: jnp.ndarray) -> jnp.ndarray:
    """Mean entropy of categorical distributions given by ``logits`` [..., A]."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.sum(jnp.exp(logp) * logp, axis=-1))


# ---------------------------------------------------------------- distillation


def distill_argmax_loss(student_logits: jnp.ndarray, teacher_q: jnp.ndarray) -> jnp.ndarray:
    """Cross-entropy from the student's policy to the teacher's greedy action."""
    target = jnp.argmax(teacher_q, axis=-1)
    logp = jax.nn.log_softmax(student_logits)
    return -jnp.mean(jnp.take_along_axis(logp, target[..., None], axis=-1))


def distill_softmax_loss(
    student_logits: jnp.ndarray, teacher_q: jnp.ndarray, tau: float
) -> jnp.ndarray:
    """Cross-entropy from the student's policy to softmax(Q_T / tau)."""
    target = jax.lax.stop_gradient(jax.nn.softmax(teacher_q / tau))
    logp = jax.nn.log_softmax(student_logits)
    return -jnp.mean(jnp.sum(target * logp, axis=-1))


def distill_kl_loss(student_logits: jnp.ndarray, teacher_q: jnp.ndarray, tau: float) -> jnp.ndarray:
    """Full KL(softmax(Q_T / tau) || pi_student); zero when the two agree."""
    log_target = jax.lax.stop_gradient(jax.nn.log_softmax(teacher_q / tau))
    logp = jax.nn.log_softmax(student_logits)
    return jnp.mean(jnp.sum(jnp.exp(log_target) * (log_target - logp), axis=-1))


def policy_distill_loss(
    kind: str, student_logits: jnp.ndarray, teacher_q: jnp.ndarray, tau: float
) -> jnp.ndarray:
    """Dispatch on the configured target: "argmax", "softmax" or "kl"."""
    if kind == "argmax":
        return distill_argmax_loss(student_logits, teacher_q)
    if kind == "softmax":
        return distill_softmax_loss(student_logits, teacher_q, tau)
    if kind == "kl":
        return distill_kl_loss(student_logits, teacher_q, tau)
    raise ValueError(f"unknown distillation target {kind!r}; valid: argmax, softmax, kl")


def q_distill_loss(student_q: jnp.ndarray, teacher_q: jnp.ndarray) -> jnp.ndarray:
    """Q-value distillation for Q-learning students: 0.5 * mean((Q_S - Q_T)^2) over actions."""
    return 0.5 * jnp.mean(jnp.square(student_q - jax.lax.stop_gradient(teacher_q)))


def value_distill_loss(student_value: jnp.ndarray, teacher_value: jnp.ndarray) -> jnp.ndarray:
    """0.5 * mean((V(s, g) - V_T(s, g))^2), with V_T = max_a Q_T(s, g, a) the teacher's value."""
    return 0.5 * jnp.mean(jnp.square(student_value - jax.lax.stop_gradient(teacher_value)))


# ---------------------------------------------------------------- continuous actions
# A diagonal Gaussian policy is given by its mean and log standard deviation, [..., D] each.


def gaussian_log_prob(mean: jnp.ndarray, log_std: jnp.ndarray, action: jnp.ndarray) -> jnp.ndarray:
    """log N(action; mean, exp(log_std)^2), summed over the action dimensions: [...]."""
    z = (action - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * jnp.square(z) - log_std - 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)


def gaussian_entropy(log_std: jnp.ndarray) -> jnp.ndarray:
    """Mean entropy of diagonal Gaussians: sum over dimensions of log_std + 0.5 * log(2 pi e)."""
    return jnp.mean(jnp.sum(log_std + 0.5 * jnp.log(2.0 * jnp.pi * jnp.e), axis=-1))


def gaussian_kl(
    mean_p: jnp.ndarray, log_std_p: jnp.ndarray, mean_q: jnp.ndarray, log_std_q: jnp.ndarray
) -> jnp.ndarray:
    """Mean KL(p || q) between diagonal Gaussians, summed over dimensions.

    Per dimension: log(s_q / s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2.
    """
    var_p, var_q = jnp.exp(2.0 * log_std_p), jnp.exp(2.0 * log_std_q)
    kl = log_std_q - log_std_p + (var_p + jnp.square(mean_p - mean_q)) / (2.0 * var_q) - 0.5
    return jnp.mean(jnp.sum(kl, axis=-1))


def distill_gaussian_nll_loss(mean: jnp.ndarray, log_std: jnp.ndarray, teacher_action: jnp.ndarray) -> jnp.ndarray:
    """Negative log-likelihood of the teacher's (deterministic) action under the student.

    The continuous analogue of cross-entropy to the teacher's argmax. Its minimum over the
    student's std is at |mean - a_T|, so it also shrinks the student's exploration noise.
    """
    return -jnp.mean(gaussian_log_prob(mean, log_std, jax.lax.stop_gradient(teacher_action)))


def distill_gaussian_kl_loss(
    mean: jnp.ndarray, log_std: jnp.ndarray, teacher_action: jnp.ndarray, teacher_std: float
) -> jnp.ndarray:
    """KL(pi_student || N(a_T, teacher_std^2)): the teacher's action with a fixed spread.

    Zero when the student's mean is the teacher's action and its std is ``teacher_std``; unlike
    the log-likelihood it does not drive the student's std to zero.
    """
    a_t = jax.lax.stop_gradient(teacher_action)
    return gaussian_kl(mean, log_std, a_t, jnp.full_like(a_t, jnp.log(teacher_std)))


def dpg_actor_loss(q_policy: jnp.ndarray) -> jnp.ndarray:
    """Deterministic policy gradient loss averaged over goals: -mean over batch and goals of
    Q(s, g, pi(s)_g), [B, G] (the critic's parameters held fixed by the caller)."""
    return -jnp.mean(q_policy)


def unreached_goal_weights(achieved: jnp.ndarray, weight: float) -> jnp.ndarray:
    """Per-transition goal weights [T, B, G] from one rollout's ``achieved`` [T, B, G]: 1 for a
    goal env b achieved at some step of the rollout, ``weight`` for one it never did."""
    hit = achieved.any(axis=0, keepdims=True)
    return jnp.broadcast_to(jnp.where(hit, 1.0, weight), achieved.shape).astype(jnp.float32)


def weighted_td_loss(q_taken: jnp.ndarray, targets: jnp.ndarray, weights: jnp.ndarray) -> jnp.ndarray:
    """0.5 * sum(w * (Q - y)^2) / sum(w), the weights [B, G] broadcast over any leading
    (critic) axis of ``q_taken``; all weights 1 give :func:`leo_td_loss`."""
    sq = jnp.square(q_taken - jax.lax.stop_gradient(targets))
    w = jnp.broadcast_to(jax.lax.stop_gradient(weights), sq.shape)
    return 0.5 * jnp.sum(w * sq) / jnp.maximum(jnp.sum(w), 1e-8)


def weighted_dpg_actor_loss(q_policy: jnp.ndarray, weights: jnp.ndarray) -> jnp.ndarray:
    """-sum(w * Q(s, g, pi(s)_g)) / sum(w) over batch and goals, [B, G] each; all weights 1
    give :func:`dpg_actor_loss`."""
    w = jax.lax.stop_gradient(weights)
    return -jnp.sum(w * q_policy) / jnp.maximum(jnp.sum(w), 1e-8)
