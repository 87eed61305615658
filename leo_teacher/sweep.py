"""``python -m leo_teacher.sweep``: sweeps with IQM and bootstrap CIs (:mod:`leo_teacher.cli.sweep`)."""

from leo_teacher.cli import run_as_main

run_as_main("sweep", __name__)
