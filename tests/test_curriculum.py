"""The goal curriculum (core/curriculum.py): weights by hand, and no unseen goal is ever commanded."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.config import ConfigError, build_config, parse_set
from leo_teacher.core import curriculum
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import rollout
from leo_teacher.envs import make_env


def test_frontier_weights_by_hand():
    values = jnp.array([0.0, 0.5, 1.0, 0.25])
    seen = jnp.array([True, True, True, False])
    np.testing.assert_allclose(curriculum.frontier_scores(values), [0.0, 1.0, 0.0, 0.75])
    p = curriculum.weighted_probs(curriculum.frontier_scores(values), seen, temperature=0.5, floor=0.2)
    # softmax over the seen goals of scores / 0.5 = [0, 2, 0]: [1, e^2, 1] / (2 + e^2); goal 3 unseen
    z = 2 + math.exp(2)
    expected = [0.8 / z + 0.2 / 3, 0.8 * math.exp(2) / z + 0.2 / 3, 0.8 / z + 0.2 / 3, 0.0]
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    # per-state values [B, G] give one distribution per env; values outside [0, 1] are clipped
    rows = curriculum.weighted_probs(curriculum.frontier_scores(jnp.array([[1.5, -1.0, 0.5, 0.5]])), seen, 1.0, 0.0)
    np.testing.assert_allclose(rows[0], [1 / (2 + math.e), 1 / (2 + math.e), math.e / (2 + math.e), 0.0], rtol=1e-6)


def test_progress_weights_by_hand():
    fast_s, fast_f = jnp.array([3.0, 0.0, 9.0]), jnp.array([1.0, 0.0, 0.0])
    slow_s, slow_f = jnp.array([3.0, 1.0, 0.0]), jnp.array([5.0, 1.0, 0.0])
    seen = jnp.array([True, True, False])
    # rates with one failure of prior: fast [3/5, 0, 0.9], slow [3/9, 1/3, 0]; gaps [4/15, 1/3, 0.9];
    # the largest gap among seen goals is 1/3 (goal 2 is unseen)
    np.testing.assert_allclose(curriculum.progress_scores(fast_s, fast_f, slow_s, slow_f, seen),
                               [0.8, 1.0, 2.7], rtol=1e-6)


def test_entropy_and_uniform():
    seen = jnp.array([True, False, True, True, True])
    p = curriculum.uniform_probs(seen)
    np.testing.assert_allclose(p, [0.25, 0, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(curriculum.entropy(p), math.log(4), rtol=1e-6)
    np.testing.assert_allclose(curriculum.uniform_probs(jnp.zeros(4, bool)), [0.25] * 4)  # none seen: all


def test_draw_never_picks_an_unseen_goal_even_when_it_scores_highest():
    seen = jnp.array([False, True, False, True])
    p = curriculum.weighted_probs(jnp.array([100.0, 0.0, 100.0, 0.0]), seen, temperature=0.01, floor=0.5)
    goals = np.asarray(curriculum.draw(jax.random.PRNGKey(0), p, 2000))
    assert set(goals.tolist()) == {1, 3}


@pytest.mark.parametrize("sampling", ["uniform-seen", "frontier", "progress"])
def test_rollout_commands_only_goals_seen_by_then(sampling):
    cfg = build_config(preset="tiny", overrides=parse_set([
        "coordinator.mode=teacher-as-actor", f"coordinator.goal_sampling={sampling}", "env.episode_length=6"]))
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    actors, traj = jax.jit(lambda s, k: rollout(coord, s, k))(state, jax.random.PRNGKey(3))
    seen = np.asarray(state.actors.seen) | np.cumsum(np.asarray(traj.achieved).any(axis=1), axis=0).astype(bool)
    goal, done = np.asarray(traj.goal), np.asarray(traj.goal_done)
    assert done[:-1].any()
    for t in range(goal.shape[0] - 1):  # goals drawn after step t come from the goals seen by step t
        assert seen[t][goal[t + 1][done[t]]].all()
    assert not seen[-1].all()  # the check above could fail: some goals were never seen
    drawn = np.asarray(actors.commanded)
    assert drawn.sum() == done.sum() and (drawn[~seen[-1]] == 0).all()


def test_frontier_refused_without_an_all_goals_teacher():
    for mode in ("student-only", "pqn", "random"):
        with pytest.raises(ConfigError, match="goal_sampling=frontier"):
            build_config(preset="tiny", overrides=parse_set([f"coordinator.mode={mode}",
                                                             "coordinator.goal_sampling=frontier"]))
    with pytest.raises(ConfigError, match="unknown coordinator.goal_sampling"):
        build_config(preset="tiny", overrides=parse_set(["coordinator.goal_sampling=hardest"]))
