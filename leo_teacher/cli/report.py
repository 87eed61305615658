"""``python -m leo_teacher.report RUN_DIR [RUN_DIR ...] [--out FILE]``: the HTML run report.

One self-contained file (:mod:`leo_teacher.run.report`): by default ``RUN_DIR/report.html``;
several runs side by side need ``--out``. Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Sequence

from leo_teacher.cli.common import run_command


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m leo_teacher.report", description=__doc__.splitlines()[0])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="training run directories")
    p.add_argument("--out", help="the HTML file to write (default RUN_DIR/report.html for one run)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from leo_teacher.run.report import write_report

    args = build_parser().parse_args(argv)

    def body() -> int:
        print(f"report: {write_report(args.run_dirs, args.out, args.overwrite)}")
        return 0

    return run_command(body)
