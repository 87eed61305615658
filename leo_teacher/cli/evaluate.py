"""``python -m leo_teacher.evaluate PATH --run-dir DIR [--env ENV] [--video DIR [--goals ...]]``.

Runs :func:`leo_teacher.artifact.evaluate.evaluate_artifact` and prints the per-goal success;
with ``--video`` writes one GIF per commanded goal (:mod:`leo_teacher.artifact.video`).
Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from leo_teacher.cli.common import run_command
from leo_teacher.config import ConfigError


def _videos(args: argparse.Namespace) -> None:
    from leo_teacher.artifact.evaluate import env_for
    from leo_teacher.artifact.policy import ArtifactError, load_policy
    from leo_teacher.artifact.video import select_goals, write_videos

    try:
        policy = load_policy(args.path)
    except ArtifactError as e:
        raise ConfigError(str(e)) from None
    env, _ = env_for(policy, args.env, args.set)
    ev = policy.metadata.get("evaluation", {})
    seed = args.seed if args.seed is not None else int(ev.get("seed", 12345))
    max_steps = args.max_steps if args.max_steps is not None else int(ev.get("max_steps", 512))
    if max_steps <= 0:
        raise ConfigError("--max-steps must be positive")
    goals = select_goals(env.goal_set.names, args.goals)
    index = write_videos(policy, env, Path(args.video), goals, max_steps, seed, args.overwrite)
    achieved = sum(v["success"] for v in index)
    print(f"videos: {len(index)} GIFs in {args.video} ({achieved} goals achieved; index: videos.json)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.evaluate", description="Evaluate an exported policy artifact per goal.")
    p.add_argument("path", metavar="PATH", help="a policy artifact (python -m leo_teacher.export)")
    p.add_argument("--env", help="the environment to evaluate in (default: the artifact's)")
    p.add_argument("--run-dir", help="where per_goal_success.csv and summary.json go (needed without --video)")
    p.add_argument("--video", metavar="DIR", help="write a GIF of the greedy episode per goal into DIR")
    p.add_argument("--goals", metavar="NAMES|FAMILY", help="--video: comma-separated goal names or families (default: all)")
    p.add_argument("--repeats", type=int, help="episodes per goal (default: the training run's)")
    p.add_argument("--seed", type=int, help="evaluation seed (default: the training run's)")
    p.add_argument("--max-steps", type=int, help="step limit per episode (default: the training run's)")
    p.add_argument("--set", action="append", default=[], metavar="env.FIELD=VALUE",
                   help="change the artifact's env config; repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace results already in --run-dir")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.artifact.evaluate import evaluate_artifact
    from leo_teacher.run import rundir

    args = build_parser().parse_args(argv)

    def body() -> int:
        if not args.run_dir and not args.video:
            raise ConfigError("pass --run-dir DIR for the per-goal evaluation, --video DIR for videos, or both")
        if args.video:
            _videos(args)
        if not args.run_dir:
            return 0
        summary, success, env = evaluate_artifact(args.path, args.run_dir, args.env, args.repeats, args.seed,
                                                  args.max_steps, args.set, args.overwrite)
        print(f"per-goal success [{summary['evaluated_policy']}] on {summary['env']}: all goals "
              f"{summary['success_rate']:.3f} | reachable {summary['success_rate_reachable']:.3f} "
              f"({summary['num_reachable']}/{summary['num_goals']} goals reachable; {summary['eval_repeats']} "
              f"repeats, seed {summary['eval_seed']})")
        grid = rundir.success_map(env, success)
        if grid:
            print(grid)
        print(f"per-goal table: {Path(args.run_dir) / 'per_goal_success.csv'}")
        return 0

    return run_command(body)
