"""Bytes of one rollout buffer per env and preset, from shapes alone (``jax.eval_shape``).

Nothing is computed or allocated: the coordinator's rollout is traced abstractly, so this
works for the paper's GPU presets on a laptop.

    python benchmarks/buffer_bytes.py --env craftax --preset paper
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from leo_teacher.config import build_config, parse_set
from leo_teacher.core.coordinator import Coordinator
from leo_teacher.core.rollout import rollout
from leo_teacher.envs import make_env

GIB = 1024**3


def rollout_bytes(env_name: str, preset: str | None, extra: list[str] = ()) -> dict:
    """Per-field and total bytes of the Transition pytree one rollout stores."""
    cfg = build_config(env=env_name, preset=preset, overrides=parse_set(list(extra)))
    coord = Coordinator(cfg, make_env(cfg.env))
    state = jax.eval_shape(coord.init, cfg.run.seed)
    _, traj = jax.eval_shape(lambda s, k: rollout(coord, s, k), state, jax.random.PRNGKey(0))
    fields = {
        name: int(np.prod(leaf.shape)) * leaf.dtype.itemsize
        for name, leaf in zip(traj.__dataclass_fields__, jax.tree_util.tree_leaves(traj))
    }
    G, A = coord.num_goals, coord.env.num_actions
    full_q = cfg.env.rollout_steps * cfg.env.num_envs * G * A * 4
    return {"fields": fields, "total": sum(fields.values()), "full_teacher_q_bytes": full_q,
            "num_envs": cfg.env.num_envs, "rollout_steps": cfg.env.rollout_steps, "goals": G}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="gridworld")
    p.add_argument("--preset", default=None)
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    r = rollout_bytes(a.env, a.preset, a.set)
    print(f"env {a.env} | preset {a.preset} | {r['rollout_steps']} steps x {r['num_envs']} envs | "
          f"{r['goals']} goals")
    for name, b in sorted(r["fields"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:16s} {b / 2**20:10.1f} MiB")
    print(f"  (storing [T, B, G, A] teacher values instead would take {r['full_teacher_q_bytes'] / GIB:.2f} GiB)")
    print(f"rollout buffer: {r['total'] / GIB:.3f} GiB")


if __name__ == "__main__":
    main()
