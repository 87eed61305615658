"""Every method on one game at one budget, resumable: the runs of docs/craftax_classic.md.

    python benchmarks/compare_modes.py --out runs/compare [--env craftax-classic] [--preset cpu]
        [--total-steps 5000000] [--seeds 0 1] [--modes M ...] [--no-transformer] [--jobs 2] [--dry-run]

Runs teacher-as-teacher, teacher-as-actor, student-only, pqn-her and dual-leo-pqn for each
seed, teacher-as-teacher with ``--student transformer`` (first seed) and the random floor,
each in ``OUT/<mode>[-transformer]-s<seed>`` with the preset's own per-mode settings. A run with
a summary.json is skipped, one with checkpoints continues with ``--resume``, so the same
command picks an interrupted comparison up where it stopped. ``--jobs N`` runs N at a time,
each pinned to its own core with one XLA thread (on a 2-core machine two single-threaded runs
finish sooner than two runs one after the other). Each run's output goes to ``OUT/<name>.log``.
Prints one line per run as it starts and ends, then the table (``--table`` prints only that).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("teacher-as-teacher", "teacher-as-actor", "student-only", "pqn-her", "dual-leo-pqn")
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def plan(seeds: list[int], modes=MODES, transformer: bool = True) -> list[tuple[str, str, str, int]]:
    """(run name, mode, student, seed) for every run of the comparison."""
    runs = [(f"{m}-s{s}", m, "mlp", s) for s in seeds for m in modes]
    if transformer:
        runs.append((f"teacher-as-teacher-transformer-s{seeds[0]}", "teacher-as-teacher", "transformer", seeds[0]))
    runs.append((f"random-s{seeds[0]}", "random", "mlp", seeds[0]))
    return runs


def command(args, out: Path, name: str, mode: str, student: str, seed: int) -> list[str] | None:
    """The train command for one run, or None when it has finished."""
    run_dir = out / name
    if (run_dir / "summary.json").exists():
        return None
    cmd = [sys.executable, "-m", "leo_teacher.train", "--env", args.env, "--preset", args.preset,
           "--mode", mode, "--student", student, "--seed", str(seed), "--total-steps", str(args.total_steps),
           "--run-dir", str(run_dir), "--no-progress"]
    if (run_dir / "checkpoints").is_dir():
        cmd.append("--resume")
    return cmd


def launch(cmd: list[str], log: Path, core: int | None) -> int:
    env = {**os.environ}
    if core is not None:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + ONE_THREAD).strip()
        cmd = ["taskset", "-c", str(core), *cmd]
    with log.open("a") as f:
        return subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT).returncode


def table(out: Path, runs) -> str:
    """Markdown: per run, greedy per-goal success (all goals) and the paper's live metric."""
    lines = ["| run | mode | student | seed | env steps | success_rate | paper_live_success |",
             "|---|---|---|---|---|---|---|"]
    for name, mode, student, seed in runs:
        path = out / name / "summary.json"
        if not path.exists():
            lines.append(f"| {name} | {mode} | {student} | {seed} | not finished | | |")
            continue
        s = json.loads(path.read_text())
        live = s.get("paper_live_success")
        lines.append(f"| {name} | {mode} | {student} | {seed} | {s['env_steps']:,} | {s['success_rate']:.3f} | "
                     f"{'-' if live is None else f'{live:.3f}'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--env", default="craftax-classic")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--total-steps", type=int, default=5_000_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--modes", nargs="+", default=list(MODES), help="the methods (the random floor is always added)")
    p.add_argument("--no-transformer", action="store_true", help="without the transformer-student run")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, one core each (0: one run, all cores)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--table", action="store_true", help="print the table of the finished runs only")
    args = p.parse_args(argv)
    runs = plan(args.seeds, args.modes, not args.no_transformer)
    if args.table:
        print(table(args.out, runs))
        return 0
    todo = [(name, c) for name, *spec in runs if (c := command(args, args.out, name, *spec))]
    if args.dry_run:
        for _, c in todo:
            print(" ".join(c))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    cores = list(range(args.jobs)) if args.jobs > 0 else [None]
    free, failed = list(cores), []

    def run_one(item):
        name, cmd = item
        core = free.pop(0)  # one worker per core: a core is free whenever a worker starts
        try:
            print(f"{time.strftime('%H:%M:%S')} start {name} (core {core})", flush=True)
            rc = launch(cmd, args.out / f"{name}.log", core)
            print(f"{time.strftime('%H:%M:%S')} end {name}: exit {rc}", flush=True)
            if rc:
                failed.append(name)
        finally:
            free.append(core)

    with ThreadPoolExecutor(max_workers=len(cores)) as pool:
        list(pool.map(run_one, todo))
    print(table(args.out, runs))
    if failed:
        print(f"failed: {', '.join(failed)} (see their .log files); rerun the same command to resume", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
