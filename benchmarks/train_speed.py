"""Training throughput (env steps/s) per mode, after compilation, for one env and preset.

Also times the environment alone (same batch, the env's chosen reset scheme, random actions,
one jitted scan per rollout) and prints each mode's training/env ratio: how much of the
iteration is the environment and how much is learning.

    python benchmarks/train_speed.py --env gridworld --preset cpu --modes teacher-as-teacher,pqn
    python benchmarks/train_speed.py --env craftax-classic --preset cpu --modes teacher-as-teacher
"""

from __future__ import annotations

import argparse
import time

import jax

from leo_teacher.config import MODES, build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.envs import make_env
from leo_teacher.cli.common import enable_compilation_cache


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


def plot(results: list[dict], path: str, title: str) -> None:
    """Horizontal bars of training steps/s per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.4 * len(results) + 1.2))
    ax.barh([r["mode"] for r in results], [r["steps_per_second"] for r in results])
    ax.set(xscale="log", xlabel="training env steps/s (log)", title=title)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def env_only(env_name: str, preset: str | None, iterations: int, extra: list[str]) -> float:
    """Env steps/s of the preset's env batch under random actions (after compilation)."""
    cfg = build_config(env=env_name, preset=preset, overrides=parse_set(list(extra)))
    env, B, T = make_env(cfg.env), cfg.env.num_envs, cfg.env.rollout_steps

    @jax.jit
    def rollout(state, rng):
        def body(s, k):
            ka, ks = jax.random.split(k)
            s, res = env.step(ks, s, jax.random.randint(ka, (B,), 0, env.num_actions))
            return s, res.episode_end.sum()

        return jax.lax.scan(body, state, jax.random.split(rng, T))

    state, _ = env.reset(jax.random.PRNGKey(0), B)
    state, _ = jax.block_until_ready(rollout(state, jax.random.PRNGKey(1)))  # compile
    t0 = time.perf_counter()
    for i in range(iterations):
        state, ended = rollout(state, jax.random.PRNGKey(2 + i))
    jax.block_until_ready(ended)
    return iterations * B * T / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="gridworld")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--modes", default=",".join(m for m in MODES if m != "random"))
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--plot", help="write a bar chart of steps/s per mode to this image")
    a = p.parse_args()
    enable_compilation_cache()
    print(f"device: {jax.devices()[0].platform} | env {a.env} | preset {a.preset}")
    env_sps = env_only(a.env, a.preset, max(a.iterations, 5), a.set)
    print(f"{'env only (random actions)':22s} {env_sps:>10,.0f} steps/s")
    results = []
    for mode in a.modes.split(","):
        r = measure(a.env, a.preset, mode, a.iterations, a.set)
        results.append(r)
        print(f"{mode:22s} {r['steps_per_second']:>10,.0f} steps/s   (training/env {r['steps_per_second'] / env_sps:.3f}; "
              f"first chunk incl. compile {r['first_chunk_seconds']:.1f}s)", flush=True)
    if a.plot:
        plot(results, a.plot, f"{a.env} / {a.preset} ({jax.devices()[0].platform})")
    best = max(results, key=lambda r: r["steps_per_second"])
    print("summary: " + ", ".join(f"{r['mode']}={r['steps_per_second']:.0f}" for r in results)
          + f" steps/s; env only {env_sps:.0f}; fastest {best['mode']} "
          f"(training/env {best['steps_per_second'] / env_sps:.3f})")


if __name__ == "__main__":
    main()
