"""Network building blocks."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.envs.base import ObsSpec
from leo_teacher.core.networks import TILED_MIN_ACTIONS, Conv3x3, LeoNetwork, Trunk, taken_action_matmul, tile_rows


def test_conv3x3_equals_flax_conv():
    grid = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7, 3))
    reference = nn.Conv(4, (3, 3))
    ref_params = reference.init(jax.random.PRNGKey(1), grid)
    ours = Conv3x3(4)
    params = {"params": dict(ref_params["params"])}  # same kernel [3, 3, C, F] and bias [F]
    np.testing.assert_allclose(ours.apply(params, grid), reference.apply(ref_params, grid), rtol=1e-5, atol=1e-5)
    assert jax.tree.map(np.shape, ours.init(jax.random.PRNGKey(1), grid)) == jax.tree.map(np.shape, ref_params)


@pytest.mark.parametrize("A", [3, 9])  # the full head's slice below TILED_MIN_ACTIONS, the tiles above
@pytest.mark.parametrize("actions", ["random", "all-one-action", "every-action-once"])
def test_taken_action_values_and_grads_equal_the_full_head(actions, A):
    """LEO's TD update reads Q(s, g, a_taken) without the other actions: same values, same grads."""
    B, G, D = 24, 5, 11
    assert (A >= TILED_MIN_ACTIONS) == (A == 9)  # both paths covered
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


def test_a_one_hot_observation_reads_the_first_layer_as_a_lookup():
    """ObsSpec.one_hot: the same parameters, values and gradients as LayerNorm + Dense on the one-hot."""
    n, B = 12, 9
    obs = jax.nn.one_hot(jax.random.randint(jax.random.PRNGKey(0), (B,), 0, n), n)
    general, lookup = Trunk(ObsSpec(size=n), 8, 3), Trunk(ObsSpec(size=n, one_hot=True), 8, 3)
    params = general.init(jax.random.PRNGKey(1), obs)
    assert jax.tree.map(np.shape, lookup.init(jax.random.PRNGKey(1), obs)) == jax.tree.map(np.shape, params)
    jax.tree.map(np.testing.assert_array_equal, lookup.init(jax.random.PRNGKey(1), obs), params)
    weights = jax.random.normal(jax.random.PRNGKey(2), (B, 8))
    loss = lambda net: lambda p: jnp.sum(net.apply(p, obs) * weights)  # noqa: E731
    np.testing.assert_allclose(lookup.apply(params, obs), general.apply(params, obs), rtol=1e-5, atol=1e-5)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5),
                 jax.grad(loss(lookup))(params), jax.grad(loss(general))(params))


def test_tile_rows():
    assert [tile_rows(512, a) for a in (1, 4, 17, 43, 100)] == [32, 32, 32, 16, 8]
    assert tile_rows(24, 9) == 8


@pytest.mark.parametrize("tile", [1, 3, 8])
def test_taken_action_matmul_any_tile(tile):
    h = jax.random.normal(jax.random.PRNGKey(0), (10, 4))
    kernel = jax.random.normal(jax.random.PRNGKey(1), (4, 3, 6))
    action = jnp.array([2, 0, 2, 2, 1, 0, 2, 2, 2, 0])
    want = jnp.einsum("bk,bkg->bg", h, jnp.moveaxis(kernel, 1, 0)[action])
    got = jax.jit(taken_action_matmul, static_argnums=3)(h, kernel, action, tile)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_batch_renorm_by_hand():
    from leo_teacher.core.networks import BatchRenorm

    x = jnp.array([[1.0, 2.0], [3.0, 6.0]])  # batch mean (2, 4), variance (1, 4)
    m = BatchRenorm(momentum=0.9, epsilon=0.0, warmup=1)
    v = m.init(jax.random.PRNGKey(0), x)
    # inference uses the running statistics (mean 0, var 1): the identity
    np.testing.assert_allclose(m.apply(v, x), x, rtol=1e-6)
    # warm-up call: plain batch norm, running stats move 10% of the way
    y, new = m.apply(v, x, train=True, mutable=["batch_stats"])
    np.testing.assert_allclose(y, [[-1.0, -1.0], [1.0, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(new["batch_stats"]["mean"], [0.2, 0.4], rtol=1e-6)
    np.testing.assert_allclose(new["batch_stats"]["var"], [1.0, 1.3], rtol=1e-6)
    # after warm-up: r = clip(sigma_B / sigma, 1/3, 3), d = clip((mu_B - mu) / sigma, +-5)
    v2 = {**v, "batch_stats": new["batch_stats"]}
    y2, _ = m.apply(v2, x, train=True, mutable=["batch_stats"])
    sigma = np.sqrt([1.0, 1.3])
    r = np.clip(np.array([1.0, 2.0]) / sigma, 1 / 3, 3)
    d = np.clip((np.array([2.0, 4.0]) - [0.2, 0.4]) / sigma, -5, 5)
    np.testing.assert_allclose(y2, np.array([[-1.0, -1.0], [1.0, 1.0]]) * r + d, rtol=1e-5)


def test_a_batch_renorm_teacher_updates_its_statistics_not_by_gradient():
    from leo_teacher.config import build_config, parse_set
    from leo_teacher.core.coordinator import Coordinator
    from leo_teacher.envs import make_env

    cfg = build_config(preset="tiny", overrides=parse_set(["coordinator.mode=teacher-as-actor",
                                                           "teacher.input_norm=batch_renorm"]))
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    new, metrics = coord.chunk_fn(2)(coord.init(0))
    before, after = state.teacher.params["batch_stats"], new.teacher.params["batch_stats"]
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree_util.tree_leaves(before), jax.tree_util.tree_leaves(after))
               if a.dtype == jnp.float32)  # running means and variances moved
    steps = [x for x in jax.tree_util.tree_leaves(after) if x.dtype == jnp.int32]
    minibatch_steps = 2 * cfg.teacher.epochs * cfg.rollout_size // cfg.teacher.minibatch_size
    assert all(int(s) == minibatch_steps for s in steps)  # one statistics update per gradient step
    assert np.all(np.isfinite(metrics["teacher_loss"]))


def test_input_norm_none_keeps_the_common_scale_a_layer_norm_erases():
    """A point mass at rest at (0.2, 0.2) and one moving at 0.6 of its top speed at (0.8, 0.8)
    are one vector after a LayerNorm across the four features (a common shift and scale);
    input_norm="none" tells them apart."""
    obs = jnp.array([[0.2, 0.2, 0.0, 0.0], [0.8, 0.8, 0.6, 0.6]])
    for norm, same in (("layer_norm", True), ("none", False)):
        trunk = Trunk(ObsSpec(size=4), width=8, depth=1, input_norm=norm)
        h = trunk.apply(trunk.init(jax.random.PRNGKey(0), obs), obs)
        assert np.allclose(h[0], h[1], atol=1e-5) == same, norm


def test_taken_action_matmul_under_vmap():
    """Vmapped seeds run the tile loop with a different filled-tile count per seed: each gets its own."""
    h = jax.random.normal(jax.random.PRNGKey(0), (2, 12, 4))
    kernel = jax.random.normal(jax.random.PRNGKey(1), (2, 4, 9, 5))
    action = jnp.stack([jnp.zeros(12, jnp.int32), jnp.arange(12) % 9])  # 2 tiles filled against 9

    def loss(h, k, a):
        return jnp.sum(taken_action_matmul(h, k, a, 4) ** 2)

    def reference(h, k, a):
        return jnp.sum(jnp.einsum("bk,bkg->bg", h, jnp.moveaxis(k, 1, 0)[a]) ** 2)

    got = jax.jit(jax.vmap(jax.value_and_grad(loss, argnums=(0, 1))))(h, kernel, action)
    want = jax.vmap(jax.value_and_grad(reference, argnums=(0, 1)))(h, kernel, action)
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-5), got, want)
