"""A student written in Equinox outside the package, loaded by import path.

    PYTHONPATH=tests/data python -m leo_teacher.train --student eqx_student_example:make_student

The module works on one example (obs [D], goal [Dg]); EquinoxStudent vmaps it over the batch and
keeps only its arrays as the params pytree.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from students import EquinoxStudent


class TinyPolicy(eqx.Module):
    """[obs, goal] -> two ReLU layers -> (logits, sigmoid value)."""

    layers: list
    policy: eqx.nn.Linear
    value: eqx.nn.Linear

    def __init__(self, in_size: int, width: int, num_actions: int, *, key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.layers = [eqx.nn.Linear(in_size, width, key=k1), eqx.nn.Linear(width, width, key=k2)]
        self.policy = eqx.nn.Linear(width, num_actions, key=k3)
        self.value = eqx.nn.Linear(width, 1, key=k4)

    def __call__(self, obs, goal):
        h = jnp.concatenate([obs, goal])
        for layer in self.layers:
            h = jax.nn.relu(layer(h))
        return self.policy(h), jax.nn.sigmoid(self.value(h)[0])


def make_student(config, spec):
    """factory(student config, StudentSpec) -> Student, as the registry's built-ins."""
    in_size = spec.obs_spec.size + spec.goal_dim
    return EquinoxStudent(lambda key: TinyPolicy(in_size, config.width, spec.num_actions, key=key))
