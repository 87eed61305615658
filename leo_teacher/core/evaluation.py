"""Per-goal evaluation (DESIGN §1): R fresh episodes per goal, greedy, first episode only."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from leo_teacher.envs.base import Env

# policy(params, obs [B, D], goal [B]) -> action [B]
Policy = Callable[[Any, jnp.ndarray, jnp.ndarray], jnp.ndarray]


def random_policy(dist) -> Policy:
    """A uniformly random policy over ``dist``'s actions (:mod:`leo_teacher.core.distributions`),
    with the evaluation's signature for stochastic policies (params unused)."""

    def act(params, obs, goal, key):
        return dist.uniform(key, goal.shape[0])

    return act


def make_evaluator(env: Env, repeats: int, max_steps: int, stochastic: bool = False):
    """A jitted ``evaluate(policy_params, rng) -> success [G]`` factory for one policy.

    Every goal gets ``repeats`` fresh episodes; an episode succeeds when its commanded goal is
    achieved on a step before its first episode ends, within ``max_steps`` steps.
    ``stochastic`` policies take an extra PRNG key argument (the random baseline).
    """
    G = env.goal_set.num_goals
    n = G * repeats
    steps = int(min(max_steps, env.max_episode_steps))
    goals = jnp.repeat(jnp.arange(G, dtype=jnp.int32), repeats)
    batch = jnp.arange(n)
    # Discrete actions are indices; continuous ones (env.continuous) are float vectors.
    as_action = (lambda a: a.astype(jnp.float32)) if env.continuous else (lambda a: a.astype(jnp.int32))

    def build(policy: Policy):
        def evaluate(params, rng):
            k_reset, k_steps = jax.random.split(rng)
            env_state, obs = env.reset(k_reset, n, evaluation=True)

            def step(carry, key):
                env_state, obs, alive, success = carry
                k_act, k_env = jax.random.split(key)
                if stochastic:
                    action = policy(params, obs, goals, k_act)
                else:
                    action = policy(params, obs, goals)
                env_state, res = env.step(k_env, env_state, as_action(action))
                hit = env.goal_set.achieved(res.next_obs)[batch, goals]
                success = success | (alive & hit)
                alive = alive & ~res.episode_end
                return (env_state, res.obs, alive, success), None

            init = (env_state, obs, jnp.ones(n, bool), jnp.zeros(n, bool))
            (_, _, _, success), _ = jax.lax.scan(step, init, jax.random.split(k_steps, steps))
            return success.reshape(G, repeats).mean(axis=1)

        return jax.jit(evaluate)

    return build


def make_start_values(env: Env, repeats: int, value: Callable):
    """A jitted ``start_values(params, rng) -> [G]``: ``value(params, obs, goal) -> [B]`` on the
    first observation of each goal's evaluation episodes (the same resets as
    :func:`make_evaluator` with the same ``rng``), averaged over the ``repeats``."""
    G = env.goal_set.num_goals
    goals = jnp.repeat(jnp.arange(G, dtype=jnp.int32), repeats)

    def start_values(params, rng):
        k_reset, _ = jax.random.split(rng)
        _, obs = env.reset(k_reset, G * repeats, evaluation=True)
        return value(params, obs, goals).reshape(G, repeats).mean(axis=1)

    return jax.jit(start_values)


def summarize(success: np.ndarray, reachable: np.ndarray) -> dict[str, float]:
    """Headline figures: mean over all goals and over the reachable ones."""
    success = np.asarray(success, dtype=np.float64)
    out = {"success_rate": float(success.mean())}
    out["success_rate_reachable"] = float(success[reachable].mean()) if reachable.any() else 0.0
    out["num_goals"] = int(success.size)
    out["num_reachable"] = int(reachable.sum())
    return out
