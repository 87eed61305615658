"""The Student protocol and the registry that finds students by name or import path.

A student is framework-agnostic: it exposes ``init(rng, obs, goal) -> params`` and
``apply(params, obs, goal) -> (logits, value)`` over any params pytree, so Flax, Equinox or
hand-written JAX students plug in alike. ``goal`` is the goal's representation vector from the
goal set; ``value`` is in [0, 1] (a discounted single success).

For continuous actions (``spec.continuous``, e.g. the Brax reacher) the policy output is a
diagonal Gaussian, ``(mean [B, D], log_std [B, D])`` concatenated to [B, 2D] with
D = ``spec.num_actions`` the action dimension; actions live in [-1, 1]^D (the env clips
samples, the greedy action is the clipped mean). The built-ins learn a state-independent
log_std vector (started at ``student.log_std_init``), as is usual for PPO.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

from leo_teacher.envs.base import ObsSpec


@dataclass(frozen=True)
class StudentSpec:
    """What a student needs to know about the environment to build itself."""

    obs_spec: ObsSpec
    num_actions: int
    num_goals: int
    goal_dim: int
    continuous: bool = False  # continuous actions: num_actions is the action dimension D

    @property
    def policy_size(self) -> int:
        """Width of the policy output: A logits, or a Gaussian's mean and log_std (2D)."""
        return 2 * self.num_actions if self.continuous else self.num_actions


@runtime_checkable
class Student(Protocol):
    """A goal-conditioned policy with a value head, over a params pytree."""

    def init(self, rng: jax.Array, obs: jnp.ndarray, goal: jnp.ndarray) -> Any:
        """Parameters for observations [B, D] and goal representations [B, Dg]."""
        ...

    def apply(self, params: Any, obs: jnp.ndarray, goal: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(action logits [B, A] or Gaussian (mean, log_std) [B, 2D], value [B] in [0, 1])."""
        ...


# name -> factory(student_config, spec) -> Student
StudentFactory = Callable[[Any, StudentSpec], Student]
_REGISTRY: dict[str, StudentFactory] = {}


def register_student(name: str) -> Callable[[StudentFactory], StudentFactory]:
    """Decorator: register ``factory(config, spec) -> Student`` under ``name``."""

    def wrap(factory: StudentFactory) -> StudentFactory:
        _REGISTRY[name] = factory
        return factory

    return wrap


def available_students() -> list[str]:
    return sorted(_REGISTRY)


def resolve_factory(name: str) -> StudentFactory:
    """A registered name, or an import path ``package.module:attribute``."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ValueError(
                f"cannot import student module {module_name!r} ({e}); check the import path "
                "and that the module is on PYTHONPATH"
            ) from None
        if not hasattr(module, attr):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}; check --student")
        return getattr(module, attr)
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown student {name!r}; valid students: {', '.join(available_students())} "
            "(or an import path like my_pkg.my_module:make_student)"
        )
    return _REGISTRY[name]


def make_student(name: str, config: Any, spec: StudentSpec) -> Student:
    """Build the student called ``name`` and check it follows the protocol."""
    student = resolve_factory(name)(config, spec)
    if not isinstance(student, Student):
        raise ValueError(
            f"student {name!r} must provide init(rng, obs, goal) and apply(params, obs, goal)"
        )
    return student
