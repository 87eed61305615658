"""Training steps/s on 1 and 2 devices (data parallel), same global batch.

On a CPU-only machine this forces two host devices, which share the same cores, so expect no
speed-up there: the point is that the sharded program runs and what it costs.

    python benchmarks/devices.py [--env gridworld] [--iterations 5]
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import argparse  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402

from leo_teacher import parallel  # noqa: E402
from leo_teacher.config import build_config, parse_set  # noqa: E402
from leo_teacher.core.coordinator import Coordinator  # noqa: E402
from leo_teacher.envs import make_env  # noqa: E402
from leo_teacher.cli.common import enable_compilation_cache  # noqa: E402


def steps_per_second(env: str, preset: str | None, devices: int, iterations: int, extra: list[str]) -> float:
    cfg = build_config(env=env, preset=preset, overrides=parse_set(extra))
    coord = Coordinator(cfg, make_env(cfg.env))
    mesh = parallel.make_mesh(devices, cfg.env.num_envs)
    state = parallel.shard_state(coord.init(0), mesh, cfg.env.num_envs)
    chunk = coord.chunk_fn(iterations)
    state, _ = chunk(state)  # compile
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    state, _ = chunk(state)
    jax.block_until_ready(state)
    return iterations * cfg.rollout_size / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="gridworld")
    p.add_argument("--preset", default=None)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    enable_compilation_cache()
    print(f"devices: {jax.devices()}")
    results = {}
    for n in (1, 2):
        results[n] = steps_per_second(a.env, a.preset, n, a.iterations, a.set)
        print(f"{n} device(s): {results[n]:,.0f} steps/s")
    print(f"summary: 1 device {results[1]:.0f} steps/s, 2 devices {results[2]:.0f} steps/s, "
          f"ratio {results[2] / results[1]:.2f}")


if __name__ == "__main__":
    main()
