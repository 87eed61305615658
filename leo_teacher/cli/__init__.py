"""The command-line entry points: ``python -m leo_teacher.{train,export,evaluate,report,sweep}``."""

from __future__ import annotations

import importlib
import sys


def run_as_main(command: str, module_name: str) -> None:
    """Exit with ``leo_teacher.cli.<command>.main()``'s status when ``module_name`` is __main__."""
    if module_name == "__main__":
        sys.exit(importlib.import_module(f"leo_teacher.cli.{command}").main())
