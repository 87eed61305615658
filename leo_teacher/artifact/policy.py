"""Load an exported policy and act with it: needs only numpy, jax and the standard library.

An artifact (written by ``python -m leo_teacher.export``) is a directory:

- ``forward.jaxexport``: the network's forward computation serialised with ``jax.export``
  (batch dimension symbolic; lowered for CPU and CUDA). Its inputs are the flat list of
  parameter arrays, then the observation batch [B, D] and, for a student, the goal
  representation batch [B, Dg]; its outputs are (logits [B, A], value [B]) for a student and
  Q-values [B, G, A] for the teacher. For continuous actions (``metadata["continuous"]``, A = the
  action dimension D) a student gives (Gaussian mean and log_std [B, 2D], value [B]) and the
  teacher (every goal's action [B, G, D], its value [B, G]); ``act`` returns the mean action
  (the teacher's action), clipped to [-1, 1]. The parameters are *not* constants inside it.
- ``params.npz``: the parameter arrays ``param_00000`` ... in that order, and ``goal_reps``
  [G, Dg], the goal input a student reads for each goal index (unused by the teacher).
- ``metadata.json``: environment name and config, goal names in order, observation spec, action
  count, toolkit and jax versions, the training summary, the evaluation seed and repeats, and a
  SHA-256 of each file (a damaged artifact is refused).

``from leo_teacher import load_policy`` imports this module only (no flax, optax or equinox).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

FORMAT = "leo-teacher-policy"
FORMAT_VERSION = 1
FUNCTION_FILE = "forward.jaxexport"
PARAMS_FILE = "params.npz"
METADATA_FILE = "metadata.json"


class ArtifactError(ValueError):
    """An artifact that cannot be used; the message says why and how to fix it."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def metadata_sha256(meta: dict) -> str:
    """SHA-256 of the metadata's content, all fields but ``metadata_sha256`` itself (canonical JSON)."""
    body = {k: v for k, v in meta.items() if k != "metadata_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def read_metadata(path: str | Path) -> dict:
    """The artifact's metadata, after checking the files against their recorded checksums."""
    path = Path(path)
    fix = "re-export it with python -m leo_teacher.export RUN_DIR --out PATH"
    if not path.is_dir():
        raise ArtifactError(f"{path} is not a policy artifact directory; {fix}")
    try:
        meta = json.loads((path / METADATA_FILE).read_text())
        meta["files"], meta["env"]["name"], meta["goals"]["names"], meta["kind"]  # noqa: B018
    except FileNotFoundError:
        raise ArtifactError(f"{path} has no {METADATA_FILE}, so it is not a policy artifact; {fix}") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ArtifactError(f"{path / METADATA_FILE} is corrupt or truncated; {fix}") from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format {meta.get('format')!r} version {meta.get('format_version')!r}; this "
            f"loader reads {FORMAT!r} version {FORMAT_VERSION}; {fix} with this version"
        )
    if meta.get("metadata_sha256") != metadata_sha256(meta):  # an edited metadata.json lies about the policy
        raise ArtifactError(f"{path / METADATA_FILE} was edited or damaged (checksum mismatch); {fix}")
    for name, digest in meta["files"].items():
        f = path / name
        if not f.is_file():
            raise ArtifactError(f"{f} is missing from the artifact; {fix}")
        if file_sha256(f) != digest:
            raise ArtifactError(f"{f} is corrupt or truncated (checksum mismatch); {fix}")
    return meta


class Policy:
    """A loaded policy: ``act(obs, goal) -> greedy action``, ``action_probs(obs, goal)``.

    ``obs`` is one observation [D] or a batch [B, D]; ``goal`` is a goal index, a goal name, or
    one per observation [B]. A student's probabilities are softmax(logits); the teacher's are
    one-hot on its greedy action (its Q-values are in :meth:`q_values`).
    """

    def __init__(self, path: str | Path):
        import jax
        import jax.numpy as jnp
        from jax import export

        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        meta = self.metadata
        fix = "re-export it with python -m leo_teacher.export RUN_DIR --out PATH"
        try:
            with np.load(self.path / PARAMS_FILE) as z:
                n = int(meta["params"]["num_arrays"])
                params = [z[f"param_{i:05d}"] for i in range(n)]
                goal_reps = z["goal_reps"]
        except Exception as e:  # numpy raises several types on damaged zips
            raise ArtifactError(f"{self.path / PARAMS_FILE} cannot be read ({type(e).__name__}); {fix}") from None
        try:
            self.exported = export.deserialize(bytearray((self.path / FUNCTION_FILE).read_bytes()))
        except Exception as e:
            raise ArtifactError(
                f"{self.path / FUNCTION_FILE} cannot be deserialised by jax {jax.__version__} "
                f"({type(e).__name__}; exported with jax {meta.get('jax_version')}); {fix}"
            ) from None
        self.kind: str = meta["kind"]
        self.name: str = meta["policy"]
        self.goal_names: tuple[str, ...] = tuple(meta["goals"]["names"])
        self.num_goals = len(self.goal_names)
        self.num_actions: int = int(meta["num_actions"])
        self.continuous: bool = bool(meta.get("continuous", False))  # num_actions is then D
        self.obs_size: int = int(meta["observation"]["size"])
        self.obs_dtype = np.dtype(meta["observation"]["dtype"])
        self.env_name: str = meta["env"]["name"]
        self.params = (tuple(jnp.asarray(p) for p in params), jnp.asarray(goal_reps))
        self._act = jax.jit(self.jax_act)
        self._outputs = jax.jit(self._forward)

    # ------------------------------------------------------------ traceable pieces

    def _call(self, leaves, obs, goal_rep):
        """The exported function on a batch; a fixed-batch export is mapped row by row."""
        import jax

        args = (obs,) if self.kind == "teacher" else (obs, goal_rep)
        if self.metadata.get("symbolic_batch", True):
            return self.exported.call(list(leaves), *args)
        return jax.lax.map(lambda a: jax.tree_util.tree_map(
            lambda x: x[0], self.exported.call(list(leaves), *(x[None] for x in a))), args)

    def _forward(self, params, obs, goal):
        """(logits [B, A], value [B]) for a student; (Q for the goal [B, A], max Q [B]) for the teacher.

        Continuous: (mean and log_std [B, 2D], value [B]); the teacher's (action [B, D], value [B]).
        """
        import jax.numpy as jnp

        leaves, goal_reps = params
        if self.kind == "teacher" and self.continuous:
            actions, values = self._call(leaves, obs, None)
            batch = jnp.arange(obs.shape[0])
            return actions[batch, goal], values[batch, goal]
        if self.kind == "teacher":
            q = self._call(leaves, obs, None)
            q_goal = q[jnp.arange(obs.shape[0]), goal]
            return q_goal, q_goal.max(axis=-1)
        return self._call(leaves, obs, goal_reps[goal])

    def jax_act(self, params, obs, goal):
        """Greedy actions [B] for obs [B, D] and goal indices [B]; traceable under jit/scan.

        ``params`` is :attr:`params`; this is the policy signature the per-goal evaluation uses.
        Continuous policies give the mean action [B, D] (the teacher's action), clipped to [-1, 1].
        """
        import jax.numpy as jnp

        if self.continuous:
            out = self._forward(params, obs, goal)[0][:, : self.num_actions]
            return jnp.clip(out, -1.0, 1.0).astype(jnp.float32)
        return jnp.argmax(self._forward(params, obs, goal)[0], axis=-1).astype(jnp.int32)

    # ------------------------------------------------------------ numpy API

    def goal_index(self, goal: int | str) -> int:
        """The index of a goal given by index or name."""
        if isinstance(goal, str):
            try:
                return self.goal_names.index(goal)
            except ValueError:
                raise ValueError(f"unknown goal {goal!r}; e.g. {self.goal_names[:3]}") from None
        return int(goal)

    def _inputs(self, obs, goal):
        obs = np.asarray(obs, dtype=self.obs_dtype)
        single = obs.ndim == 1
        obs = obs.reshape(-1, obs.shape[-1]) if obs.ndim else obs
        if obs.ndim != 2 or obs.shape[-1] != self.obs_size:
            raise ValueError(f"obs must have shape [{self.obs_size}] or [B, {self.obs_size}], got {np.shape(obs)}")
        goal = np.asarray(goal)
        if goal.dtype.kind in "UO":  # goal names
            goal = np.vectorize(self.goal_index, otypes=[np.int32])(goal)
        if goal.ndim > 1 or (goal.ndim == 1 and goal.shape[0] != obs.shape[0]):
            raise ValueError(f"goal must be one index or name, or one per observation ({obs.shape[0]})")
        goal = np.broadcast_to(goal.astype(np.int32), (obs.shape[0],))
        if goal.size and (goal.min() < 0 or goal.max() >= self.num_goals):
            raise ValueError(f"goal indices must be in [0, {self.num_goals}), got {goal.min()}..{goal.max()}")
        return obs, goal, single

    def act(self, obs, goal) -> np.ndarray | int:
        """Greedy action(s): an int for one observation, an int array [B] for a batch.

        Continuous: the mean action, a float array [D] for one observation, [B, D] for a batch.
        """
        obs, goal, single = self._inputs(obs, goal)
        a = np.asarray(self._act(self.params, obs, goal))
        if single:
            return a[0] if self.continuous else int(a[0])
        return a

    __call__ = act

    def action_probs(self, obs, goal) -> np.ndarray:
        """Action probabilities [A] or [B, A] (one-hot greedy for the teacher)."""
        if self.continuous:
            raise ValueError("a continuous policy has no action probabilities; use act() for the mean "
                             "action or logits() for the Gaussian's (mean, log_std)")
        obs, goal, single = self._inputs(obs, goal)
        out = np.asarray(self._outputs(self.params, obs, goal)[0], dtype=np.float64)
        if self.kind == "teacher":
            p = np.eye(self.num_actions)[out.argmax(axis=-1)]
        else:
            z = np.exp(out - out.max(axis=-1, keepdims=True))
            p = z / z.sum(axis=-1, keepdims=True)
        return p[0] if single else p

    def logits(self, obs, goal) -> np.ndarray:
        """The student's logits, or the teacher's Q-values for the goal: [A] or [B, A].

        Continuous: a student's (mean, log_std) [2D], the teacher's action [D] (or batched).
        """
        obs, goal, single = self._inputs(obs, goal)
        out = np.asarray(self._outputs(self.params, obs, goal)[0])
        return out[0] if single else out

    q_values = logits

    def value(self, obs, goal) -> np.ndarray:
        """The student's value (the teacher's max-Q, or its action's value) for the goal: scalar or [B]."""
        obs, goal, single = self._inputs(obs, goal)
        out = np.asarray(self._outputs(self.params, obs, goal)[1])
        return out[0] if single else out

    def __repr__(self) -> str:
        return (f"Policy({self.kind} {self.name!r}, env {self.env_name}, {self.num_goals} goals, "
                f"{self.num_actions} actions, from {self.path})")


def load_policy(path: str | Path) -> Policy:
    """Load a policy artifact directory written by ``python -m leo_teacher.export``.

    Raises :class:`ArtifactError` (a ValueError) with the fix when it is damaged or foreign.
    """
    return Policy(path)

