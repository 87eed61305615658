"""The coordinator: goal sampling, schedule modes, rollout storage, one iteration per mode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.config import ConfigError, build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import rollout, sample_goals
from leo_teacher.envs import make_env
from leo_teacher.core.schedule import Schedule


def tiny(mode="teacher-as-teacher", *extra):
    return build_config(preset="tiny", overrides=parse_set([f"coordinator.mode={mode}", *extra]))


def test_goals_are_drawn_from_seen_goals_only():
    seen = jnp.zeros(10, bool).at[jnp.array([2, 7])].set(True)
    goals = np.asarray(sample_goals(jax.random.PRNGKey(0), seen, 1000))
    assert set(goals.tolist()) == {2, 7}
    # nothing seen yet: uniform over all goals
    goals = np.asarray(sample_goals(jax.random.PRNGKey(0), jnp.zeros(10, bool), 1000))
    assert len(set(goals.tolist())) == 10


@pytest.mark.parametrize(
    "mode, actor, teacher, student, distils",
    [
        ("teacher-as-teacher", "student", True, True, True),
        ("teacher-as-actor", "teacher", True, False, False),
        ("student-only", "student", False, True, False),
        ("random", "random", False, False, False),
    ],
)
def test_modes_are_configurations_of_one_schedule(mode, actor, teacher, student, distils):
    s = Schedule.from_config(tiny(mode))
    assert (s.mode.actor, s.train_teacher, s.train_student, s.distils) == (actor, teacher, student, distils)


def test_schedule_coefficients():
    s = Schedule.from_config(tiny("teacher-as-actor", "teacher.gamma=none"))
    assert s.teacher_gamma == 0.99  # teacher alone (DESIGN default)
    assert Schedule.from_config(tiny("teacher-as-teacher", "teacher.gamma=none")).teacher_gamma == 0.995
    assert Schedule.from_config(tiny()).teacher_gamma == 0.99  # the gridworld preset's choice
    np.testing.assert_allclose(s.epsilon(0), 0.2)
    np.testing.assert_allclose(s.epsilon(s.eps_decay_iterations * 10), 0.01, rtol=1e-5)
    a = Schedule.from_config(tiny("teacher-as-teacher", "coordinator.anneal_distill=true",
                                  "coordinator.teacher_warmup_iterations=2"))
    assert float(a.distill_scale(1)) == 0.0  # warm-up
    np.testing.assert_allclose(a.distill_scale(a.num_iterations // 2), 0.5, atol=0.05)


def test_rollout_stores_no_per_goal_action_values():
    cfg = tiny()
    coord = Coordinator(cfg, make_env(cfg.env))
    state = jax.eval_shape(coord.init, 0)
    _, traj = jax.eval_shape(lambda s, k: rollout(coord, s, k), state, jax.random.PRNGKey(0))
    T, B, G, A = cfg.env.rollout_steps, cfg.env.num_envs, coord.num_goals, 4
    assert traj.teacher_bootstrap.shape == (T, B, G)
    assert traj.advice.q.shape == (T, B, A)
    for leaf in jax.tree_util.tree_leaves(traj):
        assert leaf.shape[-2:] != (G, A)


@pytest.mark.parametrize(
    "mode", ["teacher-as-teacher", "teacher-as-actor", "student-only", "pqn-her", "dual-leo-pqn"]
)
def test_one_chunk_runs_and_updates_what_the_mode_trains(mode):
    cfg = tiny(mode)
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    new, metrics = coord.chunk_fn(2)(coord.init(0))
    changed = lambda a, b: any(  # noqa: E731
        not np.allclose(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b))
    )
    sched = coord.schedule
    assert changed(state.teacher.params, new.teacher.params) == sched.train_teacher
    assert changed(state.students[0].params, new.students[0].params) == sched.train_student
    assert int(new.iteration) == 2
    assert all(np.all(np.isfinite(v)) for v in metrics.values())


def test_several_students_share_the_envs():
    cfg = tiny("teacher-as-teacher", "student.name=mlp,mlp", "student.minibatch_size=128")
    coord = Coordinator(cfg, make_env(cfg.env))
    assert coord.slice_size == cfg.env.num_envs // 2
    _, metrics = coord.chunk_fn(1)(coord.init(0))
    assert "distill_loss/mlp" in metrics


def test_students_can_be_evaluated_sampling_their_actions():
    from leo_teacher.core.evaluation import make_evaluator

    cfg = tiny("teacher-as-teacher", "run.eval_policy=sample")
    coord = Coordinator(cfg, make_env(cfg.env))
    policies = coord.scored_policies()
    assert policies["mlp"].stochastic and not policies["teacher"].stochastic
    state = coord.init(0)
    evaluate = make_evaluator(coord.env, 2, 8, stochastic=True)(policies["mlp"].act)
    success = np.asarray(evaluate(policies["mlp"].params_of(state), jax.random.PRNGKey(0)))
    assert success.shape == (coord.num_goals,) and np.all((0 <= success) & (success <= 1))
    with pytest.raises(ConfigError, match="run.eval_policy"):
        tiny("teacher-as-teacher", "run.eval_policy=argmax")


def test_watkins_traces_train_the_leo_teacher_and_are_refused_elsewhere():
    cfg = tiny("teacher-as-actor", "teacher.trace=watkins", "teacher.td_lambda=0.65")
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    _, traj = jax.jit(lambda s, k: rollout(coord, s, k))(state, jax.random.PRNGKey(0))
    assert traj.teacher_greedy.shape == traj.achieved.shape and traj.teacher_greedy.dtype == jnp.int8
    _, metrics = coord.chunk_fn(1)(state)
    assert np.all(np.isfinite(metrics["teacher_loss"]))
    with pytest.raises(ConfigError, match="teacher.trace=watkins"):
        Coordinator(tiny("pqn-her", "teacher.trace=watkins"), make_env(cfg.env))
