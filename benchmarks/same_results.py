"""Do two sets of run directories hold the same results? (A refactor's check: same maths, same numbers.)

    python benchmarks/same_results.py OLD_ROOT NEW_ROOT

For every run directory under OLD_ROOT with a namesake under NEW_ROOT, compares metrics.jsonl
(every field but the timing ones) and per_goal_success.csv byte for byte; prints one line per
run and exits 1 if any differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TIMING_FIELDS = ("wall_seconds", "steps_per_second")


def metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def compare(old: Path, new: Path) -> str | None:
    """None when equal, else what differs first."""
    a, b = metrics(old), metrics(new)
    if len(a) != len(b):
        return f"metrics.jsonl has {len(a)} rows vs {len(b)}"
    for i, (ra, rb) in enumerate(zip(a, b)):
        if ra != rb:
            keys = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
            return f"metrics row {i + 1} differs in {', '.join(keys[:4])}: {ra.get(keys[0])} vs {rb.get(keys[0])}"
    if (old / "per_goal_success.csv").read_bytes() != (new / "per_goal_success.csv").read_bytes():
        return "per_goal_success.csv differs"
    return None


def main(argv: list[str]) -> int:
    old_root, new_root = Path(argv[0]), Path(argv[1])
    bad = 0
    for old in sorted(p.parent for p in old_root.glob("*/metrics.jsonl")):
        new = new_root / old.name
        if not (new / "metrics.jsonl").exists():
            print(f"{old.name}: missing under {new_root}")
            bad += 1
            continue
        diff = compare(old, new)
        rows = len(metrics(old))
        print(f"{old.name}: {'identical' if diff is None else 'DIFFERENT'} ({rows} metrics rows"
              f"{'' if diff is None else '; ' + diff})")
        bad += diff is not None
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
