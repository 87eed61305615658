"""Evaluate an exported policy artifact (``python -m leo_teacher.evaluate``).

Runs the per-goal evaluation of training (DESIGN §1, :func:`leo_teacher.core.evaluation.make_evaluator`)
on a policy artifact and writes ``per_goal_success.csv`` and ``summary.json`` into DIR, in the
training run's format. The environment is built from the artifact's env config (``--set
env.FIELD=VALUE`` changes it); without ``--seed``/``--repeats``/``--max-steps`` the artifact's
evaluation settings are used, so the training run's final figures are reproduced. An artifact
for another environment or goal set, a damaged artifact, or a DIR that already holds results
(without ``--overwrite``) stops with exit status 2 and a one-line message.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from leo_teacher.config import ConfigError, EnvConfig, apply_overrides, parse_set
from leo_teacher.artifact.policy import ArtifactError, load_policy

RESULT_FILES = ("per_goal_success.csv", "summary.json")
RESULT_TMP = ("summary.json.tmp",)


def env_for(policy, env_name: str | None, set_items: Sequence[str]):
    """The environment to evaluate ``policy`` in, checked against the artifact's goal set."""
    from leo_teacher.config import Config
    from leo_teacher.envs import make_env

    exported = policy.env_name
    if env_name is not None and env_name != exported:
        raise ConfigError(
            f"the artifact is a policy for env {exported!r} ({policy.num_goals} goals), not "
            f"{env_name!r}; pass --env {exported} or export a policy trained on {env_name}"
        )
    overrides = parse_set(list(set_items))
    if set(overrides) - {"env"}:
        raise ConfigError("evaluate takes only env.FIELD=VALUE overrides (e.g. --set env.size=16)")
    cfg = Config()
    cfg.env = EnvConfig()
    apply_overrides(cfg, {"env": dict(policy.metadata["env"]["config"])}, "artifact metadata")
    apply_overrides(cfg, overrides, "command line")
    if cfg.env.name != exported:
        raise ConfigError(f"--set env.name cannot change the artifact's env {exported!r}")
    try:
        env = make_env(cfg.env)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    try:
        env.goal_set.check_compatible(policy.goal_names)
    except ValueError as e:  # e.g. another map size or map seed: another goal set
        raise ConfigError(f"the artifact's goals do not fit this {exported} config: {e}") from None
    if env.obs_spec.size != policy.obs_size or env.num_actions != policy.num_actions:
        raise ConfigError(
            f"the artifact expects observations of size {policy.obs_size} and {policy.num_actions} "
            f"actions; this env has {env.obs_spec.size} and {env.num_actions}: use the env config "
            "the policy was trained with"
        )
    return env, cfg.env


def evaluate_artifact(path: str | Path, run_dir: str | Path, env_name: str | None = None,
                      repeats: int | None = None, seed: int | None = None, max_steps: int | None = None,
                      set_items: Sequence[str] = (), overwrite: bool = False):
    """Evaluate the artifact at ``path`` into ``run_dir``.

    Returns (the summary written to summary.json, per-goal success [G], the env).
    """
    import jax

    from leo_teacher.run import manifest, rundir, provenance
    from leo_teacher.core.evaluation import make_evaluator, summarize

    try:
        policy = load_policy(path)
    except ArtifactError as e:
        raise ConfigError(str(e)) from None
    env, env_cfg = env_for(policy, env_name, set_items)
    ev = policy.metadata.get("evaluation", {})
    repeats = int(repeats if repeats is not None else ev.get("repeats", 16))
    seed = int(seed if seed is not None else ev.get("seed", 12345))
    max_steps = int(max_steps if max_steps is not None else ev.get("max_steps", 512))
    if repeats <= 0 or max_steps <= 0:
        raise ConfigError("--repeats and --max-steps must be positive")
    run_dir = Path(run_dir)
    rundir.existing_files(run_dir, RESULT_FILES, "results", overwrite)
    rundir.claim(run_dir, RESULT_FILES + RESULT_TMP, "evaluation", "results", overwrite)

    start = time.perf_counter()
    evaluate = make_evaluator(env, repeats, max_steps)(policy.jax_act)
    success = np.asarray(evaluate(policy.params, jax.random.PRNGKey(seed)))
    reachable = env.goal_set.reachable_mask()
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest.record(run_dir, RESULT_FILES + RESULT_TMP, "evaluation")
    rundir.write_per_goal(run_dir / "per_goal_success.csv", env.goal_set.names, reachable,
                          {policy.name: success})
    training = policy.metadata.get("training", {})
    summary = {
        **summarize(success, reachable),
        "evaluated_policy": policy.name,
        "policies": {policy.name: summarize(success, reachable)},
        "kind": policy.kind,
        "artifact": str(Path(path).resolve()),
        "env": env_cfg.name,
        "env_config": dict(vars(env_cfg)),
        "eval_seed": seed,
        "eval_repeats": repeats,
        "eval_max_steps": max_steps,
        "wall_seconds": round(time.perf_counter() - start, 3),
        "mode": training.get("mode"),
        "seed": training.get("seed"),
        "training_env_steps": training.get("env_steps"),
        "machine": provenance.machine_record(),
    }
    rundir.write_json(run_dir / "summary.json", summary)
    return summary, success, env
