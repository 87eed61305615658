#!/bin/bash
# Craftax-Classic at 10M steps (issue 20, the budget after 5M left line 2 unmet): teacher-as-teacher first,
# seeds 0/1, each on its own core with one XLA thread (compare_modes sets both); rerun to resume (compare_modes resumes runs with
# checkpoints and skips finished ones). Later: the other methods with the same command and their --modes.
cd /work/main
.venv/bin/python benchmarks/compare_modes.py --out results/craftax_classic_10m --total-steps 10000000 \
    --modes teacher-as-teacher --no-transformer --seeds 0 1 --jobs 2 "$@"
