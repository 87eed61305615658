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
