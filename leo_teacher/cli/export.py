"""``python -m leo_teacher.export RUN_DIR [--student NAME | --teacher] --out PATH``.

Writes the policy artifact of :func:`leo_teacher.artifact.export.export_policy`; load it with
``leo_teacher.load_policy(PATH)``, evaluate it with ``python -m leo_teacher.evaluate PATH``.
Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from leo_teacher.artifact.policy import METADATA_FILE
from leo_teacher.cli.common import run_command


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.export", description="Export a trained policy as a self-contained artifact.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a training run directory with checkpoints")
    p.add_argument("--student", help="which student to export (default: the run's first)")
    p.add_argument("--teacher", action="store_true", help="export the LEO teacher instead")
    p.add_argument("--out", required=True, help="the artifact directory to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--seed-index", type=int, default=0,
                   help="for a --num-seeds run: which seed's policy to export (0 = the first)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.artifact.export import export_policy

    args = build_parser().parse_args(argv)

    def body() -> int:
        out = export_policy(args.run_dir, args.out, args.student, args.teacher, args.overwrite, args.seed_index)
        meta = json.loads((out / METADATA_FILE).read_text())
        print(f"exported {meta['kind']} {meta['policy']!r} of {args.run_dir} (iteration "
              f"{meta['training']['iteration']}) to {out}: {meta['params']['num_parameters']:,} parameters, "
              f"{len(meta['goals']['names'])} goals, platforms {','.join(meta['platforms'])}")
        return 0

    return run_command(body)
