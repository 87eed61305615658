"""Flax building blocks shared by the teacher and the built-in Flax students."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from leo_teacher.envs.base import ObsSpec


def resolve_conv(conv_features: int, obs_spec, auto: int) -> int:
    """The conv width to use: ``auto`` for map observations when set to -1 (the paper's choice)."""
    if conv_features >= 0:
        return conv_features
    return auto if obs_spec.map_shape is not None else 0


class Conv3x3(nn.Module):
    """A 3x3 'SAME' convolution (stride 1) written as nine shifted slices and one matmul.

    Numerically the same as ``nn.Conv(features, (3, 3))`` (tests/test_networks.py), but XLA's
    CPU convolution runs several times slower inside loops (``lax.scan``: rollouts, minibatch
    updates) than out of them (docs/benchmarks.md, "Environment against training throughput").
    A matmul over the stacked neighbourhoods is fast everywhere, GPU included.
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


class BatchRenorm(nn.Module):
    """Batch renormalisation (Ioffe, 2017) over every axis but the last, as the paper's LEO input.

    Training (``train=True``) normalises with the batch's statistics corrected towards the
    running ones: x_hat = (x - mu_B) / sigma_B * r + d, r = clip(sigma_B / sigma, 1/r_max, r_max),
    d = clip((mu_B - mu) / sigma, +-d_max), both without gradient, then updates the running
    mean and variance (``batch_stats``) by ``momentum``. For the first ``warmup`` training calls
    r = 1 and d = 0 (plain batch norm) while the running statistics settle. Otherwise it uses
    the running statistics. A learned scale and bias follow.
    """

    momentum: float = 0.999
    epsilon: float = 1e-3
    r_max: float = 3.0
    d_max: float = 5.0
    warmup: int = 1000

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        f = x.shape[-1]
        mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((f,), jnp.float32))
        var = self.variable("batch_stats", "var", lambda: jnp.ones((f,), jnp.float32))
        steps = self.variable("batch_stats", "steps", lambda: jnp.zeros((), jnp.int32))
        scale = self.param("scale", nn.initializers.ones, (f,))
        bias = self.param("bias", nn.initializers.zeros, (f,))
        sigma = jnp.sqrt(var.value + self.epsilon)
        if train and not self.is_initializing():
            axes = tuple(range(x.ndim - 1))
            mu_b, var_b = x.mean(axis=axes), x.var(axis=axes)
            sigma_b = jnp.sqrt(var_b + self.epsilon)
            warmed = steps.value >= self.warmup
            r = jnp.where(warmed, jnp.clip(sigma_b / sigma, 1.0 / self.r_max, self.r_max), 1.0)
            d = jnp.where(warmed, jnp.clip((mu_b - mean.value) / sigma, -self.d_max, self.d_max), 0.0)
            x_hat = (x - mu_b) / sigma_b * jax.lax.stop_gradient(r) + jax.lax.stop_gradient(d)
            mean.value = self.momentum * mean.value + (1.0 - self.momentum) * jax.lax.stop_gradient(mu_b)
            var.value = self.momentum * var.value + (1.0 - self.momentum) * jax.lax.stop_gradient(var_b)
            steps.value = steps.value + 1
        else:
            x_hat = (x - mean.value) / sigma
        return x_hat * scale + bias


class Trunk(nn.Module):
    """Input normalisation, an optional conv over the map part, then Dense+LayerNorm+ReLU.

    A map observation (``obs_spec.map_shape`` set and ``conv_features > 0``) goes through one
    3x3 conv before being flattened beside the flat features, as in the paper's Craftax nets.
    ``input_norm``: "layer_norm" normalises the joined features without running statistics
    (stateless, seed-deterministic); "batch_renorm" normalises the map (per channel) and the
    flat features separately before the conv, as the paper's LEO network does; "none" reads the
    features as they are (for a few continuous features already of order one, where a LayerNorm
    across them would erase their common shift and scale: a point mass at rest at (0.2, 0.2)
    and one moving at 0.6 of its top speed at (0.8, 0.8) normalise to the same vector). ``conv_norm``
    adds a LayerNorm after the conv (the paper's LEO network).
    """

    obs_spec: ObsSpec
    width: int
    depth: int
    conv_features: int = 0
    input_norm: str = "layer_norm"
    conv_norm: bool = False

    @nn.compact
    def __call__(self, obs: jnp.ndarray, extra: jnp.ndarray | None = None, train: bool = False) -> jnp.ndarray:
        renorm = self.input_norm == "batch_renorm"
        m = self.obs_spec.map_size if self.obs_spec.map_shape is not None and self.conv_features > 0 else 0
        flat = obs[..., m:]
        if extra is not None:
            flat = jnp.concatenate([flat, extra], axis=-1)
        if renorm:
            flat = BatchRenorm()(flat, train)
        if m:
            grid = obs[..., :m].reshape(obs.shape[:-1] + tuple(self.obs_spec.map_shape))
            if renorm:
                grid = BatchRenorm()(grid, train)
            grid = Conv3x3(self.conv_features)(grid)
            if self.conv_norm:
                grid = nn.LayerNorm()(grid)
            x = jnp.concatenate([nn.relu(grid).reshape(obs.shape[:-1] + (-1,)), flat], axis=-1)
        else:
            x = flat
        if self.obs_spec.one_hot and extra is None and not m and self.input_norm == "layer_norm":
            # The same layers as below, the first read as a row lookup; the names are the
            # general path's, so parameters (checkpoints, artifacts) are interchangeable.
            x = nn.relu(nn.LayerNorm(name="LayerNorm_1")(OneHotNormDense(self.width, name="Dense_0")(x)))
            for i in range(1, self.depth):
                x = nn.relu(nn.LayerNorm(name=f"LayerNorm_{i + 1}")(nn.Dense(self.width, name=f"Dense_{i}")(x)))
            return x
        if self.input_norm == "layer_norm":
            x = nn.LayerNorm(use_scale=False, use_bias=False)(x)
        for _ in range(self.depth):
            x = nn.relu(nn.LayerNorm()(nn.Dense(self.width)(x)))
        return x


class OneHotNormDense(nn.Module):
    """``Dense(LayerNorm(x))``, the LayerNorm without scale or bias, for a one-hot ``x`` [..., n].

    The normalised one-hot is a fixed affine map of it (mean 1/n, variance 1/n - 1/n^2), so the
    layer is a row of the kernel, shifted by a multiple of the kernel's column sums: a lookup
    instead of an [n, features] matmul, and a gradient into one row instead of all n.
    """

    features: int
    epsilon: float = 1e-6  # flax.linen.LayerNorm's

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        n = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (n, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        mean = 1.0 / n
        inv_std = jax.lax.rsqrt(jnp.float32(mean - mean * mean + self.epsilon))
        rows = jnp.take(kernel, jnp.argmax(x, axis=-1), axis=0)
        return (rows - mean * kernel.sum(axis=0)) * inv_std + bias


def taken_action_matmul(h: jnp.ndarray, kernel: jnp.ndarray, action: jnp.ndarray, tile: int = 16) -> jnp.ndarray:
    """``out[b] = h[b] @ kernel[:, action[b], :]``: [B, K] x [K, A, G] -> [B, G], without the other actions.

    A TD update needs each goal's value of the *taken* action only, so the head's [B, G, A]
    matmul wastes a factor A. Rows are grouped by action into tiles of ``tile`` rows (each
    group padded to whole tiles, so every tile has one action) and each tile multiplies its
    action's [K, G] slice: about (B + A * tile / 2) * K * G multiply-adds instead of B * K * G * A.
    Static shapes: the tile count is bounded by ceil((B + A * (tile - 1)) / tile); only the
    tiles the batch fills are computed.
    """
    B, K = h.shape
    A, G = kernel.shape[1], kernel.shape[2]
    n_tiles = -(-(B + A * (tile - 1)) // tile)
    sizes = jnp.bincount(action, length=A)
    tiles = (sizes + tile - 1) // tile  # [A] whole tiles per action
    tile_end = jnp.cumsum(tiles)  # [A] first tile after each action's tiles
    tile_start = tile_end - tiles
    # Each row's rank among the rows with its action (a stable sort keeps ranks deterministic).
    order = jnp.argsort(action, stable=True)
    sorted_action = action[order]
    rank_sorted = jnp.arange(B) - (jnp.cumsum(sizes) - sizes)[sorted_action]
    rank = jnp.zeros(B, rank_sorted.dtype).at[order].set(rank_sorted)
    slot = tile_start[action] * tile + rank  # [B] row of each transition in the padded layout
    x = jnp.zeros((n_tiles * tile, K), h.dtype).at[slot].set(h).reshape(n_tiles, tile, K)
    # Tiles past the last action's are neither filled nor computed (their outputs stay zero).
    tile_action = jnp.minimum(jnp.searchsorted(tile_end, jnp.arange(n_tiles), side="right"), A - 1)
    return _tile_matmul(x, kernel, tile_action, tile_end[-1]).reshape(n_tiles * tile, G)[slot]


@jax.custom_vjp
def _tile_matmul(x: jnp.ndarray, kernel: jnp.ndarray, tile_action: jnp.ndarray, used: jnp.ndarray) -> jnp.ndarray:
    """``out[t] = x[t] @ kernel[:, tile_action[t], :]`` for the first ``used`` tiles, [T, tile, K] -> [T, tile, G].

    A loop over tiles reads each tile's [K, G] slice in place; gathering every tile's slice
    first would copy T * K * G weights (tens of MB at Craftax's 512 goals), and autodiff of that
    gather scatters as much back. The loop stops at the last filled tile: the static bound on
    the tile count is a worst case the batch rarely needs. The gradient (below) accumulates
    into the kernel's slices in place the same way.
    """

    def one(t, out):
        w = jax.lax.dynamic_index_in_dim(kernel, tile_action[t], axis=1, keepdims=False)
        return jax.lax.dynamic_update_index_in_dim(out, x[t] @ w, t, axis=0)

    out = jnp.zeros(x.shape[:2] + kernel.shape[2:], jnp.result_type(x, kernel))
    return jax.lax.fori_loop(0, used, one, out)


def _tile_matmul_fwd(x, kernel, tile_action, used):
    return _tile_matmul(x, kernel, tile_action, used), (x, kernel, tile_action, used)


def _tile_matmul_bwd(res, d_out):
    x, kernel, tile_action, used = res

    def one(t, carry):
        d_kernel, d_x = carry
        at, dt = tile_action[t], d_out[t]
        w = jax.lax.dynamic_index_in_dim(kernel, at, axis=1, keepdims=False)
        current = jax.lax.dynamic_index_in_dim(d_kernel, at, axis=1, keepdims=True)
        d_kernel = jax.lax.dynamic_update_index_in_dim(d_kernel, current + (x[t].T @ dt)[:, None], at, axis=1)
        return d_kernel, jax.lax.dynamic_update_index_in_dim(d_x, dt @ w.T, t, axis=0)

    d_kernel, d_x = jax.lax.fori_loop(0, used, one, (jnp.zeros_like(kernel), jnp.zeros_like(x)))
    return d_x, d_kernel, None, None


_tile_matmul.defvjp(_tile_matmul_fwd, _tile_matmul_bwd)


TILED_MIN_ACTIONS = 8  # below this, the taken-action head is the full head's slice (docs/profile.md)


def tile_rows(batch: int, num_actions: int) -> int:
    """Rows per tile of the taken-action head: about the rows per action, rounded up to a power of
    two in [8, 32] (small tiles waste the matmul units, large ones pad each action's last tile)."""
    per_action = max(1, batch // num_actions)
    return min(32, max(8, 1 << (per_action - 1).bit_length()))


class GoalActionHead(nn.Module):
    """Dense layer to [..., G, A] logits.

    The kernel is stored [K, A * G] (action-major), so one action's goals are a slice for
    :meth:`taken`.
    """

    in_features: int
    num_goals: int
    num_actions: int

    def setup(self):
        self.kernel = self.param(
            "kernel", nn.initializers.lecun_normal(), (self.in_features, self.num_actions * self.num_goals)
        )
        self.bias = self.param("bias", nn.initializers.zeros_init(), (self.num_actions * self.num_goals,))

    def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
        out = (h @ self.kernel + self.bias).reshape(h.shape[:-1] + (self.num_actions, self.num_goals))
        return jnp.swapaxes(out, -1, -2)

    def taken(self, h: jnp.ndarray, action: jnp.ndarray) -> jnp.ndarray:
        """Logits of the taken action for every goal, [B, G] (see :func:`taken_action_matmul`).

        With few actions the full head and the taken action's slice (the same values): its one
        large matmul uses every core, while the tiles' small ones run one after another.
        """
        if self.num_actions < TILED_MIN_ACTIONS:
            out = (h @ self.kernel + self.bias).reshape(h.shape[:-1] + (self.num_actions, self.num_goals))
            return jnp.take_along_axis(out, action[:, None, None], axis=1)[:, 0]
        kernel = self.kernel.reshape(self.in_features, self.num_actions, self.num_goals)
        bias = self.bias.reshape(self.num_actions, self.num_goals)
        return taken_action_matmul(h, kernel, action, tile_rows(h.shape[0], self.num_actions)) + bias[action]


class LeoNetwork(nn.Module):
    """LEO: observation -> Q(s, g, a) for every goal and action, [..., G, A], in [0, 1]."""

    obs_spec: ObsSpec
    num_goals: int
    num_actions: int
    width: int = 256
    depth: int = 2
    conv_features: int = 0
    input_norm: str = "layer_norm"
    conv_norm: bool = False

    def setup(self):
        self.trunk = Trunk(self.obs_spec, self.width, self.depth, self.conv_features, self.input_norm,
                           self.conv_norm)
        self.head = GoalActionHead(self.width, self.num_goals, self.num_actions)

    def __call__(self, obs: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        # Each goal's return is a discounted single success, so values live in [0, 1].
        return nn.sigmoid(self.head(self.trunk(obs, train=train)))

    def taken(self, obs: jnp.ndarray, action: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        """Q(s, g, a_taken) for every goal, [B, G]: what a TD update needs, at ~1/A of the head's cost."""
        return nn.sigmoid(self.head.taken(self.trunk(obs, train=train), action))


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
    input_norm: str = "layer_norm"
    conv_norm: bool = False

    @nn.compact
    def __call__(self, obs: jnp.ndarray, goal: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        h = Trunk(self.obs_spec, self.width, self.depth, self.conv_features, self.input_norm, self.conv_norm)(
            obs, goal, train)
        return nn.sigmoid(nn.Dense(self.num_actions)(h))
