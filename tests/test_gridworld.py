"""The gridworld and its goal set."""

import jax
import jax.numpy as jnp
import numpy as np

from leo_teacher.envs.gridworld import GridWorld, reachable_cells


def test_goal_set_is_one_goal_per_free_cell():
    env = GridWorld(size=8, wall_prob=0.3, map_seed=0)
    free = int((~env.walls).sum())
    assert env.goal_set.num_goals == free
    assert env.goal_set.masks.shape == (free, 64)
    r, c = env.goal_cells[3]
    assert env.goal_set.names[3] == f"position/{c}-{r}"


def test_achieved_is_the_agent_cell():
    env = GridWorld(size=8, wall_prob=0.0)
    state, obs = env.reset(jax.random.PRNGKey(0), 2, evaluation=True)
    ach = np.asarray(env.goal_set.achieved(obs))
    assert ach.sum(axis=1).tolist() == [1, 1]
    assert env.goal_set.names[int(ach[0].argmax())] == "position/4-4"
    state, res = env.step(jax.random.PRNGKey(1), state, jnp.array([1, 0]))  # right, up
    names = [env.goal_set.names[int(i)] for i in np.asarray(env.goal_set.achieved(res.next_obs)).argmax(1)]
    assert names == ["position/5-4", "position/4-3"]


def test_walls_block_and_episodes_end():
    env = GridWorld(size=4, wall_prob=0.0, episode_length=3)
    env.walls[2, 3] = True  # right of the start (2, 2)
    env._walls = jnp.asarray(env.walls)
    state, _ = env.reset(jax.random.PRNGKey(0), 1, evaluation=True)
    ends = []
    for _ in range(4):
        state, res = env.step(jax.random.PRNGKey(0), state, jnp.array([1]))
        ends.append(bool(res.episode_end[0]))
    assert ends == [False, False, True, False]
    assert tuple(np.asarray(state.pos[0])) == (2, 2)  # blocked by the wall every time


def test_reachability_by_bfs():
    walls = np.zeros((3, 3), bool)
    walls[0, 1] = walls[1, 0] = True  # corner (0, 0) is sealed off
    reach = reachable_cells(walls, (1, 1))
    assert not reach[0, 0] and reach[2, 2] and reach[1, 1]


def test_random_start_steps_desynchronise():
    env = GridWorld(size=8)
    state, _ = env.reset(jax.random.PRNGKey(0), 64)
    assert len(np.unique(np.asarray(state.t))) > 10
    state, _ = env.reset(jax.random.PRNGKey(0), 64, evaluation=True)
    assert np.all(np.asarray(state.t) == 0)
