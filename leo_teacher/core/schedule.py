"""The schedule: the run's mode plus the coefficients that change over iterations.

Static decisions come from the mode's record (:mod:`leo_teacher.config.modes`); the schedule adds
what the config sets around them (epochs, the teacher's discount, exploration and distillation
annealing) and computes the per-iteration coefficients inside the jitted iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from leo_teacher.config import Config
from leo_teacher.config.modes import MODE_TABLE, Mode


@dataclass(frozen=True)
class Schedule:
    """The mode plus the per-iteration coefficients (epsilon, distillation scale)."""

    mode: Mode
    train_teacher: bool
    train_student: bool
    distill_target: str
    distill_coef: float
    value_distill_coef: float
    distill_tau: float
    anneal_distill: bool
    teacher_warmup_iterations: int
    teacher_gamma: float
    eps_start: float
    eps_end: float
    eps_decay_iterations: int
    num_iterations: int
    teacher_act_start: float = 0.0
    teacher_act_iterations: int = 1

    @classmethod
    def from_config(cls, config: Config, student: str | None = None) -> "Schedule":
        """The run's schedule; with ``student``, with that student's distillation options
        (``config.per_student``, see :meth:`Config.coordinator_for`)."""
        c = config.coordinator if student is None else config.coordinator_for(student)
        mode = MODE_TABLE[c.mode]
        gamma = config.teacher.gamma
        if gamma is None:  # the teacher acting alone discounts less (DESIGN §1)
            gamma = 0.99 if mode.actor == "teacher" else 0.995
        n = config.num_iterations
        return cls(
            mode=mode,
            train_teacher=mode.trains_teacher and config.teacher.epochs > 0,
            train_student=mode.trains_student and config.student.epochs > 0,
            distill_target=c.distill_target,
            distill_coef=c.distill_coef if mode.distils else 0.0,
            value_distill_coef=c.value_distill_coef if mode.distils else 0.0,
            distill_tau=c.distill_tau,
            anneal_distill=c.anneal_distill,
            teacher_warmup_iterations=c.teacher_warmup_iterations,
            teacher_gamma=float(gamma),
            eps_start=config.teacher.eps_start,
            eps_end=config.teacher.eps_end,
            eps_decay_iterations=max(1, int(config.teacher.eps_decay_fraction * n)),
            num_iterations=max(1, n),
            teacher_act_start=c.teacher_act_start,
            teacher_act_iterations=max(1, int(c.teacher_act_fraction * n)),
        )

    @property
    def distils(self) -> bool:
        return self.train_student and (self.distill_coef > 0 or self.value_distill_coef > 0)

    @property
    def needs_student(self) -> bool:
        """Whether rollouts must run the students (they act or learn)."""
        return self.mode.actor == "student" or self.train_student

    def epsilon(self, iteration: jnp.ndarray) -> jnp.ndarray:
        """Exploration rate of epsilon-greedy actors: linear from eps_start to eps_end, then constant."""
        frac = jnp.clip(iteration / self.eps_decay_iterations, 0.0, 1.0)
        return self.eps_start + frac * (self.eps_end - self.eps_start)

    def teacher_share(self, iteration: jnp.ndarray) -> jnp.ndarray:
        """Probability that the frozen teacher acts (distill modes): linear from teacher_act_start to 0."""
        return self.teacher_act_start * jnp.clip(1.0 - iteration / self.teacher_act_iterations, 0.0, 1.0)

    def distill_scale(self, iteration: jnp.ndarray) -> jnp.ndarray:
        """Multiplier on the distillation coefficients: 0 in warm-up, optionally annealed."""
        scale = jnp.where(iteration < self.teacher_warmup_iterations, 0.0, 1.0)
        if self.anneal_distill:
            scale = scale * jnp.clip(1.0 - iteration / self.num_iterations, 0.0, 1.0)
        return scale
