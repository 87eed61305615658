#!/bin/bash
# Craftax-Classic, every method at 10M steps (issue 20: at 5M teacher-as-teacher stayed short of the floor + 0.15),
# seeds 0/1 + the transformer student (seed 0) + the random floor, two runs at a time, each on its own core with one
# XLA thread (compare_modes sets both). Rerun to go on: compare_modes skips finished runs and resumes those with
# checkpoints. teacher-as-teacher s0/s1 ran first (this script with --modes teacher-as-teacher --no-transformer);
# dual-leo-pqn-s0 was started by hand with compare_modes' own command for it (--dry-run prints it).
cd /work/main
.venv/bin/python benchmarks/compare_modes.py --out results/craftax_classic_10m --total-steps 10000000 \
    --seeds 0 1 --jobs 2 "$@"
