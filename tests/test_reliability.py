"""Faults and bad input: each exits 2 with one line naming the fix, and changes nothing else."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from conftest import run_cli

pytestmark = pytest.mark.xdist_group("tiny-run")

SMALL = ["--preset", "tiny", "--seed", "0", "--no-progress", "--total-steps", "2048",
         "--set", "run.log_every=2", "--set", "run.checkpoint_every=1"]


def _hashes(root):
    """relative path -> sha256 of every file (and '<dir>' for every folder) under root."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _one_line_error(err: str, *fragments: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def _project(tmp_path):
    """A user's project folder: its own config.yaml, src/ and .git/."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "config.yaml").write_text("mine: true\n")
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


# ---------------------------------------------------------------------------- data safety


@pytest.mark.parametrize("overwrite", [False, True])
def test_run_dir_dot_overwrite_keeps_the_users_files(overwrite, tmp_path):
    root = _project(tmp_path)
    before = _hashes(root)
    proc = run_cli(*SMALL, "--run-dir", ".", *(["--overwrite"] if overwrite else []), cwd=root)
    assert proc.returncode == 2
    _one_line_error(proc.stderr, "config.yaml", "nothing was")
    assert _hashes(root) == before


def test_overwrite_refuses_foreign_entries_and_removes_only_ours(tiny_run, tmp_path, capsys):
    from leo_teacher.cli import train

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run[0], run_dir)
    (run_dir / "notes.txt").write_text("my notes\n")
    before = _hashes(run_dir)
    assert train.main([*SMALL, "--run-dir", str(run_dir), "--overwrite"]) == 2
    _one_line_error(capsys.readouterr().err, "did not write (notes.txt)", "nothing was deleted")
    assert _hashes(run_dir) == before

    (run_dir / "notes.txt").unlink()
    assert train.main([*SMALL, "--run-dir", str(run_dir), "--overwrite"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["env_steps"] == 2048
    listed = json.loads((run_dir / ".leo_teacher_manifest.json").read_text())["entries"]
    assert {p.name for p in run_dir.iterdir()} - {".leo_teacher_manifest.json"} <= set(listed)


def test_killed_run_suggests_resume_and_counts_checkpoints(tiny_run, tmp_path, capsys):
    from leo_teacher.cli import train

    run_dir = tmp_path / "killed"
    shutil.copytree(tiny_run[0], run_dir)
    (run_dir / "summary.json").unlink()  # what a killed run leaves: checkpoints, no summary
    n = len(list((run_dir / "checkpoints").iterdir()))
    before = _hashes(run_dir)
    assert train.main([*SMALL, "--run-dir", str(run_dir)]) == 2
    _one_line_error(capsys.readouterr().err, "resume it with --resume, or --overwrite to start again",
                    f"(deletes {n} checkpoint")
    assert _hashes(run_dir) == before


def test_api_train_refuses_an_existing_run(tiny_run):
    from leo_teacher.api import train
    from leo_teacher.config import ConfigError

    before = _hashes(tiny_run[0])
    with pytest.raises(ConfigError, match="already holds a run"):
        train(preset="tiny", run_dir=tiny_run[0])
    assert _hashes(tiny_run[0]) == before


# ---------------------------------------------------------------------------- faults


def test_disk_full_during_a_checkpoint_exits_2_and_keeps_the_previous(tmp_path, monkeypatch, capsys):
    import orbax.checkpoint as ocp

    from leo_teacher.cli import train
    from leo_teacher.run import checkpoint

    real = ocp.PyTreeCheckpointer.save
    calls = []

    def save(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the second checkpoint: half written, then the disk is full
            real(self, path, *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(ocp.PyTreeCheckpointer, "save", save)
    run_dir = tmp_path / "full"
    assert train.main([*SMALL, "--run-dir", str(run_dir)]) == 2
    _one_line_error(capsys.readouterr().err, "could not write checkpoint chunk_000002",
                    "No space left on device", "chunk_000001 is kept", "--resume")
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["chunk_000001"]  # no .tmp-*
    assert checkpoint.latest(run_dir).chunks_done == 1


def test_oserror_at_lock_creation_exits_2(tmp_path, monkeypatch, capsys):
    import os as os_module

    from leo_teacher.cli import train
    from leo_teacher.run import faults

    real_open = os_module.open

    def failing_open(path, *a, **k):
        if str(path).endswith(".lock"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(faults.os, "open", failing_open)
    assert train.main([*SMALL, "--run-dir", str(tmp_path / "r")]) == 2
    _one_line_error(capsys.readouterr().err, "No space left on device", "free disk space")


def test_unwritable_paths_exit_2(tiny_run, tmp_path, capsys):
    from leo_teacher.cli import evaluate, export, train

    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a path under a regular file cannot be created, even by root
    before = _hashes(tmp_path)
    assert train.main([*SMALL, "--run-dir", str(blocker / "run")]) == 2
    _one_line_error(capsys.readouterr().err, "file system error", str(blocker))
    assert export.main([str(tiny_run[0]), "--out", str(blocker / "policy")]) == 2
    _one_line_error(capsys.readouterr().err, "file system error")
    out = tmp_path / "policy"
    assert export.main([str(tiny_run[0]), "--out", str(out)]) == 0
    capsys.readouterr()
    assert evaluate.main([str(out), "--run-dir", str(blocker / "eval")]) == 2
    _one_line_error(capsys.readouterr().err, "file system error")
    shutil.rmtree(out)
    assert _hashes(tmp_path) == before


def test_permission_error_is_one_line(monkeypatch, capsys):
    from leo_teacher.cli.common import run_command

    def body():
        raise PermissionError(errno.EACCES, "Permission denied", "/nope/run")

    assert run_command(body) == 2
    _one_line_error(capsys.readouterr().err, "Permission denied", "/nope/run", "choose a path you can write to")


@pytest.mark.parametrize(
    "text, message",
    [("- a\n- b\n", "holds a list, not a mapping of sections"),
     ("teacher: 3\n", "section 'teacher' holds a int, not a mapping"),
     (None, "is a directory")],
)
def test_config_that_is_not_a_mapping_exits_2(text, message, tmp_path, capsys):
    from leo_teacher.cli import train

    path = tmp_path / "cfg.yaml"
    path.mkdir() if text is None else path.write_text(text)
    assert train.main(["--config", str(path), "--run-dir", str(tmp_path / "r")]) == 2
    _one_line_error(capsys.readouterr().err, message)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "setting, message",
    [("teacher.lr=-1e-3", "teacher.lr=-0.001 must be positive"),
     ("teacher.lr=nan", "teacher.lr=nan must be positive"),
     ("student.lr=inf", "student.lr=inf must be positive"),
     ("teacher.gamma=1.0", "teacher.gamma=1.0 must be in [0, 1)"),
     ("student.gamma=-0.1", "student.gamma=-0.1 must be in [0, 1)"),
     ("teacher.eps_start=1.5", "teacher.eps_start=1.5 must be in [0, 1]"),
     ("env.reset_fraction=2", "env.reset_fraction=2.0 must be in [0, 1]"),
     ("run.eval_every=-1", "run.eval_every=-1 must be >= 0")],
)
def test_values_out_of_range_exit_2(setting, message, tmp_path, capsys):
    from leo_teacher.cli import train

    assert train.main([*SMALL, "--set", setting, "--run-dir", str(tmp_path / "r")]) == 2
    _one_line_error(capsys.readouterr().err, message)
    assert not (tmp_path / "r").exists()


def test_every_numeric_field_has_a_range():
    import dataclasses

    from leo_teacher.config import Config
    from leo_teacher.config.checks import RANGES

    unchecked = {"env.map_seed", "run.seed", "run.eval_seed"}  # any integer is a seed
    cfg = Config()
    for section in ("env", "teacher", "student", "coordinator", "run"):
        for f in dataclasses.fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), f.name)
            key = f"{section}.{f.name}"
            if key in unchecked or isinstance(value, (bool, str)):
                continue
            assert key in RANGES, key


# ---------------------------------------------------------------------------- messages


def test_continue_command_is_shell_quoted(tmp_path):
    import shlex
    import signal

    from leo_teacher.run.faults import Interrupted

    run_dir = tmp_path / "my run"
    msg = str(Interrupted(signal.SIGTERM, 4, run_dir / "checkpoints", run_dir))
    assert shlex.split(msg.split("continue with: ")[1])[4] == str(run_dir)


def test_resume_on_a_running_run_without_checkpoint_says_in_use(tmp_path, capsys):
    import fcntl
    import os

    from leo_teacher.cli import train

    run_dir = tmp_path / "busy"
    run_dir.mkdir()
    with open(run_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(json.dumps({"pid": os.getpid(), "host": "here"}))
        f.flush()
        assert train.main(["--resume", "--run-dir", str(run_dir)]) == 2
        _one_line_error(capsys.readouterr().err, "is in use by a running training job", f"pid {os.getpid()}")


def test_export_without_checkpoint_does_not_mention_resume(tmp_path, capsys):
    from leo_teacher.cli import export

    assert export.main([str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    _one_line_error(err, "no checkpoint in", "holds no trained policy")
    assert "--resume" not in err


def test_two_corrupt_checkpoints_suggest_a_fix_that_works(tiny_run, tmp_path, capsys):
    from leo_teacher.cli import train

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run[0], run_dir)
    found = sorted((run_dir / "checkpoints").iterdir())
    for ckpt in found:
        (ckpt / "meta.json").write_text("{")
    before = _hashes(run_dir)
    assert train.main(["--resume", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    _one_line_error(err, "is corrupt or truncated", "no good checkpoint is left", "--overwrite")
    assert "delete" not in err
    assert _hashes(run_dir) == before


def test_edited_metadata_is_refused(tiny_run, tmp_path):
    from leo_teacher import load_policy
    from leo_teacher.artifact.policy import ArtifactError
    from leo_teacher.cli import export

    out = tmp_path / "policy"
    assert export.main([str(tiny_run[0]), "--out", str(out)]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert {"cpu", "device_kind", "xla_flags", "packages"} <= set(meta["machine"])
    meta["goals"]["names"][0] = "edited"
    (out / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="was edited or damaged"):
        load_policy(out)


def test_export_overwrite_refuses_a_foreign_out(tiny_run, tmp_path, capsys):
    from leo_teacher.cli import export

    out = _project(tmp_path)
    before = _hashes(out)
    assert export.main([str(tiny_run[0]), "--out", str(out), "--overwrite"]) == 2
    _one_line_error(capsys.readouterr().err, "leo-teacher did not write", "nothing was deleted")
    assert _hashes(out) == before


def test_summary_records_the_machine(tiny_run):
    summary = json.loads((tiny_run[0] / "summary.json").read_text())
    machine = summary["machine"]
    assert machine["cpu"] and machine["device_kind"]
    for name in ("jax", "jaxlib", "flax", "craftax"):
        assert name in machine["packages"]
    assert "xla_flags" in machine
    assert {"version", "commit", "dirty", "code_dirty", "code_diff_sha256"} <= set(machine["code"])


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_code_record_names_the_commit_of_its_own_checkout_only(tmp_path):
    from leo_teacher.run.provenance import code_record

    def git(repo, *args):
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       check=True, capture_output=True)

    clone = tmp_path / "clone"
    (clone / "leo_teacher").mkdir(parents=True)
    (clone / "leo_teacher" / "a.py").write_text("x = 1\n")
    git(clone, "init", "-q")
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    clean = {"version": None, "commit": head, "dirty": False, "code_dirty": False, "code_diff_sha256": None}
    assert code_record(clone / "leo_teacher") | {"version": None} == clean
    # a docs edit dirties the checkout but not the code a run executes
    (clone / "README.md").write_text("one\n")
    git(clone, "add", "README.md")
    git(clone, "commit", "-q", "-m", "readme")
    (clone / "README.md").write_text("two\n")
    docs_only = code_record(clone / "leo_teacher")
    assert docs_only["dirty"] is True and docs_only["code_dirty"] is False and docs_only["code_diff_sha256"] is None
    # a code edit: the diff's hash names the uncommitted code, the same edit the same hash
    (clone / "leo_teacher" / "a.py").write_text("x = 2\n")
    edited = code_record(clone / "leo_teacher")
    assert edited["dirty"] is True and edited["code_dirty"] is True
    assert len(edited["code_diff_sha256"]) == 64 and code_record(clone / "leo_teacher") == edited
    (clone / "leo_teacher" / "a.py").write_text("x = 3\n")
    assert code_record(clone / "leo_teacher")["code_diff_sha256"] != edited["code_diff_sha256"]
    # installed inside someone else's repository: that repository's commit is not this code's
    nested = clone / ".venv" / "site-packages" / "leo_teacher"
    nested.mkdir(parents=True)
    assert code_record(nested)["commit"] is None and code_record(nested)["dirty"] is None
    assert code_record(nested)["code_dirty"] is None and code_record(nested)["code_diff_sha256"] is None
    outside = tmp_path / "plain" / "leo_teacher"
    outside.mkdir(parents=True)
    assert code_record(outside)["commit"] is None


def test_a_resumed_run_continues_its_wandb_run(tmp_path, monkeypatch):
    """The wandb run id lives in the run directory; the second start (a resume) reuses it."""
    import types

    from leo_teacher.config import build_config, parse_set
    from leo_teacher.run import outputs

    calls = []
    fake = types.SimpleNamespace(util=types.SimpleNamespace(generate_id=lambda: f"id{len(calls)}"),
                                 init=lambda **kw: calls.append(kw) or kw)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    cfg = build_config(preset="tiny", overrides=parse_set(["run.wandb=true"]))
    (tmp_path / "run").mkdir()
    first = outputs.make_wandb(cfg, tmp_path / "run")
    resumed = outputs.make_wandb(cfg, tmp_path / "run")
    assert first["id"] == resumed["id"] == "id0" and resumed["resume"] == "allow"
    assert (tmp_path / "run" / "wandb_run_id").read_text().strip() == "id0"
