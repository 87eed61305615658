"""The built-in gridworld (DESIGN §2): the embedded default, trains in minutes on a CPU.

An N x N map with walls drawn once from a fixed map seed, the agent starting at the centre,
4 moves, fixed-length episodes whose step counter starts at a random value so that a batch of
envs desynchronises. The observation is the one-hot position; one goal per free cell,
"position/x-y", whose mask is that cell's one-hot.
"""

from __future__ import annotations

from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from leo_teacher.envs.base import ObsSpec, StepResult, start_steps
from leo_teacher.envs.goals import MaskGoalSet

# (dy, dx) for up, right, down, left
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int32)
ACTION_NAMES = ("up", "right", "down", "left")


@struct.dataclass
class GridState:
    pos: jnp.ndarray  # [B, 2] int32 (row, col)
    t: jnp.ndarray  # [B] int32 step counter within the episode


def make_walls(size: int, wall_prob: float, map_seed: int) -> np.ndarray:
    """Static wall map [size, size] bool; the centre start cell is always free."""
    rng = np.random.default_rng(map_seed)
    walls = rng.random((size, size)) < wall_prob
    walls[size // 2, size // 2] = False
    return walls


def reachable_cells(walls: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Breadth-first search over free cells from ``start``; [size, size] bool."""
    size = walls.shape[0]
    seen = np.zeros_like(walls, dtype=bool)
    seen[start] = True
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < size and 0 <= nc < size and not walls[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                queue.append((nr, nc))
    return seen


class GridWorld:
    """Batched gridworld implementing :class:`leo_teacher.envs.base.Env`."""

    name = "gridworld"
    num_actions = 4
    continuous = False

    def __init__(
        self,
        size: int = 16,
        wall_prob: float = 0.3,
        map_seed: int = 0,
        episode_length: int = 200,
        random_start_steps: int = 50,
    ):
        if size < 2:
            raise ValueError(f"gridworld size={size} must be at least 2")
        self.size = size
        self.episode_length = episode_length
        self.max_episode_steps = episode_length
        self.random_start_steps = max(1, min(random_start_steps, episode_length))
        self.walls = make_walls(size, wall_prob, map_seed)
        self.start = (size // 2, size // 2)
        self.obs_spec = ObsSpec(size=size * size, binary=True, one_hot=True)

        free = np.argwhere(~self.walls)  # row-major order
        cells = free[:, 0] * size + free[:, 1]
        masks = np.zeros((len(cells), size * size), dtype=np.float32)
        masks[np.arange(len(cells)), cells] = 1.0
        reach = reachable_cells(self.walls, self.start)
        self.goal_cells = free
        self.goal_set = MaskGoalSet(
            names=tuple(f"position/{c}-{r}" for r, c in free),
            reps=masks,
            reachable=reach[free[:, 0], free[:, 1]],
            masks=masks,
        )
        self._walls = jnp.asarray(self.walls)
        self._moves = jnp.asarray(MOVES)

    def _obs(self, pos: jnp.ndarray) -> jnp.ndarray:
        return jax.nn.one_hot(pos[:, 0] * self.size + pos[:, 1], self.size * self.size)

    def reset(self, rng: jax.Array, num_envs: int, evaluation: bool = False):
        pos = jnp.broadcast_to(jnp.asarray(self.start, dtype=jnp.int32), (num_envs, 2))
        t = start_steps(rng, num_envs, self.random_start_steps, evaluation)
        return GridState(pos=pos, t=t), self._obs(pos)

    def step(self, rng: jax.Array, state: GridState, action: jnp.ndarray):
        del rng  # deterministic dynamics
        target = jnp.clip(state.pos + self._moves[action], 0, self.size - 1)
        blocked = self._walls[target[:, 0], target[:, 1]]
        pos = jnp.where(blocked[:, None], state.pos, target)
        t = state.t + 1
        end = t >= self.episode_length
        next_obs = self._obs(pos)
        start = jnp.asarray(self.start, dtype=jnp.int32)
        # Reset ended episodes at step 0: desynchronisation came from the first reset already.
        pos = jnp.where(end[:, None], start, pos)
        t = jnp.where(end, 0, t)
        new_state = GridState(pos=pos, t=t)
        return new_state, StepResult(obs=self._obs(pos), next_obs=next_obs, episode_end=end)

    def render(self, state: GridState, index: int = 0, goal: int | None = None, scale: int = 12):
        """RGB frame of env ``index``: walls dark, goal cell green, agent red."""
        img = np.full((self.size, self.size, 3), 235, dtype=np.uint8)
        img[self.walls] = (40, 40, 60)
        if goal is not None:
            r, c = self.goal_cells[goal]
            img[r, c] = (60, 180, 75)
        r, c = np.asarray(state.pos[index])
        img[r, c] = (220, 40, 40)
        return np.kron(img, np.ones((scale, scale, 1), dtype=np.uint8))
