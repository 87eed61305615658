"""``python -m leo_teacher.distill RUN_DIR``: distil a run's trained teacher (:mod:`leo_teacher.cli.distill`)."""

from leo_teacher.cli import run_as_main

run_as_main("distill", __name__)
