"""``python -m leo_teacher.evaluate``: evaluate an exported policy (:mod:`leo_teacher.cli.evaluate`)."""

from leo_teacher.cli import run_as_main

run_as_main("evaluate", __name__)
