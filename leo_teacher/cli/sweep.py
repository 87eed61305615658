"""``python -m leo_teacher.sweep --grid SECTION.FIELD=V1,V2 [--grid ...] --num-seeds K --out DIR [train flags]``.

Trains every combination of the grid's values (K seeds vmapped in one program each, as
``train --num-seeds``) and prints per combination the IQM over seeds with its 95% stratified
bootstrap CI (:mod:`leo_teacher.run.sweep`). Any other train flag (``--env``, ``--preset``,
``--total-steps``, ``--set``...) applies to every combination. Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from leo_teacher.cli.common import run_command


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.sweep", description=__doc__.splitlines()[0])
    p.add_argument("--grid", action="append", default=[], metavar="SECTION.FIELD=V1,V2,...",
                   help="a config field and its values; repeatable (every combination is trained)")
    p.add_argument("--out", required=True, help="the sweep directory (one run directory per combination)")
    p.add_argument("--metric", default="success_rate_reachable",
                   help="the final score per seed: success_rate_reachable (default) or success_rate")
    p.add_argument("--overwrite", action="store_true", help="replace a sweep already in --out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.cli import train
    from leo_teacher.config import ConfigError
    from leo_teacher.run import sweep
    from leo_teacher.run.trainer import Trainer

    args, rest = build_parser().parse_known_args(argv)
    train_args = train.build_parser().parse_args(rest)

    def body() -> int:
        if train_args.run_dir or train_args.resume or train_args.overwrite:
            raise ConfigError("a sweep places each run under --out; drop --run-dir/--resume/--overwrite "
                              "(use the sweep's --overwrite)")
        grid = sweep.parse_grid(args.grid)
        out = Path(args.out)

        def config_for(combo: dict, run_dir: Path):
            cmd = argparse.Namespace(**vars(train_args))
            cmd.set = list(train_args.set) + [f"{k}={v}" for k, v in combo.items()]
            cmd.run_dir = str(run_dir)
            return train.config_from_args(cmd)

        for combo in sweep.combinations(grid):  # reject a bad value before training anything
            config_for(combo, out / sweep.combo_name(combo))

        def train_one(combo: dict, run_dir: Path) -> dict:
            print(f"sweep: training {sweep.combo_name(combo)}", flush=True)
            return Trainer(config_for(combo, run_dir), progress=not train_args.no_progress).run()

        _, table = sweep.run_sweep(grid, train_one, out, args.metric, args.overwrite)
        print(table)
        print(f"sweep table: {out / 'sweep.md'} (csv: sweep.csv, plot: sweep.png)")
        return 0

    return run_command(body)
