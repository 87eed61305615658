#!/bin/bash
# Craftax-Classic, every method at 10M steps (issue 20: at 5M teacher-as-teacher stayed short of the floor + 0.15),
# seeds 0/1 + the transformer student (seed 0) + the random floor, two runs at a time, each on its own core with one
# XLA thread (compare_modes sets both). Rerun to go on: compare_modes skips finished runs and resumes those with
# checkpoints. Extra arguments go to compare_modes, e.g. `--runs pqn-her-s1 --cores 1` for one run on core 1.
# Some runs were started one per core by hand, with the command compare_modes gives them (--dry-run prints it).
cd "$(dirname "$0")/../.."
.venv/bin/python benchmarks/compare_modes.py --out results/craftax_classic_10m --total-steps 10000000 \
    --seeds 0 1 --jobs 2 "$@"
