"""The training modes: each a named record of who acts, who learns and how (DESIGN §1).

A mode is a configuration of the one coordinator, never a copy of a training script. The
baselines put a goal-conditioned learner in the teacher's slot: ``pqn`` trains it on the
commanded goal only, ``pqn-her`` adds hindsight goals, ``all-goals-relabel`` trains every goal
with one network pass per (transition, goal) pair. ``dual-leo-pqn`` is Dual LEO with a PQN
student: it reads its policy head as Q-logits, learns by TD on its commanded goal plus
regression to the teacher's values, and acts epsilon-greedily on a mix of both. ``distill``
and ``distill-ppo`` train new students from the frozen teacher of a finished run
(``python -m leo_teacher.distill``): distillation only, or PPO plus distillation.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTORS = ("student", "teacher", "random")
# Which goals the teacher slot trains per transition: "all-goals" is LEO (every goal from one
# pass); the others are goal-conditioned: the commanded goal, plus hindsight goals, or every goal.
RELABELS = ("all-goals", "commanded", "her", "all")
STUDENT_ALGORITHMS = ("ppo", "pqn", "distill")


@dataclass(frozen=True)
class Mode:
    """One training mode."""

    name: str
    actor: str  # one of ACTORS: who chooses the actions of the rollout
    trains_teacher: bool
    trains_student: bool
    distils: bool  # the student's loss includes the distillation terms towards the teacher
    relabel: str = "all-goals"  # one of RELABELS
    student_algorithm: str = "ppo"  # one of STUDENT_ALGORITHMS
    # the teacher comes trained from another run (coordinator.teacher_run) and stays frozen
    frozen_teacher: bool = False

    @property
    def all_goals_teacher(self) -> bool:
        """Whether the teacher slot holds an all-goals (LEO) teacher."""
        return self.relabel == "all-goals"


MODE_TABLE: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("teacher-as-teacher", "student", trains_teacher=True, trains_student=True, distils=True),
        Mode("teacher-as-actor", "teacher", trains_teacher=True, trains_student=False, distils=False),
        Mode("student-only", "student", trains_teacher=False, trains_student=True, distils=False),
        Mode("random", "random", trains_teacher=False, trains_student=False, distils=False),
        Mode("pqn", "teacher", trains_teacher=True, trains_student=False, distils=False, relabel="commanded"),
        Mode("pqn-her", "teacher", trains_teacher=True, trains_student=False, distils=False, relabel="her"),
        Mode("all-goals-relabel", "teacher", trains_teacher=True, trains_student=False, distils=False,
             relabel="all"),
        Mode("dual-leo-pqn", "student", trains_teacher=True, trains_student=True, distils=True,
             student_algorithm="pqn"),
        Mode("distill", "student", trains_teacher=False, trains_student=True, distils=True,
             student_algorithm="distill", frozen_teacher=True),
        Mode("distill-ppo", "student", trains_teacher=False, trains_student=True, distils=True,
             frozen_teacher=True),
    )
}
MODES = tuple(MODE_TABLE)
