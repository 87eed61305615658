"""leo-teacher: goal-conditioned RL by teacher-student distillation with an all-goals LEO teacher."""

__version__ = "0.1.0"
