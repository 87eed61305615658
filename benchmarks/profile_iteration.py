"""Where one training iteration's time goes: each phase jitted and timed on its own.

Phases, on the shapes one iteration of the preset uses (a real rollout's data):

- ``env step``: the environment batch for ``rollout_steps`` steps under random actions;
- ``goal labelling``: every goal's achievement ``goal_set.achieved`` on the rollout's observations;
- ``acting``: the teacher's pass (``teacher.observe``) and the students' forward on every step;
- ``teacher update`` and ``student update``: the learners' updates on the rollout;
- ``iteration``: the whole jitted iteration (what training runs), for the share of each phase.

Each phase is its own compiled XLA program (``jax.jit``), timed after compilation as the best
of ``--repeats`` windows; XLA's cost analysis of the compiled program gives its FLOPs. The sum
of the phases exceeds the iteration a little where XLA fuses across phases inside it.

XLA counts a loop's body once, so the GFLOP column is one rollout step (acting) or one
minibatch step (updates); the per-iteration column multiplies by the loop's trip count. The
last lines bound the training/env ratio: the learning phases' FLOPs at this core's dense
matmul rate (a 1024^3 product, timed) take at least that long, whatever the code does.

    python benchmarks/profile_iteration.py --env craftax-classic --preset cpu
    python benchmarks/profile_iteration.py --env gridworld --preset cpu --json out.json
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp

from leo_teacher.cli.common import enable_compilation_cache
from leo_teacher.config import build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import rollout, student_outputs
from leo_teacher.envs import make_env


def timed(fn, *args, repeats: int, inner: int) -> tuple[float, float]:
    """(best seconds per call over ``repeats`` windows of ``inner`` calls, GFLOPs per call)."""
    compiled = jax.jit(fn).lower(*args).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float((cost or {}).get("flops", 0.0)) / 1e9
    jax.block_until_ready(compiled(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            out = compiled(*args)
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - t0) / inner)
    return best, flops


def matmul_gflops(n: int = 1024, repeats: int = 5) -> float:
    """This device's dense float32 matmul rate, GFLOP/s, on an [n, n] x [n, n] product."""
    x = jax.random.normal(jax.random.PRNGKey(0), (n, n))
    sec, gflop = timed(lambda a: a @ a, x, repeats=repeats, inner=3)
    return gflop / sec


def trip_counts(cfg) -> dict[str, int]:
    """How many times each phase's XLA loop body runs per iteration (rollout steps, minibatch steps)."""
    n = cfg.rollout_size
    return {"env step": cfg.env.rollout_steps, "acting": cfg.env.rollout_steps,
            "teacher update": cfg.teacher.epochs * (n // cfg.teacher.minibatch_size),
            "student update": cfg.student.epochs * (n // cfg.student.minibatch_size)}


def phases(c: Coordinator, state, repeats: int, inner: int) -> dict[str, tuple[float, float]]:
    """Seconds and GFLOPs of each phase of one iteration of ``c`` from ``state``."""
    env, B, T = c.env, c.num_envs, c.config.env.rollout_steps
    _, traj = jax.jit(lambda s, k: rollout(c, s, k))(state, jax.random.PRNGKey(1))
    obs_steps = traj.obs  # [T, B, D], the rollout's stored observations

    def env_step(env_state, rng):
        def body(s, k):
            ka, ks = jax.random.split(k)
            s, res = env.step(ks, s, jax.random.randint(ka, (B,), 0, max(env.num_actions, 1)))
            return s, res.episode_end.sum()
        return jax.lax.scan(body, env_state, jax.random.split(rng, T))

    def labelling(obs):
        return jax.lax.map(c.goal_set.achieved, obs.astype(jnp.float32)).sum()

    def acting(params, obs, goal):
        teacher_params, students = params

        def body(_, o):
            o = o.astype(jnp.float32)
            out = 0.0
            if c.needs_teacher_values:
                advice, bootstrap, _ = c.teacher.observe(teacher_params, o, goal, jax.random.PRNGKey(0))
                out = out + bootstrap.sum() + advice.value.sum()
            if c.schedule.needs_student:
                s_out, s_value = student_outputs(c, students, o, goal)
                out = out + s_out.sum() + s_value.sum()
            return None, out
        return jax.lax.scan(body, None, obs)[1].sum()

    def teacher_update(learner, traj, last_obs, seen):
        return c.teacher.update(jax.random.PRNGKey(2), learner, traj, last_obs, seen)

    def student_update(state, traj):
        return [c.update_student(i, state, state.actors, traj, jax.random.PRNGKey(3 + i), {})
                for i in range(len(c.students))]

    out = {"env step": timed(env_step, state.actors.env_state, jax.random.PRNGKey(4), repeats=repeats, inner=inner),
           "goal labelling": timed(labelling, obs_steps, repeats=repeats, inner=inner),
           "acting": timed(acting, (state.teacher.params, state.students), obs_steps, state.actors.goal,
                           repeats=repeats, inner=inner)}
    if c.schedule.train_teacher:
        out["teacher update"] = timed(teacher_update, state.teacher, traj, state.actors.obs, state.actors.seen,
                                      repeats=repeats, inner=inner)
    if c.schedule.train_student:
        out["student update"] = timed(student_update, state, traj, repeats=repeats, inner=inner)
    out["iteration"] = timed(lambda s: c.iteration(s)[0], state, repeats=repeats, inner=inner)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="gridworld")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--mode", default="teacher-as-teacher")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--inner", type=int, default=3, help="calls per timed window")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--json", help="also write the figures to this file")
    a = p.parse_args()
    enable_compilation_cache()
    cfg = build_config(env=a.env, preset=a.preset, overrides=parse_set([f"coordinator.mode={a.mode}", *a.set]))
    c = Coordinator(cfg, make_env(cfg.env))
    state = c.init(cfg.run.seed)
    state, _ = c.chunk_fn(1)(state)  # one real iteration: trained-looking parameters and statistics
    result = phases(c, state, a.repeats, a.inner)
    steps = cfg.rollout_size
    total = result["iteration"][0]
    print(f"device: {jax.devices()[0].platform} | env {a.env} | preset {a.preset} | mode {a.mode} | "
          f"{steps} env steps per iteration")
    trips = trip_counts(cfg)
    print(f"{'phase':16s} {'ms':>9s} {'share':>7s} {'GFLOP':>8s} {'x trips':>8s} {'GFLOP/s':>8s}")
    for name, (sec, gflop) in result.items():
        per_iter = gflop * trips.get(name, 1)
        print(f"{name:16s} {sec * 1e3:9.2f} {sec / total:7.1%} {gflop:8.3f} {per_iter:8.2f} {per_iter / sec:8.1f}")
    print(f"iteration: {steps / total:,.0f} env steps/s; sum of phases {sum(s for n, (s, _) in result.items() if n != 'iteration') / total:.2f} x the iteration")
    peak = matmul_gflops()
    learning = sum(g * trips.get(n, 1) for n, (_, g) in result.items()
                   if n in ("acting", "teacher update", "student update"))
    env_s = result["env step"][0]
    floor_s = learning / peak
    print(f"bound: learning {learning:.1f} GFLOP per iteration; at this core's dense matmul rate "
          f"{peak:.0f} GFLOP/s it needs >= {floor_s * 1e3:.0f} ms, so training/env <= "
          f"{env_s / (env_s + floor_s):.2f} (measured {env_s / total:.2f})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"env": a.env, "preset": a.preset, "mode": a.mode, "steps": steps,
                       "phases": {n: {"seconds": s, "gflop": g} for n, (s, g) in result.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
