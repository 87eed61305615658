"""Checkpoints and resume; faults (SIGKILL, SIGTERM, SIGINT, NaN/inf, locks) and damaged input.

One uninterrupted run (``baseline``, 12 chunks, a checkpoint after each) is the reference the
interrupted runs must reproduce, and the source that the damaged-input tests copy.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_cli

TIMING = ("wall_seconds", "steps_per_second")
# 120 iterations of the tiny preset in 12 chunks of 10, a checkpoint after every chunk.
ARGS = ("--preset", "tiny", "--seed", "0", "--no-progress", "--total-steps", "30720",
        "--set", "run.log_every=10", "--set", "run.checkpoint_every=1")
# In-process runs for the fault tests: 4 chunks of 2 iterations.
SMALL = ["--preset", "tiny", "--seed", "0", "--no-progress", "--total-steps", "2048",
         "--set", "run.log_every=2", "--set", "run.checkpoint_every=1"]


def _metrics(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _snapshot(run_dir):
    """Every file under run_dir (relative path -> bytes)."""
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def _checkpoints(run_dir):
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def _assert_same_run(run_dir, reference):
    assert _metrics(run_dir) == _metrics(reference)
    assert (run_dir / "per_goal_success.csv").read_text() == (reference / "per_goal_success.csv").read_text()


def _start(run_dir, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "leo_teacher.train", *args, "--run-dir", str(run_dir)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _wait_for(condition, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"run ended early: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _one_line_error(err: str, *fragments: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ckpt") / "baseline"
    proc = run_cli(*ARGS, "--run-dir", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    return run_dir


# ---------------------------------------------------------------------------- resume


def test_sigkill_then_resume_equals_uninterrupted_run(baseline, tmp_path):
    run_dir = tmp_path / "killed"
    proc = _start(run_dir, *ARGS)
    _wait_for(lambda: any((run_dir / "checkpoints").glob("chunk_*")), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "summary.json").exists(), "killed too late: the run had finished"
    stale = json.loads((run_dir / ".lock").read_text())  # left behind by the dead process
    assert stale["pid"] == proc.pid

    # --resume alone takes the run's config from its checkpoint (and the stale lock over).
    resumed = run_cli("--resume", "--run-dir", str(run_dir), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(run_dir, baseline)
    assert not (run_dir / ".lock").exists()
    assert _checkpoints(run_dir) == ["chunk_000011", "chunk_000012"]  # the last two are kept
    # summary.json names the code of both stretches: from the start, and from the checkpoint resumed
    summary = json.loads((run_dir / "summary.json").read_text())
    first, second = summary["code_history"]
    assert first["from_env_steps"] == 0 and 0 < second["from_env_steps"] < summary["env_steps"]
    assert second["from_env_steps"] % 2560 == 0  # a chunk boundary: 10 iterations of 256 steps
    assert first | {"from_env_steps": 0} == second | {"from_env_steps": 0}  # the same code both times
    assert {k: v for k, v in second.items() if k != "from_env_steps"} == summary["machine"]["code"]
    assert json.loads((baseline / "summary.json").read_text())["code_history"] == [first]


def test_resume_with_the_same_arguments_is_the_same_config(baseline):
    from leo_teacher.cli import train

    args = train.build_parser().parse_args([*ARGS, "--run-dir", str(baseline), "--resume"])
    assert train.resume_config_from_args(args).to_dict() == train.config_from_args(args).to_dict()


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path):
    run_dir = tmp_path / "terminated"
    # Only the signal writes a checkpoint before the end here.
    proc = _start(run_dir, *ARGS[:-2], "--set", "run.checkpoint_every=0")
    _wait_for(lambda: (run_dir / "metrics.jsonl").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err and "--resume" in err
    (ckpt,) = (run_dir / "checkpoints").iterdir()
    meta = json.loads((ckpt / "meta.json").read_text())
    assert meta["metrics_rows"] == len(_metrics(run_dir)) == meta["chunks_done"] < 12
    assert not (run_dir / "summary.json").exists() and not (run_dir / ".lock").exists()


def test_reconcile_cuts_metrics_back_to_the_checkpoint(baseline, tmp_path):
    from leo_teacher.run import checkpoint
    from leo_teacher.config import ConfigError

    run_dir = tmp_path / "run"
    shutil.copytree(baseline, run_dir)
    shutil.rmtree(run_dir / "checkpoints" / "chunk_000012")  # as if killed before the last save
    info = checkpoint.latest(run_dir)
    rows = checkpoint.reconcile_metrics(run_dir, info)
    assert len(rows) == len(_metrics(run_dir)) == 11 and rows[-1]["iteration"] == 110
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    (run_dir / "metrics.jsonl").write_text("\n".join(lines[:5]) + "\n")
    with pytest.raises(ConfigError, match="has 5 lines but checkpoint chunk_000011 was written after 11"):
        checkpoint.reconcile_metrics(run_dir, info)


def test_save_is_atomic_keeps_two_and_restores_exactly(tmp_path, monkeypatch):
    import jax
    import jax.numpy as jnp

    from leo_teacher.run import checkpoint
    from leo_teacher.config import Config

    def state(k):
        return {"w": jnp.full((3, 2), k, jnp.float32), "step": jnp.int32(k), "rng": jax.random.PRNGKey(k),
                "typed_key": jax.random.key(k)}

    for k in (1, 2, 3):
        checkpoint.save(tmp_path, state(k), chunks_done=k, iteration=k, env_steps=k, metrics_rows=k,
                        train_seconds=0.0, config=Config())
    assert _checkpoints(tmp_path) == ["chunk_000002", "chunk_000003"]

    # A crash mid-write (here: while checksumming) leaves the previous checkpoint the latest.
    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "_manifest", crash)
    # A file-system error is the user's to fix: a ConfigError (exit 2) naming the kept checkpoint.
    from leo_teacher.config import ConfigError

    with pytest.raises(ConfigError, match="could not write checkpoint chunk_000004.*chunk_000003 is kept"):
        checkpoint.save(tmp_path, state(4), chunks_done=4, iteration=4, env_steps=4, metrics_rows=4,
                        train_seconds=0.0, config=Config())
    monkeypatch.undo()
    info = checkpoint.latest(tmp_path)
    assert info.chunks_done == 3
    restored = checkpoint.restore(info, jax.eval_shape(lambda: state(0)))
    for a, b in zip(jax.tree_util.tree_leaves(restored), jax.tree_util.tree_leaves(state(3))):
        assert a.dtype == b.dtype
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        assert np.array_equal(a, b)
    # The next save clears the crashed write's leftovers.
    checkpoint.save(tmp_path, state(5), chunks_done=5, iteration=5, env_steps=5, metrics_rows=5,
                    train_seconds=0.0, config=Config())
    assert _checkpoints(tmp_path) == ["chunk_000003", "chunk_000005"]


# ---------------------------------------------------------------------------- faults in-process


@pytest.fixture
def inject(monkeypatch):
    """Wrap Coordinator.chunk_fn: ``fault(chunk_number, state, metrics)`` runs after each chunk."""
    from leo_teacher.core.coordinator import Coordinator

    original = Coordinator.chunk_fn

    def install(fault):
        calls = []

        def chunk_fn(self, length, *args, **kwargs):
            fn = original(self, length, *args, **kwargs)

            def run(state):
                calls.append(length)
                state, metrics = fn(state)
                return fault(len(calls), state, dict(metrics))

            return run

        monkeypatch.setattr(Coordinator, "chunk_fn", chunk_fn)

    return install


def test_sigint_saves_a_checkpoint_and_exits_130(inject, tmp_path, capsys):
    from leo_teacher.run import checkpoint
    from leo_teacher.cli import train

    def interrupt(chunk, state, metrics):
        if chunk == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C during the second chunk
        return state, metrics

    inject(interrupt)
    run_dir = tmp_path / "run"
    handler = signal.getsignal(signal.SIGINT)
    assert train.main([*SMALL, "--run-dir", str(run_dir)]) == 130
    err = capsys.readouterr().err
    assert "interrupted by SIGINT after iteration 4" in err and "--resume" in err
    assert checkpoint.latest(run_dir).chunks_done == 2 and len(_metrics(run_dir)) == 2
    assert signal.getsignal(signal.SIGINT) is handler  # the handlers are restored
    assert not (run_dir / ".lock").exists()


@pytest.mark.parametrize("where", ["loss", "parameter"])
def test_nan_stops_naming_iteration_and_keeps_last_good_checkpoint(where, inject, tmp_path, capsys):
    import jax.numpy as jnp

    from leo_teacher.run import checkpoint
    from leo_teacher.cli import train

    def poison(chunk, state, metrics):
        if chunk == 3 and where == "loss":
            metrics["teacher_loss"] = metrics["teacher_loss"].at[1].set(jnp.nan)  # iteration 6
        if chunk == 3 and where == "parameter":
            params = state.students[0].params
            params["params"]["Dense_0"]["bias"] = params["params"]["Dense_0"]["bias"].at[0].set(jnp.inf)
        return state, metrics

    inject(poison)
    run_dir = tmp_path / "run"
    assert train.main([*SMALL, "--run-dir", str(run_dir)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    if where == "loss":
        assert "teacher_loss became nan at iteration 6" in err
    else:
        assert "parameter" in err and "Dense_0" in err and "after iteration 6" in err
    assert "chunk_000002" in err  # the last good checkpoint, named
    info = checkpoint.latest(run_dir)  # still valid
    assert info.chunks_done == 2 and _checkpoints(run_dir) == ["chunk_000001", "chunk_000002"]
    assert not (run_dir / "summary.json").exists()


def test_second_run_in_a_locked_directory_exits_2(tmp_path, capsys):
    from leo_teacher.cli import train

    run_dir = tmp_path / "busy"
    run_dir.mkdir()
    lock = run_dir / ".lock"
    with open(lock, "w") as f:  # a live run holds the lock
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(json.dumps({"pid": os.getpid(), "host": "here"}))
        f.flush()
        before = _snapshot(run_dir)
        assert train.main([*SMALL, "--run-dir", str(run_dir)]) == 2
        _one_line_error(capsys.readouterr().err, "is in use by a running training job",
                        f"pid {os.getpid()}", "choose another --run-dir")
        assert _snapshot(run_dir) == before


# ---------------------------------------------------------------------------- bad input


def _damage(ckpt, how):
    if how == "truncated state":
        victim = max((p for p in (ckpt / "state").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif how == "bad meta.json":
        (ckpt / "meta.json").write_text('{"chunks_done": 12, "iter')
    elif how == "missing file":
        next(p for p in (ckpt / "state").rglob("*") if p.is_file() and "ocdbt" in str(p)).unlink()


@pytest.mark.parametrize("how", ["truncated state", "bad meta.json", "missing file"])
def test_corrupt_checkpoint_exits_2_and_touches_nothing(how, baseline, tmp_path, capsys):
    from leo_teacher.cli import train

    run_dir = tmp_path / "run"
    shutil.copytree(baseline, run_dir)
    _damage(run_dir / "checkpoints" / "chunk_000012", how)
    before = _snapshot(run_dir)
    assert train.main(["--resume", "--run-dir", str(run_dir)]) == 2
    _one_line_error(capsys.readouterr().err, "chunk_000012 is corrupt or truncated",
                    "to resume from the previous checkpoint chunk_000011")
    assert _snapshot(run_dir) == before


def test_corrupt_checkpoint_cli_prints_one_line(baseline, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(baseline, run_dir)
    _damage(run_dir / "checkpoints" / "chunk_000012", "truncated state")
    before = _snapshot(run_dir)
    proc = run_cli("--resume", "--run-dir", str(run_dir))
    assert proc.returncode == 2
    _one_line_error(proc.stderr, "is corrupt or truncated")
    assert _snapshot(run_dir) == before


def test_resume_with_another_config_exits_2(baseline, tmp_path, capsys):
    from leo_teacher.cli import train

    run_dir = tmp_path / "run"
    shutil.copytree(baseline, run_dir)
    before = _snapshot(run_dir)
    assert train.main([*ARGS, "--set", "teacher.lr=0.5", "--resume", "--run-dir", str(run_dir)]) == 2
    _one_line_error(capsys.readouterr().err, "config does not match the checkpoint",
                    "teacher.lr=0.5 here but 0.001 in the checkpoint")
    assert train.main(["--resume", "--run-dir", str(run_dir), "--seed", "7"]) == 2
    _one_line_error(capsys.readouterr().err, "run.seed=7 here but 0")
    assert _snapshot(run_dir) == before


def test_resume_may_change_only_what_the_run_does_not_compute():
    from leo_teacher.config import Config, ConfigError
    from leo_teacher.run.checkpoint import CheckpointInfo
    from leo_teacher.run.resume import check_resume_config

    info = CheckpointInfo(Path("/runs/x/checkpoints/chunk_000001"), {"config": Config().to_dict()})
    cfg = Config()
    cfg.run.eval_every, cfg.run.checkpoint_every, cfg.run.run_dir = 3, 7, "/runs/y"
    check_resume_config(info, cfg)  # when to evaluate or checkpoint, and where: all resumable
    cfg.run.eval_repeats = 2  # changes the evaluation's figures
    with pytest.raises(ConfigError, match="run.eval_repeats=2 here but 16 in the checkpoint"):
        check_resume_config(info, cfg)


def test_resume_needs_a_checkpoint(tmp_path, capsys):
    from leo_teacher.cli import train

    assert train.main(["--resume", "--run-dir", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "no checkpoint in", "without --resume")
    assert train.main(["--resume"]) == 2
    _one_line_error(capsys.readouterr().err, "--resume needs the --run-dir")


def test_checkpoint_every_must_not_be_negative():
    from leo_teacher.config import ConfigError, build_config

    with pytest.raises(ConfigError, match="run.checkpoint_every=-1 must be >= 0"):
        build_config(overrides={"run": {"checkpoint_every": -1}})


def test_a_checkpoint_from_an_older_state_layout_is_refused_in_one_line(tmp_path):
    """A checkpoint whose training state lacks arrays this version adds (here: the paper metric's
    per-goal counts, as before the architecture change) is refused naming the cause."""
    import jax

    from leo_teacher.config import ConfigError, build_config
    from leo_teacher.core.coordinator import Coordinator
    from leo_teacher.envs import make_env
    from leo_teacher.run import checkpoint

    cfg = build_config(preset="tiny")
    coord = Coordinator(cfg, make_env(cfg.env))
    state = coord.init(0)
    old = state.replace(actors=state.actors.replace(paper_successes=None, paper_failures=None))
    checkpoint.save(tmp_path, old, chunks_done=1, iteration=1, env_steps=1, metrics_rows=0,
                    train_seconds=0.0, config=cfg)
    with pytest.raises(ConfigError, match="older leo-teacher") as e:
        checkpoint.restore(checkpoint.latest(tmp_path), jax.eval_shape(coord.init, 0))
    assert "\n" not in str(e.value)
