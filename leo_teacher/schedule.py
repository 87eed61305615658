"""The coordinator's schedule: who acts, who learns, and how strongly the teacher teaches.

The training modes are configurations of this one object, not copies of a training loop:

=================== ======== ============= ============= ============
mode                actor    teacher learns student learns distillation
=================== ======== ============= ============= ============
teacher-as-teacher  student  yes           yes (PPO)     yes (Dual LEO)
teacher-as-actor    teacher  yes           no            no (LEO alone)
student-only        student  no            yes (PPO)     no (PPO baseline)
random              random   no            no            no (the floor)
=================== ======== ============= ============= ============

The baselines put a goal-conditioned Q network Q(s, g) -> [A] in the teacher's slot and let it
act alone; they differ only in which goals each transition trains (``relabel``):
``pqn`` the commanded goal, ``pqn-her`` the commanded goal plus hindsight goals,
``all-goals-relabel`` every goal, one network pass per (transition, goal) pair.
``dual-leo-pqn`` is Dual LEO with a PQN student: the student reads its policy head as
Q-logits, learns by TD on its commanded goal plus regression to the teacher's values, and acts
epsilon-greedily on a mix of its own and the teacher's values.
LEO's own ``relabel`` is ``"leo"``: every goal from one pass per transition.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from leo_teacher.config import Config

ACTORS = ("student", "teacher", "random")

RELABELS = ("leo", "commanded", "her", "all")

_MODE_TABLE = {
    # mode: (actor, teacher learns, student learns, distils, relabel, student algorithm)
    "teacher-as-teacher": ("student", True, True, True, "leo", "ppo"),
    "teacher-as-actor": ("teacher", True, False, False, "leo", "ppo"),
    "student-only": ("student", False, True, False, "leo", "ppo"),
    "random": ("random", False, False, False, "leo", "ppo"),
    "pqn": ("teacher", True, False, False, "commanded", "ppo"),
    "pqn-her": ("teacher", True, False, False, "her", "ppo"),
    "all-goals-relabel": ("teacher", True, False, False, "all", "ppo"),
    "dual-leo-pqn": ("student", True, True, True, "leo", "pqn"),
}


@dataclass(frozen=True)
class Schedule:
    """Static decisions plus the per-iteration coefficients (epsilon, distillation scale)."""

    mode: str
    actor: str
    train_teacher: bool
    train_student: bool
    teacher_epochs: int
    student_epochs: int
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
    relabel: str = "leo"
    relabel_count: int = 0
    her_strategy: str = "mixed"
    student_algorithm: str = "ppo"
    teacher_value_weight: float = 0.0

    @classmethod
    def from_config(cfg: type, config: Config, student: str | None = None) -> "Schedule":
        """The run's schedule; with ``student``, with that student's distillation options
        (``config.per_student``, see :meth:`Config.coordinator_for`)."""
        c = config.coordinator if student is None else config.coordinator_for(student)
        actor, train_teacher, train_student, distils, relabel, algo = _MODE_TABLE[c.mode]
        gamma = config.teacher.gamma
        if gamma is None:
            gamma = 0.99 if actor == "teacher" else 0.995
        n = config.num_iterations
        return cfg(
            mode=c.mode,
            actor=actor,
            train_teacher=train_teacher and config.teacher.epochs > 0,
            train_student=train_student and config.student.epochs > 0,
            teacher_epochs=config.teacher.epochs,
            student_epochs=config.student.epochs,
            distill_target=c.distill_target,
            distill_coef=c.distill_coef if distils else 0.0,
            value_distill_coef=c.value_distill_coef if distils else 0.0,
            distill_tau=c.distill_tau,
            anneal_distill=c.anneal_distill,
            teacher_warmup_iterations=c.teacher_warmup_iterations,
            teacher_gamma=float(gamma),
            eps_start=config.teacher.eps_start,
            eps_end=config.teacher.eps_end,
            eps_decay_iterations=max(1, int(config.teacher.eps_decay_fraction * n)),
            num_iterations=max(1, n),
            relabel=relabel,
            relabel_count=config.teacher.relabel_count if relabel == "her" else 0,
            her_strategy=config.teacher.her_strategy,
            student_algorithm=algo,
            teacher_value_weight=c.teacher_value_weight if algo == "pqn" else 0.0,
        )

    def for_student(self, config: Config, student: str) -> "Schedule":
        """This run's schedule as ``student`` sees it (its own distillation options)."""
        return type(self).from_config(config, student)

    @property
    def goal_conditioned_teacher(self) -> bool:
        """Whether the teacher slot holds a goal-conditioned Q network (the baselines)."""
        return self.relabel != "leo"

    @property
    def distils(self) -> bool:
        return self.train_student and (self.distill_coef > 0 or self.value_distill_coef > 0)

    @property
    def needs_teacher_values(self) -> bool:
        """Whether rollouts must run the teacher (it acts, learns or teaches)."""
        return self.actor == "teacher" or self.train_teacher or self.distils

    @property
    def needs_student(self) -> bool:
        return self.actor == "student" or self.train_student

    @property
    def student_is_q_learner(self) -> bool:
        return self.student_algorithm == "pqn"

    def epsilon(self, iteration: jnp.ndarray) -> jnp.ndarray:
        """Teacher's exploration rate: linear from eps_start to eps_end, then constant."""
        frac = jnp.clip(iteration / self.eps_decay_iterations, 0.0, 1.0)
        return self.eps_start + frac * (self.eps_end - self.eps_start)

    def distill_scale(self, iteration: jnp.ndarray) -> jnp.ndarray:
        """Multiplier on the distillation coefficients: 0 in warm-up, optionally annealed."""
        scale = jnp.where(iteration < self.teacher_warmup_iterations, 0.0, 1.0)
        if self.anneal_distill:
            scale = scale * jnp.clip(1.0 - iteration / self.num_iterations, 0.0, 1.0)
        return scale
