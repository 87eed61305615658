"""Network building blocks."""

import flax.linen as nn
import jax
import numpy as np

from leo_teacher.networks import Conv3x3


def test_conv3x3_equals_flax_conv():
    grid = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7, 3))
    reference = nn.Conv(4, (3, 3))
    ref_params = reference.init(jax.random.PRNGKey(1), grid)
    ours = Conv3x3(4)
    params = {"params": dict(ref_params["params"])}  # same kernel [3, 3, C, F] and bias [F]
    np.testing.assert_allclose(ours.apply(params, grid), reference.apply(ref_params, grid), rtol=1e-5, atol=1e-5)
    assert jax.tree.map(np.shape, ours.init(jax.random.PRNGKey(1), grid)) == jax.tree.map(np.shape, ref_params)
