"""``python -m leo_teacher.evaluate PATH --run-dir DIR [--env ENV]``: evaluate a policy artifact.

Runs :func:`leo_teacher.artifact.evaluate.evaluate_artifact` and prints the per-goal success;
exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from leo_teacher.cli.common import run_command


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.evaluate", description="Evaluate an exported policy artifact per goal.")
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
    from leo_teacher.artifact.evaluate import evaluate_artifact
    from leo_teacher.run import rundir

    args = build_parser().parse_args(argv)

    def body() -> int:
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
