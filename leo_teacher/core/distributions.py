"""The students' action distributions: categorical (discrete actions) and diagonal Gaussian.

The coordinator picks one from the environment (``env.continuous``) and the rollout and the
student update call through it, so PPO and distillation are written once for both action spaces.
:func:`epsilon_greedy` is the action choice of every Q-value actor (discrete teachers, PQN).

A student's policy output is logits [B, A] for discrete actions and (mean, log_std)
concatenated, [B, 2 * D], for D continuous action dimensions (students/base.py).
Distillation reads the teacher's :class:`leo_teacher.core.state.Advice`: its action values for
discrete actions, its action for continuous ones.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from leo_teacher.core import losses
from leo_teacher.core.state import Advice

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0  # keep a Gaussian student's std in [0.007, 7.4]


def epsilon_greedy(k_act: jax.Array, k_eps: jax.Array, values: jnp.ndarray, eps) -> jnp.ndarray:
    """argmax of ``values`` [B, A], replaced by a uniform action with probability ``eps``."""
    B, A = values.shape
    explore = jax.random.uniform(k_eps, (B,)) < eps
    return jnp.where(explore, jax.random.randint(k_act, (B,), 0, A), jnp.argmax(values, axis=-1))


class Categorical:
    """Discrete actions: a policy output is logits [B, A]; actions are int32 [B]."""

    continuous = False

    def __init__(self, num_actions: int):
        self.num_actions = num_actions

    def uniform(self, key: jax.Array, batch: int) -> jnp.ndarray:
        """Uniformly random actions [B]."""
        return jax.random.randint(key, (batch,), 0, self.num_actions)

    def sample(self, key: jax.Array, out: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(action [B], its log-probability [B])."""
        action = jax.random.categorical(key, out).astype(jnp.int32)
        return action, self.log_prob(out, action)

    def log_prob(self, out: jnp.ndarray, action: jnp.ndarray) -> jnp.ndarray:
        return jnp.take_along_axis(jax.nn.log_softmax(out), action[:, None], axis=-1)[:, 0]

    def entropy(self, out: jnp.ndarray) -> jnp.ndarray:
        return losses.categorical_entropy(out)

    def mode(self, out: jnp.ndarray) -> jnp.ndarray:
        """The greedy action."""
        return jnp.argmax(out, axis=-1)

    def distill(self, kind: str, out: jnp.ndarray, advice: Advice, tau: float) -> jnp.ndarray:
        """Distillation towards the teacher's action values (losses.policy_distill_loss)."""
        return losses.policy_distill_loss(kind, out, advice.q, tau)


class DiagGaussian:
    """Continuous actions in [-1, 1]^D: a policy output is (mean, log_std) [B, 2D].

    Samples are unsquashed (the env clips them), so PPO's ratio uses the exact Gaussian
    log-probability of what was sampled; the greedy action is the mean, clipped.
    """

    continuous = True

    def __init__(self, action_dim: int):
        self.action_dim = action_dim

    def uniform(self, key: jax.Array, batch: int) -> jnp.ndarray:
        """Uniformly random actions in [-1, 1]^D, [B, D]."""
        return jax.random.uniform(key, (batch, self.action_dim), minval=-1.0, maxval=1.0)

    def split(self, out: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        mean, log_std = out[..., : self.action_dim], out[..., self.action_dim :]
        return mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, key: jax.Array, out: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        mean, log_std = self.split(out)
        action = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
        return action, losses.gaussian_log_prob(mean, log_std, action)

    def log_prob(self, out: jnp.ndarray, action: jnp.ndarray) -> jnp.ndarray:
        mean, log_std = self.split(out)
        return losses.gaussian_log_prob(mean, log_std, action)

    def entropy(self, out: jnp.ndarray) -> jnp.ndarray:
        return losses.gaussian_entropy(self.split(out)[1])

    def mode(self, out: jnp.ndarray) -> jnp.ndarray:
        return jnp.clip(self.split(out)[0], -1.0, 1.0)

    def distill(self, kind: str, out: jnp.ndarray, advice: Advice, tau: float) -> jnp.ndarray:
        """"kl": KL(student || N(a_T, tau^2)); "argmax": -log pi_student(a_T) (see losses)."""
        mean, log_std = self.split(out)
        a_t = advice.action
        if kind == "kl":
            return losses.distill_gaussian_kl_loss(mean, log_std, a_t, tau)
        if kind == "argmax":
            return losses.distill_gaussian_nll_loss(mean, log_std, a_t)
        raise ValueError(f"distillation target {kind!r} needs discrete actions; use kl or argmax")


def for_env(env) -> Categorical | DiagGaussian:
    """The distribution for ``env``'s action space."""
    return DiagGaussian(env.num_actions) if env.continuous else Categorical(env.num_actions)
