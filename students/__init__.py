"""Pluggable student policies: the Student protocol, a registry and the built-ins."""

from students.base import Student, StudentSpec, available_students, make_student, register_student

# Importing the built-ins registers them.
from students import mlp as _mlp  # noqa: F401,E402

__all__ = ["Student", "StudentSpec", "available_students", "make_student", "register_student"]
