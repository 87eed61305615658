"""The built-in goal-conditioned MLP student (Flax)."""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax.numpy as jnp

from leo_teacher.core.networks import Conv3x3, Trunk, resolve_conv
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
        return policy_output(self, h), nn.sigmoid(nn.Dense(1)(h))[..., 0]


def policy_output(module: nn.Module, h: jnp.ndarray) -> jnp.ndarray:
    """The policy head inside ``module``: logits, or a Gaussian's (mean, state-independent log_std)."""
    spec = module.spec
    logits = nn.Dense(spec.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(h)
    if spec.continuous:
        log_std = module.param("log_std", nn.initializers.constant(module.log_std_init), (spec.num_actions,))
        logits = jnp.concatenate([logits, jnp.broadcast_to(log_std, logits.shape)], axis=-1)
    return logits


class TowersPolicy(nn.Module):
    """The paper's PPO student network: separate actor and critic towers over a shared embedding.

    On map observations whose goal representation has the observation's layout (Craftax's goal
    masks), the goal's map part joins the observation's map as channels before one 3x3 conv
    (+ ReLU), and the goal's flat part joins the flat features; otherwise observation and goal
    are concatenated. Then ``embedding_layers`` Dense + ReLU, an actor tower of ``actor_layers``
    and a critic tower of ``critic_layers`` (Dense + ReLU, orthogonal init, no normalisation),
    a sigmoid value.
    """

    spec: StudentSpec
    width: int
    conv_features: int = 0
    embedding_layers: int = 1
    actor_layers: int = 2
    critic_layers: int = 4
    log_std_init: float = -0.5

    @nn.compact
    def __call__(self, obs: jnp.ndarray, goal: jnp.ndarray):
        o = self.spec.obs_spec
        m = o.map_size if o.map_shape is not None and self.conv_features > 0 and goal.shape[-1] == o.size else 0
        if m:
            shape = obs.shape[:-1] + tuple(o.map_shape)
            grid = jnp.concatenate([obs[..., :m].reshape(shape), goal[..., :m].reshape(shape)], axis=-1)
            grid = nn.relu(Conv3x3(self.conv_features)(grid))
            x = jnp.concatenate([grid.reshape(obs.shape[:-1] + (-1,)), obs[..., m:], goal[..., m:]], axis=-1)
        else:
            x = jnp.concatenate([obs, goal], axis=-1)
        dense = lambda: nn.Dense(self.width, kernel_init=nn.initializers.orthogonal(2 ** 0.5))  # noqa: E731
        for _ in range(self.embedding_layers):
            x = nn.relu(dense()(x))
        actor, critic = x, x
        for _ in range(self.actor_layers):
            actor = nn.relu(dense()(actor))
        for _ in range(self.critic_layers):
            critic = nn.relu(dense()(critic))
        value = nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0))(critic)
        return policy_output(self, actor), nn.sigmoid(value)[..., 0]


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
    """MLP student sized by ``student.width`` and ``student.depth`` (``student.architecture``
    "shared"), or the paper's actor and critic towers ("towers")."""
    conv = resolve_conv(getattr(config, "conv_features", -1), spec.obs_spec, auto=32)
    if getattr(config, "architecture", "shared") == "towers":
        return FlaxStudent(TowersPolicy(spec, config.width, conv, config.embedding_layers, config.actor_layers,
                                        config.critic_layers, config.log_std_init))
    return FlaxStudent(MLPPolicy(spec, config.width, config.depth, conv, config.log_std_init))
