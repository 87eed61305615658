"""Checkpoints of a training run, and what ``--resume`` needs to continue it as the same run.

Layout: ``RUN_DIR/checkpoints/chunk_NNNNNN/`` holds ``state/`` (the whole TrainState, written
by orbax-checkpoint as a flat dict of host arrays) and ``meta.json`` (the loop's position:
chunks and iterations done, metrics rows written, training seconds so far; the config; the
path, shape and dtype of every state leaf; and a SHA-256 manifest of every file under
``state/``). A checkpoint is written into a hidden temporary directory and renamed into place
only when complete, so a crash mid-write leaves the previous checkpoint as the latest; the last
:data:`KEEP` are kept. Problems a user can fix raise :class:`ConfigError` with the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leo_teacher.config import Config, ConfigError
from leo_teacher.run.resume import check_resume_config, reconcile_metrics  # noqa: F401 (re-exported)

CHECKPOINT_DIR = "checkpoints"
PREFIX = "chunk_"
TMP_PREFIX = ".tmp-"
KEEP = 2
FORMAT_VERSION = 1


@dataclass
class CheckpointInfo:
    """A completed checkpoint on disk and its parsed ``meta.json``."""

    path: Path
    meta: dict

    @property
    def chunks_done(self) -> int:
        return int(self.meta["chunks_done"])

    @property
    def iteration(self) -> int:
        return int(self.meta["iteration"])


def checkpoint_root(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Completed checkpoint directories, oldest first (temporary ones are never listed)."""
    root = checkpoint_root(run_dir)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit():
            found.append((int(p.name[len(PREFIX):]), p))
    return [p for _, p in sorted(found)]


# ---------------------------------------------------------------------------- writing


def _leaf_to_host(leaf) -> np.ndarray:
    """A host numpy array; typed PRNG keys are stored as their raw key data."""
    import jax

    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.asarray(jax.device_get(leaf))


def _stored_spec(leaf) -> tuple[list, str]:
    """(shape, dtype) of a state leaf as stored: typed PRNG keys as their raw key data."""
    import jax

    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        leaf = jax.eval_shape(jax.random.key_data, leaf)
    return list(leaf.shape), str(leaf.dtype)


def _manifest(root: Path, fsync: bool) -> dict[str, list]:
    """relative path -> [size, sha256] for every file under ``root`` (fsynced when asked)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
            if fsync:
                os.fsync(f.fileno())
        out[path.relative_to(root).as_posix()] = [path.stat().st_size, h.hexdigest()]
    return out


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _os_error(e: BaseException) -> OSError | None:
    """The OSError behind ``e`` (orbax wraps the file system's errors), or None."""
    while e is not None:
        if isinstance(e, OSError):
            return e
        e = e.__cause__ or e.__context__
    return None


def _writer_checkpointer():
    """An orbax checkpointer for this process alone: in a multi-process job only process 0
    saves (the state was gathered to it), so orbax must not wait for the others."""
    import jax
    import orbax.checkpoint as ocp

    if jax.process_count() == 1:
        return ocp.PyTreeCheckpointer()
    alone = ocp.options.MultiprocessingOptions(primary_host=jax.process_index(),
                                               active_processes={jax.process_index()})
    return ocp.Checkpointer(ocp.PyTreeCheckpointHandler(multiprocessing_options=alone),
                            multiprocessing_options=alone)


def _write(tmp: Path, state: Any, config: Config, version: str, **position) -> None:
    """The checkpoint's files into ``tmp``: state/ by orbax, then meta.json (fsynced)."""
    import jax
    import orbax.checkpoint as ocp

    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    arrays = {f"leaf_{i:05d}": _leaf_to_host(leaf) for i, (_, leaf) in enumerate(flat)}
    _writer_checkpointer().save(tmp / "state", arrays)
    meta = {
        "format_version": FORMAT_VERSION,
        "toolkit_version": version,
        **{k: position[k] for k in ("chunks_done", "iteration", "env_steps", "metrics_rows")},
        "train_seconds": round(float(position["train_seconds"]), 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": config.to_dict(),
        "code_history": position.get("code_history") or [],
        "leaves": [
            [jax.tree_util.keystr(path), list(a.shape), str(a.dtype)]
            for (path, _), a in zip(flat, arrays.values())
        ],
        "files": _manifest(tmp / "state", fsync=True),
    }
    with open(tmp / "meta.json", "w") as f:
        json.dump(meta, f, indent=1)
        f.flush()
        os.fsync(f.fileno())


def save(run_dir: Path, state: Any, *, chunks_done: int, iteration: int, env_steps: int,
         metrics_rows: int, train_seconds: float, config: Config, keep: int = KEEP,
         code_history: list[dict] | None = None) -> Path:
    """Write the checkpoint for ``chunks_done`` chunks atomically; keep the last ``keep``.

    ``code_history`` (the code each stretch of the run so far ran, see ``Trainer.code_history``)
    goes into meta.json, so that a resumed run's summary names every commit it was computed with.

    An existing checkpoint for the same chunk count is left as it is (the state is the same:
    the run is deterministic). Returns the checkpoint's directory.
    """
    from leo_teacher import __version__

    root = checkpoint_root(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{chunks_done:06d}"
    if final.exists():
        return final
    for stale in root.glob(TMP_PREFIX + "*"):  # left by a crash mid-write; we hold the run lock
        shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f"{TMP_PREFIX}{final.name}-{os.getpid()}"

    try:
        _write(tmp, state, config, __version__, chunks_done=chunks_done, iteration=iteration,
               env_steps=env_steps, metrics_rows=metrics_rows, train_seconds=train_seconds,
               code_history=code_history)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave a partial checkpoint behind
        os_error = _os_error(e)
        if os_error is None:
            raise
        previous = list_checkpoints(run_dir)
        kept = (f"the previous checkpoint {previous[-1].name} is kept: free space and resume with "
                "--resume" if previous else "no checkpoint was written yet: free space and run again")
        raise ConfigError(
            f"could not write checkpoint {final.name} in {root}: {os_error.strerror or os_error}; {kept}"
        ) from None
    _fsync_dir(tmp)
    os.rename(tmp, final)  # the commit point: before it the previous checkpoint is the latest
    _fsync_dir(root)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


# ---------------------------------------------------------------------------- reading


def _corrupt(path: Path, why: str, run_dir: Path) -> ConfigError:
    """The error for a damaged checkpoint, with a fix that works: the newest *good* older one."""
    older = [p for p in list_checkpoints(run_dir) if p.name < path.name]
    bad = [path]
    for candidate in reversed(older):
        try:
            read(candidate, run_dir, advise=False)
        except ConfigError:
            bad.append(candidate)
            continue
        names = " and ".join(str(p) for p in bad)
        which = "previous checkpoint" if len(bad) == 1 else "newest good checkpoint"
        fix = f"delete {names} to resume from the {which} {candidate.name}"
        break
    else:
        also = f" (and the older {', '.join(p.name for p in bad[1:])} too)" if len(bad) > 1 else ""
        fix = f"no good checkpoint is left{also}: start the run again with --overwrite"
    return ConfigError(f"checkpoint {path} is corrupt or truncated ({why}); {fix}")


def read(path: Path, run_dir: Path | None = None, advise: bool = True) -> CheckpointInfo:
    """Parse and verify one checkpoint (meta.json and every file's checksum).

    ``advise``: the error names the newest good older checkpoint (which costs verifying them).
    """
    path = Path(path)
    run_dir = Path(run_dir) if run_dir is not None else path.parent.parent
    fail = _corrupt if advise else (lambda p, why, _: ConfigError(f"checkpoint {p} is corrupt ({why})"))
    try:
        meta = json.loads((path / "meta.json").read_text())
        for key in ("chunks_done", "iteration", "metrics_rows", "config", "leaves", "files"):
            meta[key]
    except FileNotFoundError:
        raise fail(path, "meta.json is missing", run_dir) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise fail(path, "meta.json is unreadable", run_dir) from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"checkpoint {path} has format {meta.get('format_version')!r}, this toolkit reads "
            f"format {FORMAT_VERSION}; resume it with the leo-teacher version that wrote it "
            f"({meta.get('toolkit_version', 'unknown')})"
        )
    state_dir = path / "state"
    for rel, (size, digest) in meta["files"].items():
        f = state_dir / rel
        if not f.is_file():
            raise fail(path, f"state/{rel} is missing", run_dir)
        if f.stat().st_size != size:
            raise fail(path, f"state/{rel} has {f.stat().st_size} bytes, expected {size}", run_dir)
    actual = _manifest(state_dir, fsync=False)
    for rel, (_, digest) in meta["files"].items():
        if actual[rel][1] != digest:
            raise fail(path, f"state/{rel} does not match its checksum", run_dir)
    return CheckpointInfo(path, meta)


def latest(run_dir: Path, purpose: str = "resume") -> CheckpointInfo:
    """The newest completed checkpoint of ``run_dir``, verified; ConfigError when there is none.

    ``purpose`` ("resume" or "export") picks the advice when there is none; a run directory
    that a running job holds is reported as in use (it writes its first checkpoint later).
    """
    from leo_teacher.run.faults import lock_holder

    found = list_checkpoints(run_dir)
    if not found:
        holder = lock_holder(Path(run_dir))
        if holder is not None:
            raise ConfigError(
                f"--run-dir {run_dir} is in use by a running training job ({holder}) that has not "
                "written a checkpoint yet; wait for it to write one (or finish)"
            )
        if purpose == "export":
            raise ConfigError(
                f"no checkpoint in {Path(run_dir) / CHECKPOINT_DIR}, so {run_dir} holds no trained "
                "policy; pass the directory of a training run (python -m leo_teacher.train --run-dir DIR)"
            )
        raise ConfigError(
            f"no checkpoint in {Path(run_dir) / CHECKPOINT_DIR}; start the run without --resume "
            "(or pass the --run-dir of a run that wrote checkpoints)"
        )
    return read(found[-1], run_dir)


def restore(info: CheckpointInfo, abstract_state: Any) -> Any:
    """The checkpointed state, shaped like ``abstract_state`` (e.g. ``jax.eval_shape(coord.init, seed)``).

    Every leaf's shape and dtype must match; otherwise ConfigError names the first difference.
    """
    import jax
    import orbax.checkpoint as ocp

    flat, treedef = jax.tree_util.tree_flatten_with_path(abstract_state)
    saved = info.meta["leaves"]
    if len(saved) != len(flat):
        # The training state gained arrays over versions (e.g. the paper metric's per-goal counts).
        names = {n for n, _, _ in saved}
        missing = [jax.tree_util.keystr(p) for p, _ in flat if jax.tree_util.keystr(p) not in names]
        older = bool(missing) and all(k.startswith(".actors.") for k in missing)  # not a config change
        hint = (" (it was written by an older leo-teacher, whose training state had fewer arrays: "
                "continue it with that version, or start the run again)" if older else "")
        raise ConfigError(
            f"checkpoint {info.path} holds {len(saved)} state arrays but this configuration needs "
            f"{len(flat)}{hint}; resume with the configuration and student code the run started with"
        )
    for (_, leaf), (name, shape, dtype) in zip(flat, saved):
        want = _stored_spec(leaf)
        if want != (list(shape), dtype):
            raise ConfigError(
                f"checkpoint {info.path} does not fit this configuration: {name} is {dtype}{shape} "
                f"there but {want[1]}{want[0]} here; resume with the configuration and student code "
                "the run started with"
            )
    keys = [f"leaf_{i:05d}" for i in range(len(flat))]
    try:
        arrays = ocp.PyTreeCheckpointer().restore(
            info.path / "state", restore_args={k: ocp.RestoreArgs(restore_type=np.ndarray) for k in keys}
        )
        host = [np.asarray(arrays[k]) for k in keys]
    except Exception as e:  # orbax/tensorstore raise many types on damaged data
        raise _corrupt(info.path, f"orbax could not read it: {type(e).__name__}", info.path.parent.parent) from None
    leaves = []
    for (_, leaf), a in zip(flat, host):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaves.append(jax.random.wrap_key_data(a, impl=leaf.dtype._impl))
        else:
            leaves.append(jax.device_put(a.astype(leaf.dtype, copy=False)))
    return jax.tree_util.tree_unflatten(treedef, leaves)


# ---------------------------------------------------------------------------- resuming
