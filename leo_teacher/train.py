"""``python -m leo_teacher.train``: the training command (:mod:`leo_teacher.cli.train`)."""

from leo_teacher.cli import run_as_main

run_as_main("train", __name__)
