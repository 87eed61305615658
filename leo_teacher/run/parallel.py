"""Data parallelism over devices with ``jax.sharding``, and many seeds in one program.

Devices: the environment batch (every per-env array of the actors' state, and so the rollout
computed from it) is sharded over a one-axis mesh ``("data",)``; parameters and optimiser
states are replicated; the compiler inserts the gradient averaging. One device is the same code
path with a mesh of one.

Seeds: K independent training states are stacked on a leading axis and the iteration is
vmapped over it, so K seeds run as one jitted program.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from leo_teacher.config import ConfigError


def maybe_initialize_distributed(enabled: bool) -> None:
    """Join a multi-host job (``jax.distributed.initialize``) when asked.

    Coordinator address, process count and id come from the environment variables
    JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID, or from a cluster JAX
    detects on its own (SLURM); see docs/scaling.md. CPU processes talk through gloo.
    """
    if not enabled:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    env = os.environ
    if "JAX_COORDINATOR_ADDRESS" in env:
        try:
            jax.distributed.initialize(coordinator_address=env["JAX_COORDINATOR_ADDRESS"],
                                       num_processes=int(env["JAX_NUM_PROCESSES"]),
                                       process_id=int(env["JAX_PROCESS_ID"]))
        except (KeyError, ValueError) as e:
            raise ConfigError(f"--distributed with JAX_COORDINATOR_ADDRESS needs integer JAX_NUM_PROCESSES "
                              f"and JAX_PROCESS_ID ({type(e).__name__}: {e})") from None
    else:
        jax.distributed.initialize()


def is_writer() -> bool:
    """Whether this process writes the run directory: process 0 of a multi-process job."""
    return jax.process_index() == 0


def to_host(state: Any) -> Any:
    """``state`` as host numpy arrays, the per-env arrays sharded over other processes gathered
    (a collective: every process calls it)."""
    from jax.experimental import multihost_utils

    def host(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return x

    return jax.tree_util.tree_map(host, state)


def make_mesh(num_devices: int | None, num_envs: int) -> Mesh:
    """A ("data",) mesh over the first ``num_devices`` devices (all when None or 0).

    Raises ConfigError when the env batch cannot be split evenly over the devices.
    """
    devices = jax.devices()
    n = len(devices) if not num_devices else num_devices
    if n > len(devices):
        raise ConfigError(
            f"--devices {n} asks for more devices than the {len(devices)} available "
            f"({devices[0].platform}); use --devices {len(devices)} or fewer"
        )
    if num_envs % n:
        raise ConfigError(
            f"env.num_envs={num_envs} does not split over {n} devices; use a multiple of {n} "
            "(each device steps the same number of envs)"
        )
    return Mesh(np.array(devices[:n]), ("data",))


def shard_state(state: Any, mesh: Mesh, num_envs: int, batch_axis: int = 0) -> Any:
    """Place ``state`` on ``mesh``: per-env arrays of the actors sharded, the rest replicated.

    ``batch_axis`` is 1 for seed-stacked states (axis 0 is the seed).
    """
    replicated = NamedSharding(mesh, P())
    if jax.process_count() > 1:  # every process holds the whole state; each places its shards
        state = jax.tree_util.tree_map(np.asarray, state)

    def place_actor(x):
        if x.ndim > batch_axis and x.shape[batch_axis] == num_envs:
            spec = [None] * x.ndim
            spec[batch_axis] = "data"
            return jax.device_put(x, NamedSharding(mesh, P(*spec)))
        return jax.device_put(x, replicated)

    actors = jax.tree_util.tree_map(place_actor, state.actors)
    rest = jax.device_put(state.replace(actors=None), replicated)
    return rest.replace(actors=actors)


def seed_stack_init(coord, seeds: list[int]):
    """K independent training states stacked on a leading axis (one per seed)."""
    return jax.jit(jax.vmap(coord.init))(np.asarray(seeds, dtype=np.int32))


def take_seed(state: Any, k: int) -> Any:
    """The k-th seed's state out of a seed-stacked state (e.g. to export or evaluate it)."""
    return jax.tree_util.tree_map(lambda x: x[k], state)


def forced_cpu_devices_hint() -> str:
    """How to get several CPU devices for testing (they share the same cores)."""
    flags = os.environ.get("XLA_FLAGS", "")
    return f"XLA_FLAGS='{flags} --xla_force_host_platform_device_count=2'".replace("' ", "'")
