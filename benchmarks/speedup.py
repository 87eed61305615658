"""LEO against naive all-goals relabelling: time of one all-goals update on the same batch.

Both learners use the same trunk (width, depth, input normalisation) and see the same batch
of transitions with targets for every goal. LEO does one pass per transition and reads all
goals' values from its [G, A] head; relabelling copies every transition G times through a
goal-conditioned network. Timings are taken in one process after warm-up.

    python benchmarks/speedup.py --goals 512        # prints `speedup: <ratio>` last
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from leo_teacher import losses
from leo_teacher.envs.base import ObsSpec
from leo_teacher.networks import GoalQNetwork, LeoNetwork

# Craftax shapes: goals -> (flat one-hot observation size, actions)
SHAPES = {136: (1345, 17), 512: (8268, 43)}


def timed(fn, *args, repeats: int) -> float:
    """Median seconds per call after one warm-up (compile) call."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def build(goals: int, obs_dim: int, actions: int, batch: int, width: int, depth: int, seed: int = 0):
    """Jitted LEO and relabelling updates, their states and one shared batch."""
    rng = np.random.default_rng(seed)
    spec = ObsSpec(size=obs_dim)
    obs = jnp.asarray(rng.random((batch, obs_dim)) < 0.05, jnp.float32)
    action = jnp.asarray(rng.integers(0, actions, batch), jnp.int32)
    targets = jnp.asarray(rng.random((batch, goals)), jnp.float32)  # [B, G], same for both
    goal_reps = jnp.asarray(rng.random((goals, obs_dim)) < 0.01, jnp.float32)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.radam(2e-4))

    leo = LeoNetwork(spec, goals, actions, width, depth)
    leo_params = leo.init(jax.random.PRNGKey(0), obs[:1])

    def leo_loss(params):
        q = leo.apply(params, obs)  # [B, G, A]: one pass for every goal
        q_taken = jnp.take_along_axis(q, action[:, None, None].repeat(goals, 1), -1)[..., 0]
        return losses.leo_td_loss(q_taken, targets)

    gc = GoalQNetwork(spec, actions, width, depth)
    gc_params = gc.init(jax.random.PRNGKey(0), obs[:1], goal_reps[:1])

    def relabel_loss(params):
        # Every transition copied once per goal: B * G passes through the network.
        obs_rep = jnp.repeat(obs, goals, axis=0)
        goal_rep = jnp.tile(goal_reps, (batch, 1))
        q = gc.apply(params, obs_rep, goal_rep)  # [B*G, A]
        q_taken = jnp.take_along_axis(q, jnp.repeat(action, goals)[:, None], -1)[:, 0]
        return losses.leo_td_loss(q_taken.reshape(batch, goals), targets)

    def make_update(loss_fn):
        @jax.jit
        def update(params, opt_state):
            loss, grads = jax.value_and_grad(loss_fn)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        return update

    return (
        (make_update(leo_loss), leo_params, tx.init(leo_params)),
        (make_update(relabel_loss), gc_params, tx.init(gc_params)),
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--goals", type=int, default=512)
    p.add_argument("--obs-dim", type=int, help="flat observation size (default: Craftax's)")
    p.add_argument("--actions", type=int, help="number of actions (default: Craftax's)")
    p.add_argument("--batch", type=int, default=64, help="transitions per update")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    obs_dim, actions = SHAPES.get(a.goals, (1345, 17))
    obs_dim, actions = a.obs_dim or obs_dim, a.actions or actions
    (leo_up, lp, lo), (rel_up, rp, ro) = build(a.goals, obs_dim, actions, a.batch, a.width, a.depth)
    print(f"device: {jax.devices()[0].platform} x{jax.device_count()} | goals {a.goals} | obs {obs_dim} "
          f"| actions {actions} | batch {a.batch} transitions | trunk {a.depth}x{a.width}")
    t_leo = timed(leo_up, lp, lo, repeats=a.repeats * 4)
    print(f"LEO all-goals update:        {t_leo * 1e3:9.2f} ms  ({a.batch / t_leo:,.0f} transitions/s)")
    t_rel = timed(rel_up, rp, ro, repeats=a.repeats)
    print(f"all-goals relabelling update: {t_rel * 1e3:9.2f} ms  ({a.batch / t_rel:,.0f} transitions/s)")
    print(f"speedup: {t_rel / t_leo:.1f}")


if __name__ == "__main__":
    main()
