"""Training entry point: ``python -m leo_teacher.train [--env ...] [--student ...] [--mode ...]``.

Builds the config from a preset, ``--set`` overrides and flags (or, with ``--resume``, from the
run's checkpoint), trains with :class:`leo_teacher.run.trainer.Trainer` and prints the report.
Exit status as in :mod:`leo_teacher.cli.common`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from leo_teacher.cli.common import run_command
from leo_teacher.config import MODES, Config, ConfigError, build_config, parse_set


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.train", description=__doc__.splitlines()[0])
    p.add_argument("--env", help="gridworld (default), craftax-classic, craftax, brax-reacher or point-mass")
    p.add_argument("--student", help="student name(s), comma-separated, or module:factory path")
    p.add_argument("--mode", help=f"one of {', '.join(MODES)}")
    p.add_argument("--total-steps", type=float, help="environment steps to train for")
    p.add_argument("--seed", type=int)
    p.add_argument("--run-dir", help="output directory (default runs/<env>-<mode>-<student>-seed<N>-<time>)")
    p.add_argument("--config", help="a YAML config file instead of configs/<env>.yaml")
    p.add_argument("--preset", help="a named preset of the config file (e.g. cpu, paper)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --run-dir")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --run-dir from its latest checkpoint (same config)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override any config field; repeatable")
    p.add_argument("--num-seeds", type=int, help="train K seeds (seed, seed+1, ...) vmapped in one program")
    p.add_argument("--devices", type=int, help="shard the env batch over N devices (default: all)")
    p.add_argument("--distributed", action="store_true", help="multi-host: jax.distributed.initialize()")
    p.add_argument("--wandb", action="store_true", help="log to Weights & Biases (offline without a key)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--help-config", action="store_true",
                   help="list every config field (default, type, meaning) for --set, and exit")
    return p


def _cli_overrides(args: argparse.Namespace) -> dict:
    overrides = parse_set(args.set)
    cli = {
        ("student", "name"): args.student,
        ("coordinator", "mode"): args.mode,
        ("run", "total_steps"): None if args.total_steps is None else int(args.total_steps),
        ("run", "seed"): args.seed,
        ("run", "run_dir"): args.run_dir,
        ("run", "wandb"): True if args.wandb else None,
        ("run", "num_seeds"): args.num_seeds,
        ("run", "devices"): args.devices,
        ("run", "distributed"): True if args.distributed else None,
    }
    for (section, key), value in cli.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def config_from_args(args: argparse.Namespace) -> Config:
    return build_config(env=args.env, preset=args.preset, config_file=args.config,
                        overrides=_cli_overrides(args))


def resume_config_from_args(args: argparse.Namespace) -> Config:
    """The config to continue the run in ``--run-dir`` with; ConfigError if it is not that run's.

    With ``--env``, ``--preset`` or ``--config`` the config is built from the arguments as for a
    new run; otherwise it is the checkpoint's own config plus any ``--set`` and flag overrides.
    Either way it must equal the checkpoint's config (see ``run.resume.RESUMABLE_CHANGES``).
    """
    from leo_teacher.run import checkpoint
    from leo_teacher.config import apply_overrides, from_dict, validate

    if not args.run_dir:
        raise ConfigError("--resume needs the --run-dir of the run to continue")
    if args.overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it; pass one of them")
    info = checkpoint.latest(Path(args.run_dir))
    if args.env or args.preset or args.config:
        cfg = config_from_args(args)
    else:
        cfg = from_dict(info.meta["config"])
        apply_overrides(cfg, _cli_overrides(args), "command line")
        validate(cfg)
    cfg.run.run_dir = args.run_dir
    checkpoint.check_resume_config(info, cfg)
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.run.outputs import report
    from leo_teacher.run.trainer import Trainer

    args = build_parser().parse_args(argv)
    if args.help_config:
        from leo_teacher.config.describe import help_text

        print(help_text())
        return 0

    def body() -> int:
        cfg = resume_config_from_args(args) if args.resume else config_from_args(args)
        trainer = Trainer(cfg, overwrite=args.overwrite, progress=not args.no_progress, resume=args.resume)
        summary = trainer.run()
        if trainer.writes:
            print(report(summary, trainer.run_dir, trainer.env))
        else:
            import jax

            print(f"process {jax.process_index()} of {jax.process_count()} done; process 0 wrote {trainer.run_dir}")
        return 0

    return run_command(body)
