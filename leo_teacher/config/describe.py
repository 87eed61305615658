"""Every config field with its default, type and one-line meaning, read from :mod:`.schema`.

The meaning of a field lives once, in ``schema.py``: its inline comment, else a
``field: meaning`` line of its dataclass's docstring, else the comment block right above it.
``python -m leo_teacher.train --help-config`` prints :func:`help_text`.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from dataclasses import dataclass

from leo_teacher.config import schema


@dataclass(frozen=True)
class FieldHelp:
    """One config field as ``--help-config`` lists it."""

    section: str  # "env", "teacher", ...; "" for a top-level field of Config
    name: str
    type: str
    default: object
    meaning: str

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name


def _docstring_meanings(cls) -> dict[str, str]:
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for line in (inspect.getdoc(cls) or "").splitlines():
        m = re.match(r"^\s*(\w+): (.+)$", line)
        if m and m.group(1) in names:
            out[m.group(1)] = m.group(2).strip()
    return out


def _comment_meanings(cls) -> tuple[dict[str, str], dict[str, str]]:
    """(field -> its inline comment, field -> the first sentence of the comment block above it)."""
    lines = textwrap.dedent(inspect.getsource(cls)).splitlines()
    body = ast.parse("\n".join(lines)).body[0].body
    inline, above = {}, {}
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        line = lines[node.lineno - 1]
        tail = line[node.end_col_offset:] if node.end_lineno == node.lineno else ""
        if "#" in tail:
            inline[node.target.id] = tail.split("#", 1)[1].strip()
            continue
        block, i = [], node.lineno - 2
        while i >= 0 and lines[i].strip().startswith("#"):
            block.insert(0, lines[i].strip().lstrip("#").strip())
            i -= 1
        if block:
            above[node.target.id] = re.split(r"(?<=[.)])\s", " ".join(block))[0]
    return inline, above


def _default(f: dataclasses.Field) -> object:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def _fields_of(cls, section: str) -> list[FieldHelp]:
    docs, (inline, above) = _docstring_meanings(cls), _comment_meanings(cls)
    out = []
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(_default(f)):
            continue  # a section: its fields are listed under it
        meaning = inline.get(f.name) or docs.get(f.name) or above.get(f.name, "")
        out.append(FieldHelp(section, f.name, str(f.type), _default(f), meaning))
    return out


def config_fields() -> list[FieldHelp]:
    """Every field of every section of :class:`schema.Config`, in declaration order."""
    out = []
    for f in dataclasses.fields(schema.Config):
        default = _default(f)
        if dataclasses.is_dataclass(default):
            out += _fields_of(type(default), f.name)
    return out + _fields_of(schema.Config, "")


def help_text() -> str:
    """The ``--help-config`` listing: one line per field, grouped by section."""
    rows = config_fields()
    width = max(len(r.key) for r in rows)
    twidth = max(len(r.type) for r in rows)
    out = ["Config fields (set any with --set SECTION.FIELD=VALUE; presets in configs/<env>.yaml):"]
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            cls = type(getattr(schema.Config(), section)) if section else schema.Config
            first = (inspect.getdoc(cls) or "").splitlines()[0] if section else "per-student settings"
            out.append(f"\n[{section or 'top level'}] {first}")
        out.append(f"  {r.key:<{width}}  {r.type:<{twidth}}  = {r.default!r:<14}  {r.meaning}")
    return "\n".join(out)
