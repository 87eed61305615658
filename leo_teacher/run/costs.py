"""What each policy of a distill run costs to deploy: parameters and CPU latency per action."""

from __future__ import annotations

import time

import numpy as np

BATCHES = (1, 1024)


def count_parameters(params) -> int:
    """Number of scalars in a parameter pytree."""
    import jax

    return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(params)))


def time_call(fn, *args, repeats: int) -> float:
    """Median seconds of ``fn(*args)`` (compiled and warmed up first), over ``repeats`` calls."""
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def policy_costs(coord, state, env, seed: int = 0) -> dict[str, dict]:
    """name -> {parameters, ms per call at batch 1 and 1024, us per action at 1024} for the
    run's students and its teacher, the greedy action of each, jitted on the CPU."""
    import jax

    cpu = jax.devices("cpu")[0]
    _, obs = env.reset(jax.random.PRNGKey(seed), max(BATCHES))
    obs = jax.device_put(np.asarray(obs, np.float32), cpu)
    goal = jax.device_put(np.arange(max(BATCHES), dtype=np.int32) % env.goal_set.num_goals, cpu)
    out = {}
    for name, (act, params_of) in coord.greedy_policies().items():
        params = jax.device_put(params_of(state), cpu)
        fn = jax.jit(act)
        row = {"parameters": count_parameters(params)}
        for b in BATCHES:
            seconds = time_call(fn, params, obs[:b], goal[:b], repeats=200 if b == 1 else 20)
            row[f"ms_per_call_batch{b}"] = round(seconds * 1e3, 4)
        row["us_per_action_batch1024"] = round(row["ms_per_call_batch1024"] * 1e3 / 1024, 4)
        out[name] = row
    return out


def costs_table(costs: dict[str, dict], policies: dict[str, dict]) -> str:
    """The report's lines: each policy's parameters, latency and per-goal success side by side."""
    lines = ["policy | parameters | ms/call batch 1 | ms/call batch 1024 | us/action batch 1024 | success"]
    for name, c in costs.items():
        s = policies.get(name, {}).get("success_rate")
        lines.append(f"{name} | {c['parameters']:,} | {c['ms_per_call_batch1']:.3f} | "
                     f"{c['ms_per_call_batch1024']:.3f} | {c['us_per_action_batch1024']:.3f} | "
                     + ("-" if s is None else f"{s:.3f}"))
    return "\n".join(lines)
