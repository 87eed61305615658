"""What makes a directory ours: a manifest of every entry a leo-teacher command wrote there.

``DIR/.leo_teacher_manifest.json`` lists the top-level files and folders a run (or an export,
or an evaluation) wrote into ``DIR``. Names are recorded *before* they are written, so a crash
mid-write never leaves an entry of ours unlisted. ``--overwrite`` removes only listed entries,
and refuses a directory that holds anything else: a folder of the user's is never emptied.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterable

from leo_teacher.config import ConfigError

MANIFEST = ".leo_teacher_manifest.json"
FORMAT = 1


def read(directory: Path) -> dict | None:
    """The manifest of ``directory`` ({"kind", "entries"}), or None when it has none."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text())
        entries = data["entries"]
        if not isinstance(entries, list) or not isinstance(data.get("kind"), str):
            raise TypeError
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ConfigError(
            f"{path} is damaged, so it is unknown what in {directory} a leo-teacher command wrote; "
            "nothing was changed; move the files you want to keep and delete the directory yourself"
        ) from None
    return data


def record(directory: Path, names: Iterable[str], kind: str) -> None:
    """Add ``names`` (top-level entries of ``directory``) to its manifest, atomically."""
    directory = Path(directory)
    data = read(directory) or {"format": FORMAT, "kind": kind, "entries": []}
    entries = sorted(set(data["entries"]) | set(names))
    if entries == data["entries"] and (directory / MANIFEST).exists():
        return
    data["entries"] = entries
    tmp = directory / f"{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(directory / MANIFEST)


def _show(names: list[str], limit: int = 4) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def survey(directory: Path, kind: str, ignore: Iterable[str] = ()) -> tuple[list[str], list[str], bool]:
    """(entries of ours present, foreign entries, has a manifest) of ``directory``.

    ``ignore`` names entries that are ours whatever the manifest says (the lock we hold).
    """
    directory = Path(directory)
    if not directory.exists():
        return [], [], False
    if not directory.is_dir():
        raise ConfigError(f"{directory} is a file; pass a directory path")
    data = read(directory)
    if data is not None and data["kind"] != kind:
        raise ConfigError(
            f"{directory} holds the output of a leo-teacher {data['kind']}, not of a {kind}; "
            "nothing was changed; choose another directory"
        )
    listed = set(data["entries"]) if data else set()
    children = sorted(p.name for p in directory.iterdir() if p.name not in (MANIFEST, *ignore))
    ours = [c for c in children if c in listed]
    foreign = [c for c in children if c not in listed]
    return ours, foreign, data is not None


def refuse_foreign(directory: Path, foreign: list[str], option: str, has_manifest: bool) -> ConfigError:
    """The error for ``--overwrite`` (or a write) meeting entries no leo-teacher command wrote."""
    why = "entries" if has_manifest else f"entries and no {MANIFEST}"
    return ConfigError(
        f"{option} {directory} holds {why} that leo-teacher did not write ({_show(foreign)}); "
        f"nothing was deleted; choose another (new or empty) {option}"
    )


def remove_ours(directory: Path, ours: Iterable[str]) -> None:
    """Delete the listed entries (files or folders) of ``directory``; the manifest stays."""
    for name in ours:
        path = Path(directory) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
