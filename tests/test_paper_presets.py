"""The paper presets build the reference's networks: parameter counts within 0.5% (DESIGN §5)."""

from types import SimpleNamespace

import jax
import numpy as np
import pytest

from leo_teacher.config import build_config, parse_set
from leo_teacher.envs.base import ObsSpec
from leo_teacher.teachers import make_teacher
from leo_teacher.core.schedule import Schedule
from students import StudentSpec, make_student

# Observation layouts of our Craftax encoders (map H x W x C, then flat features), goals, actions;
# tests/test_craftax_goals.py checks them against the real environments.
GAMES = {
    "craftax-classic": (ObsSpec(size=7 * 9 * 21 + 176, map_shape=(7, 9, 21), binary=True), 136, 17),
    "craftax": (ObsSpec(size=9 * 11 * 83 + 1338, map_shape=(9, 11, 83), binary=True), 512, 43),
}
# Counted from the reference's own modules at width 1024, "params" collection only (DESIGN §5).
REFERENCE = {
    ("craftax-classic", "teacher-as-teacher", "teacher"): 6_743_844,
    ("craftax-classic", "teacher-as-teacher", "student"): 8_754_610,
    ("craftax-classic", "teacher-as-actor", "teacher"): 7_779_252,
    ("craftax", "teacher-as-teacher", "teacher"): 28_714_090,
    ("craftax", "teacher-as-teacher", "student"): 12_341_580,
}


def count(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(tree)))


def paper_counts(game: str, mode: str) -> dict[str, int]:
    """Trainable parameter counts of the paper preset's teacher and student, from shapes alone."""
    cfg = build_config(env=game, preset="paper", overrides=parse_set([f"coordinator.mode={mode}"]))
    obs_spec, num_goals, num_actions = GAMES[game]
    goal_set = SimpleNamespace(num_goals=num_goals, reps=np.zeros((num_goals, obs_spec.size), np.float32))
    env = SimpleNamespace(obs_spec=obs_spec, goal_set=goal_set, num_actions=num_actions, continuous=False)
    teacher = make_teacher(cfg, env, Schedule.from_config(cfg).mode, 0.99)
    obs = jax.ShapeDtypeStruct((1, obs_spec.size), np.float32)
    t_params = jax.eval_shape(lambda o: teacher.init(jax.random.PRNGKey(0), o).params, obs)
    student = make_student("mlp", cfg.student, StudentSpec(obs_spec, num_actions, num_goals, obs_spec.size))
    s_params = jax.eval_shape(lambda o: student.init(jax.random.PRNGKey(0), o, o), obs)
    return {"teacher": count(t_params["params"]), "student": count(s_params)}


@pytest.mark.parametrize("game, mode, net", sorted(REFERENCE))
def test_paper_preset_parameter_counts_match_the_reference(game, mode, net):
    ours = paper_counts(game, mode)[net]
    ref = REFERENCE[(game, mode, net)]
    assert abs(ours - ref) / ref < 0.005, f"{game} {mode} {net}: {ours:,} against the reference's {ref:,}"


def test_the_paper_teacher_keeps_running_statistics():
    cfg = build_config(env="craftax-classic", preset="paper")
    assert (cfg.teacher.input_norm, cfg.teacher.conv_norm, cfg.teacher.depth) == ("batch_renorm", True, 4)
    assert (cfg.student.architecture, cfg.student.max_grad_norm, cfg.coordinator.anneal_distill) == ("towers", 1.0, True)
