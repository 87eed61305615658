"""What keeps a training run safe: the run-directory lock, signal handling, divergence checks.

- :class:`RunLock`: ``RUN_DIR/.lock``, an exclusive ``flock`` plus the owner's PID for messages.
  The operating system drops the lock when its process dies (even by SIGKILL), so a lock file
  left by a dead run is taken over without asking.
- :class:`SignalCatcher`: the first SIGINT/SIGTERM asks the loop to stop at the end of the
  current chunk, after a checkpoint; a second one acts as usual (aborts at once).
- :func:`check_finite`: a NaN or inf in a chunk's metrics (every loss) or in any network
  parameter raises :class:`TrainingDiverged`, naming the iteration and the loss.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from leo_teacher.config import ConfigError

LOCK_NAME = ".lock"


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or inf; the message names where and when."""


class Interrupted(Exception):
    """Training stopped on a signal after saving a checkpoint."""

    def __init__(self, signum: int, iteration: int, checkpoint: Path, run_dir: Path):
        self.signum, self.iteration, self.checkpoint, self.run_dir = signum, iteration, checkpoint, run_dir
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted by {name} after iteration {iteration}; checkpoint saved in {checkpoint}; "
            f"continue with: python -m leo_teacher.train --run-dir {shlex.quote(str(run_dir))} --resume"
        )

    @property
    def exit_status(self) -> int:
        """The shell convention for death by a signal: 128 + its number (130 SIGINT, 143 SIGTERM)."""
        return 128 + self.signum


# ---------------------------------------------------------------------------- the lock


class RunLock:
    """An exclusive lock on a run directory, held while a run writes into it."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def _owner(self) -> str:
        try:
            info = json.loads(self.path.read_text())
            return f"pid {info['pid']} on {info['host']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def acquire(self) -> "RunLock":
        """Take the lock or raise ConfigError naming its holder; creates the run directory."""
        import fcntl

        from leo_teacher.run.manifest import MANIFEST

        self.run_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            existed = self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ConfigError(
                    f"--run-dir {self.run_dir} is in use by a running training job ({self._owner()}, "
                    f"lock {self.path}); wait for it to finish or choose another --run-dir"
                ) from None
            if existed and not (self.run_dir / MANIFEST).exists():  # a user's own .lock file
                os.close(fd)
                raise ConfigError(
                    f"--run-dir {self.run_dir} holds a {LOCK_NAME} file that leo-teacher did not "
                    "write; nothing was changed; choose another --run-dir"
                )
            # The file may have been removed (and re-created) by its previous holder between our
            # open and flock: then we locked an orphan; try again on the current file.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                info = {"pid": os.getpid(), "host": socket.gethostname(), "argv": sys.argv[:8]}
                os.write(fd, json.dumps(info).encode())
                self._fd = fd
                return self
            os.close(fd)
        raise ConfigError(f"could not lock {self.path}; another run keeps replacing it")

    def refresh(self) -> None:
        """Take the lock again if its file was removed under us (``--overwrite`` empties the dir)."""
        if self._fd is None:
            return
        try:
            if os.fstat(self._fd).st_ino == os.stat(self.path).st_ino:
                return
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None
        self.acquire()

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_holder(run_dir: Path) -> str | None:
    """Who holds ``run_dir``'s lock now ("pid N on HOST"), or None when nobody does."""
    import fcntl

    lock = RunLock(run_dir)
    try:
        fd = os.open(lock.path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return lock._owner()
    finally:
        os.close(fd)  # closing drops a lock we took
    return None


# ---------------------------------------------------------------------------- signals


class SignalCatcher:
    """Turns the first SIGINT/SIGTERM into a flag the training loop checks between chunks."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None:  # the second signal: act as if we were not here
            self.restore()
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
            return
        self.received = signum
        print(
            f"\n{signal.Signals(signum).name}: stopping after the current chunk with a checkpoint "
            "(send it again to abort at once)",
            file=sys.stderr,
            flush=True,
        )

    def install(self) -> "SignalCatcher":
        # Python delivers signals to the main thread only; elsewhere leave the defaults alone.
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()


# ---------------------------------------------------------------------------- divergence


def check_finite(metrics: dict[str, Any], first_iteration: int, checkpoint: Path | None) -> None:
    """Raise TrainingDiverged at the first iteration of a chunk whose metrics are not finite.

    ``metrics`` maps names to per-iteration values ([length]); ``first_iteration`` is the
    1-based iteration number of their first entry.
    """
    worst: tuple[int, list[str], float] | None = None
    for key in sorted(metrics):
        values = np.asarray(metrics[key], dtype=np.float64)
        values = values.reshape(values.shape[0] if values.ndim else 1, -1)  # [iterations, ...]
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            value = float(values[i][~np.isfinite(values[i])][0])
            if worst is None or i < worst[0]:
                worst = (i, [key], value)
            elif i == worst[0]:
                worst[1].append(key)
    if worst is not None:
        i, keys, value = worst
        raise TrainingDiverged(
            f"{', '.join(keys)} became {value} at iteration {first_iteration + i}; training stopped. "
            f"{_kept(checkpoint)}"
        )


_all_finite = None


def nonfinite_parameter(state: Any) -> str | None:
    """The path of the first network parameter with a NaN or inf, or None."""
    import jax
    import jax.numpy as jnp

    params = {"teacher": state.teacher.params, "students": [s.params for s in state.students]}
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    floats = [(p, x) for p, x in flat if jnp.issubdtype(x.dtype, jnp.inexact)]
    if not floats:
        return None
    global _all_finite
    if _all_finite is None:  # one jitted function, cached across chunks by argument structure
        _all_finite = jax.jit(lambda xs: jnp.stack([jnp.isfinite(x).all() for x in xs]))
    ok = np.asarray(_all_finite([x for _, x in floats]))
    if ok.all():
        return None
    return jax.tree_util.keystr(floats[int(np.argmin(ok))][0])


def check_parameters(state: Any, iteration: int, checkpoint: Path | None) -> None:
    """Raise TrainingDiverged when a parameter is NaN or inf after ``iteration``."""
    where = nonfinite_parameter(state)
    if where is not None:
        raise TrainingDiverged(
            f"parameter {where} is NaN or inf after iteration {iteration}; training stopped. "
            f"{_kept(checkpoint)}"
        )


def _kept(checkpoint: Path | None) -> str:
    advice = "lower teacher.lr / student.lr (see metrics.jsonl) and start a new run"
    if checkpoint is None:
        return f"No checkpoint was written yet; {advice}"
    return f"The last good checkpoint is kept: {checkpoint}; {advice}"
