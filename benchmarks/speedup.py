"""LEO against naive all-goals relabelling: time of one all-goals update on the same batch.

Both learners use the same trunk (width, depth, input normalisation) and see the same batch
of transitions with targets for every goal. LEO does one pass per transition and reads all
goals' values from its [G, A] head; relabelling copies every transition G times through a
goal-conditioned network (the coordinator's `all-goals-relabel` baseline: goal represented
by its mask, concatenated to the observation). Timings are taken in one process after warm-up.

The default batch is the paper's teacher minibatch (512 transitions). B * G copies do not fit
in memory at once, so relabelling accumulates its gradient over chunks of goals: the same
gradient as one big batch (tests/test_baselines.py checks this), computed in bounded memory.

    python benchmarks/speedup.py --goals 512        # prints `speedup: <ratio>` last
    python benchmarks/speedup.py --goals 16 64 136 512 --plot docs/speedup.png
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from leo_teacher.core import losses
from leo_teacher.envs.base import ObsSpec
from leo_teacher.core.networks import GoalQNetwork, LeoNetwork
from leo_teacher.run.costs import time_call

# Craftax shapes: goals -> (flat one-hot observation size, actions); others use Classic's.
SHAPES = {136: (1345, 17), 512: (8268, 43)}
DEFAULT_SHAPE = SHAPES[136]


def flops(jitted, *args) -> float:
    """FLOPs of one call, from XLA's cost analysis of the compiled program (nothing is run)."""
    cost = jitted.lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))


def make_batch(goals: int, obs_dim: int, actions: int, batch: int, seed: int = 0):
    """Sparse binary observations, actions, per-goal targets and goal masks (Craftax-like)."""
    rng = np.random.default_rng(seed)
    obs = jnp.asarray(rng.random((batch, obs_dim)) < 0.05, jnp.float32)
    action = jnp.asarray(rng.integers(0, actions, batch), jnp.int32)
    targets = jnp.asarray(rng.random((batch, goals)), jnp.float32)  # [B, G], same for both
    goal_reps = jnp.asarray(rng.random((goals, obs_dim)) < 0.01, jnp.float32)
    return obs, action, targets, goal_reps


def leo_grad_fn(net: LeoNetwork, obs, action, targets):
    """Loss and gradient of the all-goals TD loss through LEO: one pass per transition."""

    def loss_fn(params):
        q_taken = net.apply(params, obs, action, method="taken")  # [B, G], as the coordinator's update
        return losses.leo_td_loss(q_taken, targets)

    return jax.value_and_grad(loss_fn)


def leo_useful_grad_fn(net: LeoNetwork, obs, action, targets):
    """LEO's update as its useful FLOPs, for XLA's count only (never run): the taken action's
    head as one gathered [B, K] x [K, G] product per row. The tiled head that training runs is
    a loop, whose body XLA's cost analysis counts once, and it pads each action's last tile."""

    def q_taken(m, x, a):
        h = m.trunk(x)
        kernel = m.head.kernel.reshape(m.width, m.num_actions, m.num_goals)
        bias = m.head.bias.reshape(m.num_actions, m.num_goals)
        return jax.nn.sigmoid(jnp.einsum("bk,kbg->bg", h, kernel[:, a, :]) + bias[a])

    return jax.value_and_grad(lambda params: losses.leo_td_loss(net.apply(params, obs, action, method=q_taken),
                                                                targets))


def relabel_grad_fn(net: GoalQNetwork, obs, action, targets, goal_reps, goal_chunk: int):
    """Loss and gradient of the same loss by naive relabelling, accumulated over goal chunks.

    Each chunk of C goals pushes B * C (transition, goal) copies through the network; the
    chunk losses are means over B * C, so weighting each by C / G gives the full-batch loss
    and gradient exactly.
    """
    batch, goals = targets.shape
    if goals % goal_chunk:
        raise ValueError(f"--goal-chunk {goal_chunk} must divide the number of goals {goals}")
    n_chunks = goals // goal_chunk
    reps = goal_reps.reshape(n_chunks, goal_chunk, -1)
    tgts = targets.T.reshape(n_chunks, goal_chunk, batch)

    def chunk_loss(params, reps_c, tgt_c):
        obs_rep = jnp.repeat(obs, goal_chunk, axis=0)  # [B*C, D]: every transition C times
        goal_rep = jnp.tile(reps_c, (batch, 1))
        q = net.apply(params, obs_rep, goal_rep)  # [B*C, A]
        q_taken = jnp.take_along_axis(q, jnp.repeat(action, goal_chunk)[:, None], -1)[:, 0]
        return losses.leo_td_loss(q_taken.reshape(batch, goal_chunk), tgt_c.T) * (goal_chunk / goals)

    def value_and_grad(params):
        def body(acc, xs):
            loss, grads = jax.value_and_grad(chunk_loss)(params, *xs)
            return jax.tree.map(jnp.add, acc, (loss, grads)), None

        zero = (jnp.zeros(()), jax.tree.map(jnp.zeros_like, params))
        return jax.lax.scan(body, zero, (reps, tgts))[0]

    return value_and_grad


def build(goals: int, obs_dim: int, actions: int, batch: int, width: int, depth: int, goal_chunk: int,
          leo_grad=None):
    """Jitted LEO and relabelling updates (RAdam + clipping, as the teacher) and their states
    (``leo_grad``: LEO's gradient function, default the one training runs)."""
    obs, action, targets, goal_reps = make_batch(goals, obs_dim, actions, batch)
    spec = ObsSpec(size=obs_dim)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.radam(2e-4))
    leo = LeoNetwork(spec, goals, actions, width, depth)
    gc = GoalQNetwork(spec, actions, width, depth)
    leo_params = leo.init(jax.random.PRNGKey(0), obs[:1])
    gc_params = gc.init(jax.random.PRNGKey(0), obs[:1], goal_reps[:1])

    def make_update(grad_fn):
        @jax.jit
        def update(params, opt_state):
            loss, grads = grad_fn(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        return update

    return (
        (make_update((leo_grad or leo_grad_fn)(leo, obs, action, targets)), leo_params, tx.init(leo_params)),
        (make_update(relabel_grad_fn(gc, obs, action, targets, goal_reps, goal_chunk)),
         gc_params, tx.init(gc_params)),
    )


def measure(goals: int, a) -> dict:
    """Times of one LEO and one relabelling update for ``goals`` goals."""
    obs_dim, actions = SHAPES.get(goals, DEFAULT_SHAPE)
    obs_dim, actions = a.obs_dim or obs_dim, a.actions or actions
    chunk = min(a.goal_chunk, goals)
    while goals % chunk:
        chunk -= 1
    (leo_up, lp, lo), (rel_up, rp, ro) = build(goals, obs_dim, actions, a.batch, a.width, a.depth, chunk)
    print(f"goals {goals} | obs {obs_dim} | actions {actions} | batch {a.batch} transitions "
          f"| trunk {a.depth}x{a.width} | relabelling in chunks of {chunk} goals", flush=True)
    t_leo = time_call(leo_up, lp, lo, repeats=a.repeats * 4)
    print(f"  LEO all-goals update:         {t_leo * 1e3:10.2f} ms  ({a.batch / t_leo:,.0f} transitions/s)",
          flush=True)
    t_rel = time_call(rel_up, rp, ro, repeats=a.repeats)
    print(f"  all-goals relabelling update: {t_rel * 1e3:10.2f} ms  ({a.batch / t_rel:,.1f} transitions/s)")
    print(f"  speed-up at {goals} goals: {t_rel / t_leo:.1f}", flush=True)
    # XLA counts a loop body once, so both counts come from loop-free programs, compiled for the
    # count and never run: relabelling with every goal at once (no chunk loop), LEO with its
    # taken-action head as one gathered product per row (no tile loop, no padding).
    (_, _, _), (rel_one, _, _) = build(goals, obs_dim, actions, a.batch, a.width, a.depth, goals)
    (leo_one, _, _), _ = build(goals, obs_dim, actions, a.batch, a.width, a.depth, chunk, leo_useful_grad_fn)
    f_leo, f_rel = flops(leo_one, lp, lo), flops(rel_one, rp, ro)
    ratio = f_rel / f_leo
    print(f"  FLOPs per update: LEO {f_leo:.3g}, relabelling {f_rel:.3g}; FLOP ratio {ratio:.1f}; "
          f"achieved {t_rel / t_leo / ratio:.2f} of it", flush=True)
    return {"goals": goals, "leo_s": t_leo, "relabel_s": t_rel, "speedup": t_rel / t_leo, "flop_ratio": ratio}


def plot(results: list[dict], path: str, title: str) -> None:
    """Speed-up against the number of goals, log-log, with the ideal (= G) for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    g = [r["goals"] for r in results]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(g, [r["speedup"] for r in results], "o-", label="measured")
    ax.plot(g, g, "--", color="grey", label="y = G (for reference)")
    ax.set(xscale="log", yscale="log", xlabel="goals G", ylabel="speed-up (relabel / LEO)", title=title)
    ax.set_xticks(g, [str(x) for x in g])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([10, 30, 100, 300, 1000], ["10", "30", "100", "300", "1000"])
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--goals", type=int, nargs="+", default=[512])
    p.add_argument("--obs-dim", type=int, help="flat observation size (default: Craftax's)")
    p.add_argument("--actions", type=int, help="number of actions (default: Craftax's)")
    p.add_argument("--batch", type=int, default=512, help="transitions per update (paper: 512)")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--goal-chunk", type=int, default=8, help="goals per relabelling chunk (memory)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--plot", help="write speed-up against goals to this image")
    a = p.parse_args()
    print(f"device: {jax.devices()[0].platform} x{jax.device_count()}")
    results = [measure(g, a) for g in a.goals]
    if a.plot:
        plot(results, a.plot, f"batch {a.batch}, trunk {a.depth}x{a.width}, {jax.devices()[0].platform}")
    print(f"speedup: {results[-1]['speedup']:.1f}")


if __name__ == "__main__":
    main()
