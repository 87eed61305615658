"""Do two sets of run directories hold the same results? (A refactor's check: same maths, same numbers.)

    python benchmarks/same_results.py OLD_ROOT NEW_ROOT [--rtol 1e-4]

For every run directory under OLD_ROOT with a namesake under NEW_ROOT, compares metrics.jsonl
(every field but the timing ones) and per_goal_success.csv byte for byte; prints one line per
run and exits 1 if any differs. With ``--rtol`` numbers may differ by that relative tolerance
(a change that reorders float sums), and each line gives the largest relative difference and
the first row where it exceeds the tolerance.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TIMING_FIELDS = ("wall_seconds", "steps_per_second")


def metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def relative_gaps(a: list[dict], b: list[dict]) -> list[float]:
    """Per metrics row, the largest relative difference of its numeric fields."""
    gaps = []
    for ra, rb in zip(a, b):
        gap = 0.0
        for k in set(ra) & set(rb):
            x, y = ra[k], rb[k]
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x != y:
                gap = max(gap, abs(x - y) / max(abs(x), abs(y), 1e-12))
        gaps.append(gap)
    return gaps


def compare(old: Path, new: Path, rtol: float = 0.0) -> str | None:
    """None when equal (within ``rtol`` if given), else what differs first."""
    a, b = metrics(old), metrics(new)
    if len(a) != len(b):
        return f"metrics.jsonl has {len(a)} rows vs {len(b)}"
    if rtol:
        gaps = relative_gaps(a, b)
        first = next((i for i, g in enumerate(gaps) if g > rtol), None)
        summary = f"largest relative difference {max(gaps, default=0.0):.2e}"
        return None if first is None else f"{summary}; first above {rtol:g} in row {first + 1} of {len(gaps)}"
    for i, (ra, rb) in enumerate(zip(a, b)):
        if ra != rb:
            keys = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
            return f"metrics row {i + 1} differs in {', '.join(keys[:4])}: {ra.get(keys[0])} vs {rb.get(keys[0])}"
    if (old / "per_goal_success.csv").read_bytes() != (new / "per_goal_success.csv").read_bytes():
        return "per_goal_success.csv differs"
    return None


def main(argv: list[str]) -> int:
    rtol = float(argv[argv.index("--rtol") + 1]) if "--rtol" in argv else 0.0
    argv = [x for i, x in enumerate(argv) if x != "--rtol" and (i == 0 or argv[i - 1] != "--rtol")]
    old_root, new_root = Path(argv[0]), Path(argv[1])
    bad = 0
    for old in sorted(p.parent for p in old_root.glob("*/metrics.jsonl")):
        new = new_root / old.name
        if not (new / "metrics.jsonl").exists():
            print(f"{old.name}: missing under {new_root}")
            bad += 1
            continue
        diff = compare(old, new, rtol)
        rows = len(metrics(old))
        print(f"{old.name}: {'identical' if diff is None else 'DIFFERENT'} ({rows} metrics rows"
              f"{'' if diff is None else '; ' + diff})")
        bad += diff is not None
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
