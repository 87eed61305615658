"""Training throughput (env steps/s) per mode, after compilation, for one env and preset.

    python benchmarks/train_speed.py --env gridworld --preset cpu --modes teacher-as-teacher,pqn
"""

from __future__ import annotations

import argparse
import time

import jax

from leo_teacher.config import MODES, build_config, parse_set
from leo_teacher.coordinator import Coordinator
from leo_teacher.envs import make_env
from leo_teacher.train import enable_compilation_cache


def measure(env_name: str, preset: str | None, mode: str, iterations: int, extra: list[str]) -> dict:
    """Compile a chunk of ``iterations``, run it once more, and time that second run."""
    cfg = build_config(env=env_name, preset=preset,
                       overrides=parse_set([f"coordinator.mode={mode}", *extra]))
    coord = Coordinator(cfg, make_env(cfg.env))
    chunk = coord.chunk_fn(iterations)
    t0 = time.perf_counter()
    state, _ = chunk(coord.init(cfg.run.seed))
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state, _ = chunk(state)
    jax.block_until_ready(state)
    run_s = time.perf_counter() - t0
    steps = iterations * cfg.rollout_size
    return {"mode": mode, "steps_per_second": steps / run_s, "first_chunk_seconds": compile_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="gridworld")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--modes", default=",".join(m for m in MODES if m != "random"))
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    enable_compilation_cache()
    print(f"device: {jax.devices()[0].platform} | env {a.env} | preset {a.preset}")
    results = []
    for mode in a.modes.split(","):
        r = measure(a.env, a.preset, mode, a.iterations, a.set)
        results.append(r)
        print(f"{mode:22s} {r['steps_per_second']:>10,.0f} steps/s   (first chunk incl. compile "
              f"{r['first_chunk_seconds']:.1f}s)")
    best = max(results, key=lambda r: r["steps_per_second"])
    print("summary: " + ", ".join(f"{r['mode']}={r['steps_per_second']:.0f}" for r in results)
          + f" steps/s; fastest {best['mode']}")


if __name__ == "__main__":
    main()
