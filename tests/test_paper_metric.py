"""The paper's live metric (``paper_live_success``): counts by hand, and recomputed from a rollout."""

import jax
import jax.numpy as jnp
import numpy as np

from leo_teacher.config import build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import PAPER_DECAY, count_first_goals, paper_live_success, rollout
from leo_teacher.envs import make_env


def test_counts_and_rate_by_hand():
    G = 4  # goal 3 is never commanded
    s, f = jnp.zeros(G), jnp.zeros(G)
    # step 1, three envs: env0 first goal 0 achieved; env1 first goal 1, episode ends (a failure);
    # env2 on a later goal 2 (not its first), achieved: not counted.
    s, f = count_first_goals(s, f, jnp.array([0, 1, 2]), jnp.array([True, True, False]),
                             jnp.array([True, False, True]), jnp.array([False, True, False]))
    # step 2: env0 first goal 0 achieved on the episode's last step: a success and a failure.
    s, f = count_first_goals(s, f, jnp.array([0, 1, 2]), jnp.array([True, False, False]),
                             jnp.array([True, False, False]), jnp.array([True, False, False]))
    np.testing.assert_array_equal(s, [2, 0, 0, 0])
    np.testing.assert_array_equal(f, [1, 1, 0, 0])
    # rates: goal 0 2/3, goal 1 0/1, goals 2 and 3 0 (never counted): mean (2/3) / 4 = 1/6
    np.testing.assert_allclose(paper_live_success(s, f), 1 / 6, rtol=1e-5)
    # a decay multiplies both counts alike: the rate stays
    np.testing.assert_allclose(paper_live_success(s * PAPER_DECAY, f * PAPER_DECAY), 1 / 6, rtol=1e-5)


def test_rollout_counts_match_an_independent_count():
    cfg = build_config(preset="tiny", overrides=parse_set(["coordinator.mode=random", "env.episode_length=6",
                                                                "env.random_start_steps=3"]))
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    G = coord.num_goals
    succ, fail = np.zeros(G), np.zeros(G)
    first = np.ones(cfg.env.num_envs, bool)
    rng = jax.random.PRNGKey(1)
    for _ in range(3):  # three iterations, each decaying the counts once
        rng, key = jax.random.split(rng)
        actors, traj = jax.jit(lambda s, k: rollout(coord, s, k))(state, key)
        goal, hit, end = (np.asarray(x) for x in (traj.goal, traj.reward > 0, traj.episode_end))
        for t in range(goal.shape[0]):
            np.add.at(succ, goal[t], first & hit[t])
            np.add.at(fail, goal[t], first & end[t])
            first = np.where(end[t], True, np.where(hit[t], False, first))
        succ, fail = succ * PAPER_DECAY, fail * PAPER_DECAY
        state = state.replace(actors=actors)
    np.testing.assert_allclose(actors.paper_successes, succ, rtol=1e-5)
    np.testing.assert_allclose(actors.paper_failures, fail, rtol=1e-5)
    assert fail.sum() > 0  # the tiny run ends episodes
    expected = np.mean(succ / (succ + fail + 1e-7))
    np.testing.assert_allclose(paper_live_success(actors.paper_successes, actors.paper_failures), expected, rtol=1e-5)
