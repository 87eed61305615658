"""The built-in goal-conditioned MLP student (Flax)."""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax.numpy as jnp

from leo_teacher.core.networks import Trunk, resolve_conv
from students.base import StudentSpec, register_student


class MLPPolicy(nn.Module):
    """[obs, goal] -> shared trunk -> (policy logits, sigmoid value).

    For continuous actions the policy output is (mean, log_std) [B, 2D]: the mean from the
    trunk, log_std a learned state-independent vector (students/base.py).
    """

    spec: StudentSpec
    width: int
    depth: int
    conv_features: int = 0
    log_std_init: float = -0.5

    @nn.compact
    def __call__(self, obs: jnp.ndarray, goal: jnp.ndarray):
        h = Trunk(self.spec.obs_spec, self.width, self.depth, self.conv_features)(obs, goal)
        logits = nn.Dense(self.spec.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(h)
        if self.spec.continuous:
            log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.spec.num_actions,))
            logits = jnp.concatenate([logits, jnp.broadcast_to(log_std, logits.shape)], axis=-1)
        value = nn.sigmoid(nn.Dense(1)(h))[..., 0]
        return logits, value


@dataclass(frozen=True)
class FlaxStudent:
    """Adapts a Flax module ``module(obs, goal) -> (logits, value)`` to the Student protocol."""

    module: nn.Module

    def init(self, rng, obs, goal):
        return self.module.init(rng, obs, goal)

    def apply(self, params, obs, goal):
        return self.module.apply(params, obs, goal)


@register_student("mlp")
def make_mlp_student(config, spec: StudentSpec) -> FlaxStudent:
    """MLP student sized by ``student.width`` and ``student.depth``."""
    conv = resolve_conv(getattr(config, "conv_features", -1), spec.obs_spec, auto=32)
    return FlaxStudent(MLPPolicy(spec, config.width, config.depth, conv, config.log_std_init))
