"""Env-only throughput of Craftax-Classic and Craftax under each reset scheme.

For each game, reset scheme and batch size: a jitted ``lax.scan`` of uniformly random actions
through ``env.step``, timed after a warm-up call; prints steps/s (env steps, i.e. batch size
times scan length, per second) and the fraction of env steps that ended an episode. Schemes:
``optimistic`` and ``bank`` (leo_teacher.envs.craftax), ``noreset`` (craftax's step alone, an
upper bound), ``auto`` (craftax's built-in auto-reset, a world per env per step; its own
symbolic obs instead of ours). Ends with one summary line.

    JAX_COMPILATION_CACHE_DIR=.jax_cache python benchmarks/craftax_env_speed.py
    python benchmarks/craftax_env_speed.py --games craftax-classic --batch-sizes 64 1024
"""

from __future__ import annotations

import argparse
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

        def one(k, s, a):
            _, s, _, done, _ = raw.step_env(k, s, a, params) if scheme == "noreset" else raw.step(k, s, a, params)
            return s, done

        def step(k, s, a):
            s, done = jax.vmap(one)(jax.random.split(k, num_envs), s, a)
            return s, done

        def unwrap(state):
            return state.env

    else:

        def step(k, s, a):
            s, res = env.step(k, s, a)
            return s, res.episode_end

        def unwrap(state):
            return state

    def run(rng, state):
        def body(carry, k):
            s, ended = carry
            ka, ks = jax.random.split(k)
            a = jax.random.randint(ka, (num_envs,), 0, env.num_actions)
            s, done = step(ks, s, a)
            return (s, ended + done.sum()), None

        (state, ended), _ = jax.lax.scan(body, (state, jnp.int32(0)), jax.random.split(rng, length))
        return state, ended

    return jax.jit(run), unwrap


def measure(game: str, scheme: str, num_envs: int, length: int, min_seconds: float, **options):
    """Steps/s, ended fraction and compile seconds for one configuration."""
    env_scheme = scheme if scheme in ("optimistic", "bank") else "optimistic"
    env = make_craftax_env(game, reset_scheme=env_scheme, **options)
    run, unwrap = _scan_fn(env, scheme, num_envs, length)
    state, _ = env.reset(jax.random.key(0), num_envs)
    state = unwrap(state)
    t0 = time.perf_counter()
    state, _ = jax.block_until_ready(run(jax.random.key(1), state))  # compile + warm-up
    compile_s = time.perf_counter() - t0
    steps = ended = 0
    t0 = time.perf_counter()
    i = 2
    while time.perf_counter() - t0 < min_seconds or steps == 0:
        state, e = jax.block_until_ready(run(jax.random.key(i), state))
        steps += num_envs * length
        ended += int(e)
        i += 1
    elapsed = time.perf_counter() - t0
    return steps / elapsed, ended / steps, compile_s


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--games", nargs="+", default=["craftax-classic", "craftax"])
    p.add_argument("--schemes", nargs="+", default=["noreset", "optimistic", "bank", "auto"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=None,
                   help="default: 64 256 1024 for craftax-classic, 64 256 for craftax")
    p.add_argument("--length", type=int, default=32, help="steps per jitted scan")
    p.add_argument("--min-seconds", type=float, default=4.0, help="timed seconds per configuration")
    p.add_argument("--reset-fraction", type=float, default=0.02)
    p.add_argument("--bank-size", type=int, default=1024)
    p.add_argument("--bank-refresh", type=int, default=1)
    args = p.parse_args(argv)
    options = dict(reset_fraction=args.reset_fraction, bank_size=args.bank_size, bank_refresh=args.bank_refresh)
    print(f"devices: {jax.devices()}  options: {options}")
    print(f"{'game':16s} {'scheme':10s} {'envs':>5s} {'steps/s':>9s} {'ended/step':>10s} {'compile s':>9s}")
    best = {}
    for game in args.games:
        sizes = args.batch_sizes or ([64, 256, 1024] if game == "craftax-classic" else [64, 256])
        for scheme in args.schemes:
            for n in sizes:
                # Built-in auto-reset generates n worlds per step: keep its scans short.
                length = max(1, args.length // 8) if scheme == "auto" else args.length
                sps, ended, comp = measure(game, scheme, n, length, args.min_seconds, **options)
                print(f"{game:16s} {scheme:10s} {n:5d} {sps:9.0f} {ended:10.4f} {comp:9.1f}", flush=True)
                if scheme in ("optimistic", "bank"):
                    best.setdefault(game, {})[(scheme, n)] = sps
    summary = []
    for game, res in best.items():
        n = max(k[1] for k in res)
        row = {s: res.get((s, n)) for s in ("optimistic", "bank")}
        pick = max((s for s in row if row[s]), key=lambda s: row[s])
        summary.append(f"{game}@{n}: " + ", ".join(f"{s} {v:.0f}" for s, v in row.items() if v) + f" -> {pick}")
    print("SUMMARY steps/s " + "; ".join(summary))


if __name__ == "__main__":
    main()
