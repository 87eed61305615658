"""The point mass (the second continuous task): dynamics against hand values, the goal grid
(at rest on a cell's centre),
every continuous mode traces, and an exported artifact's greedy episodes as videos."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.config import build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.envs import make_env
from leo_teacher.envs.point_mass import ACCEL, DAMPING, MAX_SPEED, PointMass, PointMassState, cell_centres


def tiny(*extra: str):
    return build_config(env="point-mass", preset="tiny", overrides=parse_set(list(extra)))


def test_goal_grid_names_and_distance_test():
    np.testing.assert_allclose(cell_centres(2), [[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])
    env = PointMass(target_grid=5, goal_radius=0.1, stop_on_goal=True)
    names = env.goal_set.names
    assert len(names) == 25 and names[0] == "cell/0-0" and names[7] == "cell/1-2"
    np.testing.assert_allclose(env.targets[7], [0.0, -0.4], atol=1e-6)  # row 1 from the bottom, column 2
    # at rest 0.09 from the centre: achieved; 0.11 away, or on the centre at half the top speed: not
    obs = jnp.array([[0.0, -0.4 + 0.09, 0.0, 0.0], [0.0, -0.4 + 0.11, 0.0, 0.0], [0.0, -0.4, 0.5, 0.0],
                     [0.0, -0.4 + 0.06, 0.06, -0.05]])  # 0.06^2 + 0.06^2 + 0.05^2 < 0.1^2
    hit = np.asarray(env.goal_set.achieved(obs))
    assert hit[0].tolist() == [k == 7 for k in range(25)] and not hit[1].any() and not hit[2].any()
    assert hit[3, 7] and hit[3].sum() == 1
    # without stop_on_goal, passing over the centre at speed counts too
    hit = np.asarray(PointMass(target_grid=5, goal_radius=0.1).goal_set.achieved(obs))
    assert hit[0, 7] and not hit[1].any() and hit[2, 7] and hit[3, 7]
    with pytest.raises(ValueError, match="half a cell"):
        PointMass(target_grid=5, goal_radius=0.3)


def test_dynamics_walls_and_auto_reset_by_hand():
    env = PointMass(episode_length=3, random_start_steps=3)
    state = PointMassState(pos=jnp.array([[0.0, 0.0], [0.99, 0.5]]), vel=jnp.array([[0.0, 0.0], [0.05, -0.01]]),
                           t=jnp.array([0, 2]))
    state, res = env.step(jax.random.PRNGKey(0), state, jnp.array([[1.0, -3.0], [1.0, 0.0]]))  # -3 clips to -1
    # env 0: v = 0.9 * 0 + 0.02 * a, p = p + v
    np.testing.assert_allclose(res.next_obs[0], [ACCEL, -ACCEL, ACCEL / MAX_SPEED, -ACCEL / MAX_SPEED], rtol=1e-6)
    np.testing.assert_allclose(state.pos[0], [ACCEL, -ACCEL], rtol=1e-6)
    # env 1: x would reach 0.99 + 0.065 > 1, so the wall holds it at 1 and stops it in x only
    vy = DAMPING * -0.01
    np.testing.assert_allclose(res.next_obs[1], [1.0, 0.5 + vy, 0.0, vy / MAX_SPEED], rtol=1e-6)
    # ... and its episode ended (t 2 -> 3): a fresh start at rest, the counter back to 0
    assert res.episode_end.tolist() == [False, True] and state.t.tolist() == [1, 0]
    assert float(jnp.abs(state.vel[1]).max()) == 0.0 and not np.allclose(state.pos[1], [1.0, 0.5 + vy])
    np.testing.assert_allclose(res.obs[1], jnp.concatenate([state.pos[1], jnp.zeros(2)]))


def test_resets_desynchronise_and_evaluation_starts_differ():
    env = PointMass()
    state, obs = env.reset(jax.random.PRNGKey(0), 64)
    assert obs.shape == (64, 4) and len(set(np.asarray(state.t).tolist())) > 10
    assert np.all(np.abs(np.asarray(obs[:, :2])) <= 1.0) and not np.asarray(obs[:, 2:]).any()
    eval_state, _ = env.reset(jax.random.PRNGKey(0), 64, evaluation=True)
    assert not np.asarray(eval_state.t).any()
    assert not np.isin(np.asarray(eval_state.pos), np.asarray(state.pos)).any()


@pytest.mark.parametrize("mode", ["teacher-as-teacher", "teacher-as-actor", "student-only", "pqn-her"])
def test_every_continuous_mode_traces(mode):
    cfg = tiny(f"coordinator.mode={mode}")
    coord = Coordinator(cfg, make_env(cfg.env))
    assert type(coord.teacher).__name__ == ("AllGoalsActorCriticTeacher" if coord.mode.all_goals_teacher else "GoalTD3Teacher")
    state = jax.eval_shape(coord.init, 0)
    _, metrics = jax.eval_shape(coord.chunk_fn(1), state)
    assert metrics["live_success"].shape == (1,)


def test_exported_student_acts_and_renders_videos(tmp_path):
    """A checkpoint written before any update, exported: the artifact acts in [-1, 1]^2 and
    ``evaluate --video`` draws the arena, the commanded target and the mass per step."""
    import imageio.v3 as iio

    from conftest import untrained_artifact
    from leo_teacher.cli.evaluate import main

    artifact = untrained_artifact(tiny(), tmp_path)
    out = tmp_path / "videos"
    assert main([str(artifact), "--video", str(out), "--goals", "cell/0-0,cell/2-2", "--max-steps", "6"]) == 0
    index = json.loads((out / "videos.json").read_text())
    assert [v["name"] for v in index] == ["cell/0-0", "cell/2-2"]
    frames = iio.imread(out / index[0]["file"], index=None)
    assert len(frames) == index[0]["frames"] and frames.shape[-1] == 3
    assert (frames[0] == [220, 40, 40]).all(axis=-1).any()  # the mass is drawn
    assert (frames[0] == [60, 160, 75]).all(axis=-1).any()  # and the commanded target
