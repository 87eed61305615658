"""A trained run rebuilt from its latest checkpoint, for the tools that use one (export, notebooks)."""

from __future__ import annotations

from pathlib import Path

from leo_teacher.config import ConfigError, from_dict
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.envs import make_env
from leo_teacher.run import checkpoint


def load_trained_run(run_dir: Path, seed_index: int = 0):
    """(config, env, coordinator, state, info) rebuilt from a run's latest checkpoint.

    For tools that use a trained run (export, notebooks); ConfigError when there is none.
    A ``--num-seeds`` run holds seed-stacked states: ``seed_index`` picks one seed's.
    """
    import jax

    info = checkpoint.latest(Path(run_dir), purpose="export")
    try:
        cfg = from_dict(info.meta["config"])
        env = make_env(cfg.env)
    except (ConfigError, ValueError) as e:
        raise ConfigError(f"the config saved in checkpoint {info.path} is not usable here ({e})") from None
    coord = Coordinator(cfg, env)
    seeds = [cfg.run.seed + k for k in range(cfg.run.num_seeds)]
    if len(seeds) == 1:
        return cfg, env, coord, checkpoint.restore(info, jax.eval_shape(coord.init, cfg.run.seed)), info
    from leo_teacher.run import parallel

    if not 0 <= seed_index < len(seeds):
        raise ConfigError(f"seed index {seed_index} is out of range: the run trained {len(seeds)} seeds")
    stacked = checkpoint.restore(info, jax.eval_shape(lambda: parallel.seed_stack_init(coord, seeds)))
    cfg.run.seed, cfg.run.num_seeds = seeds[seed_index], 1
    return cfg, env, coord, parallel.take_seed(stacked, seed_index), info


def load_frozen_teacher(cfg):
    """The trained teacher (a ``Learner``) of the run ``cfg.coordinator.teacher_run``, for a distill run.

    ConfigError when that run's environment or teacher differs from ``cfg``'s (the distill
    run's config is built from the teacher run's, so they agree unless overridden).
    """
    import dataclasses

    source, _, _, state, info = load_trained_run(Path(cfg.coordinator.teacher_run))
    for part in ("env", "teacher"):
        a, b = dataclasses.asdict(getattr(source, part)), dataclasses.asdict(getattr(cfg, part))
        diff = [k for k in a if a[k] != b[k]]
        if diff:
            raise ConfigError(f"{part}.{diff[0]}={b[diff[0]]!r} differs from the teacher run's {a[diff[0]]!r} "
                              f"({info.path}); distil with the teacher run's {part} settings")
    if not _has_teacher(source):
        raise ConfigError(f"the run {cfg.coordinator.teacher_run} (mode {source.coordinator.mode}) trained no "
                          "LEO teacher to distil; use a run of teacher-as-teacher, teacher-as-actor or dual-leo-pqn")
    return state.teacher


def _has_teacher(cfg) -> bool:
    from leo_teacher.config.modes import MODE_TABLE

    m = MODE_TABLE[cfg.coordinator.mode]
    return m.all_goals_teacher and (m.trains_teacher or m.frozen_teacher)
