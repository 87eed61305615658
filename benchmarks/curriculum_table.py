"""The goal-sampling table of docs/curriculum.md from finished run directories.

    python benchmarks/curriculum_table.py RUN_DIR [RUN_DIR ...]

One markdown row per run: its env, steps, seed, coordinator.goal_sampling, the headline
policy's greedy per-goal success (all goals and reachable) and the paper's live metric
(``paper_live_success``), all read from the run's summary.json and config.yaml.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def row(run: Path) -> str:
    s = json.loads((run / "summary.json").read_text())
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    sampling = cfg["coordinator"].get("goal_sampling", "uniform-seen")
    return (f"| {s['env']} | {s['env_steps']:,} | {s['seed']} | {sampling} | {s['success_rate']:.3f} | "
            f"{s['success_rate_reachable']:.3f} | {s['paper_live_success']:.3f} | {run.name} |")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    print("| env | steps | seed | goal_sampling | success_rate | reachable | paper_live_success | run |")
    print("|---|---|---|---|---|---|---|---|")
    for d in argv:
        if (Path(d) / "summary.json").is_file():
            print(row(Path(d)))
        else:
            print(f"skipped {d}: no summary.json (not finished)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
