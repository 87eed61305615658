"""``python -m leo_teacher.export``: export a trained policy (:mod:`leo_teacher.cli.export`)."""

from leo_teacher.cli import run_as_main

run_as_main("export", __name__)
