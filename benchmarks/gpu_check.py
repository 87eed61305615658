"""GPU readiness: the paper presets of Craftax-Classic and Craftax, a few minutes each.

For each game it builds the ``--preset paper`` run (Dual LEO with a PPO student, the paper's
sizes: 1024 envs x 64 steps, LEO 4 x 1024 with BatchRenorm, the towers student), compiles a
chunk of training iterations, trains for ``--seconds`` and prints the compile time, the
training steps/s after compilation and the peak memory (the device's where it reports one,
else the host process's). The reference's own figures are printed beside ours where they are
known (``REFERENCE``). On a CPU the same code runs at a tiny size (``TINY``), so a test can
run the whole script in seconds; pass ``--full`` to force the paper sizes anyway.

    python benchmarks/gpu_check.py                      # on a GPU machine: ~2 x (compile + 2 min)
    python benchmarks/gpu_check.py --seconds 30 --games craftax-classic
"""

from __future__ import annotations

import argparse
import resource
import time

import jax

from leo_teacher.cli.common import enable_compilation_cache
from leo_teacher.config import build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.envs import make_env

GAMES = ("craftax-classic", "craftax")
# The paper preset shrunk until a CPU runs a chunk in seconds (same code path, same modules).
TINY = ["env.num_envs=8", "env.rollout_steps=4", "env.bank_size=16", "teacher.width=32", "teacher.depth=1",
        "teacher.minibatch_size=16", "student.width=32", "student.actor_layers=1", "student.critic_layers=1",
        "student.minibatch_size=16"]
# The reference's published throughput on a GPU, steps/s, where known. DESIGN §5 records
# none (its figures are CPU measurements), so none is printed yet.
REFERENCE: dict[str, float] = {}


def peak_memory() -> tuple[float, str]:
    """(peak bytes, what was measured): the default device's peak if it reports one, else host RSS."""
    stats = jax.local_devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return float(stats["peak_bytes_in_use"]), "device"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0, "host"


def check(game: str, seconds: float, tiny: bool, chunk: int) -> dict:
    """Compile and train ``game``'s paper preset for about ``seconds``; returns the figures."""
    cfg = build_config(env=game, preset="paper", overrides=parse_set(TINY if tiny else []))
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(cfg.run.seed)
    t0 = time.perf_counter()
    compiled = coord.chunk_fn(chunk).lower(state).compile()
    compile_s = time.perf_counter() - t0
    state, _ = compiled(state)  # the first run allocates its buffers: not timed
    jax.block_until_ready(state)
    runs, t0 = 0, time.perf_counter()
    while True:
        state, metrics = compiled(state)
        jax.block_until_ready(state)
        runs += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    steps = runs * chunk * cfg.rollout_size
    peak, where = peak_memory()
    return {"game": game, "compile_s": compile_s, "steps_per_second": steps / elapsed, "steps": steps,
            "peak_bytes": peak, "peak_of": where, "num_envs": cfg.env.num_envs,
            "finite": bool(jax.numpy.isfinite(metrics["teacher_loss"]).all())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--games", default=",".join(GAMES))
    p.add_argument("--seconds", type=float, default=120.0, help="training time per game after compilation")
    p.add_argument("--chunk", type=int, default=4, help="iterations per compiled chunk")
    p.add_argument("--full", action="store_true", help="the paper sizes even without a GPU")
    a = p.parse_args()
    enable_compilation_cache()
    platform = jax.devices()[0].platform
    tiny = platform == "cpu" and not a.full
    print(f"device: {jax.devices()[0].device_kind} ({platform}) | sizes: {'tiny (CPU)' if tiny else 'paper'}")
    for game in a.games.split(","):
        r = check(game, a.seconds, tiny, a.chunk)
        ref = REFERENCE.get(game)
        print(f"{game:16s} compile {r['compile_s']:6.1f} s | {r['steps_per_second']:>10,.0f} steps/s "
              f"({r['steps']:,} steps, {r['num_envs']} envs) | peak {r['peak_of']} memory "
              f"{r['peak_bytes'] / 2**30:6.2f} GiB | reference "
              f"{f'{ref:,.0f} steps/s' if ref else 'not published'} | losses finite: {r['finite']}", flush=True)


if __name__ == "__main__":
    main()
