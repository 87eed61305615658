"""``python -m leo_teacher.report``: the HTML run report (:mod:`leo_teacher.cli.report`)."""

from leo_teacher.cli import run_as_main

run_as_main("report", __name__)
