"""Typed configuration: one dataclass per part, YAML presets, command-line overrides.

A YAML file in ``configs/`` holds a base section plus named presets; the command line overrides
any field with ``--set section.field=value``. Unknown keys and bad values raise
:class:`ConfigError`, whose message lists what is valid. The dataclasses and every default are
in :mod:`.schema`, the modes in :mod:`.modes`, loading in :mod:`.load`, value checks in
:mod:`.checks`.
"""

from leo_teacher.config.checks import validate
from leo_teacher.config.load import (
    apply_overrides,
    build_config,
    from_dict,
    load_yaml,
    parse_set,
    preset_path,
    to_yaml,
)
from leo_teacher.config.schema import (
    CONFIG_DIR,
    DISTILL_TARGETS,
    ENV_NAMES,
    GOAL_INPUTS,
    HER_STRATEGIES,
    MODES,
    PER_STUDENT_FIELDS,
    SECTIONS,
    Config,
    ConfigError,
    CoordinatorConfig,
    EnvConfig,
    RunConfig,
    StudentConfig,
    TeacherConfig,
)

__all__ = [
    "CONFIG_DIR", "DISTILL_TARGETS", "ENV_NAMES", "GOAL_INPUTS", "HER_STRATEGIES", "MODES",
    "PER_STUDENT_FIELDS", "SECTIONS", "Config", "ConfigError", "CoordinatorConfig", "EnvConfig",
    "RunConfig", "StudentConfig", "TeacherConfig", "apply_overrides", "build_config", "from_dict",
    "load_yaml", "parse_set", "preset_path", "to_yaml", "validate",
]
