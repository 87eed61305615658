"""``--help-config``: every field of every config section, with its default, type and meaning."""

from __future__ import annotations

import dataclasses

from leo_teacher.cli.train import main
from leo_teacher.config import schema
from leo_teacher.config.describe import config_fields


def _expected() -> dict[str, dataclasses.Field]:
    out = {}
    for section in dataclasses.fields(schema.Config):
        default = section.default_factory()  # every field of Config has a factory
        if dataclasses.is_dataclass(default):
            out.update({f"{section.name}.{f.name}": f for f in dataclasses.fields(default)})
        else:
            out[section.name] = section
    return out


def test_help_config_lists_every_field_with_default_type_and_meaning(capsys):
    assert main(["--help-config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = _expected()
    listed = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert set(listed) == set(expected)
    rows = {r.key: r for r in config_fields()}
    for key, f in expected.items():
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        assert rows[key].default == default and rows[key].type == str(f.type), key
        assert f" {rows[key].type} " in listed[key] and f"= {default!r}" in listed[key], key
        assert rows[key].meaning and listed[key].rstrip().endswith(rows[key].meaning), f"{key} has no meaning in schema.py"


def test_meaning_sources():
    """Inline comment first, then the docstring's ``field: meaning`` line."""
    rows = {r.key: r for r in config_fields()}
    assert rows["run.eval_every"].meaning.startswith("chunks between evaluations")  # inline comment
    assert rows["env.size"].meaning == "gridworld side length in cells"  # docstring beats "# gridworld"
