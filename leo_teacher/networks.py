"""Flax building blocks shared by the teacher and the built-in Flax students."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from leo_teacher.envs.base import ObsSpec


class Conv3x3(nn.Module):
    """A 3x3 'SAME' convolution (stride 1) written as nine shifted slices and one matmul.

    Numerically the same as ``nn.Conv(features, (3, 3))`` (tests/test_networks.py), but XLA's
    CPU convolution runs several times slower inside loops (``lax.scan``: rollouts, minibatch
    updates) than out of them; measured 6.5x on Craftax-Classic maps (7x9x21, batch 512, fwd +
    grad). A matmul over the stacked neighbourhoods is fast everywhere, GPU included.
    """

    features: int

    @nn.compact
    def __call__(self, grid: jnp.ndarray) -> jnp.ndarray:
        *lead, h, w, c = grid.shape
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, c, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        pad = [(0, 0)] * len(lead) + [(1, 1), (1, 1), (0, 0)]
        padded = jnp.pad(grid, pad)
        # Neighbourhood (di, dj) of every cell, stacked in the kernel's (row, col, channel) order.
        patches = jnp.concatenate(
            [padded[..., i : i + h, j : j + w, :] for i in range(3) for j in range(3)], axis=-1
        )
        return patches @ kernel.reshape(9 * c, self.features) + bias


class Trunk(nn.Module):
    """Input normalisation, an optional conv over the map part, then Dense+LayerNorm+ReLU.

    A map observation (``obs_spec.map_shape`` set and ``conv_features > 0``) goes through one
    3x3 conv before being flattened beside the flat features, as in the paper's Craftax nets.
    """

    obs_spec: ObsSpec
    width: int
    depth: int
    conv_features: int = 0

    @nn.compact
    def __call__(self, obs: jnp.ndarray, extra: jnp.ndarray | None = None) -> jnp.ndarray:
        x = obs
        if self.obs_spec.map_shape is not None and self.conv_features > 0:
            m = self.obs_spec.map_size
            grid = obs[..., :m].reshape(obs.shape[:-1] + tuple(self.obs_spec.map_shape))
            grid = nn.relu(Conv3x3(self.conv_features)(grid))
            x = jnp.concatenate([grid.reshape(obs.shape[:-1] + (-1,)), obs[..., m:]], axis=-1)
        if extra is not None:
            x = jnp.concatenate([x, extra], axis=-1)
        # Input normalisation without running statistics: stateless and seed-deterministic.
        x = nn.LayerNorm(use_scale=False, use_bias=False)(x)
        for _ in range(self.depth):
            x = nn.relu(nn.LayerNorm()(nn.Dense(self.width)(x)))
        return x


class LeoNetwork(nn.Module):
    """LEO: observation -> Q(s, g, a) for every goal and action, [..., G, A], in [0, 1]."""

    obs_spec: ObsSpec
    num_goals: int
    num_actions: int
    width: int = 256
    depth: int = 2
    conv_features: int = 0

    @nn.compact
    def __call__(self, obs: jnp.ndarray) -> jnp.ndarray:
        h = Trunk(self.obs_spec, self.width, self.depth, self.conv_features)(obs)
        q = nn.Dense(self.num_goals * self.num_actions)(h)
        q = q.reshape(obs.shape[:-1] + (self.num_goals, self.num_actions))
        # Each goal's return is a discounted single success, so values live in [0, 1].
        return nn.sigmoid(q)


class GoalQNetwork(nn.Module):
    """Goal-conditioned Q: (observation, goal representation) -> Q(s, g, .) [..., A] in [0, 1].

    The baselines' network (PQN, hindsight and all-goals relabelling): the same trunk as
    LEO, but one pass per (state, goal) pair instead of one pass per state.
    """

    obs_spec: ObsSpec
    num_actions: int
    width: int = 256
    depth: int = 2
    conv_features: int = 0

    @nn.compact
    def __call__(self, obs: jnp.ndarray, goal: jnp.ndarray) -> jnp.ndarray:
        h = Trunk(self.obs_spec, self.width, self.depth, self.conv_features)(obs, goal)
        return nn.sigmoid(nn.Dense(self.num_actions)(h))
