"""leo-teacher: goal-conditioned RL by teacher-student distillation with an all-goals LEO teacher.

``from leo_teacher import load_policy`` loads an exported policy artifact; it is imported lazily
and needs only numpy and jax (not flax, optax or equinox), so deployment code stays light.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_policy"]


def __getattr__(name: str):
    # PEP 562 lazy attribute: importing the package does not import the loader (or jax).
    if name == "load_policy":
        from leo_teacher.artifact.policy import load_policy

        return load_policy
    raise AttributeError(f"module 'leo_teacher' has no attribute {name!r}")
