"""Evaluate an exported policy: ``python -m leo_teacher.evaluate PATH --run-dir DIR [--env ENV]``.

Runs the per-goal evaluation of training (DESIGN §1, :func:`leo_teacher.evaluation.make_evaluator`)
on a policy artifact and writes ``per_goal_success.csv`` and ``summary.json`` into DIR, in the
training run's format. The environment is built from the artifact's env config (``--set
env.FIELD=VALUE`` changes it); without ``--seed``/``--repeats``/``--max-steps`` the artifact's
evaluation settings are used, so the training run's final figures are reproduced. An artifact
for another environment or goal set, a damaged artifact, or a DIR that already holds results
(without ``--overwrite``) stops with exit status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from leo_teacher.config import ConfigError, EnvConfig, apply_overrides, parse_set
from leo_teacher.policy_artifact import ArtifactError, load_policy

RESULT_FILES = ("per_goal_success.csv", "summary.json")


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

    from leo_teacher import rundir
    from leo_teacher.evaluation import make_evaluator, summarize

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

    start = time.perf_counter()
    evaluate = make_evaluator(env, repeats, max_steps)(policy.jax_act)
    success = np.asarray(evaluate(policy.params, jax.random.PRNGKey(seed)))
    reachable = env.goal_set.reachable_mask()
    run_dir.mkdir(parents=True, exist_ok=True)
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
    }
    rundir.write_json(run_dir / "summary.json", summary)
    return summary, success, env


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("path", metavar="PATH", help="a policy artifact (python -m leo_teacher.export)")
    p.add_argument("--env", help="the environment to evaluate in (default: the artifact's)")
    p.add_argument("--run-dir", required=True, help="where per_goal_success.csv and summary.json go")
    p.add_argument("--repeats", type=int, help="episodes per goal (default: the training run's)")
    p.add_argument("--seed", type=int, help="evaluation seed (default: the training run's)")
    p.add_argument("--max-steps", type=int, help="step limit per episode (default: the training run's)")
    p.add_argument("--set", action="append", default=[], metavar="env.FIELD=VALUE",
                   help="change the artifact's env config; repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace results already in --run-dir")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from leo_teacher.train import enable_compilation_cache

        enable_compilation_cache()
        summary, success, env = evaluate_artifact(args.path, args.run_dir, args.env, args.repeats, args.seed,
                                    args.max_steps, args.set, args.overwrite)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from leo_teacher import rundir

    print(f"per-goal success [{summary['evaluated_policy']}] on {summary['env']}: all goals "
          f"{summary['success_rate']:.3f} | reachable {summary['success_rate_reachable']:.3f} "
          f"({summary['num_reachable']}/{summary['num_goals']} goals reachable; {summary['eval_repeats']} "
          f"repeats, seed {summary['eval_seed']})")
    grid = rundir.success_map(env, success)
    if grid:
        print(grid)
    print(f"per-goal table: {Path(args.run_dir) / 'per_goal_success.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
