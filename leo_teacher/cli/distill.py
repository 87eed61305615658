"""Distillation entry point: ``python -m leo_teacher.distill RUN_DIR --student SPEC --total-steps N --run-dir OUT``.

Loads the teacher of the finished run RUN_DIR, freezes it and trains new students from it
(mode ``distill``: the student acts and learns the teacher's targets on the states it visits;
``--mode distill-ppo`` adds PPO). The config is the teacher run's, with the mode, students,
budget and ``--set`` overrides on top; the run directory, evaluation, export and ``--resume``
are train's. Exit status as in :mod:`leo_teacher.cli.common`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from leo_teacher.cli.common import run_command
from leo_teacher.cli.train import _cli_overrides, resume_config_from_args
from leo_teacher.config import Config, ConfigError, apply_overrides, from_dict, validate

DISTILL_MODES = ("distill", "distill-ppo")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.distill", description=__doc__.splitlines()[0])
    p.add_argument("teacher_run", metavar="RUN_DIR", nargs="?", help="the finished run whose teacher to distil")
    p.add_argument("--student", help="student name(s), comma-separated, or module:factory path")
    p.add_argument("--mode", choices=DISTILL_MODES,
                   help="distill (default): the teacher's targets only; distill-ppo: PPO plus them")
    p.add_argument("--total-steps", type=float, help="environment steps to train for")
    p.add_argument("--seed", type=int)
    p.add_argument("--run-dir", help="output directory")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --run-dir")
    p.add_argument("--resume", action="store_true", help="continue the distill run in --run-dir")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override any config field (e.g. student.width=64); repeatable")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(env=None, preset=None, config=None, wandb=False, num_seeds=None, devices=None,
                   distributed=False)
    return p


def distill_config(args: argparse.Namespace) -> Config:
    """The teacher run's config with this distillation's mode, students, budget and overrides."""
    from leo_teacher.run import checkpoint

    if not args.teacher_run:
        raise ConfigError("name the finished run whose teacher to distil: python -m leo_teacher.distill RUN_DIR ...")
    teacher_run = Path(args.teacher_run).resolve()
    info = checkpoint.latest(teacher_run, purpose="export")
    cfg = from_dict(info.meta["config"])
    cfg.per_student = {}  # the teacher run's per-student settings name its own students
    cfg.run.run_dir, cfg.run.num_seeds = "", 1
    overrides = _cli_overrides(args)
    overrides.setdefault("coordinator", {}).update(mode=args.mode or "distill", teacher_run=str(teacher_run))
    apply_overrides(cfg, overrides, "command line")
    validate(cfg)
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.run.outputs import report
    from leo_teacher.run.trainer import Trainer

    args = build_parser().parse_args(argv)

    def body() -> int:
        cfg = resume_config_from_args(args) if args.resume else distill_config(args)
        trainer = Trainer(cfg, overwrite=args.overwrite, progress=not args.no_progress, resume=args.resume)
        print(report(trainer.run(), trainer.run_dir, trainer.env))
        return 0

    return run_command(body)
