"""Pluggable student policies: the Student protocol, a registry and the built-ins."""

from students.base import Student, StudentSpec, available_students, make_student, register_student

# Importing the built-ins registers them.
from students.mlp import FlaxStudent  # noqa: E402
from students.transformer import EquinoxStudent  # noqa: E402

__all__ = [
    "EquinoxStudent",
    "FlaxStudent",
    "Student",
    "StudentSpec",
    "available_students",
    "make_student",
    "register_student",
]
