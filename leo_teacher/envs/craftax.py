"""Craftax-Classic-Symbolic and Craftax-Symbolic behind the batched Env protocol, with fast resets.

Craftax's own auto-reset generates a whole new world for every env on every step and drops
throughput to a few hundred steps/s (DESIGN §4). Two cheaper schemes, both batched:

- ``"optimistic"``: on a step where some episode ended, R = ceil(reset_fraction * B) fresh
  worlds are generated and the ended envs take them in turn (if more than R end on one step,
  some share a world). No generation at all on a step where nothing ended.
- ``"bank"``: the state carries a bank of ``bank_size`` pre-generated worlds. On a step where
  some episode ended, ``bank_refresh`` new worlds overwrite the oldest bank slots, then the
  ended envs copy R worlds drawn at random from the bank. A world may thus start several
  episodes (about ended-per-step / bank_refresh on average), for much less generation.

Observations are the one-hot encoding of :mod:`leo_teacher.envs.craftax_obs`. Environment
params are closed over, not traced; reset and step return states with identical dtypes and no
weak types, so a jitted loop never recompiles when fed one after the other (DESIGN §4).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from craftax.craftax_env import make_craftax_env_from_name
from flax import struct

from leo_teacher.envs.base import ObsSpec, StepResult
from leo_teacher.envs.craftax_obs import encoder, layout, make_goal_set

CRAFTAX_NAMES = {"craftax-classic": True, "craftax": False}
RESET_SCHEMES = ("optimistic", "bank")
# Chosen by benchmarks/craftax_env_speed.py: the bank is faster than optimistic resets, or level
# with them, at the presets' batch sizes (docs/benchmarks.md, "Environment against training
# throughput").
DEFAULT_RESET_SCHEME = {True: "bank", False: "bank"}
GEN_CHUNK = 32  # worlds generated per vmapped chunk


@struct.dataclass
class CraftaxState:
    """Batched craftax states [B], plus the world bank [K] (None under optimistic resets)."""

    env: Any
    bank: Any = None
    bank_next: jnp.ndarray | None = None  # int32 [], next bank slot to overwrite


class CraftaxEnv:
    """Craftax-Classic (``classic=True``, 136 goals) or Craftax (512 goals) as a batched Env.

    ``reset_scheme``: "optimistic" or "bank" (None: the per-game default);
    ``reset_fraction``: R / B, worlds offered to ended envs per step; ``bank_size``,
    ``bank_refresh``: bank worlds, and worlds generated per step with an ended episode;
    ``max_timesteps``: overrides craftax's episode time limit (10000 Classic, 100000 Craftax).
    """

    def __init__(
        self,
        classic: bool = True,
        reset_scheme: str | None = None,
        reset_fraction: float = 0.02,
        bank_size: int = 1024,
        bank_refresh: int = 1,
        max_timesteps: int | None = None,
    ):
        reset_scheme = reset_scheme or DEFAULT_RESET_SCHEME[classic]
        if reset_scheme not in RESET_SCHEMES:
            raise ValueError(f"reset_scheme={reset_scheme!r}; valid: {', '.join(RESET_SCHEMES)}")
        if not 0 < reset_fraction <= 1:
            raise ValueError(f"reset_fraction={reset_fraction} must be in (0, 1]")
        if reset_scheme == "bank" and (bank_size < 1 or not 1 <= bank_refresh <= bank_size):
            raise ValueError(f"need bank_size >= 1 and 1 <= bank_refresh <= bank_size, got {bank_size}, {bank_refresh}")
        self.classic = classic
        self.reset_scheme = reset_scheme
        self.reset_fraction = reset_fraction
        self.bank_size = bank_size
        self.bank_refresh = bank_refresh
        self.name = "craftax-classic" if classic else "craftax"
        self.craftax_name = "Craftax-Classic-Symbolic-v1" if classic else "Craftax-Symbolic-v1"
        self._env = make_craftax_env_from_name(self.craftax_name, auto_reset=False)
        params = self._env.default_params
        if max_timesteps is not None:
            params = params.replace(max_timesteps=max_timesteps)
        self._params = params  # closed over by every function below, never traced
        self.num_actions = self._env.num_actions
        self.continuous = False
        self.max_episode_steps = int(params.max_timesteps)
        lay = layout(classic)
        self.obs_spec = ObsSpec(size=lay.size, map_shape=lay.map_shape, binary=True)  # one-hot features only
        self.goal_set = make_goal_set(classic)
        self._encode = jax.vmap(encoder(classic))
        self._spec = self._state_spec()
        self._render_fn = None
        self.reset = jax.jit(self._reset, static_argnames=("num_envs", "evaluation"))
        self.step = jax.jit(self._step)

    # ------------------------------------------------------------------ single-world pieces

    def _state_spec(self):
        """Shapes/dtypes of a stepped craftax state, without weak types: the one canonical form."""
        key = jax.random.key(0)
        raw = jax.eval_shape(lambda k: self._env.reset_env(k, self._params)[1], key)
        stepped = jax.eval_shape(
            lambda k, s: self._env.step_env(k, s, jnp.int32(0), self._params)[1], key, raw
        )
        return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), stepped)

    def _canon(self, state):
        # World generation returns Python scalars / weak types where step returns strong ones;
        # casting both to one spec keeps jitted consumers from recompiling (DESIGN §4).
        # The state's rng keeps whatever key type the caller's rng has.
        def fix(x, s):
            return x if jnp.issubdtype(s.dtype, jax.dtypes.prng_key) else jnp.asarray(x, dtype=s.dtype)

        return jax.tree.map(fix, state, self._spec)

    def _generate(self, keys):
        """Fresh worlds, one per key: batched craftax states in canonical form."""
        def one(k):
            return self._canon(self._env.reset_env(k, self._params)[1])

        if keys.shape[0] <= GEN_CHUNK:
            return jax.vmap(one)(keys)
        # Vmapped world generation collapses beyond ~100 worlds on a CPU (Classic: ~670/s at
        # 32, ~60/s at 512: its intermediates outgrow the caches); go in chunks instead.
        return jax.lax.map(one, keys, batch_size=GEN_CHUNK)

    def _step_one(self, key, state, action):
        _, state, _, done, _ = self._env.step_env(key, state, action, self._params)
        return self._canon(state), done

    def num_fresh(self, num_envs: int) -> int:
        """Fresh (or bank-drawn) worlds offered per step that some episode ends on."""
        return max(1, min(num_envs, math.ceil(self.reset_fraction * num_envs)))

    # ------------------------------------------------------------------ protocol

    def _reset(self, rng: jax.Array, num_envs: int, evaluation: bool = False):
        bank = bank_next = None
        if self.reset_scheme == "bank" and not evaluation:
            # One generation call for envs and bank: one world-generation program to compile.
            worlds = self._generate(jax.random.split(rng, num_envs + self.bank_size))
            env = jax.tree.map(lambda x: x[:num_envs], worlds)
            bank = jax.tree.map(lambda x: x[num_envs:], worlds)
        else:
            env = self._generate(jax.random.split(rng, num_envs))
        if self.reset_scheme == "bank":
            if evaluation:
                # Evaluation only scores first episodes: seed the bank with copies, skip the cost.
                bank = jax.tree.map(lambda x: x[jnp.arange(self.bank_size) % num_envs], env)
            bank_next = jnp.zeros((), jnp.int32)
        return CraftaxState(env=env, bank=bank, bank_next=bank_next), self._encode(env)

    def _step(self, rng: jax.Array, state: CraftaxState, action: jnp.ndarray):
        num_envs = action.shape[0]
        k_step, k_fresh, k_refresh = jax.random.split(rng, 3)
        env, done = jax.vmap(self._step_one)(jax.random.split(k_step, num_envs), state.env, action)
        next_obs = self._encode(env)
        r = self.num_fresh(num_envs)
        any_end = done.any()
        bank, bank_next = state.bank, state.bank_next

        # World generation sits in a real branch (lax.cond outside vmap): steps on which nothing
        # ended generate nothing. Only small arrays cross the branch; the bank and the env
        # states stay outside it, so XLA updates them in place instead of copying them.
        if self.reset_scheme == "optimistic":
            placeholder = jax.tree.map(lambda x: x[:r], env)  # never taken: nothing ended
            fresh = jax.lax.cond(
                any_end, lambda: self._generate(jax.random.split(k_fresh, r)), lambda: placeholder
            )
        else:
            slots = (bank_next + jnp.arange(self.bank_refresh)) % self.bank_size
            old = jax.tree.map(lambda x: x[slots], bank)  # rewritten unchanged when nothing ended
            new = jax.lax.cond(
                any_end, lambda: self._generate(jax.random.split(k_refresh, self.bank_refresh)), lambda: old
            )
            bank = jax.tree.map(lambda b, n: b.at[slots].set(n), bank, new)
            # Draw after the refresh: reads of the old bank after its in-place update would
            # make XLA copy the whole bank every step.
            pick = jax.random.randint(k_fresh, (r,), 0, self.bank_size)
            fresh = jax.tree.map(lambda x: x[pick], bank)
            bank_next = jnp.where(any_end, (bank_next + self.bank_refresh) % self.bank_size, bank_next)

        # The i-th ended env takes fresh world i mod R.
        slot = (jnp.cumsum(done) - 1) % r
        env = jax.tree.map(
            lambda f, s: jnp.where(done.reshape((-1,) + (1,) * (s.ndim - 1)), f[slot], s), fresh, env
        )
        obs = jnp.where(done[:, None], self._encode(fresh)[slot], next_obs)
        new_state = CraftaxState(env=env, bank=bank, bank_next=bank_next)
        return new_state, StepResult(obs=obs, next_obs=next_obs, episode_end=done)

    def render(self, state: CraftaxState, index: int = 0) -> np.ndarray:
        """RGB frame (H, W, 3 uint8) of env ``index`` via craftax's pixel renderer."""
        if self._render_fn is None:
            if self.classic:
                from craftax.craftax_classic.constants import BLOCK_PIXEL_SIZE_IMG
                from craftax.craftax_classic.renderer import make_craftax_pixel_renderer
            else:
                from craftax.craftax.constants import BLOCK_PIXEL_SIZE_IMG
                from craftax.craftax.renderer import make_craftax_pixel_renderer
            self._render_fn = jax.jit(make_craftax_pixel_renderer(BLOCK_PIXEL_SIZE_IMG))
        one = jax.tree.map(lambda x: x[index], state.env)
        return np.asarray(jnp.clip(self._render_fn(one), 0, 255)).astype(np.uint8)


def make_craftax_env(name: str, **options) -> CraftaxEnv:
    """Build ``"craftax-classic"`` or ``"craftax"``; options go to :class:`CraftaxEnv`."""
    if name not in CRAFTAX_NAMES:
        raise ValueError(f"unknown craftax env {name!r}; valid: {', '.join(CRAFTAX_NAMES)}")
    return CraftaxEnv(classic=CRAFTAX_NAMES[name], **options)
