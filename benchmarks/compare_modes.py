"""Every method on one game at one budget, resumable: the runs of docs/craftax_classic.md.

    python benchmarks/compare_modes.py --out runs/compare [--env craftax-classic] [--preset cpu]
        [--total-steps 5000000] [--seeds 0 1] [--modes M ...] [--no-transformer] [--eval-every 20] [--jobs 2]
        [--runs NAME ...] [--cores C ...] [--dry-run]

Runs teacher-as-teacher, teacher-as-actor, student-only, pqn-her and dual-leo-pqn for each
seed, teacher-as-teacher with ``--student transformer`` (first seed) and the random floor,
each in ``OUT/<mode>[-transformer]-s<seed>`` with the preset's own per-mode settings. A run with
a summary.json is skipped, one with checkpoints continues with ``--resume``, so the same
command picks an interrupted comparison up where it stopped. ``--jobs N`` runs N at a time,
each pinned to its own core with one XLA thread (on a 2-core machine two single-threaded runs
finish sooner than two runs one after the other). ``--runs`` takes some of the runs, in the order
given, and ``--cores`` names the cores to pin them to, so that two commands can share out a
comparison's remaining runs by hand. Each run's output goes to ``OUT/<name>.log``.
Prints one line per run as it starts and ends, then the tables: per run, and per method (mean
and [min, max] over seeds, the paper's figure beside). ``--table`` prints only those, with each
method's margin over the random floor, the paper's orderings checked at this budget and success by
goal family; ``--figure
PNG`` also draws both metrics' learning curves and per-family success (:func:`leo_teacher.plots.plot_comparison`).
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODES = ("teacher-as-teacher", "teacher-as-actor", "student-only", "pqn-her", "dual-leo-pqn")
# One XLA CPU thread. Only `--` flags: XLA stops reading XLA_FLAGS at a word without `--` and
# silently drops every flag after it (the conftest's optimisation level, a device count).
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def plan(seeds: list[int], modes=MODES, transformer: bool = True) -> list[tuple[str, str, str, int]]:
    """(run name, mode, student, seed) for every run of the comparison, a method's seeds together
    (so that an interrupted comparison leaves whole methods finished)."""
    runs = [(f"{m}-s{s}", m, "mlp", s) for m in modes for s in seeds]
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
           "--run-dir", str(run_dir), "--no-progress", "--set", f"run.eval_every={args.eval_every}"]
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


# Success over all goals at 1e9 steps, read off the paper's figure (DESIGN §1; most likely its
# live metric): Craftax-Classic, Craftax.
PAPER = {"teacher-as-teacher": (0.81, 0.26), "student-only": (0.79, 0.13), "dual-leo-pqn": (0.75, 0.18),
         "pqn-her": (0.67, 0.12), "teacher-as-actor": (0.61, 0.16), "pqn": (0.48, 0.11)}


def method_name(mode: str, student: str) -> str:
    return mode if student == "mlp" else f"{mode} ({student} student)"


def finished(out: Path, runs) -> dict:
    """{method: [RunResult per finished seed]} in the plan's order."""
    from leo_teacher.api import load_run

    groups: dict = {}
    for name, mode, student, _ in runs:
        if (out / name / "summary.json").exists():
            groups.setdefault(method_name(mode, student), []).append(load_run(out / name))
    return groups


def spread(values) -> str:
    """'mean [min, max]' over seeds ('value' for one seed)."""
    v = np.asarray(values, dtype=float)
    return f"{v[0]:.3f}" if v.size == 1 else f"{v.mean():.3f} [{v.min():.3f}, {v.max():.3f}]"


def paper_column(env: str) -> int:
    """Which of a ``PAPER`` entry's figures is ``env``'s: 0 Craftax-Classic, 1 Craftax."""
    return 1 if env == "craftax" else 0


def has_own_teacher(summary: dict) -> bool:
    """Whether the run's evaluated policy is a student trained beside a LEO teacher that was
    evaluated too (teacher-as-teacher, dual-leo-pqn), not the teacher acting itself."""
    return "teacher" in summary.get("policies", {}) and summary.get("evaluated_policy") != "teacher"


def method_table(groups: dict, env: str) -> str:
    """Markdown: per method, both metrics at the end (mean [min, max] over seeds), the paper's figure."""
    column = paper_column(env)
    lines = ["| method | seeds | success_rate (greedy) | its teacher (greedy) | paper_live_success | paper, 1e9 steps |",
             "|---|---|---|---|---|---|"]
    for method, rs in groups.items():
        mode = method.split(" ")[0]
        teacher = [r.summary["policies"]["teacher"]["success_rate"] for r in rs if has_own_teacher(r.summary)]
        live = [r.summary["paper_live_success"] for r in rs if r.summary.get("paper_live_success") is not None]
        paper = PAPER.get(mode, (None, None))[column]
        lines.append(f"| {method} | {len(rs)} | {spread([r.summary['success_rate'] for r in rs])} | "
                     f"{spread(teacher) if teacher else '-'} | {spread(live) if live else '-'} | "
                     f"{'-' if paper is None else f'~{paper:.2f}'} |")
    return "\n".join(lines)


def paper_order(env: str) -> list[str]:
    """The compared modes in the order of the paper's figure at 1e9 steps on ``env``, best first."""
    return sorted((m for m in MODES if m in PAPER), key=lambda m: -PAPER[m][paper_column(env)])


def per_seed(runs, metric: str) -> list[tuple[int, float]]:
    """(seed, summary figure) of every run that has ``metric``, in seed order."""
    runs = sorted(runs, key=lambda r: r.summary.get("seed", 0))
    return [(r.summary.get("seed", 0), r.summary[metric]) for r in runs if r.summary.get(metric) is not None]


def final(runs, metric: str) -> np.ndarray:
    """One summary figure (``success_rate``, ``paper_live_success``) per run, in seed order."""
    return np.array([v for _, v in per_seed(runs, metric)], dtype=float)


def verdict(above, below) -> str:
    """Whether ``above`` is above ``below`` over seeds: 'holds' when its worst seed beats the other's
    best, 'reversed' when the other's worst beats its best, else 'within the seed spread'."""
    above, below = np.asarray(above, dtype=float), np.asarray(below, dtype=float)
    if above.min() > below.max():
        return "holds"
    if below.min() > above.max():
        return "reversed"
    return "within the seed spread"


def ordering_table(groups: dict, env: str) -> str:
    """Markdown: every pair of finished methods the paper ranks (a above b at 1e9 steps), and at the
    end of these runs the mean difference a - b and :func:`verdict` for both metrics ('' for fewer
    than two such methods)."""
    column = paper_column(env)
    order = [m for m in paper_order(env) if m in groups]
    if len(order) < 2:
        return ""
    lines = ["| paper: a above b (1e9 steps) | greedy: a - b | greedy | live: a - b | live |",
             "|---|---|---|---|---|"]
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            cells = []
            for metric in ("success_rate", "paper_live_success"):
                va, vb = final(groups[a], metric), final(groups[b], metric)
                cells += ["-", "-"] if not (va.size and vb.size) else [f"{va.mean() - vb.mean():+.3f}", verdict(va, vb)]
            lines.append(f"| {a} (~{PAPER[a][column]:.2f}) > {b} (~{PAPER[b][column]:.2f}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def floor_table(groups: dict, floor: str = "random") -> str:
    """Markdown: each method's margin over the floor's (mean) figure at the end, per seed and mean,
    for both metrics ('' when the floor has not finished)."""
    if floor not in groups:
        return ""
    lines = ["| method | greedy - floor, per seed | mean | live - floor, per seed | mean |", "|---|---|---|---|---|"]
    for method, rs in groups.items():
        if method == floor:
            continue
        cells = []
        for metric in ("success_rate", "paper_live_success"):
            v, f = per_seed(rs, metric), final(groups[floor], metric)
            if not (v and f.size):
                cells += ["-", "-"]
                continue
            cells += [", ".join(f"s{s} {x - f.mean():+.3f}" for s, x in v),
                      f"{np.mean([x for _, x in v]) - f.mean():+.3f}"]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def family_table(groups: dict) -> str:
    """Markdown: per method, greedy success at the end by goal family (the name before '/'), mean
    [min, max] over seeds (:func:`leo_teacher.plots.family_success`)."""
    from leo_teacher.plots import family_success, goal_families

    if not groups:
        return ""
    names = [row["name"] for row in next(iter(groups.values()))[0].per_goal]
    per = {m: [family_success(names, r.success()) for r in rs] for m, rs in groups.items()}
    families = list(next(iter(per.values()))[0])
    counts = {f: goal_families(names).count(f) for f in families}
    lines = ["| method | " + " | ".join(f"{f} ({counts[f]})" for f in families) + " |",
             "|---|" + "---|" * len(families)]
    for method, fams in per.items():
        lines.append(f"| {method} | " + " | ".join(spread([x[f] for x in fams]) for f in families) + " |")
    return "\n".join(lines)


def tables(out: Path, runs, groups: dict, env: str) -> str:
    """Every table, blank-line separated: per run, per method, margins over the floor, orderings,
    goal families."""
    parts = [table(out, runs), method_table(groups, env), floor_table(groups), ordering_table(groups, env),
             family_table(groups)]
    return "\n\n".join(x for x in parts if x)


def write_figure(groups: dict, path: Path, title: str) -> Path:
    """Both metrics' learning curves and per-family success of every finished method, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from leo_teacher import plots

    names = [row["name"] for row in next(iter(groups.values()))[0].per_goal]
    # one dashed line per MLP student's teacher (the other students' teachers are in the tables)
    teachers = [m for m, rs in groups.items()
                if all(r.summary.get("student") == "mlp" and has_own_teacher(r.summary) for r in rs)]
    fig = plots.plot_comparison(groups, names, title=title, teachers=teachers)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--env", default="craftax-classic")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--total-steps", type=int, default=5_000_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--modes", nargs="+", default=list(MODES), help="the methods (the random floor is always added)")
    p.add_argument("--no-transformer", action="store_true", help="without the transformer-student run")
    p.add_argument("--eval-every", type=int, default=20,
                   help="chunks between greedy per-goal evaluations, the learning curves' points (0: only at the end)")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, one core each (0: one run, all cores)")
    p.add_argument("--runs", nargs="+", metavar="NAME",
                   help="only these runs, in this order (names as in --dry-run's --run-dir, e.g. pqn-her-s0)")
    p.add_argument("--cores", type=int, nargs="+", metavar="C",
                   help="pin the runs to these cores, one run per core at a time (instead of cores 0..jobs-1)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--table", action="store_true", help="print the tables of the finished runs only")
    p.add_argument("--figure", type=Path, help="write the figure of the finished runs to this PNG (trains nothing)")
    args = p.parse_args(argv)
    runs = plan(args.seeds, args.modes, not args.no_transformer)
    if args.runs:
        known = {r[0]: r for r in runs}
        unknown = [n for n in args.runs if n not in known]
        if unknown:
            p.exit(2, f"error: --runs: no run named {', '.join(unknown)} in this comparison; "
                      f"pick from {', '.join(known)}\n")
        runs = [known[n] for n in args.runs]
    if args.cores and not set(args.cores) <= os.sched_getaffinity(0):
        p.exit(2, f"error: --cores: this process may use cores {sorted(os.sched_getaffinity(0))} only; "
                  f"pick from those\n")
    if args.table or args.figure:
        groups = finished(args.out, runs)
        print(tables(args.out, runs, groups, args.env))
        if args.figure and groups:
            title = f"{args.env}, preset {args.preset}, {args.total_steps:,} steps: min-max band over seeds"
            print(f"figure: {write_figure(groups, args.figure, title)}")
        return 0
    todo = [(name, c) for name, *spec in runs if (c := command(args, args.out, name, *spec))]
    if args.dry_run:
        for _, c in todo:
            print(" ".join(c))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    cores = args.cores or (list(range(args.jobs)) if args.jobs > 0 else [None])
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
    print(tables(args.out, runs, finished(args.out, runs), args.env))
    if failed:
        print(f"failed: {', '.join(failed)} (see their .log files); rerun the same command to resume", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
