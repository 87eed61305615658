"""Checks of values that types alone cannot make; each error names the fix."""

from __future__ import annotations

import math

from leo_teacher.config.schema import (
    DISTILL_TARGETS,
    GOAL_INPUTS,
    GOAL_SAMPLINGS,
    HER_STRATEGIES,
    EVAL_POLICIES,
    INPUT_NORMS,
    TRACES,
    STUDENT_ARCHITECTURES,
    ACTOR_OBJECTIVES,
    OPTIMISERS,
    CRITIC_FEATURES,
    HEAD_GOAL_INPUTS,
    MODES,
    Config,
    ConfigError,
)


def _divisors_hint(n: int, near: int) -> str:
    divs = [d for d in range(1, n + 1) if n % d == 0]
    best = sorted(divs, key=lambda d: abs(d - near))[:2]
    return " or ".join(str(d) for d in sorted(best))


INF = float("inf")
# Every numeric field a user can set: (low, high, low included, high included). One place, so a
# new field gets its range here; validate() refuses nan and values outside (exit status 2).
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "env.num_envs": (0, INF, False, False), "env.rollout_steps": (0, INF, False, False),
    "env.size": (0, INF, False, False), "env.wall_prob": (0, 1, True, False),
    "env.episode_length": (0, INF, False, False), "env.random_start_steps": (0, INF, True, False),
    "env.reset_fraction": (0, 1, True, True), "env.bank_size": (0, INF, False, False),
    "env.goal_rings": (0, INF, False, False), "env.goals_per_ring": (0, INF, False, False),
    "env.goal_radius": (0, INF, False, False), "env.target_grid": (0, INF, False, False),
    "teacher.width": (0, INF, False, False), "teacher.depth": (0, INF, True, False),
    "teacher.lr": (0, INF, False, False), "teacher.max_grad_norm": (0, INF, False, False),
    "teacher.epochs": (0, INF, True, False), "teacher.minibatch_size": (0, INF, False, False),
    "teacher.gamma": (0, 1, True, False), "teacher.td_lambda": (0, 1, True, True),
    "teacher.eps_start": (0, 1, True, True), "teacher.eps_end": (0, 1, True, True),
    "teacher.eps_decay_fraction": (0, 1, True, True), "teacher.conv_features": (-1, INF, True, False),
    "teacher.relabel_count": (0, INF, True, False), "teacher.head_width": (0, INF, False, False),
    "teacher.target_noise": (0, INF, True, False), "teacher.target_noise_clip": (0, INF, True, False),
    "teacher.actor_head_width": (0, INF, True, False), "teacher.unreached_goal_weight": (0, INF, True, False),
    "student.conv_features": (-1, INF, True, False), "student.width": (0, INF, False, False),
    "student.depth": (0, INF, True, False), "student.lr": (0, INF, False, False),
    "student.max_grad_norm": (0, INF, False, False), "student.adam_eps": (0, INF, False, False),
    "student.epochs": (0, INF, True, False), "student.minibatch_size": (0, INF, False, False),
    "student.gamma": (0, 1, True, False), "student.gae_lambda": (0, 1, True, True),
    "student.clip_eps": (0, INF, False, False), "student.entropy_coef": (0, INF, True, False),
    "student.value_coef": (0, INF, True, False), "student.log_std_init": (-INF, INF, False, False),
    "student.token_dim": (0, INF, False, False), "student.num_layers": (0, INF, False, False),
    "student.num_heads": (0, INF, False, False), "student.mlp_ratio": (0, INF, False, False),
    "student.chunk_size": (0, INF, False, False), "student.embedding_layers": (0, INF, True, False),
    "student.actor_layers": (0, INF, True, False), "student.critic_layers": (0, INF, True, False),
    "coordinator.distill_coef": (0, INF, True, False), "coordinator.distill_tau": (0, INF, False, False),
    "coordinator.value_distill_coef": (0, INF, True, False),
    "coordinator.teacher_warmup_iterations": (0, INF, True, False),
    "coordinator.teacher_value_weight": (0, 1, True, True),
    "coordinator.goal_temperature": (0, INF, False, False), "coordinator.goal_floor": (0, 1, True, True),
    "coordinator.teacher_act_start": (0, 1, True, True), "coordinator.teacher_act_fraction": (0, 1, False, True),
    "coordinator.teacher_env_share": (0, 1, True, False),
    "run.total_steps": (0, INF, True, False), "run.log_every": (0, INF, False, False),
    "run.eval_every": (0, INF, True, False), "run.eval_repeats": (0, INF, False, False),
    "run.eval_max_steps": (0, INF, False, False), "run.checkpoint_every": (0, INF, True, False),
    "run.num_seeds": (0, INF, False, False), "run.devices": (0, INF, True, False),
}


def _range_text(low, high, low_in, high_in) -> str:
    if high == INF and low == -INF:
        return "finite"
    if high == INF:
        return "positive" if (low == 0 and not low_in) else f">= {low:g}" if low_in else f"> {low:g}"
    return f"in {'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"


def check_range(key: str, value) -> None:
    """ConfigError unless ``value`` lies in RANGES[key] (nan and inf are never in range)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high, low_in, high_in = RANGES[key]
    ok = math.isfinite(value) and (low < value or (low_in and value == low)) and (
        value < high or (high_in and value == high))
    if not ok:
        raise ConfigError(f"{key}={value} must be {_range_text(low, high, low_in, high_in)}; "
                          f"set it with --set {key}=VALUE")


def check_ranges(cfg: Config) -> None:
    """Every RANGES field of ``cfg``, and the per-student coordinator fields, in range."""
    for key in RANGES:
        section, name = key.split(".")
        check_range(key, getattr(getattr(cfg, section), name))
    for student, values in cfg.per_student.items():
        for name, value in values.items():
            if f"coordinator.{name}" in RANGES:
                try:
                    check_range(f"coordinator.{name}", value)
                except ConfigError as e:
                    raise ConfigError(f"per_student.{student}.{e}") from None


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
    for key, value, valid in (("student.goal_input", cfg.student.goal_input, GOAL_INPUTS),
                              ("teacher.input_norm", cfg.teacher.input_norm, INPUT_NORMS),
                              ("student.architecture", cfg.student.architecture, STUDENT_ARCHITECTURES),
                              ("run.eval_policy", cfg.run.eval_policy, EVAL_POLICIES),
                              ("teacher.trace", cfg.teacher.trace, TRACES),
                              ("teacher.her_strategy", cfg.teacher.her_strategy, HER_STRATEGIES),
                              ("teacher.actor_objective", cfg.teacher.actor_objective, ACTOR_OBJECTIVES),
                              ("teacher.optimisers", cfg.teacher.optimisers, OPTIMISERS),
                              ("teacher.critic_features", cfg.teacher.critic_features, CRITIC_FEATURES),
                              ("teacher.head_goal_input", cfg.teacher.head_goal_input, HEAD_GOAL_INPUTS)):
        if value not in valid:
            raise ConfigError(f"unknown {key} {value!r}; valid: {', '.join(valid)}")
    t = cfg.teacher
    if t.head_goal_input == "representation" and (t.critic_features != "shared" or t.actor_head_width):
        raise ConfigError(
            "teacher.head_goal_input=representation replaces the per-goal heads, so teacher.critic_features="
            f"{t.critic_features} and teacher.actor_head_width={t.actor_head_width} would be ignored; "
            "leave them at shared and 0"
        )
    if cfg.teacher.relabel_count < 0:
        raise ConfigError(f"teacher.relabel_count={cfg.teacher.relabel_count} must be >= 0")
    check_goal_sampling(cfg)
    check_frozen_teacher(cfg)
    check_ranges(cfg)
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


def check_goal_sampling(cfg: Config) -> None:
    """A known sampler; frontier only where an all-goals teacher computes every goal's value while acting."""
    from leo_teacher.config.modes import MODE_TABLE

    c = cfg.coordinator
    if c.goal_sampling not in GOAL_SAMPLINGS:
        raise ConfigError(f"unknown coordinator.goal_sampling {c.goal_sampling!r}; valid: {', '.join(GOAL_SAMPLINGS)}")
    m = MODE_TABLE[c.mode]
    runs_teacher = m.actor == "teacher" or m.trains_teacher or m.distils
    if c.goal_sampling == "frontier" and not (m.all_goals_teacher and runs_teacher):
        raise ConfigError(
            f"coordinator.goal_sampling=frontier reads every goal's value from an all-goals teacher while "
            f"acting, which mode {c.mode} does not compute; use uniform-seen or progress"
        )


def check_frozen_teacher(cfg: Config) -> None:
    """The distill modes name the run their teacher comes from; only they can let it act."""
    from leo_teacher.config.modes import MODE_TABLE

    c = cfg.coordinator
    frozen = MODE_TABLE[c.mode].frozen_teacher
    if frozen and not c.teacher_run:
        raise ConfigError(f"mode {c.mode} distils a trained teacher: use python -m leo_teacher.distill RUN_DIR "
                          "(or set coordinator.teacher_run=RUN_DIR)")
    if c.teacher_act_start > 0 and not frozen:
        raise ConfigError(f"coordinator.teacher_act_start={c.teacher_act_start} lets a frozen teacher act, which "
                          f"only modes distill and distill-ppo have; set it to 0 for mode {c.mode}")
    mode = MODE_TABLE[c.mode]
    if c.teacher_env_share > 0 and not (mode.actor == "student" and mode.trains_teacher):
        raise ConfigError(f"coordinator.teacher_env_share={c.teacher_env_share} gives a learning teacher envs of "
                          f"its own beside acting students, which mode {c.mode} does not have; use "
                          "teacher-as-teacher or dual-leo-pqn, or set it to 0")


def check_students(cfg: Config) -> None:
    """The run's students can share the env batch and its rollout equally."""
    from leo_teacher.config.modes import MODE_TABLE

    names = cfg.student_names
    if not names:
        raise ConfigError("student.name is empty; name at least one student, e.g. --student mlp")
    k, num_envs, teacher_envs = len(names), cfg.env.num_envs, cfg.teacher_envs
    if cfg.coordinator.teacher_env_share > 0 and not 0 < teacher_envs < num_envs:
        raise ConfigError(
            f"coordinator.teacher_env_share={cfg.coordinator.teacher_env_share} of env.num_envs={num_envs} gives the "
            f"teacher {teacher_envs} envs; choose a share that leaves it at least one and the students at least one"
        )
    if (num_envs - teacher_envs) % k:
        less = f" less the teacher's {teacher_envs} (coordinator.teacher_env_share)" if teacher_envs else ""
        raise ConfigError(f"env.num_envs={num_envs}{less} cannot be shared equally by {k} students; "
                          f"make it a multiple of {k}")
    per_student = (num_envs - teacher_envs) // k * cfg.env.rollout_steps
    mb = cfg.student.minibatch_size
    trains_student = MODE_TABLE[cfg.coordinator.mode].trains_student and cfg.student.epochs > 0
    if trains_student and per_student % mb:
        raise ConfigError(
            f"student.minibatch_size={mb} does not divide each student's rollout share "
            f"({per_student} = {num_envs - teacher_envs} envs/{k} * env.rollout_steps); use a divisor of {per_student}"
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
    if cfg.teacher.input_norm == "batch_renorm":
        raise ConfigError(
            f"teacher.input_norm=batch_renorm keeps running statistics only in the discrete teachers; on the "
            f"continuous env {env_name} use teacher.input_norm=layer_norm or none"
        )
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
