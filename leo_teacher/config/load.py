"""Building a Config: YAML presets, ``--set`` overrides, saved configs; typed coercion of values."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from leo_teacher.config.checks import validate
from leo_teacher.config.schema import (
    CONFIG_DIR,
    ENV_NAMES,
    PER_STUDENT_FIELDS,
    SECTIONS,
    Config,
    ConfigError,
    CoordinatorConfig,
)


def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(value: Any, typ: Any, where: str) -> Any:
    """Convert a YAML or command-line value to the field's declared type."""
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return _coerce(value, args[0], where)
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = value.replace("_", "")
                return int(float(value)) if "e" in value.lower() else int(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if typ is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ is str:
            if not isinstance(value, (str, int, float)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        raise ConfigError(f"{where}: unsupported field type {typ}")
    raise ConfigError(f"{where}={value!r} is not a valid {getattr(typ, '__name__', typ)}")


def apply_overrides(cfg: Config, overrides: dict[str, Any], source: str) -> None:
    """Apply a nested {section: {field: value}} mapping onto ``cfg`` in place."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(overrides).__name__}")
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{source}: unknown section {section!r}; valid sections: {', '.join(SECTIONS)}"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: section {section!r} must be a mapping of fields")
        if section == "per_student":
            _apply_per_student(cfg, values, source)
            continue
        sub = getattr(cfg, section)
        types_ = _field_types(type(sub))
        for key, value in values.items():
            if key not in types_:
                raise ConfigError(
                    f"{source}: unknown field {section}.{key}; valid fields of {section}: "
                    f"{', '.join(types_)}"
                )
            setattr(sub, key, _coerce(value, types_[key], f"{section}.{key}"))


def _apply_per_student(cfg: Config, values: dict[str, Any], source: str) -> None:
    """Merge per-student settings: YAML ``{name: {field: value}}`` or ``--set`` ``{"name.field": value}``.

    A student name may hold dots (an import path), field names do not: split at the last dot.
    """
    types_ = _field_types(CoordinatorConfig)
    for key, value in values.items():
        if isinstance(value, dict):
            items = [(str(key), f, v) for f, v in value.items()]
        else:
            name, dot, f = str(key).rpartition(".")
            if not dot or not name:
                raise ConfigError(
                    f"{source}: per_student.{key} names no student; use per_student.STUDENT.FIELD, "
                    "e.g. --set per_student.transformer.distill_target=kl"
                )
            items = [(name, f, value)]
        for name, f, v in items:
            if f not in PER_STUDENT_FIELDS:
                raise ConfigError(
                    f"{source}: per_student.{name}.{f} cannot be set per student; valid fields: "
                    f"{', '.join(PER_STUDENT_FIELDS)}"
                )
            cfg.per_student.setdefault(name, {})[f] = _coerce(v, types_[f], f"per_student.{name}.{f}")


def parse_set(items: list[str]) -> dict[str, dict[str, str]]:
    """Turn ``["teacher.lr=1e-4", ...]`` into ``{"teacher": {"lr": "1e-4"}}``."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise ConfigError(
                f"--set {item!r}: expected SECTION.FIELD=VALUE, e.g. --set teacher.lr=1e-4"
            )
        out.setdefault(section, {})[name] = value.strip()
    return out


def preset_path(env_name: str) -> Path:
    return CONFIG_DIR / f"{env_name.replace('-', '_')}.yaml"


def load_yaml(path: Path, preset: str | None) -> dict[str, Any]:
    """Read a preset file: its ``base`` section merged with ``presets[preset]``.

    A preset may hold ``per_mode: {MODE: {section: {field: value}}}``: settings for one mode
    (the paper's sizes differ by mode), applied by :func:`build_config` when that mode runs.
    """
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found; pass an existing --config file") from None
    except IsADirectoryError:
        raise ConfigError(f"--config {path} is a directory; pass a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a text file; pass a YAML file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}".splitlines()[0]) from None
    data = {} if data is None else data
    example = "e.g. 'teacher: {lr: 1.0e-3}'"
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} holds a {type(data).__name__}, not a mapping of sections; {example}"
        )
    presets = data.pop("presets", {}) or {}
    base = data.pop("base", data) or {}
    for where, mapping in (("the file", base), ("presets", presets)):
        if not isinstance(mapping, dict):
            raise ConfigError(f"config file {path}: {where} must be a mapping of sections; {example}")
    merged = {}
    for section, values in base.items():
        merged[section] = _section(path, section, values, example)
    if preset is not None:
        if preset not in presets:
            raise ConfigError(
                f"unknown preset {preset!r} in {path.name}; valid presets: "
                f"{', '.join(presets) or '(none)'}"
            )
        if not isinstance(presets[preset] or {}, dict):
            raise ConfigError(f"config file {path}: preset {preset!r} must be a mapping of sections; {example}")
        for section, values in (presets[preset] or {}).items():
            merged.setdefault(section, {}).update(_section(path, f"{preset}.{section}", values, example))
    return merged


def _section(path: Path, name: str, values: Any, example: str) -> dict:
    """A section's fields as a dict; ConfigError when it is not a mapping (an empty one is {})."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(
            f"config file {path}: section {name!r} holds a {type(values).__name__}, not a mapping "
            f"of fields; {example}"
        )
    return dict(values)


def build_config(
    env: str | None = None,
    preset: str | None = None,
    config_file: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Defaults <- env's YAML preset (or ``config_file``) <- ``overrides``; then validate."""
    cfg = Config()
    if env is not None and env not in ENV_NAMES:
        raise ConfigError(f"unknown env {env!r}; valid envs: {', '.join(ENV_NAMES)}")
    path = Path(config_file) if config_file else preset_path(env or cfg.env.name)
    if config_file or path.exists():
        merged = load_yaml(path, preset)
        per_mode = merged.pop("per_mode", {})
        apply_overrides(cfg, merged, str(path.name))
        mode = (overrides or {}).get("coordinator", {}).get("mode", cfg.coordinator.mode)
        if mode in per_mode:
            apply_overrides(cfg, per_mode[mode], f"{path.name} per_mode.{mode}")
    elif preset is not None:
        raise ConfigError(f"no preset file for env {env!r} (looked for {path})")
    if env is not None:
        cfg.env.name = env
    if overrides:
        apply_overrides(cfg, overrides, "command line")
    validate(cfg)
    return cfg


def to_yaml(cfg: Config) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a Config from :meth:`Config.to_dict` output (e.g. a run's config.yaml)."""
    cfg = Config()
    apply_overrides(cfg, data, "saved config")
    validate(cfg)
    return cfg
