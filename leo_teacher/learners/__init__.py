"""Student learners behind one protocol (:class:`leo_teacher.learners.base.StudentLearner`)."""

from __future__ import annotations

from leo_teacher.learners.base import StudentHParams, StudentLearner
from leo_teacher.learners.distill import DistillLearner
from leo_teacher.learners.ppo import PPOLearner
from leo_teacher.learners.pqn import PQNLearner

LEARNERS = {"ppo": PPOLearner, "pqn": PQNLearner, "distill": DistillLearner}


def make_learner(algorithm: str, config, dist, goal_reps, num_students: int) -> StudentLearner:
    """The student algorithm named by the mode (``Mode.student_algorithm``)."""
    return LEARNERS[algorithm](config, dist, goal_reps, num_students)


__all__ = ["LEARNERS", "DistillLearner", "PPOLearner", "PQNLearner", "StudentHParams", "StudentLearner", "make_learner"]
