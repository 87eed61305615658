"""coordinator.teacher_env_share: the learning teacher acting in envs of its own beside the students."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.config import ConfigError, build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import PAPER_DECAY, rollout
from leo_teacher.envs import make_env


# 8 envs x 4 steps: half the envs leave the student 16 transitions, hence the minibatches
SMALL = ("env.num_envs=8", "env.rollout_steps=4", "teacher.minibatch_size=16", "student.minibatch_size=16")


def tiny(*extra, mode="teacher-as-teacher"):
    return build_config(preset="tiny", overrides=parse_set([f"coordinator.mode={mode}", *SMALL, *extra]))


def coordinator(*extra, mode="teacher-as-teacher"):
    cfg = tiny(*extra, mode=mode)
    return Coordinator(cfg, make_env(cfg.env))


def test_the_teacher_acts_greedily_in_its_envs_and_the_student_in_the_others():
    coord = coordinator("coordinator.teacher_env_share=0.5", "teacher.eps_start=0", "teacher.eps_end=0")
    assert (coord.teacher_envs, coord.student_envs, coord.slice_size) == (4, 4, 4)
    _, traj = jax.jit(lambda s, k: rollout(coord, s, k))(coord.init(0), jax.random.PRNGKey(0))
    greedy = np.asarray(traj.advice.q.argmax(-1))  # the teacher's values for the commanded goal, [T, B]
    action = np.asarray(traj.action)
    np.testing.assert_array_equal(action[:, 4:], greedy[:, 4:])
    # the untrained student samples from a near-uniform policy over 4 actions: 16 draws all equal
    # to the teacher's argmax would have probability ~4**-16
    assert (action[:, :4] != greedy[:, :4]).any()


def test_the_live_success_counts_only_the_students_envs():
    coord = coordinator("coordinator.teacher_env_share=0.5", "env.episode_length=3")
    state = coord.init(0)
    actors, traj = jax.jit(lambda s, k: rollout(coord, s, k))(state, jax.random.PRNGKey(1))
    hit, end, goal = (np.asarray(x) for x in (traj.reward > 0, traj.episode_end, traj.goal))
    successes, failures = np.zeros(coord.num_goals), np.zeros(coord.num_goals)
    first = np.asarray(state.actors.first_goal).copy()
    for t in range(hit.shape[0]):  # the paper's counts by hand, the students' envs (0-3) only
        for b in range(coord.student_envs):
            successes[goal[t, b]] += first[b] and hit[t, b]
            failures[goal[t, b]] += first[b] and end[t, b]
        first = np.where(end[t], True, np.where(hit[t], False, first))
    np.testing.assert_allclose(actors.paper_successes, successes * PAPER_DECAY, rtol=1e-6)
    np.testing.assert_allclose(actors.paper_failures, failures * PAPER_DECAY, rtol=1e-6)
    assert failures.sum() > 0  # episodes of 3 steps end inside the 4-step rollout
    np.testing.assert_array_equal(actors.first_goal[:4], first[:4])


@pytest.mark.parametrize("mode", ["teacher-as-teacher", "dual-leo-pqn"])
def test_an_iteration_trains_both_with_the_teacher_acting_in_its_envs(mode):
    coord = coordinator("coordinator.teacher_env_share=0.5", mode=mode)
    state = coord.init(0)
    before = jax.tree_util.tree_map(np.asarray, (state.teacher.params, state.students[0].params))
    new, metrics = coord.chunk_fn(2)(state)  # donates ``state``
    for old, now in zip(before, (new.teacher.params, new.students[0].params)):
        assert any(not np.allclose(x, y) for x, y in zip(jax.tree_util.tree_leaves(old), jax.tree_util.tree_leaves(now)))
    assert all(np.all(np.isfinite(v)) for v in metrics.values())
    np.testing.assert_allclose(metrics["epsilon"][-1], coord.schedule.epsilon(jnp.int32(1)))


@pytest.mark.parametrize("extra, message", [
    (("coordinator.teacher_env_share=0.5",), "mode teacher-as-actor does not have"),
    (("coordinator.teacher_env_share=0.01",), "gives the teacher 0 envs"),
    (("coordinator.teacher_env_share=1",), "coordinator.teacher_env_share"),
    (("coordinator.teacher_env_share=0.375", "student.name=mlp,mlp", "student.minibatch_size=4"),
     "less the teacher's 3"),
    (("coordinator.teacher_env_share=0.5", "student.minibatch_size=32"), "rollout share \\(16 = 4 envs"),
])
def test_bad_teacher_env_shares_are_refused(extra, message):
    mode = "teacher-as-actor" if "does not have" in message else "teacher-as-teacher"
    with pytest.raises(ConfigError, match=message):
        cfg = build_config(preset="tiny", overrides=parse_set([f"coordinator.mode={mode}", *SMALL, *extra]))
        Coordinator(cfg, make_env(cfg.env))
