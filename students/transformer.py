"""The built-in goal-conditioned transformer student (Equinox), and the Equinox adapter.

Tokens, for one observation:

- a map observation (``ObsSpec.map_shape`` set, Craftax): one token per map cell (its C
  channels through a shared linear embedding), plus
- the flat features (all of a flat observation such as the gridworld's one-hot position),
  cut into ``chunk_size`` chunks (zero-padded) through a shared linear embedding,
- one goal token: the goal input through a linear layer (a learned embedding per goal when the
  input is a one-hot index, ``student.goal_input=index``),
- a learned CLS token;

each with a learned positional embedding, then ``num_layers`` pre-norm blocks (attention and a
ReLU feed-forward), a final LayerNorm, and the CLS token (or the mean of all tokens) into a
policy head and a sigmoid value head.

:class:`EquinoxStudent` adapts any Equinox module ``module(obs [D], goal [Dg]) -> (logits [A],
value [])`` (one example; it is vmapped over the batch) to the Student protocol. Its params are
the module's arrays only, as a nested dict of arrays named like the module's attributes, so they
go through optax states, ``lax.scan`` carries and checkpoints like a Flax student's.
"""

from __future__ import annotations

from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from students.base import StudentSpec, register_student

POOLINGS = ("cls", "mean")


# ---------------------------------------------------------------------------- the adapter


def _key_name(k) -> str:
    """One step of a pytree key path as a dict key: attribute, index or dict key."""
    for attr in ("name", "idx", "key"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


class EquinoxStudent:
    """Adapts an Equinox module builder ``build(key) -> module`` to the Student protocol.

    ``module(obs [D], goal [Dg]) -> (logits [A], value [])`` works on one example; ``apply``
    vmaps it over the batch. The module's structure (everything but its arrays) is built once,
    abstractly, and kept here; ``init`` returns only the arrays, and ``apply`` recombines them
    (``eqx.partition``/``eqx.combine``).
    """

    def __init__(self, build: Callable[[jax.Array], eqx.Module]):
        self.build = build
        abstract = eqx.filter_eval_shape(build, jax.random.PRNGKey(0))
        is_leaf = lambda x: isinstance(x, jax.ShapeDtypeStruct)  # noqa: E731
        arrays, self._static = eqx.partition(abstract, is_leaf, is_leaf=is_leaf)
        paths, self._treedef = jax.tree_util.tree_flatten_with_path(arrays, is_leaf=is_leaf)
        self._paths = [tuple(_key_name(k) for k in path) for path, _ in paths]
        # Jitted: building a module op by op costs seconds of small compilations.
        self._init = jax.jit(self._build_params)

    def init(self, rng: jax.Array, obs: jnp.ndarray, goal: jnp.ndarray) -> dict:
        """A nested dict of the module's arrays (the builder fixes the shapes, not obs and goal)."""
        return self._init(rng)

    def _build_params(self, rng: jax.Array) -> dict:
        arrays, _ = eqx.partition(self.build(rng), eqx.is_array)
        params: dict = {}
        for path, leaf in zip(self._paths, jax.tree_util.tree_leaves(arrays)):
            node = params
            for name in path[:-1]:
                node = node.setdefault(name, {})
            node[path[-1]] = leaf
        return params

    def module(self, params: dict) -> eqx.Module:
        """The Equinox module holding ``params``."""
        leaves = []
        for path in self._paths:
            node = params
            for name in path:
                node = node[name]
            leaves.append(node)
        return eqx.combine(jax.tree_util.tree_unflatten(self._treedef, leaves), self._static)

    def apply(self, params: dict, obs: jnp.ndarray, goal: jnp.ndarray):
        """(logits [B, A], value [B]) for obs [B, D] and goal [B, Dg]."""
        return jax.vmap(self.module(params))(obs, goal)


# ---------------------------------------------------------------------------- the transformer


class Block(eqx.Module):
    """Pre-norm transformer block: x + MHA(LN(x)), then x + FFN(LN(x)); tokens [T, d]."""

    norm1: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    norm2: eqx.nn.LayerNorm
    fc1: eqx.nn.Linear
    fc2: eqx.nn.Linear

    def __init__(self, dim: int, num_heads: int, hidden: int, *, key: jax.Array):
        k1, k2, k3 = jax.random.split(key, 3)
        self.norm1 = eqx.nn.LayerNorm(dim)
        self.attn = eqx.nn.MultiheadAttention(num_heads, dim, key=k1)
        self.norm2 = eqx.nn.LayerNorm(dim)
        self.fc1 = eqx.nn.Linear(dim, hidden, key=k2)
        self.fc2 = eqx.nn.Linear(hidden, dim, key=k3)

    def __call__(self, x: jnp.ndarray, last_only: bool = False) -> jnp.ndarray:
        """Tokens [T, d] -> [T, d]; with ``last_only`` just the last (CLS) token's output [1, d].

        Only the CLS token is read after the last block, so there it alone queries: exact, and
        it saves most of that block's cost (the other tokens still serve as keys and values).
        """
        h = jax.vmap(self.norm1)(x)
        q = h[-1:] if last_only else h
        x = (x[-1:] if last_only else x) + self.attn(q, h, h)
        h = jax.vmap(self.norm2)(x)
        return x + jax.vmap(lambda t: self.fc2(jax.nn.relu(self.fc1(t))))(h)


class TransformerPolicy(eqx.Module):
    """One observation and goal -> (policy logits [A], sigmoid value []); see the module doc."""

    map_shape: tuple | None = eqx.field(static=True)
    map_size: int = eqx.field(static=True)
    chunk_size: int = eqx.field(static=True)
    num_chunks: int = eqx.field(static=True)
    pooling: str = eqx.field(static=True)
    cell_embed: eqx.nn.Linear | None
    chunk_embed: eqx.nn.Linear | None
    goal_embed: eqx.nn.Linear
    cls: jnp.ndarray
    pos: jnp.ndarray
    blocks: list
    norm: eqx.nn.LayerNorm
    policy_head: eqx.nn.Linear
    value_head: eqx.nn.Linear
    log_std: jnp.ndarray | None  # continuous actions: a learned state-independent log std [D]

    def __init__(self, spec: StudentSpec, token_dim: int, num_layers: int, num_heads: int,
                 mlp_ratio: int, chunk_size: int, pooling: str, *, key: jax.Array,
                 log_std_init: float = -0.5):
        keys = jax.random.split(key, 8 + num_layers)
        obs = spec.obs_spec
        self.map_shape = tuple(obs.map_shape) if obs.map_shape is not None else None
        self.map_size = obs.map_size
        self.chunk_size, self.pooling = chunk_size, pooling
        flat = obs.size - obs.map_size
        self.num_chunks = -(-flat // chunk_size)  # ceil
        num_cells = obs.map_size // self.map_shape[-1] if self.map_shape else 0
        self.cell_embed = eqx.nn.Linear(self.map_shape[-1], token_dim, key=keys[0]) if num_cells else None
        self.chunk_embed = eqx.nn.Linear(chunk_size, token_dim, key=keys[1]) if self.num_chunks else None
        self.goal_embed = eqx.nn.Linear(spec.goal_dim, token_dim, key=keys[2])
        self.cls = 0.02 * jax.random.normal(keys[3], (token_dim,))
        # One position per token: cells, chunks, goal, CLS (the last two also mark the type).
        self.pos = 0.02 * jax.random.normal(keys[4], (num_cells + self.num_chunks + 2, token_dim))
        hidden = mlp_ratio * token_dim
        self.blocks = [Block(token_dim, num_heads, hidden, key=k) for k in keys[8:]]
        self.norm = eqx.nn.LayerNorm(token_dim)
        head = eqx.nn.Linear(token_dim, spec.num_actions, key=keys[5])
        # Near-uniform initial policy, as the MLP student's orthogonal(0.01) head.
        w = jax.nn.initializers.orthogonal(0.01)(keys[6], head.weight.shape)
        self.policy_head = eqx.tree_at(lambda h: (h.weight, h.bias), head, (w, jnp.zeros_like(head.bias)))
        self.value_head = eqx.nn.Linear(token_dim, 1, key=keys[7])
        self.log_std = jnp.full((spec.num_actions,), log_std_init) if spec.continuous else None

    def tokens(self, obs: jnp.ndarray, goal: jnp.ndarray) -> jnp.ndarray:
        """The token embeddings [T, d] of one observation [D] and goal [Dg]."""
        parts = []
        if self.cell_embed is not None:
            cells = obs[: self.map_size].reshape(-1, self.map_shape[-1])  # row-major (H, W, C)
            parts.append(jax.vmap(self.cell_embed)(cells))
        if self.chunk_embed is not None:
            flat = obs[self.map_size :]
            flat = jnp.pad(flat, (0, self.num_chunks * self.chunk_size - flat.size))
            parts.append(jax.vmap(self.chunk_embed)(flat.reshape(self.num_chunks, self.chunk_size)))
        parts.append(self.goal_embed(goal)[None])
        parts.append(self.cls[None])
        return jnp.concatenate(parts) + self.pos

    def __call__(self, obs: jnp.ndarray, goal: jnp.ndarray):
        x = self.tokens(obs, goal)
        for i, block in enumerate(self.blocks):
            x = block(x, last_only=self.pooling == "cls" and i == len(self.blocks) - 1)
        h = self.norm(x[-1] if self.pooling == "cls" else x.mean(axis=0))
        out = self.policy_head(h)
        if self.log_std is not None:  # a Gaussian: (mean, log_std) [2D]
            out = jnp.concatenate([out, self.log_std])
        return out, jax.nn.sigmoid(self.value_head(h)[0])


@register_student("transformer")
def make_transformer_student(config: Any, spec: StudentSpec) -> EquinoxStudent:
    """Transformer student sized by ``student.token_dim``, ``num_layers``, ``num_heads``,
    ``mlp_ratio``, ``chunk_size`` and ``pooling`` (see :class:`leo_teacher.config.StudentConfig`)."""
    dim, heads = config.token_dim, config.num_heads
    for name in ("token_dim", "num_layers", "num_heads", "mlp_ratio", "chunk_size"):
        if getattr(config, name) <= 0:
            raise ValueError(f"student.{name}={getattr(config, name)} must be positive")
    if dim % heads:
        raise ValueError(f"student.token_dim={dim} must be a multiple of student.num_heads={heads}")
    if config.pooling not in POOLINGS:
        raise ValueError(f"unknown student.pooling {config.pooling!r}; valid: {', '.join(POOLINGS)}")

    def build(key):
        return TransformerPolicy(spec, dim, config.num_layers, heads, config.mlp_ratio,
                                 config.chunk_size, config.pooling, key=key,
                                 log_std_init=config.log_std_init)

    return EquinoxStudent(build)
