#!/bin/bash
# teacher-as-teacher distillation weight on seed 2 (unseen by the acceptance seeds 0/1), 1.5M steps
cd /work/main
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false"
run() { # name core sets...
  local name=$1 core=$2; shift 2
  taskset -c $core .venv/bin/python -m leo_teacher.train --env craftax-classic --preset cpu --mode teacher-as-teacher \
    --seed 2 --total-steps 1500000 --run-dir /work/runs/tune/$name --no-progress --set run.eval_repeats=4 "$@" \
    > /work/runs/tune/$name.log 2>&1
}
run dc0.3 0 & run dc1.0 1 --set coordinator.distill_coef=1.0 & wait
run dc3.0 0 --set coordinator.distill_coef=3.0 &
wait
