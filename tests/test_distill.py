"""Distillation from a trained, frozen teacher (mode distill, python -m leo_teacher.distill)."""

import csv
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from leo_teacher.config import ConfigError, build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.state import Advice
from leo_teacher.envs import make_env
from leo_teacher.learners import StudentHParams
from leo_teacher.learners.distill import DistillBatch, distillation_loss
from leo_teacher.core import losses

pytestmark = pytest.mark.xdist_group("tiny-run")


def hp(coef=2.0, vcoef=0.5, target="argmax"):
    return StudentHParams(0.2, 0.5, 0.0, target, 1.0, jnp.float32(coef), jnp.float32(vcoef))


def test_distillation_loss_by_hand():
    # student logits [0, log 3]: pi = [1/4, 3/4]; the teacher's argmax is action 1: CE = -log(3/4)
    distill = losses.distill_argmax_loss(jnp.array([[0.0, math.log(3.0)]]), jnp.array([[0.1, 0.9]]))
    total, m = distillation_loss(distill, jnp.array([0.5]), jnp.array([0.8]), hp())
    # 2 * log(4/3) + 0.5 * 0.5 * (0.5 - 0.8)^2
    np.testing.assert_allclose(total, 2 * math.log(4 / 3) + 0.5 * 0.5 * 0.09, rtol=1e-6)
    np.testing.assert_allclose(m["value_distill_loss"], 0.045, rtol=1e-6)


def distill_config(*extra):
    return build_config(preset="tiny", overrides=parse_set(["coordinator.mode=distill", "coordinator.teacher_run=x",
                                                            "student.width=16", *extra]))


def test_frozen_teacher_gets_no_gradient_and_no_update():
    cfg = distill_config()
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    obs, goal = state.actors.obs, state.actors.goal
    student = coord.students[0]

    def loss(teacher_params, student_params):
        advice = coord.teacher.observe(teacher_params, obs, goal, jax.random.PRNGKey(0))[0]
        batch = DistillBatch(obs=obs, goal=goal, advice=advice)
        return coord.learner.loss(student.apply, student_params, batch, hp(vcoef=1.0))[0]

    g_teacher, g_student = jax.grad(loss, argnums=(0, 1))(state.teacher.params, state.students[0].params)
    assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree_util.tree_leaves(g_teacher))
    assert max(float(jnp.abs(x).max()) for x in jax.tree_util.tree_leaves(g_student)) > 0
    # one whole iteration: the students learn, the teacher's parameters stay bit for bit
    new, metrics = jax.jit(coord.iteration)(state)
    same = jax.tree_util.tree_map(lambda a, b: bool((a == b).all()), state.teacher.params, new.teacher.params)
    assert all(jax.tree_util.tree_leaves(same))
    assert not all(jax.tree_util.tree_leaves(jax.tree_util.tree_map(
        lambda a, b: bool((a == b).all()), state.students[0].params, new.students[0].params)))
    assert "teacher_loss" not in metrics and "policy_loss" not in metrics


def test_distill_modes_need_a_teacher_run_and_only_they_let_it_act():
    with pytest.raises(ConfigError, match="leo_teacher.distill RUN_DIR"):
        build_config(preset="tiny", overrides=parse_set(["coordinator.mode=distill"]))
    with pytest.raises(ConfigError, match="teacher_act_start"):
        build_config(preset="tiny", overrides=parse_set(["coordinator.teacher_act_start=0.5"]))


def test_distill_cli_end_to_end_export_and_reload(tiny_run, tmp_path, capsys):
    from leo_teacher import load_policy
    from leo_teacher.cli import distill, evaluate, export

    teacher_run, _ = tiny_run
    out = tmp_path / "distilled"
    assert distill.main([str(teacher_run), "--student", "mlp", "--total-steps", "2560", "--run-dir", str(out),
                         "--set", "student.width=16", "--set", "coordinator.teacher_act_start=0.5",
                         "--no-progress"]) == 0
    assert "deployment cost" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    source = json.loads((teacher_run / "summary.json").read_text())
    # the frozen teacher is the source run's: the same per-goal success, evaluated again here
    assert summary["policies"]["teacher"] == source["policies"]["teacher"]
    costs = summary["costs"]
    assert costs["mlp"]["parameters"] < costs["teacher"]["parameters"]
    assert all(c["ms_per_call_batch1"] > 0 and c["ms_per_call_batch1024"] > 0 for c in costs.values())
    # export the small student; load_policy reads it and the evaluate command reproduces its success
    art = tmp_path / "small-policy"
    assert export.main([str(out), "--out", str(art)]) == 0
    assert evaluate.main([str(art), "--run-dir", str(tmp_path / "eval")]) == 0
    with open(out / "per_goal_success.csv") as f:
        trained = [r["success_mlp"] for r in csv.DictReader(f)]
    with open(tmp_path / "eval" / "per_goal_success.csv") as f:
        assert [r["success"] for r in csv.DictReader(f)] == trained
    assert load_policy(art).num_goals == len(trained)
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["success_rate"] == \
        summary["policies"]["mlp"]["success_rate"]
