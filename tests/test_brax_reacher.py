"""The Brax reacher (continuous actions): env protocol, every mode traces, a tiny CLI run, and
an exported continuous student that loads and acts."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import run_cli
from leo_teacher.config import ConfigError, build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import rollout
from leo_teacher.envs import make_env
from leo_teacher.run.loading import load_trained_run


def tiny(*extra: str):
    return build_config(env="brax-reacher", preset="tiny", overrides=parse_set(list(extra)))


def test_env_protocol_auto_reset_and_desynchronised_episodes():
    from leo_teacher.envs.brax_reacher import BraxReacher

    env = BraxReacher(episode_length=5, random_start_steps=5, goals_per_ring=4)
    assert env.continuous and env.num_actions == 2 and env.goal_set.num_goals == 12
    assert env.goal_set.names[0] == "target/00-00" and env.goal_set.reachable_mask().all()
    state, obs = env.reset(jax.random.PRNGKey(0), 16)
    assert obs.shape == (16, env.obs_spec.size) and len(set(np.asarray(state.t).tolist())) > 1
    tip = np.linalg.norm(np.asarray(obs)[:, 6:8], axis=-1)
    assert np.all(tip <= 1.06)  # 0.21 m * POS_SCALE

    @jax.jit
    def run(state, key):
        def step(s, k):
            s, res = env.step(k, s, 3.0 * jnp.ones((16, 2)))  # clipped to 1
            return s, (res.episode_end, res.obs, res.next_obs, s.t)
        return jax.lax.scan(step, state, jax.random.split(key, 5))

    _, (end, obs_seq, next_obs, t) = run(state, jax.random.PRNGKey(1))
    end, t = np.asarray(end), np.asarray(t)
    assert np.all(end.sum(axis=0) == 1)  # every env ended exactly once in 5 steps ...
    assert len(set(end.argmax(axis=0).tolist())) > 1  # ... not all on the same step
    assert np.all(t[end] == 0)
    moved = np.abs(np.asarray(next_obs)[end] - np.asarray(obs_seq)[end]).max(axis=-1)
    assert np.all(moved > 0)  # ended envs continue from a fresh state
    assert env.goal_set.achieved(obs_seq[0]).shape == (16, 12)
    # evaluation episodes start from states of their own bank, never from training's
    train_starts = {tuple(np.round(q, 6)) for q in np.asarray(env._bank.q)}
    eval_state, _ = env.reset(jax.random.PRNGKey(2), 64, evaluation=True)
    assert not any(tuple(np.round(q, 6)) in train_starts for q in np.asarray(eval_state.pipeline.q))
    _, eval_obs = env.reset(jax.random.PRNGKey(0), 4, evaluation=True)
    assert eval_obs.shape == (4, 8)


@pytest.mark.parametrize("mode, student", [
    ("teacher-as-actor", "mlp"), ("student-only", "transformer"), ("pqn-her", "mlp"),
])  # teacher-as-teacher runs for real in the CLI test below
def test_every_mode_traces_on_continuous_actions(mode, student):
    cfg = tiny(f"coordinator.mode={mode}", f"student.name={student}")
    coord = Coordinator(cfg, make_env(cfg.env))
    assert type(coord.teacher).__name__ == ("AllGoalsActorCriticTeacher" if coord.mode.all_goals_teacher else "GoalTD3Teacher")
    state = jax.eval_shape(coord.init, 0)
    new, metrics = jax.eval_shape(coord.chunk_fn(1), state)
    T, B = cfg.env.rollout_steps, cfg.env.num_envs
    assert metrics["live_success"].shape == (1,)
    assert ("teacher_actor_loss" in metrics) == coord.schedule.train_teacher
    _, traj = jax.eval_shape(lambda s, k: rollout(coord, s, k), state, jax.random.PRNGKey(0))
    assert traj.action.shape == (T, B, 2) and traj.action.dtype == jnp.float32
    assert traj.advice.action.shape == (T, B, 2) and traj.advice.value.shape == (T, B)  # the teacher's action, its value


def test_discrete_only_settings_are_refused_on_continuous_envs():
    with pytest.raises(ConfigError, match="discrete actions"):
        Coordinator(*(lambda c: (c, make_env(c.env)))(tiny("coordinator.mode=dual-leo-pqn")))
    with pytest.raises(ConfigError, match="would be ignored"):
        tiny("teacher.head_goal_input=representation", "teacher.critic_features=per-goal")
    with pytest.raises(ConfigError, match="batch_renorm"):
        Coordinator(*(lambda c: (c, make_env(c.env)))(tiny("teacher.input_norm=batch_renorm")))
    with pytest.raises(ConfigError, match="distill_target"):
        Coordinator(*(lambda c: (c, make_env(c.env)))(tiny("coordinator.distill_target=softmax")))


@pytest.fixture(scope="module")
def brax_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "brax"
    proc = run_cli("--env", "brax-reacher", "--preset", "tiny", "--run-dir", str(run_dir), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return run_dir


def test_tiny_cli_run_and_exported_student_acts(brax_run, tmp_path):
    from leo_teacher import load_policy

    summary = json.loads((brax_run / "summary.json").read_text())
    assert summary["env"] == "brax-reacher" and summary["num_goals"] == 12
    assert set(summary["policies"]) == {"mlp", "teacher"}
    assert (brax_run / "per_goal_success.csv").read_text().count("target/") == 12

    out = tmp_path / "policy"
    proc = run_cli(str(brax_run), "--out", str(out), module="leo_teacher.export")
    assert proc.returncode == 0, proc.stderr
    policy = load_policy(out)
    assert policy.continuous and policy.metadata["continuous"] and policy.num_actions == 2
    cfg, env, coord, state, _ = load_trained_run(brax_run)
    _, obs = env.reset(jax.random.PRNGKey(3), 6)
    goals = np.arange(6) % env.goal_set.num_goals
    action = policy.act(np.asarray(obs), goals)
    assert action.shape == (6, 2) and action.dtype == np.float32 and np.all(np.abs(action) <= 1)
    out_mem, value = coord.students[0].apply(state.students[0].params, obs, coord.goal_reps[goals])
    np.testing.assert_allclose(action, np.clip(np.asarray(out_mem)[:, :2], -1, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(policy.value(np.asarray(obs), goals), value, rtol=1e-5, atol=1e-6)
    one = policy.act(np.asarray(obs)[0], env.goal_set.names[0])
    assert one.shape == (2,)
    with pytest.raises(ValueError, match="continuous"):
        policy.action_probs(np.asarray(obs), goals)
