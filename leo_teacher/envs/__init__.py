"""Environments by name; each exposes the batched Env protocol and a goal set."""

from __future__ import annotations

from leo_teacher.config import ENV_NAMES
from leo_teacher.envs.base import Env, ObsSpec, StepResult


def make_env(cfg) -> Env:
    """Build the environment described by an :class:`leo_teacher.config.EnvConfig`."""
    if cfg.name == "gridworld":
        from leo_teacher.envs.gridworld import GridWorld

        return GridWorld(cfg.size, cfg.wall_prob, cfg.map_seed, cfg.episode_length, cfg.random_start_steps)
    if cfg.name in ("craftax-classic", "craftax"):
        from leo_teacher.envs.craftax import make_craftax_env

        options = dict(reset_fraction=cfg.reset_fraction, bank_size=cfg.bank_size)
        if cfg.reset_scheme != "auto":
            options["reset_scheme"] = cfg.reset_scheme
        return make_craftax_env(cfg.name, **options)
    if cfg.name == "brax-reacher":
        from leo_teacher.envs.brax_reacher import BraxReacher

        return BraxReacher(cfg.backend, cfg.episode_length, cfg.random_start_steps, cfg.goal_rings,
                           cfg.goals_per_ring, cfg.goal_radius)
    if cfg.name == "point-mass":
        from leo_teacher.envs.point_mass import PointMass

        return PointMass(cfg.episode_length, cfg.random_start_steps, cfg.target_grid, cfg.goal_radius, cfg.stop_on_goal)
    raise ValueError(f"unknown env {cfg.name!r}; valid envs: {', '.join(ENV_NAMES)}")


__all__ = ["Env", "ObsSpec", "StepResult", "ENV_NAMES", "make_env"]
