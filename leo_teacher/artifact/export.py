"""Export a trained policy as a self-contained artifact (``python -m leo_teacher.export``).

Reads the run's latest checkpoint and writes a self-contained policy artifact directory (the
format is described in :mod:`leo_teacher.artifact.policy`): the student's (or teacher's)
forward computation serialised with ``jax.export`` with a symbolic batch dimension, its
parameters as ``.npz``, and metadata JSON. Load it with ``leo_teacher.load_policy(PATH)``;
evaluate it with ``python -m leo_teacher.evaluate PATH``. Exit status 2 on bad input.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from leo_teacher.config import ConfigError
from leo_teacher.artifact.policy import (
    FORMAT,
    FORMAT_VERSION,
    FUNCTION_FILE,
    METADATA_FILE,
    PARAMS_FILE,
    file_sha256,
    metadata_sha256,
)
from leo_teacher.run import manifest, provenance

ARTIFACT_FILES = (FUNCTION_FILE, PARAMS_FILE, METADATA_FILE)

PLATFORMS = ("cpu", "cuda")


def _check_out(out: Path, overwrite: bool) -> None:
    """``--out`` may be replaced only with ``overwrite`` and only when it is an artifact of ours."""
    if not out.exists():
        return
    if not overwrite:
        raise ConfigError(f"--out {out} already exists; pass --overwrite to replace it or choose another path")
    if not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a policy artifact; nothing was deleted; choose another --out")
    ours, foreign, has_manifest = manifest.survey(out, "artifact")
    if foreign:  # without a manifest every entry is foreign: a user's folder is never emptied
        raise manifest.refuse_foreign(out, foreign, "--out", has_manifest)


def _choose(coord, student: str | None, teacher: bool) -> tuple[str, int | None]:
    """(policy name, student index or None for the teacher), checked against what the run trained.

    A teacher that has no export forward (a goal-conditioned baseline's) raises ConfigError.
    """
    sched, mode = coord.schedule, coord.config.coordinator.mode
    if teacher and student:
        raise ConfigError("pass either --student NAME or --teacher, not both")
    if teacher or (student is None and not sched.train_student):
        if not sched.train_teacher:
            raise ConfigError(f"this run (mode {mode}) trained no teacher and no student; nothing to export")
        coord.teacher.export_forward()
        return "teacher", None
    name = student or coord.student_names[0]
    if name not in coord.student_names:
        raise ConfigError(
            f"unknown --student {name!r}; this run's students: {', '.join(coord.student_names)}"
        )
    if not sched.train_student:
        raise ConfigError(f"this run (mode {mode}) did not train its students; export the teacher with --teacher")
    return name, coord.student_names.index(name)


def _export(fn, arg_specs) -> tuple[object, list[str], bool]:
    """jax.export ``fn`` with a symbolic batch size "b" (fixed batch 1 if that fails).

    ``arg_specs(batch)`` gives the input specs for a batch dimension. Lowered for CPU and CUDA
    when the installed jax can, else for the default backend only.
    """
    import jax
    from jax import export

    (b,) = export.symbolic_shape("b")
    errors = []
    for batch, symbolic in ((b, True), (1, False)):
        for platforms in (PLATFORMS, None):
            try:
                exp = export.export(jax.jit(fn), platforms=platforms)(*arg_specs(batch))
                return exp, list(exp.platforms), symbolic
            except Exception as e:  # lowering errors come in many types
                errors.append(f"{type(e).__name__}: {e}".splitlines()[0])
    raise ConfigError(f"jax.export could not serialise this policy ({errors[-1]})")


def export_policy(run_dir: str | os.PathLike, out: str | os.PathLike, student: str | None = None,
                  teacher: bool = False, overwrite: bool = False, seed_index: int = 0) -> Path:
    """Write the artifact for ``student`` (default: the run's first) or the teacher; returns ``out``."""
    import jax

    from leo_teacher import __version__
    from leo_teacher.core.sgd import trainable
    from leo_teacher.run.loading import load_trained_run

    run_dir, out = Path(run_dir).resolve(), Path(out)  # orbax reads absolute paths only
    _check_out(out, overwrite)
    cfg, env, coord, state, info = load_trained_run(run_dir, seed_index)
    name, index = _choose(coord, student, teacher)

    if index is None:
        params = state.teacher.params
        leaves, treedef = jax.tree_util.tree_flatten(params)
        teacher_forward = coord.teacher.export_forward()

        def forward(leaves, obs):
            return teacher_forward.fn(jax.tree_util.tree_unflatten(treedef, leaves), obs)

        goal_reps = np.zeros((coord.num_goals, 0), np.float32)  # the teacher reads no goal input
    else:
        module = coord.students[index]
        params = state.students[index].params
        leaves, treedef = jax.tree_util.tree_flatten(params)

        def forward(leaves, obs, goal_rep):
            return module.apply(jax.tree_util.tree_unflatten(treedef, leaves), obs, goal_rep)

        goal_reps = np.asarray(coord.goal_reps, np.float32)

    obs = state.actors.obs
    leaf_specs = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in leaves]

    def arg_specs(batch):
        specs = [leaf_specs, jax.ShapeDtypeStruct((batch, obs.shape[-1]), obs.dtype)]
        if index is not None:
            specs.append(jax.ShapeDtypeStruct((batch, goal_reps.shape[-1]), goal_reps.dtype))
        return specs

    exported, platforms, symbolic = _export(forward, arg_specs)
    continuous = bool(env.continuous)
    if index is None:
        outputs = teacher_forward.outputs
    else:
        outputs = ["mean_and_log_std [B, 2D]", "value [B]"] if continuous else ["logits [B, A]", "value [B]"]

    num_iterations = cfg.num_iterations
    summary_path = run_dir / "summary.json"
    complete = info.iteration >= num_iterations and summary_path.exists()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": "teacher" if index is None else "student",
        "policy": name,
        "student_spec": None if index is None else cfg.student.name.split(",")[index].strip(),
        "toolkit_version": __version__,
        "jax_version": jax.__version__,
        "platforms": platforms,
        "symbolic_batch": symbolic,
        "env": {"name": cfg.env.name, "config": cfg.to_dict()["env"]},
        "goals": {
            "names": list(env.goal_set.names),
            "input": None if index is None else cfg.student.goal_input,
            "rep_dim": int(goal_reps.shape[-1]),
            "reachable": [bool(r) for r in env.goal_set.reachable_mask()],
        },
        "observation": {
            "size": int(obs.shape[-1]),
            "dtype": str(obs.dtype),
            "map_shape": list(env.obs_spec.map_shape) if env.obs_spec.map_shape else None,
        },
        "num_actions": int(env.num_actions),  # the action dimension D when continuous
        "continuous": continuous,
        "function": {
            "file": FUNCTION_FILE,
            "inputs": ["params", "obs"] if index is None else ["params", "obs", "goal_rep"],
            "outputs": outputs,
        },
        "params": {"file": PARAMS_FILE, "num_arrays": len(leaves),
                   # trained parameters only (running statistics such as BatchRenorm's are arrays too)
                   "num_parameters": int(sum(np.size(x) for x in jax.tree_util.tree_leaves(trainable(params))))},
        "evaluation": {"seed": cfg.run.eval_seed, "repeats": cfg.run.eval_repeats,
                       "max_steps": cfg.run.eval_max_steps},
        "training": {
            "run_dir": str(run_dir.resolve()),
            "mode": cfg.coordinator.mode,
            "seed": cfg.run.seed,
            "students": list(coord.student_names),
            "checkpoint": info.path.name,
            "iteration": info.iteration,
            "env_steps": info.meta.get("env_steps"),
            "complete": complete,
            "summary": json.loads(summary_path.read_text()) if complete else None,
        },
    }

    # Write beside the destination, then rename: a failure leaves no half-written artifact.
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        (tmp / FUNCTION_FILE).write_bytes(exported.serialize())
        arrays = {f"param_{i:05d}": np.asarray(jax.device_get(x)) for i, x in enumerate(leaves)}
        np.savez(tmp / PARAMS_FILE, goal_reps=goal_reps, **arrays)
        meta["files"] = {f: file_sha256(tmp / f) for f in (FUNCTION_FILE, PARAMS_FILE)}
        meta["machine"] = provenance.machine_record()
        meta["metadata_sha256"] = metadata_sha256(meta)
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=1) + "\n")
        manifest.record(tmp, ARTIFACT_FILES, "artifact")
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
