"""Checks of values that types alone cannot make; each error names the fix."""

from __future__ import annotations

from leo_teacher.config.schema import (
    DISTILL_TARGETS,
    GOAL_INPUTS,
    HER_STRATEGIES,
    EVAL_POLICIES,
    INPUT_NORMS,
    TRACES,
    STUDENT_ARCHITECTURES,
    MODES,
    Config,
    ConfigError,
)


def _divisors_hint(n: int, near: int) -> str:
    divs = [d for d in range(1, n + 1) if n % d == 0]
    best = sorted(divs, key=lambda d: abs(d - near))[:2]
    return " or ".join(str(d) for d in sorted(best))


def validate(cfg: Config) -> None:
    """Check values that types alone cannot; raise ConfigError with the fix."""
    c = cfg.coordinator
    if c.mode not in MODES:
        raise ConfigError(f"unknown mode {c.mode!r}; valid modes: {', '.join(MODES)}")
    if c.distill_target not in DISTILL_TARGETS:
        raise ConfigError(
            f"unknown coordinator.distill_target {c.distill_target!r}; valid: "
            f"{', '.join(DISTILL_TARGETS)}"
        )
    for name in cfg.per_student:
        if name not in cfg.student_names:
            raise ConfigError(
                f"per_student.{name}: {name!r} is not a student of this run (students: "
                f"{', '.join(cfg.student_names)}); name one of them or drop the setting"
            )
        target = cfg.coordinator_for(name).distill_target
        if target not in DISTILL_TARGETS:
            raise ConfigError(
                f"unknown per_student.{name}.distill_target {target!r}; valid: {', '.join(DISTILL_TARGETS)}"
            )
    if cfg.student.goal_input not in GOAL_INPUTS:
        raise ConfigError(
            f"unknown student.goal_input {cfg.student.goal_input!r}; valid: {', '.join(GOAL_INPUTS)}"
        )
    for key, value, valid in (("teacher.input_norm", cfg.teacher.input_norm, INPUT_NORMS),
                              ("student.architecture", cfg.student.architecture, STUDENT_ARCHITECTURES),
                              ("run.eval_policy", cfg.run.eval_policy, EVAL_POLICIES),
                              ("teacher.trace", cfg.teacher.trace, TRACES)):
        if value not in valid:
            raise ConfigError(f"unknown {key} {value!r}; valid: {', '.join(valid)}")
    if cfg.teacher.her_strategy not in HER_STRATEGIES:
        raise ConfigError(
            f"unknown teacher.her_strategy {cfg.teacher.her_strategy!r}; valid: {', '.join(HER_STRATEGIES)}"
        )
    if cfg.teacher.relabel_count < 0:
        raise ConfigError(f"teacher.relabel_count={cfg.teacher.relabel_count} must be >= 0")
    positive = {
        "env.num_envs": cfg.env.num_envs,
        "env.rollout_steps": cfg.env.rollout_steps,
        "teacher.minibatch_size": cfg.teacher.minibatch_size,
        "student.minibatch_size": cfg.student.minibatch_size,
        "teacher.width": cfg.teacher.width,
        "student.width": cfg.student.width,
        "run.log_every": cfg.run.log_every,
        "run.eval_repeats": cfg.run.eval_repeats,
        "run.eval_max_steps": cfg.run.eval_max_steps,
        "run.num_seeds": cfg.run.num_seeds,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key}={value} must be positive")
    if cfg.run.devices < 0:
        raise ConfigError(f"run.devices={cfg.run.devices} must be >= 0 (0: all devices)")
    if cfg.run.total_steps < 0:
        raise ConfigError(f"run.total_steps={cfg.run.total_steps} must be >= 0")
    if cfg.run.checkpoint_every < 0:
        raise ConfigError(
            f"run.checkpoint_every={cfg.run.checkpoint_every} must be >= 0 (0: only at the end)"
        )
    n = cfg.rollout_size
    for part in ("teacher", "student"):
        mb = getattr(cfg, part).minibatch_size
        if n % mb:
            raise ConfigError(
                f"{part}.minibatch_size={mb} does not divide the rollout size "
                f"env.num_envs*env.rollout_steps={n}; use a divisor such as {_divisors_hint(n, mb)}"
            )
    if cfg.run.total_steps and cfg.run.total_steps < n:
        raise ConfigError(
            f"run.total_steps={cfg.run.total_steps} is less than one rollout ({n} steps); "
            f"raise --total-steps or lower env.num_envs / env.rollout_steps"
        )
    for key in ("teacher.epochs", "student.epochs"):
        part, name = key.split(".")
        if getattr(getattr(cfg, part), name) < 0:
            raise ConfigError(f"{key} must be >= 0")
    if not 0.0 <= cfg.env.wall_prob < 1.0:
        raise ConfigError(f"env.wall_prob={cfg.env.wall_prob} must be in [0, 1)")




def check_students(cfg: Config) -> None:
    """The run's students can share the env batch and its rollout equally."""
    from leo_teacher.config.modes import MODE_TABLE

    names = cfg.student_names
    if not names:
        raise ConfigError("student.name is empty; name at least one student, e.g. --student mlp")
    k, num_envs = len(names), cfg.env.num_envs
    if num_envs % k:
        raise ConfigError(
            f"env.num_envs={num_envs} cannot be shared equally by {k} students; use a multiple of {k}"
        )
    per_student = num_envs // k * cfg.env.rollout_steps
    mb = cfg.student.minibatch_size
    trains_student = MODE_TABLE[cfg.coordinator.mode].trains_student and cfg.student.epochs > 0
    if trains_student and per_student % mb:
        raise ConfigError(
            f"student.minibatch_size={mb} does not divide each student's rollout share "
            f"({per_student} = env.num_envs/{k} * env.rollout_steps); use a divisor of {per_student}"
        )


def check_action_space(cfg: Config, continuous: bool, env_name: str) -> None:
    """Modes and distillation targets that need discrete actions are refused on continuous envs."""
    from leo_teacher.config.modes import MODE_TABLE

    mode = cfg.coordinator.mode
    if cfg.teacher.trace == "watkins" and (continuous or not MODE_TABLE[mode].all_goals_teacher):
        raise ConfigError(
            f"teacher.trace=watkins cuts traces at non-greedy discrete actions: it needs the discrete LEO "
            f"teacher, not mode {mode} on {env_name}; use teacher.trace=peng (or teacher.td_lambda=0)"
        )
    if not continuous:
        return
    if MODE_TABLE[mode].student_algorithm == "pqn":
        raise ConfigError(
            f"mode {mode} needs discrete actions (a PQN student); on the continuous env {env_name} "
            "use teacher-as-teacher, teacher-as-actor, student-only, random, pqn, pqn-her or "
            "all-goals-relabel"
        )
    mode_distils = MODE_TABLE[mode].distils and cfg.student.epochs > 0
    for name in cfg.student_names:
        c = cfg.coordinator_for(name)
        if mode_distils and (c.distill_coef > 0 or c.value_distill_coef > 0) and c.distill_target not in ("kl", "argmax"):
            raise ConfigError(
                f"distill_target {c.distill_target!r} (student {name}) needs discrete actions; on "
                f"{env_name} use kl (KL to N(teacher action, distill_tau^2)) or argmax (the "
                "teacher action's log-likelihood)"
            )
