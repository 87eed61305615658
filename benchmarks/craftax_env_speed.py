"""Env-only throughput of Craftax-Classic and Craftax under each reset scheme.

For each game and batch size, every scheme gets a jitted ``lax.scan`` of uniformly random
actions through its step. After compiling all of them, timing windows go round-robin over the
schemes, so load from other jobs on a shared machine hits every scheme alike; a scheme's
figure is its best window (other jobs only ever slow a window down). Printed: env steps/s
(batch size x scan length per second), the fraction of env steps that ended an episode, and
seconds to compile (plus the warm-up call). Schemes:

- ``optimistic`` / ``bank``: leo_teacher.envs.craftax, our one-hot obs included;
- ``noreset``: craftax's step alone, no resets (an upper bound; its dead envs stay dead, so
  its ended fraction means nothing);
- ``auto``: craftax's built-in auto-reset (a new world per env per step; craftax's own obs).

Ends with one summary line comparing optimistic and bank at each game's largest batch size.

    JAX_COMPILATION_CACHE_DIR=.jax_cache python benchmarks/craftax_env_speed.py
    python benchmarks/craftax_env_speed.py --games craftax-classic --batch-sizes 64 1024
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp

from leo_teacher.envs.craftax import make_craftax_env


def _scan_fn(env, scheme: str, num_envs: int, length: int):
    """A jitted (rng, state) -> (state, ended count) running ``length`` random steps."""
    if scheme in ("noreset", "auto"):
        from craftax.craftax_env import make_craftax_env_from_name

        raw = make_craftax_env_from_name(env.craftax_name, auto_reset=scheme == "auto")
        params = raw.default_params
        fn = raw.step_env if scheme == "noreset" else raw.step

        def step(k, s, a):
            _, s, _, done, _ = jax.vmap(lambda k, s, a: fn(k, s, a, params))(jax.random.split(k, num_envs), s, a)
            return s, done

    else:

        def step(k, s, a):
            s, res = env.step(k, s, a)
            return s, res.episode_end

    def run(rng, state):
        def body(carry, k):
            s, ended = carry
            ka, ks = jax.random.split(k)
            s, done = step(ks, s, jax.random.randint(ka, (num_envs,), 0, env.num_actions))
            return (s, ended + done.sum()), None

        (state, ended), _ = jax.lax.scan(body, (state, jnp.int32(0)), jax.random.split(rng, length))
        return state, ended

    # Donate the state, as a training loop should: otherwise every call copies it, bank
    # included (276 MB for Craftax with 1024 bank worlds), which can halve throughput.
    return jax.jit(run, donate_argnums=1)


def measure(game: str, schemes, num_envs: int, length: int, seconds: float, rounds: int, **options):
    """{scheme: (best steps/s, ended fraction, compile s)} with interleaved timing windows."""
    runs = {}
    for scheme in schemes:
        env = make_craftax_env(game, reset_scheme=scheme if scheme in ("optimistic", "bank") else "optimistic",
                               **options)
        # Built-in auto-reset generates num_envs worlds per step: keep its scans short.
        n = max(1, length // 8) if scheme == "auto" else length
        run = _scan_fn(env, scheme, num_envs, n)
        state = env.reset(jax.random.key(0), num_envs)[0]
        state = jax.block_until_ready(state if scheme in ("optimistic", "bank") else state.env)
        t0 = time.perf_counter()
        state, _ = jax.block_until_ready(run(jax.random.key(1), state))  # compile + warm-up
        runs[scheme] = dict(run=run, state=state, n=n, compile=time.perf_counter() - t0, best=0.0, steps=0, ended=0)
    i = 2
    for _ in range(rounds):
        for r in runs.values():
            steps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / rounds or steps == 0:
                r["state"], e = jax.block_until_ready(r["run"](jax.random.key(i), r["state"]))
                steps, i = steps + num_envs * r["n"], i + 1
                r["ended"] += int(e)
            r["best"] = max(r["best"], steps / (time.perf_counter() - t0))
            r["steps"] += steps
    return {s: (r["best"], r["ended"] / r["steps"], r["compile"]) for s, r in runs.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--games", nargs="+", default=["craftax-classic", "craftax"])
    p.add_argument("--schemes", nargs="+", default=["noreset", "optimistic", "bank", "auto"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=None,
                   help="default: 64 256 1024 for craftax-classic, 64 256 for craftax")
    p.add_argument("--length", type=int, default=32, help="steps per jitted scan")
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per scheme and batch size")
    p.add_argument("--rounds", type=int, default=4, help="timing windows per scheme (interleaved)")
    p.add_argument("--auto-max-envs", type=int, default=256,
                   help="skip the built-in auto-reset above this batch size (minutes per step)")
    p.add_argument("--reset-fraction", type=float, default=0.02)
    p.add_argument("--bank-size", type=int, default=1024)
    p.add_argument("--bank-refresh", type=int, default=1)
    args = p.parse_args(argv)
    options = dict(reset_fraction=args.reset_fraction, bank_size=args.bank_size, bank_refresh=args.bank_refresh)
    print(f"devices: {jax.devices()}  cpus: {os.cpu_count()}  load: {os.getloadavg()[0]:.1f}  options: {options}")
    print(f"{'game':16s} {'scheme':10s} {'envs':>5s} {'steps/s':>9s} {'ended/step':>10s} {'compile s':>9s}")
    largest = {}
    for game in args.games:
        sizes = args.batch_sizes or ([64, 256, 1024] if game == "craftax-classic" else [64, 256])
        for n in sizes:
            schemes = [s for s in args.schemes if s != "auto" or n <= args.auto_max_envs]
            res = measure(game, schemes, n, args.length, args.seconds, args.rounds, **options)
            for scheme, (sps, ended, comp) in res.items():
                print(f"{game:16s} {scheme:10s} {n:5d} {sps:9.0f} {ended:10.4f} {comp:9.1f}", flush=True)
            largest[game] = (n, res)
    summary = []
    for game, (n, res) in largest.items():
        row = {s: res[s][0] for s in ("optimistic", "bank") if s in res}
        if row:
            pick = max(row, key=row.get)
            summary.append(f"{game}@{n}: " + ", ".join(f"{s} {v:.0f}" for s, v in row.items()) + f" -> {pick}")
    print(f"SUMMARY env steps/s (load {os.getloadavg()[0]:.1f}) " + "; ".join(summary))


if __name__ == "__main__":
    main()
