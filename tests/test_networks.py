"""Network building blocks."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.envs.base import ObsSpec
from leo_teacher.core.networks import Conv3x3, LeoNetwork, taken_action_matmul


def test_conv3x3_equals_flax_conv():
    grid = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7, 3))
    reference = nn.Conv(4, (3, 3))
    ref_params = reference.init(jax.random.PRNGKey(1), grid)
    ours = Conv3x3(4)
    params = {"params": dict(ref_params["params"])}  # same kernel [3, 3, C, F] and bias [F]
    np.testing.assert_allclose(ours.apply(params, grid), reference.apply(ref_params, grid), rtol=1e-5, atol=1e-5)
    assert jax.tree.map(np.shape, ours.init(jax.random.PRNGKey(1), grid)) == jax.tree.map(np.shape, ref_params)


@pytest.mark.parametrize("actions", ["random", "all-one-action", "every-action-once"])
def test_taken_action_values_and_grads_equal_the_full_head(actions):
    """LEO's TD update reads Q(s, g, a_taken) from the tiled per-action matmul: same values, same grads."""
    B, G, A, D = 24, 5, 7, 11
    obs = jax.random.uniform(jax.random.PRNGKey(0), (B, D))
    action = {
        "random": jax.random.randint(jax.random.PRNGKey(1), (B,), 0, A),
        "all-one-action": jnp.full((B,), A - 1),
        "every-action-once": jnp.arange(B) % A,
    }[actions]
    net = LeoNetwork(ObsSpec(size=D), G, A, width=16, depth=1)
    params = net.init(jax.random.PRNGKey(2), obs[:1])
    target = jax.random.uniform(jax.random.PRNGKey(3), (B, G))

    def full(p):
        q = net.apply(p, obs)  # [B, G, A]
        return q[jnp.arange(B), :, action]

    def taken(p):
        return net.apply(p, obs, action, method="taken")

    # Jitted: one compile each instead of op-by-op dispatch (seconds of test time).
    np.testing.assert_allclose(jax.jit(taken)(params), jax.jit(full)(params), rtol=1e-6, atol=1e-6)
    g_full = jax.jit(jax.grad(lambda p: jnp.sum((full(p) - target) ** 2)))(params)
    g_taken = jax.jit(jax.grad(lambda p: jnp.sum((taken(p) - target) ** 2)))(params)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), g_taken, g_full)


@pytest.mark.parametrize("tile", [1, 3, 8])
def test_taken_action_matmul_any_tile(tile):
    h = jax.random.normal(jax.random.PRNGKey(0), (10, 4))
    kernel = jax.random.normal(jax.random.PRNGKey(1), (4, 3, 6))
    action = jnp.array([2, 0, 2, 2, 1, 0, 2, 2, 2, 0])
    want = jnp.einsum("bk,bkg->bg", h, jnp.moveaxis(kernel, 1, 0)[action])
    got = jax.jit(taken_action_matmul, static_argnums=3)(h, kernel, action, tile)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
