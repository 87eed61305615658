"""Brax reacher with a finite goal set (DESIGN §2): continuous torques, G fixed target positions.

The two-link arm of Brax's reacher (links 0.1 m and 0.11 m, so the fingertip reaches up to
0.21 m from the base) without Brax's own randomly placed target: the body, its two slide joints
and the target-relative observation entries are removed from the system, so the physics steps a
2-DOF arm only. Goals are G fixed target positions on rings over the reachable disc
("target/RR-AA": ring RR, angle step AA); a goal is achieved when the fingertip is within
``goal_radius`` of its target, a distance test in :class:`leo_teacher.envs.goals.DistanceGoalSet`.

Observation (8 floats): cos q0, cos q1, sin q0, sin q1, joint velocities / 10, fingertip x, y in
units of 0.2 m (``POS_SCALE``), so every feature is of order one for the network's input
normalisation and the goal test reads positions straight from the observation. Actions are the
two joint torques in [-1, 1] (clipped here). Episodes last ``episode_length`` steps of 0.02 s
and start from uniformly random joint angles, so every goal starts from everywhere; a training
reset draws the step counter from [0, random_start_steps) so a batch of envs desynchronises.
Resets draw from a bank of ``BANK_SIZE`` initial states made once (fixed seed) rather than
running Brax's initialisation inside every step: that shortens the step's compile time and
costs nothing per step.

Backend: "spring" by default, the fastest of Brax's three on CPU for this arm (figures in
docs/benchmarks.md, "Brax reacher"). All three are selectable with ``env.backend``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from leo_teacher.envs.base import ObsSpec, StepResult, start_steps
from leo_teacher.envs.goals import DistanceGoalSet

BACKENDS = ("spring", "generalized", "positional")
POS_SCALE = 5.0  # fingertip position in the observation is metres * POS_SCALE (0.2 m -> 1.0)
VEL_SCALE = 0.1  # joint velocities (rad/s) are multiplied by this in the observation
TIP_OFFSET = 0.11  # fingertip position in the second link's frame (Brax's reacher)
REACH = 0.21  # fingertip distance from the base with the arm straight
BANK_SIZE = 4096  # fresh initial states made once; resets draw from them


def reacher_system(backend: str):
    """Brax's reacher system without its target body, set up for ``backend``; (sys, n_frames)."""
    from brax.io import mjcf
    from etils import epath

    if backend not in BACKENDS:
        raise ValueError(f"unknown env.backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    root = ET.fromstring((epath.resource_path("brax") / "envs/assets/reacher.xml").read_text())
    world = root.find("worldbody")
    for body in world.findall("body"):
        if body.get("name") == "target":
            world.remove(body)
    # Per-body/per-joint custom parameters listed three bodies (arm links + target): keep two.
    for num in root.find("custom").findall("numeric"):
        values = num.get("data").split()
        if num.get("name") == "init_qpos":
            num.set("data", "0 0")
        elif num.get("name") in ("constraint_stiffness", "constraint_vel_damping"):
            num.set("data", " ".join(values[:2]))
    sys = mjcf.loads(ET.tostring(root, encoding="unicode"))
    n_frames = 2
    if backend in ("spring", "positional"):
        # Brax's own settings for these backends: smaller time step, gears that match the motion.
        sys = sys.tree_replace({"opt.timestep": 0.005})
        sys = sys.replace(actuator=sys.actuator.replace(gear=jnp.array([25.0, 25.0])))
        n_frames = 4
    return sys, n_frames


def target_positions(rings: int, per_ring: int) -> np.ndarray:
    """Goal targets [rings * per_ring, 2] in metres: rings evenly spaced out to 0.2 m.

    Ring k (1-based) has radius 0.2 * k / rings; alternate rings are turned by half an angle
    step so that neighbouring targets do not line up.
    """
    out = []
    for k in range(1, rings + 1):
        radius = 0.2 * k / rings
        offset = 0.5 * (k % 2)
        for j in range(per_ring):
            angle = 2 * np.pi * (j + offset) / per_ring
            out.append((radius * np.cos(angle), radius * np.sin(angle)))
    return np.asarray(out, dtype=np.float32)


@struct.dataclass
class ReacherState:
    pipeline: object  # the Brax pipeline state, batched [B]
    t: jnp.ndarray  # [B] int32 step counter within the episode


class BraxReacher:
    """Batched Brax reacher implementing :class:`leo_teacher.envs.base.Env` (continuous actions)."""

    name = "brax-reacher"
    continuous = True

    def __init__(self, backend: str = "spring", episode_length: int = 50, random_start_steps: int = 50,
                 goal_rings: int = 3, goals_per_ring: int = 8, goal_radius: float = 0.02):
        if goal_rings < 1 or goals_per_ring < 1:
            raise ValueError("env.goal_rings and env.goals_per_ring must be at least 1")
        if goal_radius <= 0:
            raise ValueError(f"env.goal_radius={goal_radius} must be positive (metres)")
        self.backend = backend
        self.sys, self.n_frames = reacher_system(backend)
        from brax.generalized import pipeline as g_pipeline
        from brax.positional import pipeline as p_pipeline
        from brax.spring import pipeline as s_pipeline

        self._pipeline = {"spring": s_pipeline, "generalized": g_pipeline, "positional": p_pipeline}[backend]
        self.num_actions = 2  # the action dimension: torques of the two joints
        self.episode_length = episode_length
        self.max_episode_steps = episode_length
        self.random_start_steps = max(1, min(random_start_steps, episode_length))
        self.obs_spec = ObsSpec(size=8)
        fresh = jax.jit(self._fresh, static_argnums=1)
        self._bank = fresh(jax.random.PRNGKey(0), BANK_SIZE)
        # Evaluation episodes start from their own bank: states training never starts from.
        self._eval_bank = fresh(jax.random.PRNGKey(1), BANK_SIZE)
        targets = target_positions(goal_rings, goals_per_ring)
        self.targets = targets
        names = tuple(f"target/{k // goals_per_ring:02d}-{k % goals_per_ring:02d}" for k in range(len(targets)))
        scaled = targets * POS_SCALE
        self.goal_set = DistanceGoalSet(
            names=names,
            reps=scaled,  # a student reads the target's coordinates, in observation units
            reachable=np.linalg.norm(targets, axis=1) <= REACH,  # every ring lies inside the disc
            targets=scaled,
            position_slice=(6, 8),
            radius=goal_radius * POS_SCALE,
        )

    # ------------------------------------------------------------------ physics

    def _init_one(self, q: jnp.ndarray):
        return self._pipeline.init(self.sys, q, jnp.zeros_like(q))

    def _step_one(self, pipeline_state, action: jnp.ndarray):
        def frame(s, _):
            return self._pipeline.step(self.sys, s, action), None

        return jax.lax.scan(frame, pipeline_state, (), self.n_frames)[0]

    def _obs(self, pipeline_state) -> jnp.ndarray:
        return jax.vmap(self._obs_one)(pipeline_state)

    def _obs_one(self, pipeline_state) -> jnp.ndarray:
        from brax import base as brax_base

        q, qd = pipeline_state.q, pipeline_state.qd
        # The fingertip: a point TIP_OFFSET along the second link (as Brax's reacher computes it).
        tip = pipeline_state.x.take(1).do(brax_base.Transform.create(pos=jnp.array([TIP_OFFSET, 0.0, 0.0]))).pos
        return jnp.concatenate(
            [jnp.cos(q), jnp.sin(q), VEL_SCALE * qd, POS_SCALE * tip[:2]]
        ).astype(jnp.float32)

    def _fresh(self, rng: jax.Array, num_envs: int):
        """Pipeline states at uniformly random joint angles (joint1 within its +-3 rad range);
        made once, for the bank (:meth:`_draw` picks from it)."""
        q = jax.random.uniform(rng, (num_envs, 2), minval=jnp.array([-jnp.pi, -2.9]),
                               maxval=jnp.array([jnp.pi, 2.9]))
        return jax.vmap(self._init_one)(q)

    def _draw(self, rng: jax.Array, num_envs: int, evaluation: bool = False):
        """``num_envs`` initial states drawn uniformly from the training (or evaluation) bank."""
        idx = jax.random.randint(rng, (num_envs,), 0, BANK_SIZE)
        return jax.tree_util.tree_map(lambda x: x[idx], self._eval_bank if evaluation else self._bank)

    # ------------------------------------------------------------------ Env protocol

    def reset(self, rng: jax.Array, num_envs: int, evaluation: bool = False):
        # Jitted: Brax's initialisation op by op costs tens of seconds on a CPU.
        return self._reset(rng, num_envs, evaluation)

    @partial(jax.jit, static_argnums=(0, 2, 3))
    def _reset(self, rng: jax.Array, num_envs: int, evaluation: bool):
        k_q, k_t = jax.random.split(rng)
        pipeline_state = self._draw(k_q, num_envs, evaluation)
        t = start_steps(k_t, num_envs, self.random_start_steps, evaluation)
        return ReacherState(pipeline=pipeline_state, t=t), self._obs(pipeline_state)

    def step(self, rng: jax.Array, state: ReacherState, action: jnp.ndarray):
        action = jnp.clip(action.astype(jnp.float32), -1.0, 1.0)
        pipeline_state = jax.vmap(self._step_one)(state.pipeline, action)
        next_obs = self._obs(pipeline_state)
        t = state.t + 1
        end = t >= self.episode_length
        # Auto-reset: a fresh state for every env from the bank, kept where the episode ended.
        fresh = self._draw(rng, action.shape[0])
        pick = lambda new, old: jnp.where(end.reshape((-1,) + (1,) * (old.ndim - 1)), new, old)  # noqa: E731
        pipeline_state = jax.tree_util.tree_map(pick, fresh, pipeline_state)
        t = jnp.where(end, 0, t)
        obs = jnp.where(end[:, None], self._obs(pipeline_state), next_obs)
        return ReacherState(pipeline=pipeline_state, t=t), StepResult(obs=obs, next_obs=next_obs, episode_end=end)
