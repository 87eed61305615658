#!/bin/bash
# teacher-as-teacher with the teacher acting epsilon-greedily in half of the envs (coordinator.teacher_env_share=0.5;
# the student acts and learns in the other half) and, as the acting teacher, its conv at 32 features
# (teacher.conv_features=32, leo.py's), seeds 0/1, 5M steps, one core and one XLA thread each;
# resumable: add --resume to rerun after an interruption.
cd /work/main
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false"
OUT=results/craftax_classic_5m_tat_share
run() { # seed core
  taskset -c $2 .venv/bin/python -m leo_teacher.train --env craftax-classic --preset cpu --mode teacher-as-teacher \
    --student mlp --seed $1 --total-steps 5000000 --run-dir $OUT/teacher-as-teacher-s$1 --no-progress \
    --set run.eval_every=20 --set coordinator.teacher_env_share=0.5 --set teacher.conv_features=32 "${@:3}" \
    >> $OUT/teacher-as-teacher-s$1.log 2>&1
}
run 0 0 "$@" & run 1 1 "$@" & wait
