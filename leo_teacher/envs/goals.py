"""The one goal-set interface shared by every environment.

A goal set is a fixed, ordered list of named goals. It answers, for a batch of flat
observations, which goals are achieved (``achieved(obs) -> [B, G] bool``) and gives each goal
a representation vector that goal-conditioned students read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import jax.numpy as jnp
import numpy as np


def goal_families(names: Sequence[str]) -> list[str]:
    """The family of each goal: its name up to the first '/' ("inventory/wood_3" -> "inventory")."""
    return [n.split("/", 1)[0] if "/" in n else n for n in names]


@dataclass(frozen=True, eq=False)
class GoalSet:
    """Base goal set: names in a fixed order, per-goal representations, and reachability.

    Subclasses implement :meth:`achieved`. ``reachable`` marks the goals that can be achieved
    at all from the start state (``None`` when unknown, then every goal counts as reachable).
    """

    names: tuple[str, ...]
    reps: np.ndarray  # [G, D] float32, what a student sees of a goal
    reachable: np.ndarray | None = field(default=None)

    @property
    def num_goals(self) -> int:
        return len(self.names)

    @property
    def rep_dim(self) -> int:
        return int(self.reps.shape[-1])

    def reachable_mask(self) -> np.ndarray:
        """Boolean [G]; all True when reachability is unknown."""
        if self.reachable is None:
            return np.ones(self.num_goals, dtype=bool)
        return np.asarray(self.reachable, dtype=bool)

    def achieved(self, obs: jnp.ndarray) -> jnp.ndarray:
        """Which goals hold in each observation: flat obs [B, D] -> [B, G] bool."""
        raise NotImplementedError

    def check_compatible(self, names: Sequence[str]) -> None:
        """Raise ValueError naming the first difference when ``names`` is another goal set."""
        names = tuple(names)
        if names == self.names:
            return
        if len(names) != len(self.names):
            raise ValueError(
                f"goal set mismatch: expected {len(self.names)} goals, got {len(names)}; "
                "use the environment the artifact or checkpoint was made for"
            )
        i = next(i for i, (a, b) in enumerate(zip(names, self.names)) if a != b)
        raise ValueError(
            f"goal set mismatch at index {i}: expected {self.names[i]!r}, got {names[i]!r}; "
            "use the environment the artifact or checkpoint was made for"
        )


@dataclass(frozen=True, eq=False)
class MaskGoalSet(GoalSet):
    """Goals that are binary masks over the flat observation.

    A goal is achieved when its mask touches an active feature: one matrix product,
    ``(obs @ masks.T) > 0``, for the whole batch and all goals at once.
    """

    masks: np.ndarray | None = None  # [G, D] float32 with 0/1 entries

    def __post_init__(self):
        if self.masks is None:
            raise ValueError("MaskGoalSet needs masks of shape [G, obs_dim]")
        if self.masks.shape[0] != len(self.names):
            raise ValueError(
                f"MaskGoalSet has {len(self.names)} names but {self.masks.shape[0]} masks"
            )
        empty = np.flatnonzero(self.masks.sum(axis=1) == 0)
        if empty.size:
            raise ValueError(f"goal masks are empty for goals {[self.names[i] for i in empty[:5]]}")

    def achieved(self, obs: jnp.ndarray) -> jnp.ndarray:
        masks = jnp.asarray(self.masks, dtype=obs.dtype)
        return (obs @ masks.T) > 0.5


@dataclass(frozen=True, eq=False)
class DistanceGoalSet(GoalSet):
    """Goals that are target positions: achieved when a position read from the observation lies
    within ``radius`` of the goal's target (continuous-control tasks, e.g. the Brax reacher).

    ``position_slice`` (start, stop) says where the position sits in the flat observation;
    ``targets`` [G, P] are in the same units. One broadcast distance for the whole batch.
    """

    targets: np.ndarray | None = None  # [G, P] float32
    position_slice: tuple[int, int] = (0, 2)
    radius: float = 0.1

    def __post_init__(self):
        if self.targets is None or self.targets.shape[0] != len(self.names):
            raise ValueError(f"DistanceGoalSet needs targets of shape [{len(self.names)}, P]")
        start, stop = self.position_slice
        if stop - start != self.targets.shape[1]:
            raise ValueError(
                f"position_slice {self.position_slice} has {stop - start} entries but targets have "
                f"{self.targets.shape[1]}"
            )

    def achieved(self, obs: jnp.ndarray) -> jnp.ndarray:
        start, stop = self.position_slice
        pos = obs[..., start:stop].astype(jnp.float32)
        d2 = jnp.sum(jnp.square(pos[..., None, :] - jnp.asarray(self.targets)), axis=-1)
        return d2 < self.radius**2
