"""What ``--resume`` checks before a run continues: the config is the checkpoint's, the metrics
file is cut back to the checkpoint's rows.

Both take a checkpoint's :class:`~leo_teacher.run.checkpoint.CheckpointInfo` (its ``path``,
``meta`` and ``iteration``); problems a user can fix raise :class:`ConfigError` with the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leo_teacher.config import Config, ConfigError

# Fields that may differ between a run and its resumption without changing what it computes
# (the periodic evaluation draws from its own key, run.eval_seed, and leaves the state as it was).
RESUMABLE_CHANGES = ("run.run_dir", "run.wandb", "run.wandb_project", "run.checkpoint_every", "run.eval_every")


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """Nested config dicts as {"section.field": value} (deeper sections such as per_student too)."""
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def check_resume_config(info: CheckpointInfo, cfg: Config) -> None:
    """ConfigError listing the fields where ``cfg`` differs from the checkpoint's config.

    Only :data:`RESUMABLE_CHANGES` may differ: anything else would make the continued run a
    different run (the learning-rate schedule alone depends on ``run.total_steps``).
    """
    from leo_teacher.config import from_dict

    try:
        saved = from_dict(info.meta["config"]).to_dict()  # fills fields added since it was written
    except ConfigError as e:
        raise ConfigError(f"the config saved in checkpoint {info.path} is not valid here ({e})") from None
    saved, wanted = _flatten(saved), _flatten(cfg.to_dict())
    names = list(saved) + [n for n in wanted if n not in saved]  # in config order
    diffs = [
        f"{name}={wanted.get(name)!r} here but {saved.get(name)!r} in the checkpoint"
        for name in names
        if name not in RESUMABLE_CHANGES and saved.get(name) != wanted.get(name)
    ]
    if diffs:
        more = f" (and {len(diffs) - 2} more)" if len(diffs) > 2 else ""
        raise ConfigError(
            f"config does not match the checkpoint in {info.path.parent.parent}: "
            f"{'; '.join(diffs[:2])}{more}; resume with the run's own config (--resume --run-dir "
            "alone) or start a new run in another --run-dir"
        )


def reconcile_metrics(run_dir: Path, info: CheckpointInfo, cut: bool = True) -> list[dict]:
    """The metrics rows up to the checkpoint; metrics.jsonl is cut back to them (atomically).

    Lines written after the checkpoint (the run went on before it was killed) are dropped so
    that the continued run writes them again, once. Everything is checked before anything is
    written.
    """
    path = Path(run_dir) / "metrics.jsonl"
    n = int(info.meta["metrics_rows"])
    lines = path.read_text().splitlines() if path.exists() else []
    fix = "restore the file, or start the run again with --overwrite"
    if len(lines) < n:
        raise ConfigError(
            f"{path} has {len(lines)} lines but checkpoint {info.path.name} was written after {n}; {fix}"
        )
    rows = []
    for i, line in enumerate(lines[:n]):
        try:
            rows.append(json.loads(line))
        except ValueError:
            raise ConfigError(f"{path} line {i + 1} is not valid JSON; {fix}") from None
    if rows and rows[-1].get("iteration") != info.iteration:
        raise ConfigError(
            f"{path} line {n} is for iteration {rows[-1].get('iteration')} but checkpoint "
            f"{info.path.name} is at iteration {info.iteration}; {fix}"
        )
    if len(lines) != n and cut:  # only the process that writes the run directory cuts it
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in lines[:n]))
        tmp.replace(path)
    return rows
