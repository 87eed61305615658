"""Exported policies: same actions as in memory, same per-goal success, light to load, safe to misuse."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from leo_teacher.run.loading import load_trained_run

from conftest import ROOT, run_cli

# Both files read the shared tiny run: one worker builds it once (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("tiny-run")


@pytest.fixture(scope="module")
def student_artifact(tiny_run, tmp_path_factory):
    """The tiny run's student, exported through the CLI."""
    run_dir, _ = tiny_run
    out = tmp_path_factory.mktemp("export") / "mlp-policy"
    proc = run_cli(str(run_dir), "--out", str(out), module="leo_teacher.export")
    assert proc.returncode == 0, proc.stderr
    assert "exported student 'mlp'" in proc.stdout
    return out


@pytest.fixture(scope="module")
def trained(tiny_run):
    """(config, env, coordinator, state) of the tiny run, restored from its final checkpoint."""

    cfg, env, coord, state, info = load_trained_run(tiny_run[0])
    assert info.iteration == cfg.num_iterations
    return cfg, env, coord, state


def _observations(num_cells: int, n: int = 1200):
    """Random dense observations plus every one-hot position: more than 1000 in all."""
    rng = np.random.default_rng(0)
    obs = np.concatenate([rng.normal(size=(n, num_cells)), np.eye(num_cells)]).astype(np.float32)
    return obs


def _one_line_error(err: str, *fragments: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_exported_student_acts_like_the_trained_one(trained, student_artifact):
    import jax
    import jax.numpy as jnp

    from leo_teacher import load_policy

    cfg, env, coord, state = trained
    policy = load_policy(student_artifact)
    obs = _observations(env.obs_spec.size)
    goals = np.random.default_rng(1).integers(0, coord.num_goals, len(obs)).astype(np.int32)
    student, params = coord.students[0], state.students[0].params

    @jax.jit
    def in_memory(obs, goals):
        logits, value = student.apply(params, obs, coord.goal_reps[goals])
        return jnp.argmax(logits, axis=-1), jax.nn.softmax(logits), value

    actions, probs, value = map(np.asarray, in_memory(obs, goals))
    assert len(obs) >= 1000
    np.testing.assert_array_equal(policy.act(obs, goals), actions)
    np.testing.assert_allclose(policy.action_probs(obs, goals), probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(policy.value(obs, goals), value, rtol=1e-5, atol=1e-6)
    # one observation and a goal name work too
    name = env.goal_set.names[int(goals[0])]
    assert policy.act(obs[0], name) == actions[0]
    meta = policy.metadata
    assert meta["goals"]["names"] == list(env.goal_set.names) and meta["num_actions"] == env.num_actions
    assert meta["evaluation"] == {"seed": cfg.run.eval_seed, "repeats": cfg.run.eval_repeats,
                                  "max_steps": cfg.run.eval_max_steps}
    assert meta["symbolic_batch"] and meta["training"]["complete"]


def test_evaluate_reproduces_the_training_run(tiny_run, student_artifact, tmp_path):
    run_dir, _ = tiny_run
    out = tmp_path / "eval"
    proc = run_cli(str(student_artifact), "--env", "gridworld", "--run-dir", str(out),
                   module="leo_teacher.evaluate")
    assert proc.returncode == 0, proc.stderr
    with open(run_dir / "per_goal_success.csv") as f:
        trained_rows = list(csv.DictReader(f))
    with open(out / "per_goal_success.csv") as f:
        eval_rows = list(csv.DictReader(f))
    assert [r["name"] for r in eval_rows] == [r["name"] for r in trained_rows]
    assert [r["success"] for r in eval_rows] == [r["success_mlp"] for r in trained_rows]
    trained_summary = json.loads((run_dir / "summary.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["success_rate"] == trained_summary["policies"]["mlp"]["success_rate"]
    assert summary["eval_seed"] == trained_summary["eval_seed"]


def test_artifact_loads_in_a_fresh_process_without_flax_or_equinox(student_artifact):
    code = f"""
import json, sys
import numpy as np
from leo_teacher import load_policy
policy = load_policy({str(student_artifact)!r})
obs = np.eye(policy.obs_size, dtype=np.float32)[:5]
actions = policy.act(obs, [0, 1, 2, 3, 4])
heavy = [m for m in ("flax", "equinox", "optax", "orbax", "students", "leo_teacher.core.coordinator")
         if m in sys.modules]
assert not heavy, heavy
print(json.dumps(actions.tolist()))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    from leo_teacher import load_policy

    policy = load_policy(student_artifact)
    expected = policy.act(np.eye(policy.obs_size, dtype=np.float32)[:5], [0, 1, 2, 3, 4])
    assert json.loads(proc.stdout) == expected.tolist()


def test_teacher_export_acts_greedily_on_its_values(trained, tiny_run, tmp_path):
    import jax
    import jax.numpy as jnp

    from leo_teacher import load_policy
    from leo_teacher.artifact.export import export_policy

    cfg, env, coord, state = trained
    out = export_policy(tiny_run[0], tmp_path / "teacher", teacher=True)
    policy = load_policy(out)
    assert policy.kind == "teacher"
    obs = _observations(env.obs_spec.size)
    goals = np.random.default_rng(2).integers(0, coord.num_goals, len(obs)).astype(np.int32)
    q = jax.jit(coord.teacher.values)(state.teacher.params, obs)[jnp.arange(len(obs)), goals]
    np.testing.assert_array_equal(policy.act(obs, goals), np.asarray(jnp.argmax(q, axis=-1)))
    np.testing.assert_allclose(policy.q_values(obs, goals), np.asarray(q), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("how", ["truncated params", "bad metadata", "missing function"])
def test_damaged_artifact_exits_2(how, student_artifact, tmp_path, capsys):
    from leo_teacher.cli import evaluate
    from leo_teacher.artifact.policy import ArtifactError, load_policy

    art = tmp_path / "art"
    shutil.copytree(student_artifact, art)
    if how == "truncated params":
        p = art / "params.npz"
        p.write_bytes(p.read_bytes()[:1000])
    elif how == "bad metadata":
        (art / "metadata.json").write_text('{"format": "leo-teacher-po')
    else:
        (art / "forward.jaxexport").unlink()
    with pytest.raises(ArtifactError, match="re-export it with python -m leo_teacher.export"):
        load_policy(art)
    assert evaluate.main([str(art), "--run-dir", str(tmp_path / "eval")]) == 2
    _one_line_error(capsys.readouterr().err, "re-export it")
    assert not (tmp_path / "eval").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "env.size=16"], "the artifact's goals do not fit this gridworld config: goal set mismatch"),
        (["--set", "env.map_seed=3"], "goal set mismatch at index"),
        (["--env", "craftax-classic"], "is a policy for env 'gridworld'"),
    ],
)
def test_artifact_for_another_goal_set_exits_2(args, message, student_artifact, tmp_path, capsys):
    from leo_teacher.cli import evaluate

    assert evaluate.main([str(student_artifact), "--run-dir", str(tmp_path / "eval"), *args]) == 2
    _one_line_error(capsys.readouterr().err, message)
    assert not (tmp_path / "eval").exists()


def test_cli_bad_artifact_prints_one_line(tmp_path):
    proc = run_cli(str(tmp_path), "--run-dir", str(tmp_path / "eval"), module="leo_teacher.evaluate")
    assert proc.returncode == 2
    _one_line_error(proc.stderr, "has no metadata.json")


def test_nothing_is_overwritten(tiny_run, student_artifact, tmp_path, capsys):
    from leo_teacher.cli import evaluate
    from leo_teacher.cli import export

    before = {p.name: p.read_bytes() for p in student_artifact.iterdir()}
    assert export.main([str(tiny_run[0]), "--out", str(student_artifact)]) == 2
    _one_line_error(capsys.readouterr().err, "already exists", "--overwrite")
    assert {p.name: p.read_bytes() for p in student_artifact.iterdir()} == before

    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.json").write_text("{}")
    assert evaluate.main([str(student_artifact), "--run-dir", str(results)]) == 2
    _one_line_error(capsys.readouterr().err, "already holds results", "--overwrite")
    assert (results / "summary.json").read_text() == "{}"

    assert export.main([str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    _one_line_error(capsys.readouterr().err, "no checkpoint in")
    assert export.main([str(tiny_run[0]), "--student", "nosuch", "--out", str(tmp_path / "x")]) == 2
    _one_line_error(capsys.readouterr().err, "unknown --student 'nosuch'; this run's students: mlp")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("mode", ["pqn", "pqn-her", "all-goals-relabel"])
def test_goal_conditioned_teachers_are_refused_by_name(mode):
    """The baselines' teacher slot holds a goal-conditioned Q net: a clear error, not a traceback."""
    from leo_teacher.artifact.export import _choose
    from leo_teacher.config import ConfigError, build_config, parse_set
    from leo_teacher.core.coordinator import Coordinator
    from leo_teacher.envs import make_env

    cfg = build_config(preset="tiny", overrides=parse_set([f"coordinator.mode={mode}"]))
    coord = Coordinator(cfg, make_env(cfg.env))
    with pytest.raises(ConfigError, match="goal-conditioned Q network"):
        _choose(coord, None, teacher=True)
