"""Teachers behind one protocol (:class:`leo_teacher.teachers.base.Teacher`), chosen by one factory."""

from __future__ import annotations

from leo_teacher.config import Config
from leo_teacher.config.modes import Mode
from leo_teacher.teachers.actor_critic import AllGoalsActorCriticTeacher, GoalTD3Teacher
from leo_teacher.teachers.base import Teacher
from leo_teacher.teachers.goal_q import GoalQTeacher
from leo_teacher.teachers.leo import LeoTeacher

# (continuous actions, all-goals teacher) -> the teacher's class
TEACHERS = {
    (False, True): LeoTeacher,
    (False, False): GoalQTeacher,
    (True, True): AllGoalsActorCriticTeacher,
    (True, False): GoalTD3Teacher,
}


def make_teacher(config: Config, env, mode: Mode, gamma: float) -> Teacher:
    """The teacher for ``mode`` on ``env``'s action space, discounting by ``gamma``."""
    cls = TEACHERS[(bool(env.continuous), mode.all_goals_teacher)]
    if mode.all_goals_teacher:
        return cls.build(config, env, gamma)
    return cls.build(config, env, gamma, mode.relabel)


__all__ = ["TEACHERS", "Teacher", "make_teacher", "LeoTeacher", "GoalQTeacher", "AllGoalsActorCriticTeacher",
           "GoalTD3Teacher"]
